"""Print, as JSON, the URLs the benchmark requests for each page type.

Run inside the project with the benchmark's DATABASE_URL (``bench/run.py``
does): ``python bench/targets.py``. Each page type gets a short list of
candidate URL lists; the harness keeps the first list that answers 200 and
reports the page type as missing when none does.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "center.settings")

import django

django.setup()

from django.db.models import Count  # noqa: E402
from django.db.models.functions import ExtractYear  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from taggit.models import Tag  # noqa: E402

from authors.models import Author  # noqa: E402
from publications.models import Publication, Theme  # noqa: E402

ROTATION = 20  # distinct URLs per page type, so a page cache is not a single hot key
SEARCH_QUERIES = ["trade", "energy security", "climate migration policy", "china", "digital economy"]


def url(name: str, *args, **kwargs) -> str | None:
    try:
        return reverse(name, args=args, kwargs=kwargs)
    except NoReverseMatch:
        return None


def first_url(names: list[str], *args, **kwargs) -> str | None:
    for name in names:
        found = url(name, *args, **kwargs)
        if found:
            return found
    return None


def fullest_filters(published, themes: list[str]) -> list[tuple[str, str, int]]:
    """Up to ``ROTATION`` (theme, tag, year) filters of the index with the most matches, most first:
    one of ``themes``, one of the five most used tags, one of the three latest years.

    So the filtered index shows the same kind of page at every size: picked blindly, most of these
    filters matched nothing at 5,821 publications (an empty page, which costs less) and a full
    page at 100,000.
    """
    tags = list(
        Tag.objects.annotate(n=Count("taggit_taggeditem_items"))
        .order_by("-n", "pk")
        .values_list("slug", flat=True)[:5]
    )
    latest = published.order_by("-published_at").values_list("published_at", flat=True).first()
    if latest is None or not themes or not tags:
        return []
    year = timezone.localtime(latest).year
    counts = (
        published.filter(
            themes__slug__in=themes, tags__slug__in=tags, published_at__year__in=range(year - 2, year + 1)
        )
        .values_list("themes__slug", "tags__slug", ExtractYear("published_at"))
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    ranked = sorted(counts, key=lambda row: (-row[3], row[0], row[1], -row[2]))
    return [(theme, tag, year) for theme, tag, year, _ in ranked[:ROTATION]]


def main() -> None:
    published = Publication.objects.published()
    count = published.count()
    step = max(count // ROTATION, 1)
    slugs = list(published.order_by("pk").values_list("slug", flat=True)[::step][:ROTATION])
    authors = list(
        Author.objects.filter(authorships__publication__in=published.values("pk"))
        .distinct()
        .order_by("pk")
        .values_list("slug", flat=True)[:ROTATION]
    )
    themes = list(Theme.objects.order_by("pk").values_list("slug", flat=True)[:ROTATION])
    index = url("publications:index") or "/publications/"
    filtered = [
        f"{index}?theme={theme}&tag={tag}&year={year}"
        for theme, tag, year in fullest_filters(published, themes)
    ]
    search_page = first_url(["search", "search:index", "search:search", "center:search"])
    feed = first_url(["publications:feed-rss", "feeds:latest", "publications:feed", "feed", "latest-feed"])
    sitemap = first_url(["sitemap-index", "sitemap", "sitemaps:index", "django.contrib.sitemaps.views.index"])
    section = url("sitemap-section", section="publications")
    oai = first_url(["oai", "oai:endpoint", "oai:index", "oai-pmh", "publications:oai"])
    targets = {
        "home": [[url("home") or "/"]],
        "index": [[index]],
        "index filtered": [filtered],
        "index page 200": [[f"{index}?page=200"]],
        "publication": [[url("publications:detail", slug=slug) for slug in slugs]],
        "author": [[url("authors:detail", slug=slug) for slug in authors]],
        "theme": [[url("publications:theme", slug=slug) for slug in themes]],
        "search": [
            [f"{search_page}?q={query.replace(' ', '+')}" for query in SEARCH_QUERIES]
            if search_page
            else None,
            [f"/search/?q={query.replace(' ', '+')}" for query in SEARCH_QUERIES],
        ],
        "feed": [
            [feed] if feed else None,
            ["/feeds/latest/"],
            ["/feed/"],
            ["/feeds/publications/"],
            ["/rss/"],
        ],
        "sitemap": [[sitemap] if sitemap else None, ["/sitemap.xml"]],
        # A full page of the publications section (the second, so it is full at both sizes).
        "sitemap page": [[f"{section}?p=2"] if section else None],
        "oai-pmh ListRecords": [
            [f"{oai}?verb=ListRecords&metadataPrefix=oai_dc"] if oai else None,
            ["/oai/?verb=ListRecords&metadataPrefix=oai_dc"],
            ["/oai?verb=ListRecords&metadataPrefix=oai_dc"],
            ["/oai-pmh/?verb=ListRecords&metadataPrefix=oai_dc"],
        ],
        # Not a page type of its own: the cookie policy is a short fixed text inside the site's
        # frame (header, footer with the subscribe form), so its row shows what the frame costs.
        "frame (cookies page)": [[url("cookies") or "/cookies/"]],
    }
    targets = {page: [urls for urls in options if urls] for page, options in targets.items()}
    print(json.dumps({"published": count, "targets": targets}))


if __name__ == "__main__":
    main()
