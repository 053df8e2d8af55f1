"""Previous / Next links of the numbered pagination (templates/includes/pagination.html)."""

from __future__ import annotations

import re

import pytest

from tests.factories import AuthorFactory, PublicationFactory

pytestmark = pytest.mark.django_db

INDEX = "/publications/"


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def three_pages_of_reports():
    """45 reports (three pages of 20) and a book the filter leaves out."""
    PublicationFactory.create_batch(45, kind="report")
    PublicationFactory(kind="book")


def rel_link(content: str, rel: str) -> str | None:
    """The href of the pagination's rel=prev/next link, unescaped, or None."""
    match = re.search(rf'<a href="([^"]*)" rel="{rel}">', content)
    return match.group(1).replace("&amp;", "&") if match else None


def test_pagination_middle_page_has_previous_and_next(client, three_pages_of_reports):
    """Page 2 of a filtered index links to pages 1 and 3, keeping the filter."""
    content = client.get(INDEX, {"kind": "report", "page": 2}).content.decode()
    assert rel_link(content, "prev") == "?kind=report&page=1"
    assert rel_link(content, "next") == "?kind=report&page=3"


def test_pagination_first_page_has_no_previous(client, three_pages_of_reports):
    """Page 1 has a Next link and no Previous link."""
    content = client.get(INDEX, {"kind": "report"}).content.decode()
    assert rel_link(content, "prev") is None
    assert rel_link(content, "next") == "?kind=report&page=2"


def test_pagination_last_page_has_no_next(client, three_pages_of_reports):
    """The last page has a Previous link and no Next link."""
    content = client.get(INDEX, {"kind": "report", "page": 3}).content.decode()
    assert rel_link(content, "prev") == "?kind=report&page=2"
    assert rel_link(content, "next") is None


def test_pagination_no_next_beyond_depth_limit(client, settings, three_pages_of_reports):
    """At the depth limit (MAX_INDEX_PAGES) there is no Next link to a page that would be refused."""
    settings.MAX_INDEX_PAGES = 2
    content = client.get(INDEX, {"kind": "report", "page": 2}).content.decode()
    assert rel_link(content, "prev") == "?kind=report&page=1"
    assert rel_link(content, "next") is None


def test_pagination_author_page_has_next(client):
    """Other lists using the partial (an author's publications) get the links too."""
    author = AuthorFactory()
    PublicationFactory.create_batch(25, authors=[author])
    content = client.get(author.get_absolute_url()).content.decode()
    assert rel_link(content, "next") == "?page=2"


def test_pagination_links_are_each_query_strings_own(client, three_pages_of_reports):
    """The pagination is cached per query string and page: another sort, page or filter never gets
    the links of the one asked before it, and a new publication (a fourth page) shows at once."""
    asked = [
        ({"kind": "report", "page": 2}, "?kind=report&page=1", "?kind=report&page=3"),
        (
            {"kind": "report", "sort": "oldest", "page": 2},
            "?kind=report&sort=oldest&page=1",
            "?kind=report&sort=oldest&page=3",
        ),
        ({"kind": "report", "page": 3}, "?kind=report&page=2", None),
        ({"kind": "report", "page": 2}, "?kind=report&page=1", "?kind=report&page=3"),
    ]
    for params, previous, following in asked:
        content = client.get(INDEX, params).content.decode()
        assert (rel_link(content, "prev"), rel_link(content, "next")) == (previous, following), params
    PublicationFactory.create_batch(16, kind="report")
    content = client.get(INDEX, {"kind": "report", "page": 3}).content.decode()
    assert rel_link(content, "next") == "?kind=report&page=4"


def test_download_links_are_each_query_strings_own(client, three_pages_of_reports):
    """The index's download links keep its filters, whatever was asked before (they are cached per
    query string), and never the page number."""
    for kind in ["report", "book", "report"]:
        content = client.get(INDEX, {"kind": kind, "page": 1}).content.decode()
        links = re.findall(r'href="(/publications/export\.[a-z]+[^"]*)"', content)
        assert links, content[-3000:]
        assert all(link.replace("&amp;", "&").endswith(f"?kind={kind}") for link in links), links
