"""The "Cite item" block: formatted citations in five styles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from publications.citations import CITATION_STYLES, csl_item, format_citation, formatted_citations
from publications.models import Publication
from publications.related import prefetch_detail
from tests.factories import AuthorFactory, PublicationFactory

pytestmark = pytest.mark.django_db


def _citations(publication) -> dict[str, str]:
    fresh = prefetch_detail([Publication.objects.get(pk=publication.pk)])[0]
    return {citation["key"]: citation["html"] for citation in formatted_citations(fresh)}


@pytest.mark.parametrize("style", [style.key for style in CITATION_STYLES])
def test_citation_style_has_authors_year_title_journal(article, style):
    """Every style names the authors, the year, the title and the journal."""
    text = _citations(article)[style]
    assert "Петрова" in text
    assert "Müller-Lüdenscheidt" in text
    assert "2021" in text
    assert "Trade &amp; Security {Revisited}: 50% of Café Exports" in text
    assert "Journal of Eurasian Policy" in text


def test_citation_apa_shape(article):
    """APA 7: family name and initials, year in parentheses, italic journal, DOI link."""
    text = _citations(article)["apa"]
    assert text.startswith("Петрова, А., &amp; Müller-Lüdenscheidt, J. (2021).")
    assert "<i>Journal of Eurasian Policy</i>" in text
    assert "https://doi.org/10.1234/jep.2021.12" in text


def test_citation_gost_has_no_list_number(article):
    """GOST citations use the // separator and carry no bibliography number."""
    text = _citations(article)["gost"]
    assert text.startswith("Петрова А., Müller-Lüdenscheidt J.")
    assert "// Journal of Eurasian Policy" in text


def test_citation_escapes_html(db):
    """Markup in a title is shown as text, never interpreted."""
    publication = PublicationFactory(title="<script>alert(1)</script> Tariffs", authors=[AuthorFactory()])
    for text in _citations(publication).values():
        assert "<script>" not in text
        assert "&lt;script&gt;" in text


def test_citation_report_names_the_center_as_publisher(db, settings):
    """Reports are published by the research center."""
    publication = PublicationFactory(kind=Publication.Kind.REPORT, authors=[AuthorFactory()])
    assert settings.SITE_NAME in _citations(publication)["apa"]


def test_csl_item_authors_in_order(db):
    """The CSL item lists the authors in byline order."""
    first, second, third = (
        AuthorFactory(family_name="Zeta"),
        AuthorFactory(family_name="Alpha"),
        AuthorFactory(family_name="Mu"),
    )
    publication = PublicationFactory(authors=[first, second, third])
    item = csl_item(prefetch_detail([Publication.objects.get(pk=publication.pk)])[0])
    assert [name["family"] for name in item["author"]] == ["Zeta", "Alpha", "Mu"]


def test_citations_cached(article):
    """Citations change as soon as the title changes (the cache key follows the content)."""
    fresh = prefetch_detail([Publication.objects.get(pk=article.pk)])[0]
    first = formatted_citations(fresh)
    fresh.title = "A New Title"
    changed = formatted_citations(fresh)
    assert "A New Title" in changed[0]["html"]
    assert "A New Title" not in first[0]["html"]


def test_cite_block_on_publication_page(client, article):
    """The publication page lists every style, the style picker and the downloads."""
    response = client.get(article.get_absolute_url())
    page = response.content.decode()
    assert "Cite item" in page
    for style in CITATION_STYLES:
        assert style.label in page
    assert "data-cite-select" in page
    assert "/publications/trade-security-revisited/cite.bib" in page
    assert "/publications/trade-security-revisited/cite.ris" in page
    assert "/publications/trade-security-revisited/cite.json" in page
    assert "js/cite.js" in page
    assert "<script>" not in page.split("Cite item")[1]  # no inline scripts (CSP)


