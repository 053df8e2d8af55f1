"""Citation downloads: BibTeX, RIS and CSL-JSON, for one publication or a list.

Each writer takes publications fetched with :func:`for_export` (authors and
tags prefetched, so a list of any length costs a constant number of queries)
and returns text. Unicode is kept as is (Cyrillic, diacritics): every format
here is UTF-8; only the characters that BibTeX gives a meaning to are escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from publications.citations import (
    csl_item,
    full_title,
    keywords,
    ordered_authors,
    publication_date,
    publication_url,
)
from publications.models import Authorship, Publication

# How many publications one list download holds at most.
EXPORT_LIMIT = 1000


@dataclass(frozen=True)
class ExportFormat:
    key: str
    label: str
    extension: str
    content_type: str


EXPORT_FORMATS = {
    "bib": ExportFormat("bib", "BibTeX", "bib", "application/x-bibtex; charset=utf-8"),
    "ris": ExportFormat("ris", "RIS", "ris", "application/x-research-info-systems; charset=utf-8"),
    "json": ExportFormat(
        "json", "CSL-JSON", "json", "application/vnd.citationstyles.csl+json; charset=utf-8"
    ),
}


def for_export(queryset: QuerySet) -> QuerySet:
    """``queryset`` with what the writers read prefetched (replacing other prefetches).

    The long texts no citation needs (body, extracted PDF text) are not loaded.
    """
    return (
        queryset.defer("body", "pdf_text")
        .prefetch_related(None)
        .prefetch_related(
            Prefetch(
                "authorships",
                queryset=Authorship.objects.select_related("author__organization").order_by("position", "pk"),
            ),
            "tags",
        )
    )


def export(publications: Iterable[Publication], fmt: str, *, base_url: str | None = None) -> str:
    """The publications in format ``fmt`` (``bib``, ``ris`` or ``json``)."""
    writers = {"bib": to_bibtex, "ris": to_ris, "json": to_csl_json}
    return writers[fmt](publications, base_url=base_url)


# BibTeX ----------------------------------------------------------------------

BIBTEX_TYPES = {
    Publication.Kind.ARTICLE: "article",
    Publication.Kind.REPORT: "techreport",
    Publication.Kind.WORKING_PAPER: "techreport",
    Publication.Kind.COMMENTARY: "misc",
    Publication.Kind.BLOG_POST: "online",
    Publication.Kind.BOOK: "book",
}
# The BibTeX ``type`` field tells apart kinds that share an entry type.
BIBTEX_SUBTYPES = {
    Publication.Kind.WORKING_PAPER: "Working Paper",
    Publication.Kind.COMMENTARY: "Commentary",
    Publication.Kind.BLOG_POST: "Blog post",
}
_BIBTEX_ESCAPES = str.maketrans(
    {
        "\\": r"\textbackslash{}",
        "{": r"\{",
        "}": r"\}",
        "%": r"\%",
        "&": r"\&",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
)


def bibtex_escape(text: str) -> str:
    """Escape BibTeX/LaTeX special characters; leave every other character (Unicode) alone."""
    return " ".join(text.split()).translate(_BIBTEX_ESCAPES)


def _bibtex_name(author) -> str:
    family, given = bibtex_escape(author.family_name), bibtex_escape(author.given_name)
    # Braces keep multi-word family names ("de la Cruz", "Smith and Sons") in one piece.
    if " " in family or "," in family:
        family = "{" + family + "}"
    return f"{family}, {given}" if given else family


def to_bibtex(publications: Iterable[Publication], *, base_url: str | None = None) -> str:
    entries = []
    for publication in publications:
        fields: list[tuple[str, str]] = []
        authors = ordered_authors(publication)
        if authors:
            fields.append(("author", " and ".join(_bibtex_name(author) for author in authors)))
        fields.append(("title", bibtex_escape(publication.title)))
        if publication.subtitle:
            fields.append(("subtitle", bibtex_escape(publication.subtitle)))
        if publication.kind in BIBTEX_SUBTYPES:
            fields.append(("type", BIBTEX_SUBTYPES[publication.kind]))
        if publication.container_title:
            key = "journal" if publication.kind == Publication.Kind.ARTICLE else "series"
            fields.append((key, bibtex_escape(publication.container_title)))
        if publication.kind in (Publication.Kind.REPORT, Publication.Kind.WORKING_PAPER):
            fields.append(("institution", bibtex_escape(settings.SITE_NAME)))
        elif publication.kind != Publication.Kind.ARTICLE:
            fields.append(("publisher", bibtex_escape(settings.SITE_NAME)))
        date = publication_date(publication)
        if date:
            fields += [("year", str(date.year)), ("month", str(date.month)), ("date", date.isoformat())]
        if publication.volume:
            fields.append(("volume", bibtex_escape(publication.volume)))
        if publication.issue:
            fields.append(("number", bibtex_escape(publication.issue)))
        if publication.pages:
            first, last = publication.first_page, publication.last_page
            fields.append(("pages", bibtex_escape(f"{first}--{last}" if last else first)))
        if publication.doi:
            fields.append(("doi", bibtex_escape(publication.doi)))
        fields.append(("url", publication_url(publication, base_url)))
        if publication.abstract:
            fields.append(("abstract", bibtex_escape(publication.abstract)))
        tags = keywords(publication)
        if tags:
            fields.append(("keywords", bibtex_escape(", ".join(tags))))
        fields.append(("language", publication.language))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@{BIBTEX_TYPES.get(publication.kind, 'misc')}{{{publication.slug},\n{body}\n}}\n")
    return "\n".join(entries)


# RIS -------------------------------------------------------------------------

RIS_TYPES = {
    Publication.Kind.ARTICLE: "JOUR",
    Publication.Kind.REPORT: "RPRT",
    Publication.Kind.WORKING_PAPER: "RPRT",
    Publication.Kind.COMMENTARY: "GEN",
    Publication.Kind.BLOG_POST: "BLOG",
    Publication.Kind.BOOK: "BOOK",
}
# M3 ("type of work") tells apart kinds that share a reference type.
RIS_SUBTYPES = {
    Publication.Kind.WORKING_PAPER: "Working Paper",
    Publication.Kind.COMMENTARY: "Commentary",
}


def _ris_value(text: str) -> str:
    # A RIS value is one line.
    return " ".join(str(text).split())


def to_ris(publications: Iterable[Publication], *, base_url: str | None = None) -> str:
    lines: list[str] = []
    for publication in publications:
        tags: list[tuple[str, str]] = [
            ("TY", RIS_TYPES.get(publication.kind, "GEN")),
            ("ID", publication.slug),
        ]
        for author in ordered_authors(publication):
            name = f"{author.family_name}, {author.given_name}" if author.given_name else author.family_name
            tags.append(("AU", name))
        tags.append(("TI", full_title(publication)))
        if publication.kind in RIS_SUBTYPES:
            tags.append(("M3", RIS_SUBTYPES[publication.kind]))
        if publication.container_title:
            tags.append(
                ("JO" if publication.kind == Publication.Kind.ARTICLE else "T2", publication.container_title)
            )
        if publication.kind != Publication.Kind.ARTICLE:
            tags.append(("PB", settings.SITE_NAME))
        date = publication_date(publication)
        if date:
            tags += [("PY", str(date.year)), ("DA", date.strftime("%Y/%m/%d"))]
        if publication.volume:
            tags.append(("VL", publication.volume))
        if publication.issue:
            tags.append(("IS", publication.issue))
        if publication.first_page:
            tags.append(("SP", publication.first_page))
        if publication.last_page:
            tags.append(("EP", publication.last_page))
        if publication.doi:
            tags.append(("DO", publication.doi))
        tags.append(("UR", publication_url(publication, base_url)))
        if publication.abstract:
            tags.append(("AB", publication.abstract))
        tags += [("KW", tag) for tag in keywords(publication)]
        tags.append(("LA", publication.language))
        lines += [f"{tag}  - {_ris_value(value)}" for tag, value in tags]
        lines += ["ER  - ", ""]
    return "\r\n".join(lines)


# CSL-JSON --------------------------------------------------------------------


def to_csl_json(publications: Iterable[Publication], *, base_url: str | None = None) -> str:
    items = [csl_item(publication, base_url=base_url) for publication in publications]
    return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
