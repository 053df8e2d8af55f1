"""Import publications from CSV, BibTeX, RIS or CSL-JSON.

:func:`publications_import` is the one service behind the management command
``import_publications`` and the admin's import page. It reads the whole file
first, checks every record and reports per row what would happen (create,
update) or what is wrong (row, field, reason). Then:

- a dry run writes nothing;
- a file with invalid rows is rejected whole unless ``skip_invalid`` (then the
  invalid rows are reported as skipped and the others imported);
- everything is written in one transaction: nothing is ever half-imported.

Importing is idempotent: a record updates the publication with the same DOI,
else the one with the record's key (BibTeX key, RIS ``ID``, CSL-JSON ``id``,
CSV ``key``) as its stored ``source_key`` (or, when it has none, as its slug:
our own exports use the slug as the key); otherwise a publication is created
and keeps the key as its ``source_key``. A record is never matched by its
title: a row with neither DOI nor key whose title's slug is taken is an error
(see :func:`_match`). Authors are matched by ORCID, then by name and
organization (by name alone when the file gives no organization), preferring
the author already in the byline; when several remain, the oldest is used and
the row carries a warning. Unknown authors and organizations are created.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import bibtexparser
import rispy
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify
from pylatexenc.latex2text import LatexNodes2Text

from authors.models import Author, Organization
from center.identifiers import normalize_doi, normalize_orcid, validate_doi, validate_orcid
from publications.citations import full_title
from publications.history import history_capture_related
from publications.models import Authorship, Language, License, Publication, Region, Theme

FORMATS = ("csv", "bib", "ris", "json")
EXTENSIONS = {".csv": "csv", ".bib": "bib", ".bibtex": "bib", ".ris": "ris", ".json": "json"}
# CSV columns (README "Import"). Lists inside a cell are separated by ";".
CSV_COLUMNS = (
    "key",
    "kind",
    "status",
    "title",
    "subtitle",
    "authors",
    "author_orcids",
    "author_organizations",
    "date",
    "abstract",
    "language",
    "doi",
    "journal",
    "volume",
    "issue",
    "pages",
    "keywords",
    "themes",
    "regions",
    "license",
    "copyright_holder",
    "copyright_year",
)
MAX_FILE_SIZE = 20 * 1024 * 1024


class ImportFileError(Exception):
    """The file as a whole cannot be read (encoding, syntax, columns)."""


@dataclass
class AuthorRecord:
    family: str
    given: str = ""
    orcid: str = ""
    organization: str = ""

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}".strip()


@dataclass
class Record:
    """One publication as read from the file, before matching."""

    number: int
    key: str = ""
    kind: str = ""
    status: str = ""
    title: str = ""
    subtitle: str = ""
    authors: list[AuthorRecord] = field(default_factory=list)
    date: dt.date | None = None
    abstract: str = ""
    language: str = ""
    doi: str = ""
    container_title: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    keywords: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    license: str = ""
    copyright_holder: str = ""
    copyright_year: int | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)

    def error(self, field_name: str, reason: str) -> None:
        self.errors.append((field_name, reason))


@dataclass
class RowReport:
    number: int
    key: str
    title: str
    action: str  # "create", "update", "unchanged", "invalid", "skipped"
    errors: list[tuple[str, str]] = field(default_factory=list)
    # (field, reason) of what the row will do that staff should check (not an error).
    warnings: list[tuple[str, str]] = field(default_factory=list)
    new_authors: list[str] = field(default_factory=list)
    publication_id: int | None = None

    @property
    def error_text(self) -> str:
        return "; ".join(f"{name}: {reason}" for name, reason in self.errors)

    @property
    def warning_text(self) -> str:
        return "; ".join(f"{name}: {reason}" for name, reason in self.warnings)


@dataclass
class ImportReport:
    format: str
    dry_run: bool
    skip_invalid: bool
    rows: list[RowReport] = field(default_factory=list)
    file_error: str = ""
    committed: bool = False

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def created(self) -> int:
        return self.count("create")

    @property
    def updated(self) -> int:
        return self.count("update")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def invalid_rows(self) -> list[RowReport]:
        return [row for row in self.rows if row.errors]

    @property
    def ok(self) -> bool:
        """Whether the file can be (or was) imported as asked."""
        return not self.file_error and (self.skip_invalid or not self.invalid_rows)

    def summary(self) -> str:
        if self.file_error:
            return f"File rejected: {self.file_error}"
        invalid = len(self.invalid_rows)
        if invalid and not self.skip_invalid:
            return f"File rejected: {invalid} invalid row(s); nothing was imported."
        verb = "Would create" if self.dry_run else "Created"
        text = f"{verb} {self.created}, {'would update' if self.dry_run else 'updated'} {self.updated}"
        if self.unchanged:
            text += f", {self.unchanged} unchanged"
        if invalid:
            text += f", skipped {invalid} invalid row(s)"
        warned = sum(1 for row in self.rows if row.warnings and not row.errors)
        if warned:
            text += f"; {warned} row(s) with warnings"
        return text + "."


# The service ------------------------------------------------------------------


def detect_format(filename: str) -> str:
    """The import format from a file name's extension (``ValueError`` when unknown)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in EXTENSIONS:
        raise ValueError(
            f"Cannot tell the format of “{filename}”: use .csv, .bib, .ris or .json (or give the format)."
        )
    return EXTENSIONS[suffix]


