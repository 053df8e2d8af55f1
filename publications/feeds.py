"""RSS 2.0 and Atom feeds of the latest publications.

One feed overall and one per theme, region, tag, author and kind, each in
both formats. Everything goes through ``Publication.objects.published()``.

- Links are absolute, built on ``SITE_URL`` (the canonical address), not on
  the host a request happened to use.
- Each entry's id is a ``tag:`` URI on the publication's primary key, so it
  stays the same when the title or slug is edited (RFC 4151).
- Titles are plain text (XML-escaped by the feed generator); descriptions are
  the abstract as escaped HTML paragraphs.
- Each item's XML is written once per publication, format and content version
  (``center.caching.cached_many``: never stale) and copied into every feed
  that lists it; the channel around the items is made per request. An item
  depends on nothing but its publication: its links are built on ``SITE_URL``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import linebreaks_filter
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.xmlutils import SimplerXMLGenerator
from taggit.models import Tag

from authors.models import Author
from center import caching
from center.links import slug_url
from publications.citations import full_title
from publications.metadata import absolute_url, xml_safe
from publications.models import Publication, Region, Theme
from publications.related import attach_related

# What an item shows of the publication's own columns: a feed's list reads only these (its
# items mostly come from the cache; the query-count tests catch a column missing here).
ITEM_FIELDS = ("pk", "title", "subtitle", "slug", "abstract", "published_at", "updated_at")

# The date in the tag: URIs of the entries (RFC 4151 asks for a date when the
# site owned its domain); fixed so that the ids never change.
TAG_URI_DATE = "2024-01-01"


@dataclass
class FeedSource:
    """What one feed is about: its texts, links and the publications in it."""

    title: str
    description: str
    link: str
    feed_url: str
    publications: QuerySet
    # What Django's item loop (``Feed.get_feed``) renders: nothing for the channel, the
    # publications whose items are not cached when rendering those (see ``get_feed`` below).
    rendering: list[Publication] = field(default_factory=list)


class _CachedItems:
    """A feed generator whose items arrive as XML: ``{"xml": …, "pubdate": …, "updateddate": …}``.

    The channel is written as usual, each item's XML copied in as it is. The
    XML comes from :meth:`written_items`, the plain generator's own writing of
    the items ``add_item`` recorded, one at a time.
    """

    def write_items(self, handler) -> None:
        for item in self.items:
            # ignorableWhitespace() writes its text unescaped (after closing a pending start tag).
            handler.ignorableWhitespace(item["xml"])

    def written_items(self) -> list[str]:
        """Each item ``add_item`` recorded, written as the plain generator writes it."""
        items, written = self.items, []
        try:
            for item in items:
                self.items = [item]
                out = io.StringIO()
                super().write_items(SimplerXMLGenerator(out, "utf-8", short_empty_elements=True))
                written.append(out.getvalue())
        finally:
            self.items = items
        return written


class RssWithCachedItems(_CachedItems, Rss201rev2Feed):
    pass


class AtomWithCachedItems(_CachedItems, Atom1Feed):
    pass


def _host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def entry_id(publication: Publication) -> str:
    """A stable, unique id: ``tag:example.org,2024-01-01:publication:42``."""
    return f"tag:{_host()},{TAG_URI_DATE}:publication:{publication.pk}"


class LatestPublicationsFeed(Feed):
    """The latest publications of the whole site (RSS 2.0)."""

    feed_type = RssWithCachedItems
    format_name = "rss"

    def source(self, request, **kwargs) -> FeedSource:
        return FeedSource(
            title=f"{settings.SITE_NAME}: latest publications",
            description=f"The latest publications of {settings.SITE_NAME}.",
            link=absolute_url(reverse("publications:index")),
            feed_url=absolute_url(request.path),
            publications=Publication.objects.published(),
        )

    def get_object(self, request, **kwargs) -> FeedSource:
        return self.source(request, **kwargs)

    # The channel

    def title(self, obj: FeedSource) -> str:
        return xml_safe(obj.title)

    def description(self, obj: FeedSource) -> str:
        return xml_safe(obj.description)

    def subtitle(self, obj: FeedSource) -> str:
        return xml_safe(obj.description)

    def link(self, obj: FeedSource) -> str:
        return obj.link

    def feed_url(self, obj: FeedSource) -> str:
        return obj.feed_url

    def feed_guid(self, obj: FeedSource) -> str:
        return obj.feed_url

    def feed_copyright(self, obj: FeedSource) -> str:
        return f"© {settings.SITE_NAME}"

    def ttl(self, obj: FeedSource) -> int:
        return 60

    def author_name(self, obj: FeedSource) -> str:
        # Atom requires an author on every entry or on the feed: the center itself.
        return xml_safe(settings.SITE_NAME)

    def author_link(self, obj: FeedSource) -> str:
        return absolute_url("/")

    # The items

    def latest(self, obj: FeedSource) -> QuerySet:
        """The publications the feed lists, newest first: the columns an item shows, no related data."""
        return obj.publications.only(*ITEM_FIELDS).order_by("-published_at", "-pk")[: settings.FEED_ITEMS]

    def get_feed(self, obj: FeedSource, request):
        """The feed: its channel made now, its items' XML from the cache.

        Which publications it lists is read once per feed and content version
        (their ids); only the items not cached for this content version are
        read, get their authors, themes, regions and tags as plain names (one query:
        ``publications.related``) and are rendered, by Django's own item loop.
        """
        read = {}  # the publications, when their ids were read in this request

        def read_ids() -> list[int]:
            read.update((publication.pk, publication) for publication in self.latest(obj))
            return list(read)

        ids = caching.cached(f"feed-ids:{settings.FEED_ITEMS}:{obj.feed_url}", read_ids)
        names = {f"feed-item:{self.format_name}:{pk}": pk for pk in ids}

        def render(missing: list[str]) -> dict:
            wanted = [names[name] for name in missing]
            found = read or obj.publications.only(*ITEM_FIELDS).in_bulk(wanted)
            return self.render_items(obj, request, {name: found[names[name]] for name in missing})

        # No file URLs in an item (no enclosures): the values' usual lifetime.
        cached = caching.cached_many(list(names), render)
        feed = super().get_feed(obj, request)  # the channel: obj.rendering is empty
        feed.items = [
            {"xml": xml, "pubdate": pubdate, "updateddate": updateddate}
            for xml, pubdate, updateddate in (cached[name] for name in names)
        ]
        return feed

    def render_items(self, obj: FeedSource, request, publications: dict[str, Publication]) -> dict:
        """``name: (xml, pubdate, updateddate)`` of each item, its dates kept for ``lastBuildDate``."""
        rendering = list(publications.values())
        attach_related(rendering, tags=True)
        feed = super().get_feed(replace(obj, rendering=rendering), request)
        return {
            name: (xml, item["pubdate"], item["updateddate"])
            for name, xml, item in zip(publications, feed.written_items(), feed.items, strict=True)
        }

    def items(self, obj: FeedSource) -> list[Publication]:
        return obj.rendering

    def item_title(self, item: Publication) -> str:
        return xml_safe(full_title(item))

    def item_description(self, item: Publication) -> str:
        return xml_safe(linebreaks_filter(item.abstract, autoescape=True))

    def item_link(self, item: Publication) -> str:
        return absolute_url(item.get_absolute_url())

    def item_guid(self, item: Publication) -> str:
        return entry_id(item)

    def item_guid_is_permalink(self, item: Publication) -> bool:
        return False

    def item_pubdate(self, item: Publication):
        return item.published_at

    def item_updateddate(self, item: Publication):
        return max(item.updated_at, item.published_at)

    # An item's authors, themes, regions and tags: the plain names ``render_items`` read.

    def item_author_name(self, item: Publication) -> str | None:
        names = ", ".join(author.full_name for author in item.related.authors)
        return xml_safe(names) or None

    def item_author_link(self, item: Publication) -> str | None:
        authors = item.related.authors
        return absolute_url(slug_url("authors:detail", authors[0].slug)) if len(authors) == 1 else None

    def item_categories(self, item: Publication) -> list[str]:
        names = [name for _, name in item.related.themes + item.related.regions] + item.related.tags
        return [xml_safe(name) for name in names]


class _SubjectFeed(LatestPublicationsFeed):
    """The latest publications about one theme, region, tag or by one author."""

    model = None
    lookup = ""
    label = ""

    def get_subject(self, slug: str):
        return get_object_or_404(self.model, slug=slug)

    def subject_url(self, subject) -> str:
        return subject.get_absolute_url()

    def source(self, request, slug: str, **kwargs) -> FeedSource:
        subject = self.get_subject(slug)
        return FeedSource(
            title=f"{settings.SITE_NAME}: {self.label} {subject}",
            description=f"The latest publications of {settings.SITE_NAME} — {self.label} {subject}.",
            link=absolute_url(self.subject_url(subject)),
            feed_url=absolute_url(request.path),
            publications=Publication.objects.published().filter(**{self.lookup: subject}),
        )


class ThemeFeed(_SubjectFeed):
    model = Theme
    lookup = "themes"
    label = "theme"


class RegionFeed(_SubjectFeed):
    model = Region
    lookup = "regions"
    label = "region"


class TagFeed(_SubjectFeed):
    model = Tag
    lookup = "tags"
    label = "tag"

    def subject_url(self, subject) -> str:
        return reverse("publications:tag", kwargs={"slug": subject.slug})


class AuthorFeed(_SubjectFeed):
    model = Author
    lookup = "authors"
    label = "publications by"

    def source(self, request, slug: str, **kwargs) -> FeedSource:
        author = self.get_subject(slug)
        return FeedSource(
            title=f"{settings.SITE_NAME}: {author.full_name}",
            description=f"The latest publications of {author.full_name} at {settings.SITE_NAME}.",
            link=absolute_url(author.get_absolute_url()),
            feed_url=absolute_url(request.path),
            publications=Publication.objects.published().filter(authorships__author=author),
        )


class KindFeed(LatestPublicationsFeed):
    """The latest publications of one kind (reports, journal articles, blog posts…)."""

    def source(self, request, kind: str, **kwargs) -> FeedSource:
        if kind not in Publication.Kind.values:
            raise Http404("No such kind of publication.")
        label = Publication.Kind(kind).label
        index = reverse("publications:index")
        return FeedSource(
            title=f"{settings.SITE_NAME}: {label.lower()}s",
            description=f"The latest {label.lower()}s of {settings.SITE_NAME}.",
            link=absolute_url(f"{index}?{urlencode({'kind': kind})}"),
            feed_url=absolute_url(request.path),
            publications=Publication.objects.published().filter(kind=kind),
        )


class _Atom:
    """The same feed in Atom 1.0."""

    feed_type = AtomWithCachedItems
    format_name = "atom"


class LatestPublicationsAtomFeed(_Atom, LatestPublicationsFeed):
    pass


class ThemeAtomFeed(_Atom, ThemeFeed):
    pass


class RegionAtomFeed(_Atom, RegionFeed):
    pass


class TagAtomFeed(_Atom, TagFeed):
    pass


class AuthorAtomFeed(_Atom, AuthorFeed):
    pass


class KindAtomFeed(_Atom, KindFeed):
    pass
