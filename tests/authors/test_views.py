"""The authors' pages: A–Z list with name search, and each profile with publications."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from publications.models import Publication
from tests.factories import AuthorFactory, OrganizationFactory, PublicationFactory
from tests.html_checks import assert_valid_page

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def names(response) -> list[str]:
    return [author.family_name for author in response.context["authors"]]


def test_author_list_alphabetical(client):
    """Authors are listed by family name."""
    AuthorFactory(family_name="Zhou")
    AuthorFactory(family_name="Abbott")
    response = client.get(reverse("authors:index"))
    assert names(response) == ["Abbott", "Zhou"]
    assert_valid_page(response.content)


def test_author_list_letter(client):
    """?letter=P keeps family names starting with P."""
    AuthorFactory(family_name="Petrova")
    AuthorFactory(family_name="Smith")
    assert names(client.get(reverse("authors:index"), {"letter": "p"})) == ["Petrova"]


def test_author_list_bad_letter_ignored(client):
    """A letter that is not A–Z is ignored, not an error."""
    AuthorFactory(family_name="Petrova")
    response = client.get(reverse("authors:index"), {"letter": "<script>", "page": "x"})
    assert response.status_code == HTTPStatus.OK
    assert names(response) == ["Petrova"]


def test_author_list_search_by_name(client):
    """?q= finds authors by given or family name."""
    AuthorFactory(given_name="Anna", family_name="Petrova")
    AuthorFactory(given_name="John", family_name="Smith")
    assert names(client.get(reverse("authors:index"), {"q": "anna"})) == ["Petrova"]


def test_author_list_paginated(client):
    """50 authors per page."""
    AuthorFactory.create_batch(51)
    response = client.get(reverse("authors:index"), {"page": 2})
    assert len(response.context["authors"]) == 1


def test_author_profile(client):
    """The profile shows degree, position, organization, ORCID link and bio."""
    author = AuthorFactory(
        given_name="Anna",
        family_name="Petrova",
        organization=OrganizationFactory(name="Institute of Economics", city="Moscow", country="Russia"),
        orcid="0000-0002-1825-0097",
        bio="Works on trade.",
    )
    response = client.get(author.get_absolute_url())
    content = response.content.decode()
    for text in (
        "Anna Petrova",
        "PhD in History",
        "Leading Researcher",
        "Institute of Economics",
        "Moscow, Russia",
        'href="https://orcid.org/0000-0002-1825-0097"',
        "Works on trade.",
    ):
        assert text in content, text
    assert_valid_page(response.content)


def test_author_profile_lists_only_published(client):
    """The profile lists the author's published work, not drafts."""
    author = AuthorFactory()
    PublicationFactory(title="Published paper", authors=[author])
    PublicationFactory(title="Draft paper", authors=[author], status=Publication.Status.DRAFT)
    response = client.get(author.get_absolute_url())
    assert [p.title for p in response.context["publications"]] == ["Published paper"]


def test_author_profile_paginated(client):
    """20 publications per page on a profile."""
    author = AuthorFactory()
    for _ in range(21):
        PublicationFactory(authors=[author])
    assert len(client.get(author.get_absolute_url(), {"page": 2}).context["publications"]) == 1


def test_unknown_author_404(client):
    """An unknown author slug answers 404."""
    assert client.get(reverse("authors:detail", kwargs={"slug": "nobody"})).status_code == 404


@pytest.mark.parametrize("size", [2, 25])
def test_author_pages_query_bounds(client, django_assert_max_num_queries, size):
    """The list and a profile run a bounded number of queries for 2 and 25 items."""
    author = AuthorFactory()
    for _ in range(size):
        PublicationFactory(authors=[author, AuthorFactory()])
    with django_assert_max_num_queries(4):
        client.get(reverse("authors:index"))
    with django_assert_max_num_queries(8):
        client.get(author.get_absolute_url())


@pytest.mark.parametrize("query", ["Volk\x00ova", "\x00", "Volk\x1bova\x7f"])
def test_author_list_search_with_control_characters(client, query):
    """NUL and other control characters (PostgreSQL refuses NUL) are read as spaces, never a 500."""
    AuthorFactory(given_name="Irina", family_name="Volkova")
    response = client.get(reverse("authors:index"), {"q": query})
    assert response.status_code == HTTPStatus.OK
    assert "\x00" not in response.content.decode()
