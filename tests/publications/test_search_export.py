"""The search download (``/search/export.<fmt>``) holds the search page's results, in its order."""

from __future__ import annotations

import datetime as dt
import json
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import AuthorFactory, PublicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """Every request reaches the view."""
    settings.PAGE_CACHE_SECONDS = 0


def exported_titles(client, params: dict) -> list[str]:
    response = client.get(reverse("publications:search-export", kwargs={"fmt": "json"}), params)
    return [item["title"] for item in json.loads(response.content)]


def page_titles(client, params: dict) -> list[str]:
    response = client.get(reverse("search"), params)
    return [publication.title for publication in response.context["publications"]]


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def ranked_and_dated():
    """Three hits whose relevance order (title hit first) is the reverse of their date order."""
    PublicationFactory(title="Pipelines of the Caspian", abstract="", published_at=days_ago(30))
    PublicationFactory(title="Regional report", abstract="Pipelines, pipelines.", published_at=days_ago(20))
    PublicationFactory(title="Energy notes", abstract="", body="<p>Pipeline.</p>", published_at=days_ago(10))


def test_search_export_follows_relevance_order(client, ranked_and_dated):
    """By default the download lists the hits as the page ranks them, not newest first."""
    exported = exported_titles(client, {"q": "pipelines"})
    assert exported[0] == "Pipelines of the Caspian"
    assert exported == page_titles(client, {"q": "pipelines"})


def test_search_export_follows_date_sort(client, ranked_and_dated):
    """With sort=date the download lists the hits newest first, like the page."""
    exported = exported_titles(client, {"q": "pipelines", "sort": "date"})
    assert exported == ["Energy notes", "Regional report", "Pipelines of the Caspian"]
    assert exported == page_titles(client, {"q": "pipelines", "sort": "date"})


def test_search_export_capped_keeps_best_ranked(client, monkeypatch, ranked_and_dated):
    """Past the cap the download keeps the best-ranked hits, not the newest."""
    monkeypatch.setattr("publications.export_views.EXPORT_LIMIT", 2)
    assert exported_titles(client, {"q": "pipelines"}) == page_titles(client, {"q": "pipelines"})[:2]


def test_search_export_reads_query_as_long_as_page(client):
    """A word after the 200th character counts in the download as on the page (500 characters)."""
    PublicationFactory(title="Security of water supplies", abstract="")
    PublicationFactory(title="Security of energy supplies", abstract="")
    query = "security " + "!" * 250 + " water"
    assert page_titles(client, {"q": query}) == ["Security of water supplies"]
    assert exported_titles(client, {"q": query}) == ["Security of water supplies"]


def test_search_export_hides_unpublished(client):
    """An unpublished hit never reaches the download."""
    PublicationFactory(title="Water security", abstract="")
    PublicationFactory(title="Water prices", abstract="", status="draft")
    assert exported_titles(client, {"q": "water"}) == ["Water security"]


def test_search_page_download_link_keeps_sort(client):
    """The page's download link carries its sort, so the file lists the hits in the page's order."""
    PublicationFactory(title="Water security", abstract="")
    page = client.get(reverse("search"), {"q": "water", "sort": "date", "page": "1"}).content.decode()
    assert 'href="/search/export.bib?q=water&amp;sort=date"' in page


def test_search_export_query_count_constant(client):
    """The download costs the same queries for 2 hits as for 12 (authors and tags prefetched)."""

    def queries_for_download() -> int:
        url = reverse("publications:search-export", kwargs={"fmt": "bib"})
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"q": "water"})
        assert response.status_code == HTTPStatus.OK
        return len(queries)

    for number in range(2):
        PublicationFactory(title=f"Water study {number}", authors=AuthorFactory.create_batch(2), tags=["x"])
    few = queries_for_download()
    for number in range(2, 12):
        PublicationFactory(title=f"Water study {number}", authors=AuthorFactory.create_batch(2), tags=["x"])
    assert queries_for_download() == few
