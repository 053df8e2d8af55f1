"""The publication body as shown: sanitized HTML with linkable section headings."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

# Headings inside the body are demoted below the page's own h1.
ALLOWED_TAGS = nh3.ALLOWED_TAGS - {
    "h1",
    "article",
    "header",
    "footer",
    "nav",
    "aside",
    "center",
    "map",
    "area",
}
HEADING = re.compile(r"<h([23])>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Section:
    level: int
    title: str
    anchor: str


def render_body(raw: str) -> tuple[SafeString, list[Section]]:
    """Sanitize ``raw`` (any style attributes, scripts and event handlers go) and anchor its h2/h3.

    Returns the HTML and its sections, for a table of contents.
    """
    if not raw.strip():
        return mark_safe(""), []
    clean = nh3.clean(raw, tags=ALLOWED_TAGS, link_rel="noopener noreferrer")
    sections: list[Section] = []
    used: set[str] = set()

    def anchor(match: re.Match) -> str:
        level, inner = int(match.group(1)), match.group(2)
        title = html.unescape(TAG.sub("", inner)).strip()
        base = "section-" + (slugify(title)[:60] or str(len(sections) + 1))
        slug, n = base, 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        sections.append(Section(level=level, title=title, anchor=slug))
        return f'<h{level} id="{slug}">{inner}</h{level}>'

    return mark_safe(HEADING.sub(anchor, clean)), sections
