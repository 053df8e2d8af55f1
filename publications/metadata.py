"""Machine-readable metadata of a publication page's ``<head>``.

Google Scholar reads the Highwire Press ``citation_*`` tags, Zotero and
Mendeley read those and Dublin Core, search engines read schema.org JSON-LD,
social networks read Open Graph and Twitter cards. :func:`head_metadata`
builds all of them from a publication fetched with
``related.prefetch_detail()``, so it runs no query.

Values are plain text here; the template escapes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from publications.citations import full_title, keywords, ordered_authors, publication_date, publication_url
from publications.models import Publication

# schema.org types of each kind.
SCHEMA_TYPES = {
    Publication.Kind.ARTICLE: "ScholarlyArticle",
    Publication.Kind.REPORT: "Report",
    Publication.Kind.WORKING_PAPER: "Report",
    Publication.Kind.BLOG_POST: "BlogPosting",
    Publication.Kind.COMMENTARY: "Article",
    Publication.Kind.BOOK: "Book",
}
# Dublin Core types (DCMI Type Vocabulary) are all "Text"; the kind goes in a second DC.type.
DESCRIPTION_LENGTH = 300

# Characters XML 1.0 does not allow (C0 controls other than tab, newline, carriage return).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (a stray control character breaks feeds)."""
    return _XML_INVALID.sub("", text or "")


def absolute_url(url: str, base_url: str | None = None) -> str:
    """``url`` made absolute against ``SITE_URL`` (left alone when it already is)."""
    if not url or urlsplit(url).scheme:
        return url
    base = (base_url or settings.SITE_URL).rstrip("/")
    return f"{base}/{url.lstrip('/')}"


