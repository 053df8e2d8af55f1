"""Sitemap sections of publications, themes, regions and tags.

Only what the public can see is listed (``Publication.objects.published()``);
``lastmod`` is the moment a page last changed: for a publication its last edit
or its publication moment, whichever is later; for a theme, region, tag or
author page the latest such moment among its publications.

What grows with the index is computed once per content version
(``center.caching.cached``): the latest moment per theme, region, tag and
author (one GROUP BY each), the overall latest moment and the publication
count. Items are light ``(slug, lastmod)`` pairs, not model instances.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.db.models.functions import Greatest
from django.urls import reverse
from taggit.models import Tag

from center.caching import CachedCountPaginator, cached
from publications.models import Publication, Region, Theme


class Entry(NamedTuple):
    """One URL of a section: the slug of its page and when that page last changed."""

    slug: str
    lastmod: dt.datetime | None


def with_datestamp(queryset):
    """Annotate ``datestamp``: the later of the last edit and the publication moment.

    A scheduled publication becomes visible at ``published_at``, after its last
    edit: harvesters and crawlers must see it as changed then.
    """
    return queryset.annotate(datestamp=Greatest("updated_at", "published_at"))


def latest_public_change() -> dt.datetime | None:
    """The latest datestamp of any public publication (once per content version)."""
    return cached(
        "sitemap:latest",
        lambda: with_datestamp(Publication.objects.published()).aggregate(latest=Max("datestamp"))["latest"],
    )


def latest_per_subject(relation: str) -> dict[int, dt.datetime]:
    """``{pk: latest datestamp}`` of the subjects (``themes``, ``tags``…) with public publications.

    One GROUP BY over the public publications joined to ``relation``, once per content version.
    """

    def compute() -> dict[int, dt.datetime]:
        rows = (
            Publication.objects.published()
            .order_by()
            .filter(**{f"{relation}__isnull": False})
            .values(relation)
            .annotate(lastmod=Max(Greatest("updated_at", "published_at")))
            .values_list(relation, "lastmod")
        )
        return dict(rows)

    return cached(f"sitemap:per-subject:{relation}", compute)


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
        if not hasattr(self, "_pattern"):
            self._pattern = reverse(self.url_name, kwargs={"slug": "SLUG"})
        return self._pattern.replace("SLUG", quote(item.slug, safe=""))


class PublicationSitemap(_SlugSitemap):
    changefreq = "monthly"
    url_name = "publications:detail"

    def items(self):
        return (
            Publication.objects.published()
            .annotate(lastmod=Greatest("updated_at", "published_at"))
            .order_by("pk")
            .values_list("slug", "lastmod", named=True)
        )


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
