"""Citation downloads (BibTeX, RIS, CSL-JSON), read back with independent parsers."""

from __future__ import annotations

import json
from http import HTTPStatus

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import LatexDecodingMiddleware
from django.urls import reverse

from publications.citations import CSL_TYPES
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, ThemeFactory

pytestmark = pytest.mark.django_db

TITLE = "Trade & Security {Revisited}: 50% of Café Exports"
ABSTRACT = "Торговля и безопасность в Центральной Азии: a study of 100% tariffs & {quotas}."


def _download(client, publication, fmt):
    return client.get(reverse("publications:export", kwargs={"slug": publication.slug, "fmt": fmt}))


def _bibtex_entries(text):
    library = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    assert not library.failed_blocks
    return library.entries


def _bibtex_fields(entry):
    return {field.key: field.value for field in entry.fields}


def test_bibtex_article_fields(client, article):
    """The BibTeX entry of an article parses field by field, special characters intact."""
    response = _download(client, article, "bib")
    (entry,) = _bibtex_entries(response.content.decode())
    fields = _bibtex_fields(entry)
    assert entry.entry_type == "article"
    assert entry.key == "trade-security-revisited"
    assert fields["title"] == TITLE
    assert fields["abstract"] == ABSTRACT
    assert fields["author"] == "Петрова, Анна and Müller-Lüdenscheidt, Jörg"
    assert fields["journal"] == "Journal of Eurasian Policy"
    assert (fields["volume"], fields["number"]) == ("12", "3")
    assert fields["pages"].replace("–", "--") == "45--67"
    assert fields["year"] == "2021"
    assert fields["doi"] == "10.1234/jep.2021.12"
    assert fields["url"] == "http://testserver/publications/trade-security-revisited/"
    assert fields["keywords"] == "security, trade, Центральная Азия"
    assert fields["language"] == "ru"


def test_bibtex_raw_escapes_special_characters(client, article):
    """Braces, percent and ampersand are escaped in the raw file, Unicode is not."""
    text = _download(client, article, "bib").content.decode()
    assert r"Trade \& Security \{Revisited\}: 50\% of Café Exports" in text
    assert "Торговля" in text


@pytest.mark.parametrize(
    ("kind", "entry_type", "subtype"),
    [
        (Publication.Kind.ARTICLE, "article", None),
        (Publication.Kind.REPORT, "techreport", None),
        (Publication.Kind.WORKING_PAPER, "techreport", "Working Paper"),
        (Publication.Kind.BLOG_POST, "online", "Blog post"),
        (Publication.Kind.BOOK, "book", None),
        (Publication.Kind.COMMENTARY, "misc", "Commentary"),
    ],
)
def test_bibtex_entry_type_per_kind(client, kind, entry_type, subtype):
    """Each kind gets its BibTeX entry type (and a ``type`` where the entry type is shared)."""
    publication = PublicationFactory(kind=kind)
    (entry,) = _bibtex_entries(_download(client, publication, "bib").content.decode())
    assert entry.entry_type == entry_type
    assert _bibtex_fields(entry).get("type") == subtype


def test_ris_article_fields(client, article):
    """The RIS record parses with rispy, every author in order."""
    response = _download(client, article, "ris")
    assert response["Content-Type"].startswith("application/x-research-info-systems")
    (record,) = rispy.loads(response.content.decode())
    assert record["type_of_reference"] == "JOUR"
    assert record["authors"] == ["Петрова, Анна", "Müller-Lüdenscheidt, Jörg"]
    assert record["title"] == TITLE
    assert record["journal_name"] == "Journal of Eurasian Policy"
    assert (record["volume"], record["number"]) == ("12", "3")
    assert (record["start_page"], record["end_page"]) == ("45", "67")
    assert record["doi"] == "10.1234/jep.2021.12"
    assert record["urls"] == ["http://testserver/publications/trade-security-revisited/"]
    assert record["abstract"] == ABSTRACT
    assert record["keywords"] == ["security", "trade", "Центральная Азия"]
    assert record["language"] == "ru"
    assert record["year"] == "2021"
    assert record["date"] == "2021/05/03"


