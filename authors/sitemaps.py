"""Sitemap section of the author pages."""

from __future__ import annotations

from publications.sitemaps import Entry, _SlugSitemap, latest_per_subject


class AuthorSitemap(_SlugSitemap):
    """Authors with at least one public publication; ``lastmod`` counts their profile and their work."""

    changefreq = "weekly"
    url_name = "authors:detail"

    def count(self) -> int:
        return len(latest_per_subject("authorships__author"))

    def items(self) -> list[Entry]:
        from authors.models import Author

        latest = latest_per_subject("authorships__author")
        authors = Author.objects.order_by("pk").values_list("pk", "slug", "updated_at")
        return [Entry(slug, max(updated_at, latest[pk])) for pk, slug, updated_at in authors if pk in latest]

    def get_latest_lastmod(self):
        from django.db.models import Max

        from authors.models import Author

        moments = [super().get_latest_lastmod(), Author.objects.aggregate(latest=Max("updated_at"))["latest"]]
        return max((moment for moment in moments if moment), default=None)
