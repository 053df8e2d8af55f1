"""Turn a pasted, numbered reference list into one reference per entry.

Editors copy the reference list of an article (from Word, a PDF or a journal site)
and paste it whole. :func:`parse_reference_list` splits it into entries, strips the
numbering ("1.", "[1]", "1)"), and recognises into their own fields:

- DOIs, written bare ("10.1000/xyz"), with a "doi:" prefix or as doi.org URLs;
- other URLs, with their access date ("(accessed 12.03.2021)", "Accessed: 2021-03-12",
  "(дата обращения: 12.03.2021)", "Accessed 12 March 2021");
- the language: "(In Russian)", "(In Russ.)" or a mostly Cyrillic entry → Russian.

What was recognised is taken out of the text (the public page shows the DOI, URL,
access date and language note from the fields), the rest is kept as written.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from publications.models import Language

# "1.", "1)", "[1]", "(1)" at the start of a line, then whitespace.
NUMBERING = re.compile(r"^\s*(?:\[(?P<a>\d{1,4})\]|\((?P<b>\d{1,4})\)|(?P<c>\d{1,4})[.)])\s*")

DOI = re.compile(
    r"(?:https?://(?:dx\.)?doi\.org/|\bdoi:\s*|\bDOI\s*:?\s*)?(?P<doi>10\.\d{4,9}/[^\s\"]+)",
    re.IGNORECASE,
)
URL = re.compile(r"(?P<url>https?://[^\s<>\"]+)", re.IGNORECASE)
# A label introducing a DOI or URL goes with it when it moves to its field.
LINK_LABEL = re.compile(
    r"(?:\bURL|\bavailable\s+(?:at|from|online)|\bonline|\bfrom|режим\s+доступа|\bdoi)\s*:?\s*$",
    re.IGNORECASE,
)
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE = (
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2}"
    r"|\d{1,2}[./]\d{1,2}[./]\d{4}"
    rf"|\d{{1,2}}\s+(?:{_MONTH_NAMES})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTH_NAMES})\.?\s+\d{{1,2}},?\s+\d{{4}})"
)
ACCESSED = re.compile(
    r"[\[(]?\s*(?:date\s+accessed|access(?:ed)?\s+(?:on|date)|accessed|retrieved(?:\s+on)?"
    r"|дата\s+обращения|дата\s+доступа|просмотрено)\s*:?\s*" + DATE + r"\s*[\])]?\.?",
    re.IGNORECASE,
)
RUSSIAN_NOTE = re.compile(
    r"[\[(]\s*(?:in\s+russ(?:ian|\.)?|на\s+русском(?:\s+языке)?)\s*[\])]\.?", re.IGNORECASE
)
CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN = re.compile(r"[A-Za-z]")
TRAILING = ".,;:"


@dataclass
class ParsedReference:
    text: str
    doi: str = ""
    url: str = ""
    accessed_on: dt.date | None = None
    language: str = ""


def split_entries(pasted: str) -> list[str]:
    """Split a pasted list into entries.

    With numbering, an entry runs from one number to the next (so wrapped lines stay
    together, even one starting with "2018."); without, each non-empty line is an entry.
    """
    lines = [line.strip() for line in pasted.replace("\r\n", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines or not NUMBERING.match(lines[0]):
        return lines
    entries: list[str] = []
    expected = None
    for line in lines:
        match = NUMBERING.match(line)
        number = int(match.group("a") or match.group("b") or match.group("c")) if match else None
        if number is not None and (expected is None or number == expected):
            entries.append(line[match.end() :])
            expected = number + 1
        elif entries:
            entries[-1] = f"{entries[-1]} {line}"
    return [entry for entry in entries if entry]


def parse_date(value: str) -> dt.date | None:
    """Read "12.03.2021", "12/03/2021" (day first), "2021-03-12", "12 March 2021", "March 12, 2021"."""
    value = value.strip().lower().replace(",", " ")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value):
            year, month, day = (int(part) for part in value.split("-"))
        elif re.fullmatch(r"\d{1,2}[./]\d{1,2}[./]\d{4}", value):
            day, month, year = (int(part) for part in re.split(r"[./]", value))
        else:
            words = value.replace(".", " ").split()
            if words[0].isdigit():
                day, month, year = int(words[0]), MONTHS[words[1]], int(words[2])
            else:
                month, day, year = MONTHS[words[0]], int(words[1]), int(words[2])
        return dt.date(year, month, day)
    except (ValueError, KeyError, IndexError):
        return None


def _strip_trailing(value: str) -> str:
    value = value.rstrip(TRAILING)
    # A closing parenthesis belongs to the DOI/URL only when it also opens one.
    while value.endswith(")") and value.count("(") < value.count(")"):
        value = value[:-1].rstrip(TRAILING)
    return value


def _cut(text: str, start: int, end: int) -> str:
    """Remove ``text[start:end]`` and the label ("URL:", "Available at:") just before it."""
    before = LINK_LABEL.sub("", text[:start])
    return before + " " + text[end:]


def _tidy(text: str) -> str:
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = re.sub(r"([.,;:])\1+", r"\1", text)
    text = re.sub(r"\.[,;:]", ".", text)
    return text.rstrip(" ,;:")


def parse_reference(entry: str) -> ParsedReference:
    """Recognise the DOI, URL, access date and language of one entry."""
    text = NUMBERING.sub("", entry.strip(), count=1)
    reference = ParsedReference(text="")

    accessed = ACCESSED.search(text)
    if accessed:
        reference.accessed_on = parse_date(accessed.group("date"))
        if reference.accessed_on:
            text = text[: accessed.start()] + " " + text[accessed.end() :]

    doi = DOI.search(text)
    if doi:
        reference.doi = _strip_trailing(doi.group("doi"))
        text = _cut(text, doi.start(), doi.start("doi") + len(reference.doi))

    url = URL.search(text)
    if url:
        reference.url = _strip_trailing(url.group("url"))
        text = _cut(text, url.start(), url.start("url") + len(reference.url))

    note = RUSSIAN_NOTE.search(text)
    if note:
        reference.language = Language.RUSSIAN
        text = text[: note.start()] + " " + text[note.end() :]
    elif len(CYRILLIC.findall(text)) > len(LATIN.findall(text)):
        reference.language = Language.RUSSIAN

    reference.text = _tidy(text)
    if reference.text and not reference.text.endswith((".", "!", "?")):
        reference.text += "."
    return reference


def parse_reference_list(pasted: str) -> list[ParsedReference]:
    """Parse a whole pasted reference list, in order."""
    return [parse_reference(entry) for entry in split_entries(pasted or "")]