@pytest.mark.parametrize("authors", [1, 6])
def test_cite_block_query_count_constant(client, django_assert_max_num_queries, authors):
    """The page with its citations costs the same number of queries for 1 or 6 authors."""
    publication = PublicationFactory(authors=AuthorFactory.create_batch(authors), tags=["a", "b"])
    with django_assert_max_num_queries(12):
        response = client.get(publication.get_absolute_url())
    assert response.status_code == 200


def test_cite_block_draft_without_date_or_authors(staff_client):
    """A staff preview of a draft with no date and no authors still shows every style."""
    draft = PublicationFactory(status=Publication.Status.DRAFT, published_at=None, title="Untitled draft")
    response = staff_client.get(draft.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("Untitled draft") >= len(CITATION_STYLES)


def test_publication_page_with_cyrillic_tag(client):
    """A Cyrillic tag (Unicode slug) does not break the publication page, and its page answers."""
    publication = PublicationFactory(tags=["Центральная Азия"])
    assert client.get(publication.get_absolute_url()).status_code == 200
    tag = publication.tags.get()
    assert client.get(reverse("publications:tag", kwargs={"slug": tag.slug})).status_code == 200


# Exact citations, checked against each guide's rules: APA 7 (initials, "&"
# before the last author, italic volume), Chicago author-date 17 (full names,
# period inside the quotes), MLA 9 ("et al." from three authors, full given
# name, period inside the quotes), Cite Them Right Harvard (initials, British
# single quotes, "Available at:"), GOST R 7.0.5-2008 ("Place : Publisher,
# Year"; no place, no colon; volume, issue and pages in the article's language,
# "Vol. 12, no. 3. P. 45–67." for an English one).
ARTICLE_CITATIONS = {
    "apa": (
        "Петрова, А., Müller-Lüdenscheidt, J., &amp; Smith, J. (2021). Water and Energy: Café Exports. "
        "<i>Journal of Eurasian Policy</i>, <i>12</i>(3), 45–67. https://doi.org/10.1234/jep.2021.12"
    ),
    "chicago": (
        "Петрова, Анна, Jörg Müller-Lüdenscheidt, and John Smith. 2021. “Water and Energy: Café Exports.” "
        "<i>Journal of Eurasian Policy</i> 12 (3): 45–67. https://doi.org/10.1234/jep.2021.12."
    ),
    "mla": (
        "Петрова, Анна, et al. “Water and Energy: Café Exports.” <i>Journal of Eurasian Policy</i>, "
        "vol. 12, no. 3, May 2021, pp. 45–67, https://doi.org/10.1234/jep.2021.12."
    ),
    "harvard": (
        "Петрова, А., Müller-Lüdenscheidt, J. and Smith, J. (2021) ‘Water and Energy: Café Exports’, "
        "<i>Journal of Eurasian Policy</i>, 12(3), pp. 45–67. Available at: https://doi.org/10.1234/jep.2021.12."
    ),
    "gost": (
        "Петрова А., Müller-Lüdenscheidt J., Smith J. Water and Energy: Café Exports "
        "// Journal of Eurasian Policy. 2021. Vol. 12, no. 3. P. 45–67."
    ),
}
REPORT_CITATIONS = {
    "apa": "Петрова, А. (2021). <i>Pipelines in the Caspian</i>. IGPR. https://example.org/publications/pipelines/",
    "chicago": "Петрова, Анна. 2021. <i>Pipelines in the Caspian</i>. IGPR. https://example.org/publications/pipelines/.",
    "mla": "Петрова, Анна. <i>Pipelines in the Caspian</i>. IGPR, 3 May 2021, https://example.org/publications/pipelines/.",
    "harvard": (
        "Петрова, А. (2021) <i>Pipelines in the Caspian</i>. IGPR. "
        "Available at: https://example.org/publications/pipelines/."
    ),
    "gost": "Петрова А. Pipelines in the Caspian. IGPR, 2021.",
}


@pytest.fixture
def citation_site(settings):
    settings.SITE_NAME = "IGPR"
    settings.SITE_URL = "https://example.org"


def _anna():
    return AuthorFactory(given_name="Анна", family_name="Петрова")


@pytest.mark.parametrize("style", sorted(ARTICLE_CITATIONS))
def test_citation_journal_article_exact(citation_site, style):
    """A three-author journal article is formatted exactly as the style's guide prescribes."""
    publication = PublicationFactory(
        title="Water and Energy: Café Exports",
        kind=Publication.Kind.ARTICLE,
        published_at=timezone.make_aware(dt.datetime(2021, 5, 3, 12, 0)),
        container_title="Journal of Eurasian Policy",
        volume="12",
        issue="3",
        pages="45-67",
        doi="10.1234/jep.2021.12",
        language="en",
        authors=[
            _anna(),
            AuthorFactory(given_name="Jörg", family_name="Müller-Lüdenscheidt"),
            AuthorFactory(given_name="John", family_name="Smith"),
        ],
    )
    assert _citations(publication)[style] == ARTICLE_CITATIONS[style]


@pytest.mark.parametrize("style", sorted(REPORT_CITATIONS))
def test_citation_report_exact(citation_site, style):
    """A one-author report published by the center is formatted exactly as the style's guide prescribes."""
    publication = PublicationFactory(
        title="Pipelines in the Caspian",
        slug="pipelines",
        kind=Publication.Kind.REPORT,
        published_at=timezone.make_aware(dt.datetime(2021, 5, 3, 12, 0)),
        language="en",
        authors=[_anna()],
    )
    assert _citations(publication)[style] == REPORT_CITATIONS[style]


def test_citation_gost_place_before_publisher(citation_site):
    """GOST writes "Place : Publisher, Year" when the item has a place."""
    item = {
        "id": "x",
        "type": "report",
        "title": "Pipelines",
        "author": [{"family": "Петрова", "given": "Анна"}],
        "issued": {"date-parts": [[2021]]},
        "publisher": "IGPR",
        "publisher-place": "Москва",
    }
    gost = next(style for style in CITATION_STYLES if style.key == "gost")
    assert format_citation(item, gost) == "Петрова А. Pipelines. Москва : IGPR, 2021."


def test_citation_mla_question_mark_title_takes_no_period(citation_site):
    """Moving the period inside the quotes never doubles a title's own question mark."""
    publication = PublicationFactory(
        title="Who Owns the Caspian?",
        kind=Publication.Kind.ARTICLE,
        container_title="Journal of Eurasian Policy",
        authors=[_anna()],
    )
    assert "“Who Owns the Caspian?”" in _citations(publication)["mla"]


def test_citation_gost_russian_article_uses_russian_abbreviations(citation_site):
    """GOST gives a Russian article's volume, issue and pages as "Т.", "№" and "С."."""
    publication = PublicationFactory(
        title="Водная безопасность",
        kind=Publication.Kind.ARTICLE,
        published_at=timezone.make_aware(dt.datetime(2021, 5, 3, 12, 0)),
        container_title="Вопросы экономики",
        volume="12",
        issue="3",
        pages="45-67",
        language="ru",
        authors=[_anna()],
    )
    assert _citations(publication)["gost"] == (
        "Петрова А. Водная безопасность // Вопросы экономики. 2021. Т. 12, № 3. С. 45–67."
    )


def test_citation_gost_english_many_authors_et_al(citation_site):
    """GOST shortens four or more authors of an English work with "et al." (Russian: "и др.")."""
    authors = [_anna()] + [AuthorFactory(given_name="John", family_name=f"Smith{n}") for n in range(3)]
    english = PublicationFactory(kind=Publication.Kind.ARTICLE, language="en", authors=authors)
    russian = PublicationFactory(kind=Publication.Kind.ARTICLE, language="ru", authors=authors)
    assert _citations(english)["gost"].startswith("Петрова А. et al. ")
    assert _citations(russian)["gost"].startswith("Петрова А. и др. ")
