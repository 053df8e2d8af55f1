"""Sitemap sections of publications, themes, regions and tags.

Only what the public can see is listed (``Publication.objects.published()``);
``lastmod`` is the moment a page last changed: for a publication its last edit
or its publication moment, whichever is later; for a theme, region, tag or
author page the latest such moment among its publications.

What grows with the index is read from the facet index
(``publications.facet_index``, built once per content version): the latest
moment per theme, region, tag and author, the overall latest moment, the
publication count and the id range of each sitemap page. Items are light
``(slug, lastmod)`` pairs, not model instances.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np
from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models.functions import Greatest
from taggit.models import Tag

from center.caching import CachedCountPaginator
from center.links import slug_urls
from publications import facet_index
from publications.models import Publication, Region, Theme


class Entry(NamedTuple):
    """One URL of a section: the slug of its page and when that page last changed.

    ``w3c`` is ``lastmod`` already written as the sitemap wants it (UTC, to the second),
    when it was formatted for a whole page at once."""

    slug: str
    lastmod: dt.datetime | None
    w3c: str = ""


def with_datestamp(queryset):
    """Annotate ``datestamp``: the later of the last edit and the publication moment.

    A scheduled publication becomes visible at ``published_at``, after its last
    edit: harvesters and crawlers must see it as changed then.
    """
    return queryset.annotate(datestamp=Greatest("updated_at", "published_at"))


def _moment(stamp: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=stamp)


def latest_public_change() -> dt.datetime | None:
    """The latest datestamp of any public publication (from the facet index)."""
    stamps = facet_index.current().datestamp
    return _moment(int(stamps.max())) if len(stamps) else None


# Sitemap relations and the facet index's links that hold them.
_FACETS = {"themes": "themes", "regions": "regions", "tags": "tags", "authorships__author": "authors"}


def latest_per_subject(relation: str) -> dict[int, dt.datetime]:
    """``{pk: latest datestamp}`` of the subjects (``themes``, ``tags``…) with public publications.

    Read from the facet index and kept with it (once per content version and
    process), so it costs no query and does not grow with the index.
    """
    index = facet_index.current()

    def compute() -> dict[int, dt.datetime]:
        links = getattr(index, _FACETS[relation])
        return {pk: _moment(stamp) for pk, stamp in links.latest(index.datestamp).items()}

    return index.derived(f"sitemap:latest:{relation}", compute)


class RangePages:
    """A section's items in id order, fetched one page at a time by ``fetch(first id, last id)``.

    The ids (sorted) come from the facet index, so a page deep in a section is one
    range scan on the primary key, not an OFFSET that grows with the index.
    """

    def __init__(self, ids, fetch):
        self.ids, self.fetch = ids, fetch

    def __len__(self) -> int:
        return len(self.ids)

    def count(self) -> int:
        return len(self.ids)

    def __getitem__(self, window: slice) -> list[Entry]:
        chosen = self.ids[window]
        return self.fetch(int(chosen[0]), int(chosen[-1])) if len(chosen) else []


def _public_publications(first: int, last: int) -> list[Entry]:
    """The public publications with ids from ``first`` to ``last``: slugs from the database, when
    each last changed from the facet index (formatted for the whole page at once)."""
    rows = list(
        Publication.objects.published()
        .filter(pk__gte=first, pk__lte=last)
        .order_by("pk")
        .values_list("pk", "slug")
    )
    if not rows:
        return []
    index = facet_index.current()
    pks = np.array([pk for pk, _ in rows], dtype=np.int64)
    positions = index.position_of[pks] if pks.max() < len(index.position_of) else None
    if positions is None or (positions < 0).any():  # content changed since the index was built
        return _public_publications_from_database(first, last)
    stamps = index.datestamp[positions].astype("datetime64[us]")
    w3c = np.datetime_as_string(stamps, unit="s")
    return [
        Entry(slug, moment.replace(tzinfo=dt.UTC), f"{text}Z")
        for (_, slug), moment, text in zip(rows, stamps.tolist(), w3c.tolist(), strict=True)
    ]


def _public_publications_from_database(first: int, last: int) -> list[Entry]:
    rows = (
        Publication.objects.published()
        .filter(pk__gte=first, pk__lte=last)
        .annotate(lastmod=Greatest("updated_at", "published_at"))
        .order_by("pk")
        .values_list("slug", "lastmod")
    )
    return [Entry(slug, lastmod) for slug, lastmod in rows]


class SiteSitemap(Sitemap):
    """A section whose URLs are built on ``SITE_URL`` (not on the request's host)."""

    @property
    def limit(self) -> int:
        return settings.SITEMAP_PAGE_SIZE

    @property
    def paginator(self):
        return CachedCountPaginator(self._items(), self.limit, max_pages=0)

    def get_protocol(self, protocol=None) -> str:
        return urlsplit(settings.SITE_URL).scheme or "https"

    def get_domain(self, site=None) -> str:
        return urlsplit(settings.SITE_URL).netloc

    def lastmod(self, item: Entry):
        return item.lastmod

    def get_latest_lastmod(self):
        return latest_public_change()

    def count(self) -> int:
        """How many URLs the section has (for the index)."""
        return self.paginator.count


class _SlugSitemap(SiteSitemap):
    """Locations are one URL pattern with the slug in it: reversed once, not per item."""

    url_name = ""

    def location(self, item: Entry) -> str:
        if not hasattr(self, "_url"):  # a sitemap is made for each request
            self._url = slug_urls(self.url_name)
        return self._url(item.slug)


class PublicationSitemap(_SlugSitemap):
    changefreq = "monthly"
    url_name = "publications:detail"

    def items(self) -> RangePages:
        return RangePages(facet_index.current().ids_in_order, _public_publications)


class _SubjectSitemap(_SlugSitemap):
    """Theme, region or tag pages that list at least one public publication."""

    changefreq = "weekly"
    model = None
    relation = ""

    def count(self) -> int:
        return len(latest_per_subject(self.relation))

    def items(self) -> list[Entry]:
        latest = latest_per_subject(self.relation)
        subjects = self.model.objects.order_by("pk").values_list("pk", "slug")
        return [Entry(slug, latest[pk]) for pk, slug in subjects if pk in latest]


class ThemeSitemap(_SubjectSitemap):
    model = Theme
    relation = "themes"
    url_name = "publications:theme"


class RegionSitemap(_SubjectSitemap):
    model = Region
    relation = "regions"
    url_name = "publications:region"


class TagSitemap(_SubjectSitemap):
    model = Tag
    relation = "tags"
    url_name = "publications:tag"
