"""Sitemap section of the author pages."""

from __future__ import annotations

from publications.sitemaps import Entry, RangePages, _SlugSitemap, latest_per_subject


class AuthorSitemap(_SlugSitemap):
    """Authors with at least one public publication; ``lastmod`` counts their profile and their work."""

    changefreq = "weekly"
    url_name = "authors:detail"

    def count(self) -> int:
        return len(latest_per_subject("authorships__author"))

    def items(self) -> RangePages:
        """The authors with public work, a page (an id range) at a time."""
        from authors.models import Author

        latest = latest_per_subject("authorships__author")

        def fetch(first: int, last: int) -> list[Entry]:
            rows = Author.objects.filter(pk__gte=first, pk__lte=last).values_list("pk", "slug", "updated_at")
            return [Entry(slug, max(at, latest[pk])) for pk, slug, at in rows.order_by("pk") if pk in latest]

        return RangePages(sorted(latest), fetch)

    def get_latest_lastmod(self):
        from django.db.models import Max

        from authors.models import Author

        moments = [super().get_latest_lastmod(), Author.objects.aggregate(latest=Max("updated_at"))["latest"]]
        return max((moment for moment in moments if moment), default=None)
