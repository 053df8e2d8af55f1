"""Crossref deposit XML, validated against the schema subset in publications/schemas/."""

from __future__ import annotations

import io
import zipfile
from http import HTTPStatus
from pathlib import Path

import pytest
from django.urls import reverse
from lxml import etree

import publications
from publications.crossref import deposit_files, deposit_problems, deposit_xml, for_deposit
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory

pytestmark = pytest.mark.django_db

SCHEMA_PATH = Path(publications.__file__).parent / "schemas" / "crossref-subset.xsd"
NS = {
    "cr": "http://www.crossref.org/schema/5.3.1",
    "jats": "http://www.ncbi.nlm.nih.gov/JATS1",
    "ai": "http://www.crossref.org/AccessIndicators.xsd",
}


@pytest.fixture(scope="module")
def schema():
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def _deposit(*publications_):
    fresh = for_deposit(Publication.objects.filter(pk__in=[p.pk for p in publications_]))
    return etree.fromstring(deposit_xml(fresh))


def test_crossref_article_valid(article, schema):
    """A journal article's deposit validates against the schema."""
    root = _deposit(article)
    schema.assertValid(root)


def test_crossref_article_fields(article):
    """The deposit carries journal, volume, issue, title, pages, DOI and resource URL."""
    root = _deposit(article)
    assert root.findtext("cr:body/cr:journal/cr:journal_metadata/cr:full_title", namespaces=NS) == (
        "Journal of Eurasian Policy"
    )
    issue = root.find("cr:body/cr:journal/cr:journal_issue", NS)
    assert issue.findtext("cr:journal_volume/cr:volume", namespaces=NS) == "12"
    assert issue.findtext("cr:issue", namespaces=NS) == "3"
    item = root.find("cr:body/cr:journal/cr:journal_article", NS)
    assert item.findtext("cr:titles/cr:title", namespaces=NS) == article.title
    assert item.findtext("cr:pages/cr:first_page", namespaces=NS) == "45"
    assert item.findtext("cr:pages/cr:last_page", namespaces=NS) == "67"
    assert item.findtext("cr:doi_data/cr:doi", namespaces=NS) == "10.1234/jep.2021.12"
    assert item.findtext("cr:doi_data/cr:resource", namespaces=NS).endswith(
        "/publications/trade-security-revisited/"
    )
    date = item.find("cr:publication_date", NS)
    assert [date.findtext(f"cr:{part}", namespaces=NS) for part in ("year", "month", "day")] == [
        "2021",
        "05",
        "03",
    ]


def test_crossref_contributors_orcid_affiliation(article):
    """Authors come in order with sequence, ORCID and affiliation."""
    people = _deposit(article).findall(".//cr:contributors/cr:person_name", NS)
    assert [person.get("sequence") for person in people] == ["first", "additional"]
    assert [person.findtext("cr:surname", namespaces=NS) for person in people] == [
        "Петрова",
        "Müller-Lüdenscheidt",
    ]
    assert people[0].findtext("cr:ORCID", namespaces=NS) == "https://orcid.org/0000-0002-1825-0097"
    institution = people[0].find("cr:affiliations/cr:institution", NS)
    assert institution.findtext("cr:institution_name", namespaces=NS) == "Институт экономики РАН"
    assert institution.findtext("cr:institution_place", namespaces=NS) == "Москва, Россия"


def test_crossref_license_and_abstract(article):
    """The license goes in Access Indicators and the abstract in JATS."""
    root = _deposit(article)
    assert (
        root.findtext(".//ai:program/ai:license_ref", namespaces=NS)
        == "https://creativecommons.org/licenses/by/4.0/"
    )
    assert root.findtext(".//jats:abstract/jats:p", namespaces=NS) == article.abstract


def test_crossref_references(article):
    """Each reference is a citation, with its DOI where it has one."""
    citations = _deposit(article).findall(".//cr:citation_list/cr:citation", NS)
    assert [citation.get("key") for citation in citations] == ["ref1", "ref2"]
    assert citations[0].findtext("cr:doi", namespaces=NS) == "10.5555/ref.1"
    assert citations[1].find("cr:doi", NS) is None
    assert (
        citations[1].findtext("cr:unstructured_citation", namespaces=NS)
        == "Иванов И. И. Экономика. М., 2010."
    )


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (Publication.Kind.REPORT, "cr:body/cr:report-paper/cr:report-paper_metadata"),
        (Publication.Kind.WORKING_PAPER, "cr:body/cr:posted_content[@type='working_paper']"),
        (Publication.Kind.BLOG_POST, "cr:body/cr:posted_content[@type='other']"),
        (Publication.Kind.COMMENTARY, "cr:body/cr:posted_content[@type='other']"),
        (Publication.Kind.BOOK, "cr:body/cr:book/cr:book_metadata"),
    ],
)
def test_crossref_kind_structure_valid(schema, kind, path):
    """Every kind gets its Crossref content type and validates."""
    publication = PublicationFactory(
        kind=kind,
        doi=f"10.1234/{kind}.1",
        subtitle="A subtitle",
        authors=[AuthorFactory(given_name="Jean-Luc", family_name="de la Fontaine", orcid="")],
    )
    root = _deposit(publication)
    schema.assertValid(root)
    assert root.find(path, NS) is not None


def test_crossref_batch_groups_content_types(article):
    """A mixed selection becomes one file per content type, each valid."""
    report = PublicationFactory(kind=Publication.Kind.REPORT, doi="10.1234/report.9")
    files = deposit_files(for_deposit(Publication.objects.filter(pk__in=[article.pk, report.pk])))
    assert sorted(deposit.content_type for deposit in files) == ["journal", "report-paper"]


def test_crossref_admin_action_single_file(staff_client, article, schema):
    """The admin action downloads the deposit XML of the selected publications."""
    other = PublicationFactory(
        kind=Publication.Kind.ARTICLE, doi="10.1234/jep.2021.13", container_title="Journal of Eurasian Policy"
    )
    response = staff_client.post(
        reverse("admin:publications_publication_changelist"),
        {"action": "export_crossref_deposit", "_selected_action": [article.pk, other.pk]},
    )
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Disposition"].startswith('attachment; filename="crossref-journal-')
    root = etree.fromstring(response.content)
    schema.assertValid(root)
    assert len(root.findall(".//cr:journal_article", NS)) == 2


def test_crossref_admin_action_zip_for_mixed_kinds(staff_client, article):
    """A mixed selection downloads a ZIP with one deposit per content type."""
    report = PublicationFactory(kind=Publication.Kind.REPORT, doi="10.1234/report.9")
    response = staff_client.post(
        reverse("admin:publications_publication_changelist"),
        {"action": "export_crossref_deposit", "_selected_action": [article.pk, report.pk]},
    )
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert len(names) == 2


def test_crossref_admin_action_without_doi_explains(staff_client):
    """Publications without a DOI are not exported and the editor is told why."""
    publication = PublicationFactory(doi="")
    response = staff_client.post(
        reverse("admin:publications_publication_changelist"),
        {"action": "export_crossref_deposit", "_selected_action": [publication.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "has no DOI" in page
    assert "None of the selected publications can be deposited." in page


def test_crossref_author_name_with_digits_is_a_problem(db):
    """Crossref rejects digits in names, so such a publication is reported, not exported."""
    publication = PublicationFactory(
        doi="10.1234/x.1", authors=[AuthorFactory(given_name="Anna2", family_name="Petrova")]
    )
    fresh = for_deposit(Publication.objects.filter(pk=publication.pk)).get()
    assert deposit_problems(fresh) == ["has an author name Crossref rejects (digits or ?): Anna2 Petrova"]