def publications_import(
    *, file, format: str, dry_run: bool = False, skip_invalid: bool = False
) -> ImportReport:
    """Import the publications in ``file`` (bytes, str or a binary file object) of ``format``."""
    report = ImportReport(format=format, dry_run=dry_run, skip_invalid=skip_invalid)
    try:
        records = parse(file, format)
    except ImportFileError as error:
        report.file_error = str(error)
        return report
    if not records:
        report.file_error = "The file holds no publications."
        return report
    authors = _AuthorIndex([author for record in records for author in record.authors])
    plans = _plan(records, authors)
    report.rows = [plan.row for plan in plans]
    if dry_run or not report.ok:
        return report
    with transaction.atomic():
        writer = _Writer(authors)
        for plan in plans:
            if plan.row.errors:
                plan.row.action = "skipped"
                continue
            if plan.row.action != "unchanged":
                _save(plan, writer)
            elif plan.key_learned:
                # Bookkeeping only: the content is unchanged, so is the revision history.
                Publication.objects.filter(pk=plan.publication.pk).update(
                    source_key=plan.publication.source_key
                )
            plan.row.publication_id = plan.publication.pk
    report.committed = True
    return report


# Parsing ------------------------------------------------------------------------


def parse(file, format: str) -> list[Record]:
    """Read every record of the file (``ImportFileError`` when the file is unreadable)."""
    if format not in FORMATS:
        raise ImportFileError(f"Unknown format “{format}”: use one of {', '.join(FORMATS)}.")
    text = _text(file)
    return {"csv": _parse_csv, "bib": _parse_bibtex, "ris": _parse_ris, "json": _parse_csl_json}[format](text)


def _text(file) -> str:
    if hasattr(file, "read"):
        file = file.read(MAX_FILE_SIZE + 1)
    if not isinstance(file, str):
        if len(file) > MAX_FILE_SIZE:
            raise ImportFileError(f"The file is larger than {MAX_FILE_SIZE // (1024 * 1024)} MB.")
        try:
            file = file.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ImportFileError(f"The file is not UTF-8 text (byte {error.start}).") from error
    # Control characters other than line breaks and tabs are never content (and PostgreSQL
    # refuses NUL in text).
    return _CONTROL.sub("", file)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_control(value):
    """``value`` (decoded JSON) with control characters removed from every string."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, list):
        return [_without_control(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_control(item) for key, item in value.items()}
    return value


def _split_list(value: str, separators: str = ";") -> list[str]:
    return [part.strip() for part in re.split(f"[{separators}]", value or "") if part.strip()]


def _parse_name(value: str) -> AuthorRecord | None:
    """ "Family, Given" or "Given Family"."""
    value = " ".join(value.split())
    if not value:
        return None
    if "," in value:
        family, given = value.split(",", 1)
        return AuthorRecord(family=family.strip(), given=given.strip())
    parts = value.rsplit(" ", 1)
    return AuthorRecord(family=parts[-1], given=parts[0] if len(parts) > 1 else "")


def _set_date(record: Record, value: str, field_name: str = "date") -> None:
    """Accept YYYY, YYYY-MM, YYYY-MM-DD and RIS's YYYY/MM/DD/."""
    value = (value or "").strip().strip("/")
    if not value:
        return
    match = re.fullmatch(r"(\d{4})(?:[-/](\d{1,2}))?(?:[-/](\d{1,2}))?(?:/.*)?", value)
    if not match:
        record.error(field_name, f"“{value}” is not a date (use YYYY, YYYY-MM or YYYY-MM-DD).")
        return
    year, month, day = int(match[1]), int(match[2] or 1), int(match[3] or 1)
    try:
        record.date = dt.date(year, month, day)
    except ValueError:
        record.error(field_name, f"“{value}” is not a valid date.")


LANGUAGE_NAMES = {label.lower(): code for code, label in Language.choices} | {
    "eng": "en",
    "rus": "ru",
    "fra": "fr",
    "fre": "fr",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "zho": "zh",
    "chi": "zh",
    "ara": "ar",
    "russkij": "ru",
    "русский": "ru",
}


