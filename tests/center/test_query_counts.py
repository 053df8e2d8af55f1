"""Every public page runs a constant, small number of SQL queries, whatever the size of the index."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from taggit.models import Tag

from center import caching
from publications.models import Publication
from tests.factories import (
    AuthorFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

MAX_QUERIES = 12


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """Measure the rendering, not the page cache."""
    settings.PAGE_CACHE_SECONDS = 0


def add_publications(count: int, *, theme, region, author) -> None:
    for n in range(count):
        publication = PublicationFactory(
            authors=[author, AuthorFactory()],
            themes=[theme, ThemeFactory()],
            regions=[region],
            tags=["energy", f"tag-{n}"],
        )
        ReferenceFactory.create_batch(2, publication=publication)


def page_urls(theme, region, author, publication) -> dict[str, str]:
    def maybe(name: str, **kwargs) -> str | None:
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            return None

    index = reverse("publications:index")
    year = publication.published_at.year
    urls = {
        "home": reverse("home"),
        "index": index,
        "index filtered": f"{index}?theme={theme.slug}&tag=energy&year={year}",
        "index page 2": f"{index}?page=2",
        "publication": publication.get_absolute_url(),
        "author": author.get_absolute_url(),
        "authors": reverse("authors:index"),
        "theme": theme.get_absolute_url(),
        "themes": reverse("publications:themes"),
        "region": region.get_absolute_url(),
        "regions": reverse("publications:regions"),
        "tag": maybe("publications:tag", slug=Tag.objects.get(name="energy").slug),
    }
    return {name: url for name, url in urls.items() if url}


def count_queries(client, url: str) -> int:
    """Queries of one request with every cache cold (the worst case)."""
    cache.clear()
    caching.reset()
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK, url
    return len(context.captured_queries)


def test_public_pages_constant_queries(client):
    """Each public page runs the same small number of queries with 21 and with 45 publications."""
    theme, region, author = ThemeFactory(), RegionFactory(), AuthorFactory()
    add_publications(21, theme=theme, region=region, author=author)
    publication = Publication.objects.first()
    urls = page_urls(theme, region, author, publication)
    small = {name: count_queries(client, url) for name, url in urls.items()}
    add_publications(24, theme=theme, region=region, author=author)
    large = {name: count_queries(client, url) for name, url in urls.items()}
    assert large == small
    assert max(large.values()) <= MAX_QUERIES, large