def short_description(publication: Publication, length: int = DESCRIPTION_LENGTH) -> str:
    """The abstract in one line, cut at a word boundary."""
    text = " ".join((publication.abstract or publication.subtitle or "").split())
    if len(text) <= length:
        return text
    return text[: length - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def pdf_url(publication: Publication, base_url: str | None = None) -> str:
    """The absolute URL of the page serving the PDF inline (``application/pdf``), or ``""``."""
    if not publication.pdf:
        return ""
    return absolute_url(reverse("publications:pdf", kwargs={"slug": publication.slug}), base_url)


def image_url(publication: Publication, base_url: str | None = None) -> str:
    """The cover (or the PDF's first page) as an absolute URL, or ``""``."""
    for image in (publication.cover_image, publication.pdf_thumbnail):
        if image:
            return absolute_url(image.url, base_url)
    return ""


@dataclass
class HeadMetadata:
    """What goes into the page's ``<head>``: lists of (name, content) pairs and a JSON-LD object."""

    canonical: str
    highwire: list[tuple[str, str]] = field(default_factory=list)
    dublin_core: list[tuple[str, str]] = field(default_factory=list)
    open_graph: list[tuple[str, str]] = field(default_factory=list)
    twitter: list[tuple[str, str]] = field(default_factory=list)
    json_ld: dict = field(default_factory=dict)


def head_metadata(publication: Publication, *, base_url: str | None = None) -> HeadMetadata:
    """All the ``<head>`` metadata of one publication page."""
    url = publication_url(publication, base_url)
    metadata = HeadMetadata(canonical=url)
    metadata.highwire = highwire_tags(publication, base_url=base_url)
    metadata.dublin_core = dublin_core_tags(publication, base_url=base_url)
    metadata.open_graph = open_graph_tags(publication, base_url=base_url)
    metadata.twitter = twitter_tags(publication, base_url=base_url)
    metadata.json_ld = json_ld(publication, base_url=base_url)
    return metadata


def _iso_date(publication: Publication) -> str:
    date = publication_date(publication)
    return date.isoformat() if date else ""


def _iso_datetime(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def highwire_tags(publication: Publication, *, base_url: str | None = None) -> list[tuple[str, str]]:
    """Google Scholar's tags, in the order its inclusion guidelines list them."""
    tags = [("citation_title", full_title(publication))]
    for author in ordered_authors(publication):
        tags.append(("citation_author", author.sort_name))
        if author.organization_id:
            tags.append(("citation_author_institution", author.organization.name))
        if author.orcid:
            tags.append(("citation_author_orcid", author.orcid_url))
    date = publication_date(publication)
    if date:
        tags.append(("citation_publication_date", date.strftime("%Y/%m/%d")))
    if publication.kind == Publication.Kind.ARTICLE:
        if publication.container_title:
            tags.append(("citation_journal_title", publication.container_title))
    elif publication.kind in (Publication.Kind.REPORT, Publication.Kind.WORKING_PAPER):
        tags.append(("citation_technical_report_institution", settings.SITE_NAME))
        if publication.container_title:
            tags.append(("citation_series_title", publication.container_title))
    elif publication.kind == Publication.Kind.BOOK:
        tags.append(("citation_publisher", settings.SITE_NAME))
    else:
        tags.append(("citation_publisher", settings.SITE_NAME))
    for name, value in (
        ("citation_volume", publication.volume),
        ("citation_issue", publication.issue),
        ("citation_firstpage", publication.first_page),
        ("citation_lastpage", publication.last_page),
        ("citation_doi", publication.doi),
    ):
        if value:
            tags.append((name, value))
    pdf = pdf_url(publication, base_url)
    if pdf:
        tags.append(("citation_pdf_url", pdf))
    tags.append(("citation_abstract_html_url", publication_url(publication, base_url)))
    tags.append(("citation_fulltext_html_url", publication_url(publication, base_url)))
    tags.append(("citation_language", publication.language))
    words = keywords(publication)
    if words:
        tags.append(("citation_keywords", "; ".join(words)))
    for reference in publication.references.all():
        tags.append(("citation_reference", _reference_text(reference)))
    return tags


def _reference_text(reference) -> str:
    text = " ".join(reference.text.split())
    if reference.doi and reference.doi not in text:
        text = f"{text} doi:{reference.doi}"
    elif reference.url and reference.url not in text:
        text = f"{text} {reference.url}"
    return text


def dublin_core_tags(publication: Publication, *, base_url: str | None = None) -> list[tuple[str, str]]:
    """Dublin Core elements (``DC.*`` with the ``schema.DC`` link) and a few DCTERMS refinements."""
    tags = [("DC.title", full_title(publication))]
    tags += [("DC.creator", author.sort_name) for author in ordered_authors(publication)]
    tags += [("DC.subject", theme.name) for theme in publication.themes.all()]
    tags += [("DC.subject", word) for word in keywords(publication)]
    if publication.abstract:
        tags.append(("DC.description", " ".join(publication.abstract.split())))
    tags.append(
        (
            "DC.publisher",
            publication.container_title
            if publication.kind == Publication.Kind.ARTICLE and publication.container_title
            else settings.SITE_NAME,
        )
    )
    if _iso_date(publication):
        tags.append(("DC.date", _iso_date(publication)))
    tags.append(("DC.type", "Text"))
    tags.append(("DC.type", publication.get_kind_display()))
    tags.append(("DC.format", "text/html"))
    tags.append(("DC.identifier", publication_url(publication, base_url)))
    if publication.doi:
        tags.append(("DC.identifier", f"doi:{publication.doi}"))
    tags.append(("DC.language", publication.language))
    tags += [("DC.coverage", region.name) for region in publication.regions.all()]
    if publication.container_title:
        tags.append(("DC.source", publication.container_title))
    rights = publication.license_url or publication.get_license_display()
    tags.append(("DC.rights", rights))
    if publication.copyright_holder:
        year = f"{publication.copyright_year} " if publication.copyright_year else ""
        tags.append(("DCTERMS.rightsHolder", f"{year}{publication.copyright_holder}".strip()))
    if _iso_date(publication):
        tags.append(("DCTERMS.issued", _iso_date(publication)))
    tags.append(("DCTERMS.modified", timezone.localtime(publication.updated_at).date().isoformat()))
    return tags


def open_graph_tags(publication: Publication, *, base_url: str | None = None) -> list[tuple[str, str]]:
    """Open Graph (``property=``) tags: an ``article`` with its dates, authors, section and tags."""
    tags = [
        ("og:type", "article"),
        ("og:title", full_title(publication)),
        ("og:url", publication_url(publication, base_url)),
        ("og:site_name", settings.SITE_NAME),
        ("og:locale", publication.language),
    ]
    description = short_description(publication)
    if description:
        tags.append(("og:description", description))
    image = image_url(publication, base_url)
    if image:
        tags.append(("og:image", image))
    if publication.published_at:
        tags.append(("article:published_time", _iso_datetime(publication.published_at)))
    tags.append(("article:modified_time", _iso_datetime(publication.updated_at)))
    tags += [
        ("article:author", absolute_url(author.get_absolute_url(), base_url))
        for author in ordered_authors(publication)
    ]
    themes = list(publication.themes.all())
    if themes:
        tags.append(("article:section", themes[0].name))
    tags += [("article:tag", word) for word in keywords(publication)]
    return tags


def twitter_tags(publication: Publication, *, base_url: str | None = None) -> list[tuple[str, str]]:
    """Twitter (X) card tags: a large image card when there is an image."""
    image = image_url(publication, base_url)
    tags = [
        ("twitter:card", "summary_large_image" if image else "summary"),
        ("twitter:title", full_title(publication)),
    ]
    description = short_description(publication)
    if description:
        tags.append(("twitter:description", description))
    if image:
        tags.append(("twitter:image", image))
    return tags


def _person(author, base_url: str | None) -> dict:
    person: dict = {
        "@type": "Person",
        "name": author.full_name,
        "familyName": author.family_name,
        "url": absolute_url(author.get_absolute_url(), base_url),
    }
    if author.given_name:
        person["givenName"] = author.given_name
    if author.position:
        person["jobTitle"] = author.position
    if author.orcid:
        person["sameAs"] = author.orcid_url
        person["identifier"] = author.orcid_url
    if author.organization_id:
        organization = author.organization
        affiliation: dict = {"@type": "Organization", "name": organization.name}
        if organization.place:
            address = {"@type": "PostalAddress"}
            if organization.city:
                address["addressLocality"] = organization.city
            if organization.country:
                address["addressCountry"] = organization.country
            affiliation["address"] = address
        if organization.website:
            affiliation["url"] = organization.website
        if author.department:
            affiliation["department"] = {"@type": "Organization", "name": author.department}
        person["affiliation"] = affiliation
    return person


def json_ld(publication: Publication, *, base_url: str | None = None) -> dict:
    """The schema.org description: ScholarlyArticle, Report, BlogPosting… with Person authors."""
    url = publication_url(publication, base_url)
    site = settings.SITE_NAME
    data: dict = {
        "@context": "https://schema.org",
        "@type": SCHEMA_TYPES.get(publication.kind, "CreativeWork"),
        "@id": url,
        "url": url,
        "mainEntityOfPage": url,
        "headline": full_title(publication)[:110],
        "name": full_title(publication),
        "inLanguage": publication.language,
        "author": [_person(author, base_url) for author in ordered_authors(publication)],
        "publisher": {"@type": "Organization", "name": site, "url": absolute_url("/", base_url)},
        "dateModified": _iso_datetime(publication.updated_at),
    }
    if publication.subtitle:
        data["alternativeHeadline"] = publication.subtitle
    if publication.published_at:
        data["datePublished"] = _iso_datetime(publication.published_at)
    if publication.abstract:
        abstract = " ".join(publication.abstract.split())
        if publication.kind == Publication.Kind.ARTICLE:
            # The whole in "abstract", a summary in "description": the page carries it once.
            data["abstract"] = abstract
            data["description"] = short_description(publication)
        else:
            data["description"] = abstract
    words = keywords(publication)
    if words:
        data["keywords"] = words
    themes = [theme.name for theme in publication.themes.all()]
    if themes:
        data["about"] = [{"@type": "Thing", "name": name} for name in themes]
    regions = [region.name for region in publication.regions.all()]
    if regions:
        data["spatialCoverage"] = [{"@type": "Place", "name": name} for name in regions]
    if publication.doi:
        data["identifier"] = {
            "@type": "PropertyValue",
            "propertyID": "DOI",
            "value": publication.doi,
            "url": publication.doi_url,
        }
        data["sameAs"] = publication.doi_url
    if publication.license_url:
        data["license"] = publication.license_url
    if publication.copyright_holder:
        data["copyrightHolder"] = {"@type": "Organization", "name": publication.copyright_holder}
    if publication.copyright_year:
        data["copyrightYear"] = publication.copyright_year
    if publication.kind == Publication.Kind.ARTICLE and publication.container_title:
        data["isPartOf"] = _periodical(publication)
    elif publication.container_title:
        data["isPartOf"] = {"@type": "CreativeWorkSeries", "name": publication.container_title}
    if publication.first_page:
        data["pageStart"] = publication.first_page
    if publication.last_page:
        data["pageEnd"] = publication.last_page
    if publication.pages:
        data["pagination"] = publication.pages
    pdf = pdf_url(publication, base_url)
    if pdf:
        data["encoding"] = {"@type": "MediaObject", "contentUrl": pdf, "encodingFormat": "application/pdf"}
    image = image_url(publication, base_url)
    if image:
        data["image"] = image
    references = list(publication.references.all())
    if references:
        data["citation"] = [_cited_work(reference) for reference in references]
    return data


def _periodical(publication: Publication) -> dict:
    """Journal → volume → issue, nested as schema.org wants it."""
    part: dict = {"@type": "Periodical", "name": publication.container_title}
    if publication.volume:
        part = {"@type": "PublicationVolume", "volumeNumber": publication.volume, "isPartOf": part}
    if publication.issue:
        part = {"@type": "PublicationIssue", "issueNumber": publication.issue, "isPartOf": part}
    return part


def _cited_work(reference) -> dict:
    work: dict = {"@type": "CreativeWork", "name": " ".join(reference.text.split())}
    if reference.doi:
        work["url"] = reference.doi_url  # the DOI's own address: its identifier and where it is read
    elif reference.url:
        work["url"] = reference.url
    if reference.language:
        work["inLanguage"] = reference.language
    return work