def _set_language(record: Record, value: str) -> None:
    value = (value or "").strip().lower()
    if not value:
        return
    code = value.split("-")[0].split("_")[0]
    if code in Language.values:
        record.language = code
    elif value in LANGUAGE_NAMES:
        record.language = LANGUAGE_NAMES[value]
    else:
        record.error("language", f"Unknown language “{value}” (use one of {', '.join(Language.values)}).")


KIND_NAMES = (
    {value: value for value in Publication.Kind.values}
    | {label.lower(): value for value, label in Publication.Kind.choices}
    | {"journal article": "article", "working paper": "working-paper", "blog post": "blog", "blog": "blog"}
)


def _set_kind(record: Record, value: str) -> None:
    value = (value or "").strip().lower()
    if value in KIND_NAMES:
        record.kind = KIND_NAMES[value]
    else:
        record.error("kind", f"Unknown kind “{value}” (use one of {', '.join(Publication.Kind.values)}).")


# CSV


def _parse_csv(text: str) -> list[Record]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = [name.strip().lower() for name in (reader.fieldnames or [])]
    if "title" not in columns:
        raise ImportFileError("The CSV file has no “title” column (see the README for the columns).")
    unknown = [name for name in columns if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"Unknown CSV column(s): {', '.join(unknown)} (see the README for the columns)."
        )
    reader.fieldnames = columns
    records = []
    try:
        for row in reader:
            # Row numbers as a spreadsheet shows them: the header is row 1.
            records.append(_csv_record(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}))
    except csv.Error as error:
        raise ImportFileError(f"CSV syntax error on line {reader.line_num}: {error}") from error
    return records


def _csv_record(number: int, row: dict) -> Record:
    record = Record(number=number, key=row.get("key", ""), title=row.get("title", ""))
    record.subtitle = row.get("subtitle", "")
    _set_kind(record, row.get("kind") or "report")
    status = row.get("status", "").lower()
    if status:
        if status in Publication.Status.values:
            record.status = status
        else:
            record.error(
                "status", f"Unknown status “{status}” (use one of {', '.join(Publication.Status.values)})."
            )
    names = [_parse_name(name) for name in _split_list(row.get("authors", ""))]
    orcids = (
        [part.strip() for part in row.get("author_orcids", "").split(";")] if row.get("author_orcids") else []
    )
    organizations = (
        [part.strip() for part in row.get("author_organizations", "").split(";")]
        if row.get("author_organizations")
        else []
    )
    for index, author in enumerate(name for name in names if name):
        if index < len(orcids):
            author.orcid = orcids[index]
        if index < len(organizations):
            author.organization = organizations[index]
        record.authors.append(author)
    _set_date(record, row.get("date", ""))
    record.abstract = row.get("abstract", "")
    _set_language(record, row.get("language", ""))
    record.doi = row.get("doi", "")
    record.container_title = row.get("journal", "")
    record.volume, record.issue, record.pages = (
        row.get("volume", ""),
        row.get("issue", ""),
        row.get("pages", ""),
    )
    record.keywords = _split_list(row.get("keywords", ""))
    record.themes = _split_list(row.get("themes", ""))
    record.regions = _split_list(row.get("regions", ""))
    license_value = row.get("license", "")
    if license_value:
        match = {value.lower(): value for value in License.values} | {
            label.lower(): value for value, label in License.choices
        }
        if license_value.lower() in match:
            record.license = match[license_value.lower()]
        else:
            record.error(
                "license", f"Unknown license “{license_value}” (use one of {', '.join(License.values)})."
            )
    record.copyright_holder = row.get("copyright_holder", "")
    year = row.get("copyright_year", "")
    if year:
        if year.isdigit():
            record.copyright_year = int(year)
        else:
            record.error("copyright_year", f"“{year}” is not a year.")
    return record


# BibTeX

BIBTEX_KINDS = {
    "article": "article",
    "techreport": "report",
    "report": "report",
    "book": "book",
    "online": "blog",
    "electronic": "blog",
    "www": "blog",
    "unpublished": "working-paper",
    "misc": "report",
}
_latex = LatexNodes2Text(math_mode="verbatim", keep_comments=True)


def _delatex(value: str) -> str:
    if "\\" not in value and "{" not in value and "~" not in value and "--" not in value:
        return " ".join(value.split())
    # pylatexenc turns -- into an en dash and ~ into a no-break space, as LaTeX would.
    return " ".join(_latex.latex_to_text(value).replace("\u00a0", " ").split())