@pytest.mark.parametrize(
    ("kind", "ris_type"),
    [
        (Publication.Kind.ARTICLE, "JOUR"),
        (Publication.Kind.REPORT, "RPRT"),
        (Publication.Kind.WORKING_PAPER, "RPRT"),
        (Publication.Kind.BLOG_POST, "BLOG"),
        (Publication.Kind.BOOK, "BOOK"),
        (Publication.Kind.COMMENTARY, "GEN"),
    ],
)
def test_ris_type_per_kind(client, kind, ris_type):
    """Each kind gets its RIS reference type."""
    publication = PublicationFactory(kind=kind)
    (record,) = rispy.loads(_download(client, publication, "ris").content.decode())
    assert record["type_of_reference"] == ris_type


def test_csl_json_article_fields(client, article):
    """The CSL-JSON item has the article's data, Unicode unescaped."""
    response = _download(client, article, "json")
    text = response.content.decode()
    assert "Петрова" in text
    (item,) = json.loads(text)
    assert item["type"] == "article-journal"
    assert item["title"] == TITLE
    second = article.authorships.get(position=2).author
    assert item["author"] == [
        {
            "family": "Петрова",
            "given": "Анна",
            "ORCID": "https://orcid.org/0000-0002-1825-0097",
            "affiliation": [{"name": "Институт экономики РАН"}],
        },
        {
            "family": "Müller-Lüdenscheidt",
            "given": "Jörg",
            "affiliation": [{"name": second.organization.name}],
        },
    ]
    assert item["issued"] == {"date-parts": [[2021, 5, 3]]}
    assert (item["container-title"], item["volume"], item["issue"], item["page"]) == (
        "Journal of Eurasian Policy",
        "12",
        "3",
        "45-67",
    )
    assert item["DOI"] == "10.1234/jep.2021.12"
    assert item["abstract"] == ABSTRACT
    assert item["language"] == "ru"


def test_csl_json_article_url_and_keywords(client, article):
    """The CSL-JSON item carries the page's absolute URL and the tags as a comma-separated ``keyword``."""
    (item,) = json.loads(_download(client, article, "json").content)
    assert item["URL"] == "http://testserver/publications/trade-security-revisited/"
    assert item["keyword"] == "security, trade, Центральная Азия"


@pytest.mark.parametrize(
    ("kind", "csl_type", "genre"),
    [
        (Publication.Kind.ARTICLE, "article-journal", None),
        (Publication.Kind.REPORT, "report", None),
        (Publication.Kind.WORKING_PAPER, "report", "Working paper"),
        (Publication.Kind.BLOG_POST, "post-weblog", None),
        (Publication.Kind.BOOK, "book", None),
        (Publication.Kind.COMMENTARY, "article", "Commentary"),
    ],
)
def test_csl_json_type_per_kind(client, kind, csl_type, genre):
    """Each kind gets its CSL item type (and a ``genre`` where the type is shared)."""
    publication = PublicationFactory(kind=kind)
    (item,) = json.loads(_download(client, publication, "json").content)
    assert item["type"] == csl_type
    assert item.get("genre") == genre


def test_csl_json_type_covers_every_kind():
    """No kind falls back to the default CSL type unnoticed: each has an explicit mapping."""
    assert set(CSL_TYPES) == set(Publication.Kind.values)


def test_export_attachment_filename(client, article):
    """A single download is an attachment named after the publication."""
    response = _download(client, article, "bib")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Disposition"] == 'attachment; filename="trade-security-revisited.bib"'


def test_export_draft_not_found(client):
    """A draft's citation cannot be downloaded by the public."""
    draft = PublicationFactory(status=Publication.Status.DRAFT, published_at=None)
    assert _download(client, draft, "bib").status_code == HTTPStatus.NOT_FOUND


def test_export_unknown_format_not_found(client, article):
    """An unknown format is a 404, not an error."""
    response = client.get(f"/publications/{article.slug}/cite.docx")
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_index_export_lists_published_only(client):
    """The index download holds the published publications, newest first, no drafts."""
    newer = PublicationFactory(title="Newer")
    older = PublicationFactory(title="Older", published_at=newer.published_at.replace(year=2001))
    PublicationFactory(title="Hidden draft", status=Publication.Status.DRAFT, published_at=None)
    response = client.get(reverse("publications:index-export", kwargs={"fmt": "ris"}))
    records = rispy.loads(response.content.decode())
    assert [record["title"] for record in records] == [newer.title, older.title]
    assert response["Content-Disposition"].startswith('attachment; filename="publications-')


