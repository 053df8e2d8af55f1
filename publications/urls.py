from django.urls import path, re_path, register_converter
from django.urls.converters import SlugConverter

from publications import export_views, feeds, views


class UnicodeSlugConverter(SlugConverter):
    """Tag slugs keep their script (django-taggit slugifies "Центральная Азия" to "центральная-азия")."""

    regex = r"[-\w]+"


register_converter(UnicodeSlugConverter, "uslug")

app_name = "publications"

urlpatterns = [
    path("publications/", views.PublicationListView.as_view(), name="index"),
    re_path(
        r"^publications/export\.(?P<fmt>bib|ris|json)$",
        export_views.PublicationIndexExportView.as_view(),
        name="index-export",
    ),
    re_path(
        r"^publications/(?P<slug>[-\w]+)/cite\.(?P<fmt>bib|ris|json)$",
        export_views.PublicationExportView.as_view(),
        name="export",
    ),
    re_path(
        r"^search/export\.(?P<fmt>bib|ris|json)$",
        export_views.SearchExportView.as_view(),
        name="search-export",
    ),
    path("publications/<slug:slug>/", views.PublicationDetailView.as_view(), name="detail"),
    path("publications/<slug:slug>/pdf/", views.PublicationPdfView.as_view(), name="pdf"),
    path("publications/<slug:slug>/react/", views.react, name="react"),
    path("themes/", views.ThemeListView.as_view(), name="themes"),
    path("themes/<slug:slug>/", views.ThemeDetailView.as_view(), name="theme"),
    path("regions/", views.RegionListView.as_view(), name="regions"),
    path("regions/<slug:slug>/", views.RegionDetailView.as_view(), name="region"),
    path("tags/<uslug:slug>/", views.TagDetailView.as_view(), name="tag"),
    # Feeds (publications/feeds.py): overall, per kind, theme, region and tag; RSS 2.0 and Atom.
    path("feeds/rss/", feeds.LatestPublicationsFeed(), name="feed-rss"),
    path("feeds/atom/", feeds.LatestPublicationsAtomFeed(), name="feed-atom"),
    path("feeds/kinds/<str:kind>/rss/", feeds.KindFeed(), name="kind-feed-rss"),
    path("feeds/kinds/<str:kind>/atom/", feeds.KindAtomFeed(), name="kind-feed-atom"),
    path("themes/<slug:slug>/feed/rss/", feeds.ThemeFeed(), name="theme-feed-rss"),
    path("themes/<slug:slug>/feed/atom/", feeds.ThemeAtomFeed(), name="theme-feed-atom"),
    path("regions/<slug:slug>/feed/rss/", feeds.RegionFeed(), name="region-feed-rss"),
    path("regions/<slug:slug>/feed/atom/", feeds.RegionAtomFeed(), name="region-feed-atom"),
    path("tags/<uslug:slug>/feed/rss/", feeds.TagFeed(), name="tag-feed-rss"),
    path("tags/<uslug:slug>/feed/atom/", feeds.TagAtomFeed(), name="tag-feed-atom"),
]
