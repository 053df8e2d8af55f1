"""Machine-readable metadata in the publication page's <head>."""

from __future__ import annotations

import json

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from lxml import html

from publications import metadata
from publications.models import Publication
from tests.factories import AuthorFactory, OrganizationFactory, PublicationFactory, ReferenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(article):
    """The shared article (two authors, Cyrillic, DOI, references) with a PDF and a theme."""
    article.pdf.save("paper.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=True)
    article.copyright_holder = "The authors"
    article.copyright_year = 2021
    article.save()
    return article


def _head(client, publication):
    response = client.get(publication.get_absolute_url())
    assert response.status_code == 200
    return response, html.fromstring(response.content).find("head")


def _meta(head, name: str) -> list[str]:
    return [element.get("content") for element in head.xpath(f"meta[@name='{name}']")]


def _property(head, name: str) -> list[str]:
    return [element.get("content") for element in head.xpath(f"meta[@property='{name}']")]


def _json_ld(head) -> dict:
    scripts = head.xpath("script[@type='application/ld+json']")
    assert len(scripts) == 1
    return json.loads(scripts[0].text)


def test_highwire_title_authors_and_institutions_in_order(client, article):
    """citation_title, then each author in byline order followed by their institution."""
    _, head = _head(client, article)
    assert _meta(head, "citation_title") == ["Trade & Security {Revisited}: 50% of Café Exports"]
    tags = [
        (element.get("name"), element.get("content"))
        for element in head.xpath("meta[@name='citation_author' or @name='citation_author_institution']")
    ]
    second = article.authorships.get(position=2).author
    assert tags == [
        ("citation_author", "Петрова, Анна"),
        ("citation_author_institution", "Институт экономики РАН"),
        ("citation_author", "Müller-Lüdenscheidt, Jörg"),
        ("citation_author_institution", second.organization.name),
    ]


def test_highwire_journal_fields(client, article):
    """Date, journal, volume, issue, pages, DOI and language are given."""
    _, head = _head(client, article)
    assert _meta(head, "citation_publication_date") == ["2021/05/03"]
    assert _meta(head, "citation_journal_title") == ["Journal of Eurasian Policy"]
    assert _meta(head, "citation_volume") == ["12"]
    assert _meta(head, "citation_issue") == ["3"]
    assert _meta(head, "citation_firstpage") == ["45"]
    assert _meta(head, "citation_lastpage") == ["67"]
    assert _meta(head, "citation_doi") == ["10.1234/jep.2021.12"]
    assert _meta(head, "citation_language") == ["ru"]
    assert _meta(head, "citation_keywords") == ["security; trade; Центральная Азия"]


def test_highwire_urls_are_absolute(client, settings, article):
    """citation_pdf_url and citation_abstract_html_url are absolute URLs."""
    _, head = _head(client, article)
    assert _meta(head, "citation_pdf_url") == [
        f"{settings.SITE_URL}{reverse('publications:pdf', kwargs={'slug': article.slug})}"
    ]
    assert _meta(head, "citation_abstract_html_url") == [f"{settings.SITE_URL}{article.get_absolute_url()}"]


def test_highwire_no_pdf_url_without_pdf(client):
    """A publication without a PDF has no citation_pdf_url."""
    _, head = _head(client, PublicationFactory())
    assert _meta(head, "citation_pdf_url") == []


def test_highwire_one_reference_per_reference(client, article):
    """One citation_reference per reference, in order, with the DOI when there is one."""
    _, head = _head(client, article)
    references = _meta(head, "citation_reference")
    assert len(references) == 2
    assert references[0].endswith("doi:10.5555/ref.1")
    assert references[1] == "Иванов И. И. Экономика. М., 2010."


def test_report_names_the_institution(client, settings):
    """Reports carry citation_technical_report_institution instead of a journal."""
    _, head = _head(client, PublicationFactory(kind=Publication.Kind.REPORT))
    assert _meta(head, "citation_technical_report_institution") == [settings.SITE_NAME]
    assert _meta(head, "citation_journal_title") == []


def test_dublin_core(client, settings, article):
    """Dublin Core: schema link, title, creators in order, date, identifiers, language, rights."""
    _, head = _head(client, article)
    assert head.xpath("link[@rel='schema.DC']/@href") == ["http://purl.org/dc/elements/1.1/"]
    assert _meta(head, "DC.title") == ["Trade & Security {Revisited}: 50% of Café Exports"]
    assert _meta(head, "DC.creator") == ["Петрова, Анна", "Müller-Lüdenscheidt, Jörg"]
    assert _meta(head, "DC.date") == ["2021-05-03"]
    assert _meta(head, "DC.identifier") == [
        f"{settings.SITE_URL}{article.get_absolute_url()}",
        "doi:10.1234/jep.2021.12",
    ]
    assert _meta(head, "DC.language") == ["ru"]
    assert _meta(head, "DC.rights") == ["https://creativecommons.org/licenses/by/4.0/"]
    assert _meta(head, "DCTERMS.rightsHolder") == ["2021 The authors"]


def test_json_ld_scholarly_article_with_affiliated_people(client, settings, article):
    """JSON-LD: a ScholarlyArticle whose authors are Persons, in order, with affiliations."""
    _, head = _head(client, article)
    data = _json_ld(head)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "ScholarlyArticle"
    assert data["name"] == "Trade & Security {Revisited}: 50% of Café Exports"
    assert [person["@type"] for person in data["author"]] == ["Person", "Person"]
    assert [person["name"] for person in data["author"]] == ["Анна Петрова", "Jörg Müller-Lüdenscheidt"]
    first = data["author"][0]
    assert first["affiliation"]["@type"] == "Organization"
    assert first["affiliation"]["name"] == "Институт экономики РАН"
    assert first["affiliation"]["address"]["addressLocality"] == "Москва"
    assert first["sameAs"] == "https://orcid.org/0000-0002-1825-0097"
    assert data["identifier"]["value"] == "10.1234/jep.2021.12"
    assert data["isPartOf"]["issueNumber"] == "3"
    assert data["isPartOf"]["isPartOf"]["volumeNumber"] == "12"
    assert data["isPartOf"]["isPartOf"]["isPartOf"]["name"] == "Journal of Eurasian Policy"
    assert data["pageStart"] == "45"
    assert data["datePublished"].startswith("2021-05-03")
    assert (
        data["encoding"]["contentUrl"]
        == f"{settings.SITE_URL}{reverse('publications:pdf', kwargs={'slug': article.slug})}"
    )
    assert len(data["citation"]) == 2


@pytest.mark.parametrize(
    ("kind", "schema_type"),
    [
        (Publication.Kind.REPORT, "Report"),
        (Publication.Kind.WORKING_PAPER, "Report"),
        (Publication.Kind.BLOG_POST, "BlogPosting"),
        (Publication.Kind.ARTICLE, "ScholarlyArticle"),
    ],
)
def test_json_ld_type_per_kind(client, kind, schema_type):
    """Each kind gets its schema.org type."""
    _, head = _head(client, PublicationFactory(kind=kind))
    assert _json_ld(head)["@type"] == schema_type


def test_json_ld_cannot_close_its_script(client):
    """A title with </script> stays inside the JSON-LD block and round-trips."""
    title = '</script><script>alert("x")</script><!--'
    response, head = _head(client, PublicationFactory(title=title))
    assert b'</script><script>alert("x")' not in response.content
    assert _json_ld(head)["name"] == title


def test_open_graph_and_twitter(client, settings, article):
    """Open Graph (article with dates, authors, tags) and a Twitter summary card."""
    _, head = _head(client, article)
    url = f"{settings.SITE_URL}{article.get_absolute_url()}"
    assert _property(head, "og:type") == ["article"]
    assert _property(head, "og:title") == ["Trade & Security {Revisited}: 50% of Café Exports"]
    assert _property(head, "og:url") == [url]
    assert _property(head, "og:site_name") == [settings.SITE_NAME]
    assert _property(head, "og:description")[0].startswith("Торговля и безопасность")
    assert _property(head, "article:published_time")[0].startswith("2021-05-03")
    assert len(_property(head, "article:author")) == 2
    assert sorted(_property(head, "article:tag")) == ["security", "trade", "Центральная Азия"]
    assert _meta(head, "twitter:card") == ["summary"]
    assert _meta(head, "twitter:title") == ["Trade & Security {Revisited}: 50% of Café Exports"]


def test_image_makes_a_large_twitter_card(client, settings):
    """With a cover image: og:image and twitter:image are absolute, the card is large."""
    publication = PublicationFactory()
    publication.cover_image.save("cover.png", ContentFile(b"\x89PNG\r\n"), save=True)
    _, head = _head(client, publication)
    assert _property(head, "og:image") == [f"{settings.SITE_URL}{publication.cover_image.url}"]
    assert _meta(head, "twitter:card") == ["summary_large_image"]


def test_canonical_link(client, settings, article):
    """One canonical link, absolute."""
    _, head = _head(client, article)
    assert head.xpath("link[@rel='canonical']/@href") == [f"{settings.SITE_URL}{article.get_absolute_url()}"]


def test_public_page_is_indexable(client, article):
    """A published page carries no robots noindex."""
    _, head = _head(client, article)
    assert _meta(head, "robots") == []


@pytest.mark.parametrize("status", [Publication.Status.DRAFT, Publication.Status.REVIEW])
def test_draft_preview_is_noindex(staff_client, status):
    """Staff previews of drafts and items in review tell robots not to index them."""
    _, head = _head(staff_client, PublicationFactory(status=status, published_at=None))
    assert _meta(head, "robots") == ["noindex"]


def test_scheduled_preview_is_noindex(staff_client):
    """A scheduled publication previewed before its moment is noindex too."""
    publication = PublicationFactory(published_at=timezone.now() + timezone.timedelta(days=2))
    _, head = _head(staff_client, publication)
    assert _meta(head, "robots") == ["noindex"]


def test_hostile_text_in_attributes_is_escaped(client):
    """Quotes and markup in titles and organization names cannot break out of attributes."""
    organization = OrganizationFactory(name='"><script>alert(1)</script>')
    publication = PublicationFactory(title='Say "hi" <b>', authors=[AuthorFactory(organization=organization)])
    response, head = _head(client, publication)
    assert b"<script>alert(1)</script>" not in response.content
    assert _meta(head, "citation_title") == ['Say "hi" <b>']
    assert _meta(head, "citation_author_institution") == ['"><script>alert(1)</script>']


def test_head_metadata_adds_no_queries(client):
    """Metadata uses only prefetched data: 6 authors and references cost what 1 does."""

    def queries_for(count: int) -> int:
        publication = PublicationFactory(authors=[AuthorFactory() for _ in range(count)], tags=["a", "b"])
        for position in range(count):
            ReferenceFactory(publication=publication, position=position)
        with CaptureQueriesContext(connection) as context:
            response = client.get(publication.get_absolute_url())
        assert response.status_code == 200
        return len(context.captured_queries)

    PublicationFactory(tags=["a", "b"])  # so both pages list a related publication (one query each)
    assert queries_for(1) == queries_for(6)


def test_json_ld_carries_a_long_abstract_once(client, article):
    """An article's whole abstract is in "abstract"; "description" is its one-line summary, and
    each cited work with a DOI is given by the DOI's address alone."""
    article.abstract = "How pipelines and ports bind the littoral states of the Caspian Sea. " * 12
    article.save()
    data = _json_ld(_head(client, article)[1])
    assert data["abstract"] == " ".join(article.abstract.split())
    assert data["description"].endswith("…")
    assert data["abstract"].startswith(data["description"][:-1])
    assert len(data["description"]) <= metadata.DESCRIPTION_LENGTH
    assert data["citation"][0] == {
        "@type": "CreativeWork",
        "name": article.references.get(position=1).text,
        "url": "https://doi.org/10.5555/ref.1",
    }
    assert "url" not in data["citation"][1]


def test_json_ld_of_a_report_describes_it_whole(client):
    """Without an "abstract" property (not an article), "description" holds the whole abstract."""
    report = PublicationFactory(abstract="A long report abstract on regional energy markets. " * 12)
    data = _json_ld(_head(client, report)[1])
    assert data["description"] == " ".join(report.abstract.split())
    assert "abstract" not in data