def test_index_export_capped(client, settings, monkeypatch):
    """A list download holds at most EXPORT_LIMIT publications."""
    monkeypatch.setattr("publications.export_views.EXPORT_LIMIT", 3)
    PublicationFactory.create_batch(5)
    response = client.get(reverse("publications:index-export", kwargs={"fmt": "json"}))
    assert len(json.loads(response.content)) == 3


def test_search_export_matches_query(client):
    """The search download holds the results of ``?q=``."""
    PublicationFactory(title="Water security in Central Asia")
    PublicationFactory(title="Monetary policy in Europe")
    response = client.get(reverse("publications:search-export", kwargs={"fmt": "json"}), {"q": "water"})
    assert [item["title"] for item in json.loads(response.content)] == ["Water security in Central Asia"]
    assert response["Content-Disposition"] == 'attachment; filename="search-water.json"'


def test_search_export_empty_query(client):
    """Without a query the search download is an empty list, not an error."""
    PublicationFactory()
    response = client.get(reverse("publications:search-export", kwargs={"fmt": "bib"}))
    assert response.status_code == HTTPStatus.OK
    assert response.content == b""


@pytest.mark.parametrize("size", [2, 12])
@pytest.mark.parametrize("fmt", ["bib", "ris", "json"])
def test_index_export_query_count_constant(client, django_assert_max_num_queries, size, fmt):
    """A list download costs the same few queries for 2 or 12 publications."""
    theme = ThemeFactory()
    for _ in range(size):
        PublicationFactory(authors=AuthorFactory.create_batch(2), tags=["x", "y"], themes=[theme])
    with django_assert_max_num_queries(4):
        response = client.get(reverse("publications:index-export", kwargs={"fmt": fmt}))
    assert response.status_code == HTTPStatus.OK


def test_export_rate_limited(client, settings, article):
    """Past the rate limit downloads get a 429 with Retry-After."""
    settings.EXPORT_RATE_LIMIT = 2
    settings.PAGE_CACHE_SECONDS = 0
    statuses = [_download(client, article, "bib").status_code for _ in range(3)]
    assert statuses == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]


def test_index_links_to_downloads_with_filters(client):
    """The index links to its downloads, keeping the filters and dropping the page number."""
    PublicationFactory()
    response = client.get(reverse("publications:index"), {"q": "trade", "page": "1"})
    page = response.content.decode()
    assert 'href="/publications/export.bib?q=trade"' in page
    assert 'href="/publications/export.ris?q=trade"' in page
    assert 'href="/publications/export.json?q=trade"' in page


@pytest.mark.parametrize(
    "query",
    [{"page": "abc"}, {"q": "\x00<script>"}, {"q": "x" * 5000}, {"year": "-1", "kind": "nonsense"}],
)
def test_list_exports_survive_hostile_query_strings(client, query):
    """Malformed query strings get a normal download, never a server error."""
    PublicationFactory()
    for name in ("publications:index-export", "publications:search-export"):
        response = client.get(reverse(name, kwargs={"fmt": "ris"}), query)
        assert response.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST)


def test_search_export_applies_search_filters(client):
    """The search download keeps the search page's filters (kind here)."""
    PublicationFactory(title="Water security report", kind=Publication.Kind.REPORT)
    PublicationFactory(title="Water security article", kind=Publication.Kind.ARTICLE)
    response = client.get(
        reverse("publications:search-export", kwargs={"fmt": "json"}), {"q": "water", "kind": "article"}
    )
    assert [item["title"] for item in json.loads(response.content)] == ["Water security article"]


def test_search_page_links_to_downloads(client):
    """The search results page links to the download of the same search."""
    PublicationFactory(title="Water security in Central Asia")
    page = client.get(reverse("search"), {"q": "water", "kind": "report"}).content.decode()
    assert 'href="/search/export.bib?q=water&amp;kind=report"' in page
