"""Root URLconf."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from center import sitemaps, views
from publications.oai_views import oai_pmh

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("cookies/", views.cookies, name="cookies"),
    path("search/", views.search, name="search"),
    path("", include("publications.urls")),
    path("authors/", include("authors.urls")),
    path("newsletter/", include("newsletter.urls")),
    path("admin/", admin.site.urls),
    # For machines: sitemaps, robots.txt, OAI-PMH.
    path("sitemap.xml", sitemaps.sitemap_index, name="sitemap-index"),
    path("sitemap-<section>.xml", sitemaps.sitemap_section, name="sitemap-section"),
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    path("oai/", oai_pmh, name="oai"),
]

# No traceback or settings ever; the page shows the request id to quote (center.views.server_error).
handler500 = "center.views.server_error"

if settings.BENCH_PING:
    urlpatterns.append(path("bench/ping", views.bench_ping, name="bench-ping"))

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