def _split_bibtex_names(value: str) -> list[str]:
    """Split on " and " outside braces."""
    names, depth, current, index = [], 0, [], 0
    while index < len(value):
        char = value[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if depth == 0 and value[index : index + 5].lower() == " and ":
            names.append("".join(current))
            current = []
            index += 5
            continue
        current.append(char)
        index += 1
    names.append("".join(current))
    return [name.strip() for name in names if name.strip()]


def _bibtex_name(value: str) -> AuthorRecord | None:
    # Split "Family, Given" on the first comma outside braces, then decode each part.
    depth = 0
    for index, char in enumerate(value):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            family, given = _delatex(value[:index]), _delatex(value[index + 1 :])
            return AuthorRecord(family=family, given=given) if family else None
    if value.startswith("{") and value.endswith("}"):
        return AuthorRecord(family=_delatex(value))
    return _parse_name(_delatex(value))


def _parse_bibtex(text: str) -> list[Record]:
    library = bibtexparser.parse_string(text)
    if library.failed_blocks:
        block = library.failed_blocks[0]
        line = getattr(block, "start_line", None)
        where = f" near line {line + 1}" if line is not None else ""
        raise ImportFileError(f"BibTeX syntax error{where}: {block.raw[:80]!r}")
    records = []
    for number, entry in enumerate(library.entries, start=1):
        fields = {f.key.lower(): f.value for f in entry.fields}
        value = {name: _delatex(str(raw)) for name, raw in fields.items() if name != "author"}
        record = Record(
            number=number, key=entry.key, title=value.get("title", ""), subtitle=value.get("subtitle", "")
        )
        entry_type = entry.entry_type.lower()
        subtype = value.get("type", "").lower()
        if entry_type not in BIBTEX_KINDS:
            record.error("type", f"Unsupported BibTeX entry type @{entry_type}.")
        record.kind = BIBTEX_KINDS.get(entry_type, "report")
        if "working" in subtype:
            record.kind = "working-paper"
        elif "comment" in subtype:
            record.kind = "commentary"
        elif "blog" in subtype:
            record.kind = "blog"
        for raw_name in _split_bibtex_names(str(fields.get("author", ""))):
            author = _bibtex_name(raw_name)
            if author:
                record.authors.append(author)
        if value.get("date"):
            _set_date(record, value["date"])
        elif value.get("year"):
            month = value.get("month", "")
            month_number = _month_number(month)
            _set_date(record, f"{value['year']}-{month_number}" if month_number else value["year"], "year")
        record.abstract = value.get("abstract", "")
        _set_language(record, value.get("language") or value.get("langid", ""))
        record.doi = value.get("doi", "")
        record.container_title = value.get("journal") or value.get("journaltitle") or value.get("series", "")
        record.volume, record.issue = value.get("volume", ""), value.get("number") or value.get("issue", "")
        record.pages = value.get("pages", "").replace("–", "-").replace("--", "-")
        record.keywords = _split_list(value.get("keywords", ""), ",;")
        records.append(record)
    return records


_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _month_number(value: str) -> str:
    value = value.strip().lower()
    if value.isdigit() and 1 <= int(value) <= 12:
        return f"{int(value):02d}"
    if value[:3] in _MONTHS:
        return f"{_MONTHS.index(value[:3]) + 1:02d}"
    return ""


# RIS

RIS_KINDS = {
    "JOUR": "article",
    "JFULL": "article",
    "EJOUR": "article",
    "RPRT": "report",
    "BLOG": "blog",
    "ELEC": "blog",
    "WEB": "blog",
    "BOOK": "book",
    "EBOOK": "book",
    "UNPB": "working-paper",
    "GEN": "report",
    "NEWS": "commentary",
    "MGZN": "commentary",
}


def _parse_ris(text: str) -> list[Record]:
    try:
        entries = rispy.loads(text)
    except (OSError, ValueError, IndexError) as error:
        raise ImportFileError(f"RIS syntax error: {error}") from error
    records = []
    for number, entry in enumerate(entries, start=1):
        record = Record(
            number=number,
            key=str(entry.get("id", "")),
            title=entry.get("title") or entry.get("primary_title", ""),
        )
        ris_type = str(entry.get("type_of_reference", "")).upper()
        if ris_type not in RIS_KINDS:
            record.error("TY", f"Unsupported RIS type “{ris_type}”.")
        record.kind = RIS_KINDS.get(ris_type, "report")
        subtype = str(entry.get("type_of_work", "")).lower()
        if "working" in subtype:
            record.kind = "working-paper"
        elif "comment" in subtype:
            record.kind = "commentary"
        for name in list(entry.get("authors", [])) + list(entry.get("first_authors", [])):
            author = _parse_name(name)
            if author:
                record.authors.append(author)
        _set_date(record, entry.get("date") or entry.get("year") or entry.get("publication_year", ""))
        record.abstract = entry.get("abstract") or entry.get("notes_abstract", "")
        _set_language(record, entry.get("language", ""))
        record.doi = entry.get("doi", "")
        record.container_title = (
            entry.get("journal_name") or entry.get("secondary_title") or entry.get("alternate_title3", "")
        )
        record.volume, record.issue = str(entry.get("volume", "")), str(entry.get("number", ""))
        first, last = str(entry.get("start_page", "")), str(entry.get("end_page", ""))
        record.pages = f"{first}-{last}" if first and last else first
        record.keywords = [keyword.strip() for keyword in entry.get("keywords", []) if keyword.strip()]
        records.append(record)
    return records


# CSL-JSON

CSL_KINDS = {
    "article-journal": "article",
    "report": "report",
    "post-weblog": "blog",
    "post": "blog",
    "webpage": "blog",
    "book": "book",
    "article": "commentary",
    "article-newspaper": "commentary",
    "article-magazine": "commentary",
    "manuscript": "working-paper",
}


def _csl_affiliation(value) -> str:
    """The first affiliation's name: Crossref writes ``[{"name": …}]``, others a string or strings."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("name", "")
    return " ".join(str(value or "").split())[:255]


def _parse_csl_json(text: str) -> list[Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"JSON syntax error on line {error.lineno}: {error.msg}.") from error
    data = _without_control(data)
    if isinstance(data, dict):
        data = data.get("items", [data])
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ImportFileError("A CSL-JSON file holds a list of items (objects).")
    records = []
    for number, item in enumerate(data, start=1):
        record = Record(number=number, key=str(item.get("id", "")), title=str(item.get("title", "")))
        csl_type = str(item.get("type", ""))
        if csl_type not in CSL_KINDS:
            record.error("type", f"Unsupported CSL type “{csl_type}”.")
        record.kind = CSL_KINDS.get(csl_type, "report")
        genre = str(item.get("genre", "")).lower()
        if "working" in genre:
            record.kind = "working-paper"
        elif "comment" in genre:
            record.kind = "commentary"
        for name in item.get("author", []) or []:
            if not isinstance(name, dict):
                record.error("author", "Each author must be an object with family and given names.")
                continue
            family = str(name.get("family") or name.get("literal") or "").strip()
            if family:
                record.authors.append(
                    AuthorRecord(
                        family=family,
                        given=str(name.get("given", "")).strip(),
                        orcid=str(name.get("ORCID") or "").strip(),
                        organization=_csl_affiliation(name.get("affiliation")),
                    )
                )
        issued = item.get("issued") or {}
        parts = (issued.get("date-parts") or [[]])[0] if isinstance(issued, dict) else []
        if parts:
            _set_date(record, "-".join(str(part) for part in parts), "issued")
        elif isinstance(issued, dict) and (issued.get("raw") or issued.get("literal")):
            _set_date(record, str(issued.get("raw") or issued.get("literal")), "issued")
        record.abstract = str(item.get("abstract", ""))
        _set_language(record, str(item.get("language", "")))
        record.doi = str(item.get("DOI", ""))
        record.container_title = str(item.get("container-title", ""))
        record.volume, record.issue = str(item.get("volume", "")), str(item.get("issue", ""))
        record.pages = str(item.get("page", "")).replace("–", "-")
        keyword = item.get("keyword", "")
        record.keywords = _split_list(keyword if isinstance(keyword, str) else ",".join(keyword), ",;")
        records.append(record)
    return records


# Checking and matching ------------------------------------------------------------

_CYRILLIC = {
    **dict(zip("абвгдезийклмнопрстуфыэ", "abvgdeziyklmnoprstufye", strict=True)),
    **{"ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ь": ""},
    **{"ю": "yu", "я": "ya", "і": "i", "є": "ye", "ї": "yi", "ґ": "g"},
}


def make_slug(text: str, max_length: int = 80) -> str:
    """An ASCII slug, transliterating Cyrillic."""
    text = "".join(_CYRILLIC.get(char, char) for char in text.lower())
    return slugify(text)[:max_length].strip("-")


# Fields an import may change; comparing them tells "update" from "unchanged".
_COMPARED_FIELDS = (
    "title",
    "subtitle",
    "kind",
    "status",
    "published_at",
    "abstract",
    "language",
    "container_title",
    "volume",
    "issue",
    "pages",
    "license",
    "doi",
    "copyright_holder",
    "copyright_year",
)


@dataclass
class _Plan:
    record: Record
    row: RowReport
    publication: Publication
    fields_changed: bool = True
    # The publication was found by DOI or slug and gets the record's key as its source key.
    key_learned: bool = False
    # Per author of the record: the existing author it matches, or None (to be created).
    matches: list[Author | None] = field(default_factory=list)
    authors_changed: bool = False
    tags_changed: bool = False
    themes_changed: bool = False
    regions_changed: bool = False


def _plan(records: list[Record], authors: _AuthorIndex) -> list[_Plan]:
    """Check every record and decide create, update or unchanged; nothing is written."""
    for record in records:
        record.key = record.key.strip()
    dois = {normalize_doi(record.doi).lower() for record in records if record.doi}
    keys = {record.key for record in records if record.key}
    slugs = {make_slug(record.key or record.title) for record in records}
    existing = Publication.objects.prefetch_related(
        Prefetch(
            "authorships",
            queryset=Authorship.objects.select_related("author__organization").order_by("position", "pk"),
        ),
        "tags",
        "themes",
        "regions",
    )
    by_doi = {}
    if dois:
        matches = existing.annotate(doi_lower=Lower("doi")).filter(doi_lower__in=dois)
        by_doi = {p.doi.lower(): p for p in matches}
    by_key = {p.source_key: p for p in existing.filter(source_key__in=keys)} if keys else {}
    by_slug = {p.slug: p for p in existing.filter(slug__in=slugs)}
    seen: dict[str, int] = {}
    plans = []
    for record in records:
        row = RowReport(number=record.number, key=record.key, title=record.title, action="create")
        errors = list(record.errors)
        doi = normalize_doi(record.doi)
        publication, error = _match(record, doi, by_doi, by_key, by_slug)
        if error:
            errors.append(error)
        # What makes two rows of the file the same publication.
        identities = [f"doi:{doi.lower()}" if doi else "", f"key:{record.key}" if record.key else ""]
        if publication is not None:
            row.action = "update"
            identities.append(f"pk:{publication.pk}")
        else:
            slug = make_slug(record.key or record.title) or f"publication-{record.number}"
            publication = Publication(slug=slug, source_key=record.key)
            if not (doi or record.key):
                identities.append(f"slug:{slug}")
            elif slug in by_slug and not error:
                row.warnings.append(
                    (
                        "title",
                        f"“{by_slug[slug]}” already has the slug “{slug}”: this row adds a new "
                        "publication under a free slug (its DOI or key tells them apart).",
                    )
                )
        # Found by DOI or by our own slug (exports use it as the key): remember the key, so
        # the next import finds the publication even after its slug is edited.
        key_learned = bool(publication.pk and record.key and not publication.source_key)
        if key_learned:
            publication.source_key = record.key
        for identity in filter(None, identities):
            if identity in seen:
                errors.append(("key", f"Same publication as row {seen[identity]} (same DOI or key)."))
            else:
                seen[identity] = record.number
        if not record.title.strip():
            errors.append(("title", "A title is required."))
        date_error = any(name in ("date", "year", "issued") for name, _ in errors)
        if record.date is None and not date_error and row.action == "create":
            errors.append(("date", "A publication date (or year) is required."))
        if doi:
            try:
                validate_doi(doi)
            except ValidationError as error:
                errors.append(("doi", error.messages[0]))
        for author in record.authors:
            try:
                validate_orcid(author.orcid)
            except ValidationError as error:
                errors.append(("author_orcids", f"{author.name}: {error.messages[0]}"))
            if len(author.family) > 120 or len(author.given) > 120:
                errors.append(("authors", f"Name too long: {author.name[:40]}…"))
        before = {name: getattr(publication, name) for name in _COMPARED_FIELDS}
        _apply(publication, record, doi)
        plan = _Plan(record=record, row=row, publication=publication, key_learned=key_learned)
        plan.fields_changed = publication.pk is None or any(
            getattr(publication, name) != value for name, value in before.items()
        )
        _plan_relations(plan, authors)
        try:
            # Uniqueness (DOI, slug) and the check constraints are decided above, for the
            # whole file at once; skipping them here saves several queries per row.
            publication.full_clean(
                exclude=["slug"] if row.action == "update" else None,
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors += [(name, message) for message in messages if (name, message) not in errors]
        row.errors = errors
        row.new_authors = [
            a.name for a, match in zip(record.authors, plan.matches, strict=True) if match is None
        ]
        if errors:
            row.action = "invalid"
        elif row.action == "update" and not (
            plan.fields_changed
            or plan.authors_changed
            or plan.tags_changed
            or plan.themes_changed
            or plan.regions_changed
        ):
            row.action = "unchanged"
        plans.append(plan)
    return plans


def _match(
    record: Record,
    doi: str,
    by_doi: dict[str, Publication],
    by_key: dict[str, Publication],
    by_slug: dict[str, Publication],
) -> tuple[Publication | None, tuple[str, str] | None]:
    """The existing publication a record updates (same DOI, else same key), or an error.

    Never by title: two publications may share a title, and a row without a
    key once overwrote another publication's DOI and byline that way. A key
    matches the stored source key, else the slug of a publication that has none
    (our own exports use the slug as the key).
    """
    found_by_doi = by_doi.get(doi.lower()) if doi else None
    found_by_key = None
    if record.key:
        found_by_key = by_key.get(record.key)
        if found_by_key is None:
            candidate = by_slug.get(make_slug(record.key))
            if candidate is not None and candidate.source_key in ("", record.key):
                found_by_key = candidate
    if found_by_doi and found_by_key and found_by_doi.pk != found_by_key.pk:
        return None, (
            "key",
            f"The DOI {doi} belongs to “{found_by_doi}” but the key “{record.key}” to “{found_by_key}”.",
        )
    if found_by_doi:
        return found_by_doi, None
    if found_by_key:
        if doi and found_by_key.doi and found_by_key.doi.lower() != doi.lower():
            return None, (
                "doi",
                f"The key “{record.key}” belongs to “{found_by_key}”, whose DOI is {found_by_key.doi}, "
                f"not {doi}.",
            )
        return found_by_key, None
    slug = make_slug(record.key or record.title)
    clash = by_slug.get(slug)
    if clash is not None and not (doi or record.key):
        # Neither updating it (maybe another work) nor creating a copy (a duplicate at
        # every re-import of this keyless file) is safe: ask. A row with a DOI or key
        # is created under a free slug instead, since the next import finds it by those.
        return None, (
            "title",
            f"A different publication already uses the slug “{slug}” (title “{clash}”). Rows are matched "
            "by DOI or key, never by title: give this row that publication's DOI or key to update it, "
            "or a key of its own to add a new one.",
        )
    return None, None


def _plan_relations(plan: _Plan, authors: _AuthorIndex) -> None:
    """Match the record's authors and compare authors, tags, themes and regions with the database."""
    publication, record = plan.publication, plan.record
    current = [a.author for a in publication.authorships.all()] if publication.pk else []
    plan.matches = [authors.find(author, current) for author in record.authors]
    for author, match in zip(record.authors, plan.matches, strict=True):
        ambiguous = authors.ambiguous(author, current)
        if match is not None and ambiguous > 1:
            plan.row.warnings.append(
                (
                    "authors",
                    f"{ambiguous} authors are named “{author.name}” and the file gives no ORCID "
                    f"{'' if author.organization else 'or organization '}to tell them apart: "
                    f"the oldest, “{match.slug}”, will be used. Add the author's ORCID to choose.",
                )
            )
    if record.authors:
        plan.authors_changed = None in plan.matches or [a.pk for a in plan.matches] != [a.pk for a in current]
    if record.keywords:
        existing_tags = {tag.name for tag in publication.tags.all()} if publication.pk else set()
        plan.tags_changed = set(record.keywords) != existing_tags
    for name in ("themes", "regions"):
        wanted = {value.lower() for value in getattr(record, name)}
        if wanted:
            existing_names = (
                {obj.name.lower() for obj in getattr(publication, name).all()} if publication.pk else set()
            )
            setattr(plan, f"{name}_changed", wanted != existing_names)


def _apply(publication: Publication, record: Record, doi: str) -> None:
    """Copy the record's values onto the (unsaved) publication."""
    title, subtitle = record.title.strip()[:500], record.subtitle.strip()
    # RIS and CSL-JSON have no subtitle field: our exports write "Title: Subtitle" there.
    if not (publication.pk and not subtitle and title == full_title(publication)):
        publication.title, publication.subtitle = title, subtitle
    if record.kind:
        publication.kind = record.kind
    if record.status:
        publication.status = record.status
    elif publication.pk is None:
        publication.status = Publication.Status.PUBLISHED
    if record.date and (
        publication.published_at is None or timezone.localtime(publication.published_at).date() != record.date
    ):
        publication.published_at = timezone.make_aware(dt.datetime.combine(record.date, dt.time()))
    for name in ("abstract", "language", "container_title", "volume", "issue", "pages", "license"):
        value = getattr(record, name)
        if value:
            setattr(publication, name, value)
    if doi:
        publication.doi = doi
    if record.copyright_holder:
        publication.copyright_holder = record.copyright_holder
    if record.copyright_year:
        publication.copyright_year = record.copyright_year


def _name_key(given: str, family: str) -> tuple[str, str]:
    return (" ".join(given.split()).casefold(), " ".join(family.split()).casefold())


class _AuthorIndex:
    """The existing authors a file may refer to, loaded in two queries."""

    def __init__(self, records: list[AuthorRecord]):
        for record in records:
            record.orcid = normalize_orcid(record.orcid)
        orcids = {record.orcid for record in records if record.orcid}
        families = {" ".join(record.family.split()) for record in records}
        found = Author.objects.select_related("organization")
        self.by_orcid = {a.orcid: a for a in found.filter(orcid__in=orcids)} if orcids else {}
        self.by_name: dict[tuple[str, str], list[Author]] = {}
        if families:
            # Case-insensitive in Python: SQLite's LOWER() only folds ASCII.
            for author in found.filter(family_name__in=_spellings(families)).order_by("pk"):
                self.by_name.setdefault(_name_key(author.given_name, author.family_name), []).append(author)

    def find(self, record: AuthorRecord, current: list[Author]) -> Author | None:
        """ORCID first; then same name and organization; without an organization, same name."""
        if record.orcid and record.orcid in self.by_orcid:
            return self.by_orcid[record.orcid]
        candidates = self._candidates(record)
        if not candidates:
            return None
        # Prefer the author already in this byline (re-imports), then the oldest.
        current_ids = {author.pk for author in current}
        return next((a for a in candidates if a.pk in current_ids), candidates[0])

    def ambiguous(self, record: AuthorRecord, current: list[Author]) -> int:
        """How many authors :meth:`find` chose from by age alone (0 when ORCID or the byline decided)."""
        if record.orcid and record.orcid in self.by_orcid:
            return 0
        candidates = self._candidates(record)
        current_ids = {author.pk for author in current}
        if any(a.pk in current_ids for a in candidates):
            return 0
        return len(candidates)

    def _candidates(self, record: AuthorRecord) -> list[Author]:
        candidates = [
            author
            for author in self.by_name.get(_name_key(record.given, record.family), [])
            if not (record.orcid and author.orcid and author.orcid != record.orcid)
        ]
        if record.organization:
            wanted = record.organization.casefold()
            candidates = [
                a for a in candidates if a.organization and a.organization.name.casefold() == wanted
            ]
        return candidates

    def remember(self, author: Author) -> None:
        """Make an author created by this import findable by the next rows."""
        if author.orcid:
            self.by_orcid[author.orcid] = author
        self.by_name.setdefault(_name_key(author.given_name, author.family_name), []).append(author)


def _spellings(families: set[str]) -> list[str]:
    """Case variants to look up exactly (as stored, title case, upper, lower)."""
    variants = set()
    for family in families:
        variants |= {family, family.lower(), family.title(), family.upper(), family.capitalize()}
    return sorted(variants)


class _Writer:
    """Creates what the import needs: organizations, authors, themes, regions."""

    def __init__(self, authors: _AuthorIndex):
        self.authors = authors
        self.organizations: dict[str, Organization] = {}

    def organization(self, name: str) -> Organization | None:
        if not name:
            return None
        key = name.casefold()
        if key not in self.organizations:
            found = Organization.objects.filter(name__iexact=name).order_by("pk").first()
            self.organizations[key] = found or Organization.objects.create(name=name)
        return self.organizations[key]

    def author(self, record: AuthorRecord, match: Author | None) -> Author:
        if match is None:
            # An earlier row of this import may have created it.
            match = self.authors.find(record, [])
        if match is not None:
            if record.orcid and not match.orcid:
                match.orcid = record.orcid
                match.save(update_fields=["orcid", "updated_at"])
            return match
        author = Author(
            given_name=record.given,
            family_name=record.family,
            orcid=record.orcid,
            organization=self.organization(record.organization),
            slug=_free_slug(Author, make_slug(record.name, 120) or "author"),
        )
        author.full_clean()
        author.save()
        self.authors.remember(author)
        return author


def _free_slug(model, base: str) -> str:
    slug, number = base, 1
    while model.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


def _save(plan: _Plan, writer: _Writer) -> Publication:
    publication, record = plan.publication, plan.record
    if publication.pk is None:
        publication.slug = _free_slug(Publication, publication.slug)
    if plan.fields_changed:
        publication.save()
    if plan.authors_changed:
        authors = []
        for author_record, match in zip(record.authors, plan.matches, strict=True):
            author = writer.author(author_record, match)
            if author.pk not in {a.pk for a in authors}:
                authors.append(author)
        corresponding = {a.author_id for a in publication.authorships.all() if a.is_corresponding}
        publication.authorships.all().delete()
        Authorship.objects.bulk_create(
            Authorship(
                publication=publication,
                author=author,
                position=position,
                is_corresponding=author.pk in corresponding,
            )
            for position, author in enumerate(authors, start=1)
        )
    if plan.tags_changed:
        publication.tags.set(record.keywords)
    if plan.themes_changed:
        publication.themes.set([_named(Theme, name) for name in record.themes])
    if plan.regions_changed:
        publication.regions.set([_named(Region, name) for name in record.regions])
    # The history row of this save shows the authors, tags, themes and regions just imported.
    history_capture_related(publication=publication)
    return publication


def _named(model, name: str):
    found = (
        model.objects.filter(name__iexact=name).first() or model.objects.filter(slug=make_slug(name)).first()
    )
    if found:
        return found
    return model.objects.create(
        name=name, slug=make_slug(name) or f"{model._meta.model_name}-{model.objects.count() + 1}"
    )
