"""Crossref deposit XML (schema 5.3.1) for publications with a DOI.

Staff register DOIs by uploading the file this module writes to Crossref's
deposit system: authors (with ORCID iDs and affiliations), dates, license
(Access Indicators), abstract (JATS) and the reference list come from the
database, so nothing is retyped.

One deposit file may hold one content type only (Crossref's ``body`` is a
choice), so :func:`deposit_files` groups publications by content type:

- journal article -> ``journal`` / ``journal_article``
- report -> ``report-paper`` / ``report-paper_metadata``
- working paper -> ``posted_content type="working_paper"``
- blog post, commentary -> ``posted_content type="other"``
- book -> ``book book_type="monograph"`` (``noisbn``)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from lxml import etree

from publications.citations import ordered_authors, publication_date, publication_url
from publications.models import Authorship, Publication, Reference

SCHEMA_VERSION = "5.3.1"
CR = f"http://www.crossref.org/schema/{SCHEMA_VERSION}"
JATS = "http://www.ncbi.nlm.nih.gov/JATS1"
AI = "http://www.crossref.org/AccessIndicators.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
NSMAP = {None: CR, "jats": JATS, "ai": AI, "xsi": XSI}
SCHEMA_LOCATION = f"{CR} https://www.crossref.org/schemas/crossref{SCHEMA_VERSION}.xsd"

CONTENT_TYPES = {
    Publication.Kind.ARTICLE: "journal",
    Publication.Kind.REPORT: "report-paper",
    Publication.Kind.WORKING_PAPER: "posted_content",
    Publication.Kind.BLOG_POST: "posted_content",
    Publication.Kind.COMMENTARY: "posted_content",
    Publication.Kind.BOOK: "book",
}
POSTED_CONTENT_TYPES = {Publication.Kind.WORKING_PAPER: "working_paper"}
# Crossref's given_name/surname patterns refuse digits and question marks.
_BAD_NAME = re.compile(r"[\d?]")


@dataclass
class DepositFile:
    """One deposit XML file and the publications it registers."""

    content_type: str
    filename: str
    xml: bytes
    publications: list[Publication] = field(default_factory=list)


def for_deposit(queryset: QuerySet) -> QuerySet:
    """``queryset`` with authors, their organizations and the references prefetched."""
    return (
        queryset.defer("body", "pdf_text")
        .prefetch_related(None)
        .prefetch_related(
            Prefetch(
                "authorships",
                queryset=Authorship.objects.select_related("author__organization").order_by("position", "pk"),
            ),
            Prefetch("references", queryset=Reference.objects.order_by("position", "pk")),
        )
    )


def deposit_problems(publication: Publication) -> list[str]:
    """Why this publication cannot be deposited (an empty list when it can)."""
    problems = []
    if not publication.doi:
        problems.append("has no DOI")
    if publication.published_at is None:
        problems.append("has no publication date")
    if publication.kind == Publication.Kind.ARTICLE and not publication.container_title:
        problems.append("is a journal article without a journal title")
    for author in ordered_authors(publication):
        if _BAD_NAME.search(author.given_name) or _BAD_NAME.search(author.family_name):
            problems.append(f"has an author name Crossref rejects (digits or ?): {author.full_name}")
    return problems


def deposit_files(publications: Iterable[Publication], *, base_url: str | None = None) -> list[DepositFile]:
    """One deposit file per Crossref content type among ``publications`` (all must be depositable)."""
    groups: dict[str, list[Publication]] = {}
    for publication in publications:
        groups.setdefault(CONTENT_TYPES[publication.kind], []).append(publication)
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return [
        DepositFile(
            content_type=content_type,
            filename=f"crossref-{content_type}-{stamp}.xml",
            xml=deposit_xml(items, base_url=base_url),
            publications=items,
        )
        for content_type, items in groups.items()
    ]


def deposit_xml(publications: Iterable[Publication], *, base_url: str | None = None) -> bytes:
    """A ``doi_batch`` registering ``publications`` (all of one content type)."""
    root = etree.Element(_cr("doi_batch"), nsmap=NSMAP)
    root.set("version", SCHEMA_VERSION)
    root.set(f"{{{XSI}}}schemaLocation", SCHEMA_LOCATION)
    _head(root)
    body = _sub(root, "body")
    for publication in publications:
        problems = deposit_problems(publication)
        if problems:
            raise ValueError(f"{publication}: {', '.join(problems)}")
        builder = {
            "journal": _journal,
            "report-paper": _report_paper,
            "posted_content": _posted_content,
            "book": _book,
        }[CONTENT_TYPES[publication.kind]]
        builder(body, publication, base_url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# Parts ---------------------------------------------------------------------


def _cr(tag: str) -> str:
    return f"{{{CR}}}{tag}"


def _sub(parent, tag: str, text: str | None = None, namespace: str = CR, **attributes):
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}", {k: v for k, v in attributes.items() if v})
    if text is not None:
        element.text = text
    return element


def _head(root) -> None:
    head = _sub(root, "head")
    _sub(head, "doi_batch_id", uuid.uuid4().hex)
    _sub(head, "timestamp", timezone.now().strftime("%Y%m%d%H%M%S%f")[:17])
    depositor = _sub(head, "depositor")
    _sub(depositor, "depositor_name", settings.CROSSREF_DEPOSITOR_NAME)
    _sub(depositor, "email_address", settings.CROSSREF_DEPOSITOR_EMAIL)
    _sub(head, "registrant", settings.CROSSREF_REGISTRANT)


def _language(publication: Publication) -> str:
    return publication.language or "en"


def _contributors(parent, publication: Publication) -> None:
    authors = ordered_authors(publication)
    if not authors:
        return
    contributors = _sub(parent, "contributors")
    for index, author in enumerate(authors):
        person = _sub(
            contributors,
            "person_name",
            sequence="first" if index == 0 else "additional",
            contributor_role="author",
        )
        if author.given_name:
            _sub(person, "given_name", author.given_name[:60])
        _sub(person, "surname", author.family_name[:60])
        organization = author.organization
        if organization:
            institution = _sub(_sub(person, "affiliations"), "institution")
            _sub(institution, "institution_name", organization.name)
            if len(organization.place) >= 2:
                _sub(institution, "institution_place", organization.place)
            if len(author.department) >= 2:
                _sub(institution, "institution_department", author.department)
        if author.orcid:
            _sub(person, "ORCID", author.orcid_url, authenticated="false")


def _titles(parent, publication: Publication) -> None:
    titles = _sub(parent, "titles")
    _sub(titles, "title", publication.title)
    if publication.subtitle:
        _sub(titles, "subtitle", publication.subtitle)


def _abstract(parent, publication: Publication) -> None:
    if not publication.abstract:
        return
    abstract = _sub(parent, "abstract", namespace=JATS)
    for paragraph in publication.abstract.split("\n\n"):
        if paragraph.strip():
            _sub(abstract, "p", " ".join(paragraph.split()), namespace=JATS)


def _date(parent, tag: str, publication: Publication, **attributes) -> None:
    date = publication_date(publication)
    element = _sub(parent, tag, **attributes)
    _sub(element, "month", f"{date.month:02d}")
    _sub(element, "day", f"{date.day:02d}")
    _sub(element, "year", str(date.year))


def _license(parent, publication: Publication) -> None:
    if not publication.license_url:
        return
    program = _sub(parent, "program", namespace=AI, name="AccessIndicators")
    _sub(program, "free_to_read", namespace=AI)
    _sub(program, "license_ref", publication.license_url, namespace=AI, applies_to="vor")


def _doi_data(parent, publication: Publication, base_url: str | None) -> None:
    doi_data = _sub(parent, "doi_data")
    _sub(doi_data, "doi", publication.doi)
    _sub(doi_data, "resource", publication_url(publication, base_url))


def _citations(parent, publication: Publication) -> None:
    references = list(publication.references.all())
    if not references:
        return
    citation_list = _sub(parent, "citation_list")
    for number, reference in enumerate(references, start=1):
        citation = _sub(citation_list, "citation", key=f"ref{number}")
        if reference.doi:
            _sub(citation, "doi", reference.doi)
        _sub(citation, "unstructured_citation", " ".join(reference.text.split()))


def _journal(body, publication: Publication, base_url: str | None) -> None:
    journal = _sub(body, "journal")
    metadata = _sub(journal, "journal_metadata", language=_language(publication))
    _sub(metadata, "full_title", publication.container_title)
    if publication.volume or publication.issue:
        issue = _sub(journal, "journal_issue")
        _date(issue, "publication_date", publication, media_type="online")
        if publication.volume:
            _sub(_sub(issue, "journal_volume"), "volume", publication.volume)
        if publication.issue:
            _sub(issue, "issue", publication.issue)
    article = _sub(journal, "journal_article", publication_type="full_text", language=_language(publication))
    _titles(article, publication)
    _contributors(article, publication)
    _abstract(article, publication)
    _date(article, "publication_date", publication, media_type="online")
    if publication.first_page:
        pages = _sub(article, "pages")
        _sub(pages, "first_page", publication.first_page)
        if publication.last_page:
            _sub(pages, "last_page", publication.last_page)
    _license(article, publication)
    _doi_data(article, publication, base_url)
    _citations(article, publication)


def _publisher(parent) -> None:
    publisher = _sub(parent, "publisher")
    _sub(publisher, "publisher_name", settings.SITE_NAME)


def _report_paper(body, publication: Publication, base_url: str | None) -> None:
    report = _sub(body, "report-paper")
    metadata = _sub(report, "report-paper_metadata", language=_language(publication))
    _contributors(metadata, publication)
    _titles(metadata, publication)
    _abstract(metadata, publication)
    _date(metadata, "publication_date", publication, media_type="online")
    _publisher(metadata)
    _sub(_sub(metadata, "institution"), "institution_name", settings.SITE_NAME)
    _license(metadata, publication)
    _doi_data(metadata, publication, base_url)
    _citations(metadata, publication)


def _posted_content(body, publication: Publication, base_url: str | None) -> None:
    posted = _sub(
        body,
        "posted_content",
        type=POSTED_CONTENT_TYPES.get(publication.kind, "other"),
        language=_language(publication),
    )
    _contributors(posted, publication)
    _titles(posted, publication)
    _date(posted, "posted_date", publication)
    _sub(_sub(posted, "institution"), "institution_name", settings.SITE_NAME)
    _abstract(posted, publication)
    _license(posted, publication)
    _doi_data(posted, publication, base_url)
    _citations(posted, publication)


def _book(body, publication: Publication, base_url: str | None) -> None:
    book = _sub(body, "book", book_type="monograph")
    metadata = _sub(book, "book_metadata", language=_language(publication))
    _contributors(metadata, publication)
    _titles(metadata, publication)
    _abstract(metadata, publication)
    _date(metadata, "publication_date", publication, media_type="online")
    _sub(metadata, "noisbn", reason="monograph")
    _publisher(metadata)
    _license(metadata, publication)
    _doi_data(metadata, publication, base_url)
    _citations(metadata, publication)
