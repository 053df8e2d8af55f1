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
from publications import facet_index
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
# What reading the facet index costs, once per content version (publications/facet_index.py).
FACET_INDEX_QUERIES = 2


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
        # Cards show the cover, else the PDF thumbnail: some have either, some both, some none.
        Publication.objects.filter(pk=publication.pk).update(
            cover_image="publications/covers/c.jpg" if n % 3 == 0 else "",
            pdf_thumbnail="publications/thumbs/t.png" if n % 2 == 0 else "",
        )


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


# The publication page, with few and many of everything it lists -----------------------

# Few and many authors, references, themes, regions and tags on one publication: an N+1 in any of
# them shows as more queries for 8 than for 1.
SIZES = (1, 8)
PAGE_KINDS = (Publication.Kind.REPORT, Publication.Kind.ARTICLE, Publication.Kind.BLOG_POST)
PUBLICATION_PAGE_MAX_QUERIES = 10


def rich_publication(size: int, kind: str) -> Publication:
    """A publication with ``size`` of each list, each author with an organization, and related items."""
    themes = ThemeFactory.create_batch(size)
    tags = [f"topic-{size}-{n}" for n in range(size)]
    publication = PublicationFactory(
        kind=kind,
        authors=AuthorFactory.create_batch(size, email="someone@example.org"),
        themes=themes,
        regions=RegionFactory.create_batch(size),
        tags=tags,
        doi=f"10.1234/example.{size}",
        container_title="Journal of Policy",
    )
    ReferenceFactory.create_batch(
        size, publication=publication, doi="10.1000/ref.1", url="https://example.org/"
    )
    publication.authorships.filter(position=1).update(is_corresponding=True)
    for theme, tag in zip(themes, tags, strict=True):  # related publications, each with its own author
        PublicationFactory(themes=[theme], tags=[tag], authors=[AuthorFactory()])
    return publication


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_publication_page_queries_bounded(client, kind, size):
    """The publication page stays within the same bound with 1 and with 8 of each list."""
    publication = rich_publication(size, kind)
    queries = count_queries(client, publication.get_absolute_url())
    # With every cache cold the facet index (related publications) is read for the new content
    # version too: two queries, once per version and process.
    assert queries <= PUBLICATION_PAGE_MAX_QUERIES + FACET_INDEX_QUERIES, queries
    cache.clear()
    caching.reset()
    facet_index.current()
    with CaptureQueriesContext(connection) as context:
        client.get(publication.get_absolute_url())
    assert len(context.captured_queries) <= PUBLICATION_PAGE_MAX_QUERIES, len(context.captured_queries)


@pytest.mark.parametrize("kind", PAGE_KINDS)
def test_publication_page_queries_independent_of_list_sizes(client, kind):
    """1 and 8 authors, references, themes, regions and tags cost exactly the same number of queries."""
    few, many = (rich_publication(size, kind) for size in SIZES)
    assert count_queries(client, many.get_absolute_url()) == count_queries(client, few.get_absolute_url())


def test_publication_page_from_its_cached_pieces_runs_no_query(
    client, django_assert_num_queries, admin_client
):
    """Seen again in the same content version, the public page is made from cached pieces alone;
    an edit, an unpublishing and a staff preview are read from the database at once."""
    publication = rich_publication(2, Publication.Kind.REPORT)
    url = publication.get_absolute_url()
    client.get(url)
    with django_assert_num_queries(0):
        assert client.get(url).status_code == HTTPStatus.OK

    publication.title = "A title changed a moment ago"
    publication.save()
    assert "A title changed a moment ago" in client.get(url).content.decode()

    publication.status = Publication.Status.DRAFT
    publication.save()
    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
    assert client.get(url).status_code == HTTPStatus.NOT_FOUND
    preview = admin_client.get(url)
    assert preview.status_code == HTTPStatus.OK
    assert "Preview." in preview.content.decode()
