"""Sitemap section of the author pages."""

from __future__ import annotations

from publications.sitemaps import Entry, _SlugSitemap, latest_per_subject


class _AuthorPages:
    """The authors with public work in id order, as ``Entry`` items, fetched a page at a time:
    a page is one range query, not the whole author table."""

    def __init__(self, latest: dict):
        self.latest = latest
        self.ids = sorted(latest)

    def __len__(self) -> int:
        return len(self.ids)

    def count(self) -> int:
        return len(self.ids)

    def __getitem__(self, window: slice) -> list[Entry]:
        from authors.models import Author

        chosen = self.ids[window]
        if not chosen:
            return []
        authors = Author.objects.filter(pk__gte=chosen[0], pk__lte=chosen[-1]).order_by("pk")
        rows = authors.values_list("pk", "slug", "updated_at")
        latest = self.latest
        return [Entry(slug, max(updated_at, latest[pk])) for pk, slug, updated_at in rows if pk in latest]


class AuthorSitemap(_SlugSitemap):
    """Authors with at least one public publication; ``lastmod`` counts their profile and their work."""

    changefreq = "weekly"
    url_name = "authors:detail"

    def count(self) -> int:
        return len(latest_per_subject("authorships__author"))

    def items(self) -> _AuthorPages:
        return _AuthorPages(latest_per_subject("authorships__author"))

    def get_latest_lastmod(self):
        from django.db.models import Max

        from authors.models import Author

        moments = [super().get_latest_lastmod(), Author.objects.aggregate(latest=Max("updated_at"))["latest"]]
        return max((moment for moment in moments if moment), default=None)
