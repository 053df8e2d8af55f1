"""The publication body as shown: sanitized HTML with linkable section headings and figures.

An editor places an uploaded figure (``publications.Figure``) with ``[figure N]``, N
being its number; the shortcode becomes a ``<figure>`` with the image's width and
height (no layout shift), ``loading="lazy"``, its alternative text and caption.
Shortcodes naming no figure of the publication are dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

import nh3
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from publications.sanitize import drop_foreign_images, image_source_filter

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
# "[figure 2]", alone in its paragraph or not.
FIGURE_SHORTCODE = re.compile(r"(<p>\s*)?\[figure\s+(\d+)\](\s*</p>)?", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    level: int
    title: str
    anchor: str


def figure_html(figure) -> str:
    """The ``<figure>`` that ``[figure N]`` stands for."""
    size = format_html(' width="{}" height="{}"', figure.width, figure.height) if figure.width else ""
    caption = format_html(" {}", figure.caption) if figure.caption else ""
    return format_html(
        '<figure class="body-figure" id="figure-{}"><img src="{}" alt="{}"{} loading="lazy" decoding="async">'
        '<figcaption><span class="figure-label">Figure {}.</span>{}</figcaption></figure>',
        figure.position,
        figure.image.url,
        figure.alt_text,
        size,
        figure.position,
        caption,
    )


def _place_figures(clean: str, figures: Iterable) -> str:
    by_number = {figure.position: figure for figure in figures}

    def replace(match: re.Match) -> str:
        opening, number, closing = match.groups()
        figure = by_number.get(int(number))
        html_figure = figure_html(figure) if figure is not None else ""
        # A shortcode alone in its paragraph replaces the paragraph (no figure inside a p).
        if opening and closing:
            return html_figure
        return (opening or "") + html_figure + (closing or "")

    return FIGURE_SHORTCODE.sub(replace, clean)


def render_body(raw: str, figures: Iterable = ()) -> tuple[SafeString, list[Section]]:
    """Sanitize ``raw`` (any style attributes, scripts and event handlers go), anchor its h2/h3
    and put ``figures`` (the publication's) in place of their ``[figure N]``.

    Returns the HTML and its sections, for a table of contents.
    """
    if not raw.strip():
        return mark_safe(""), []
    clean = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        link_rel="noopener noreferrer",
        attribute_filter=image_source_filter,
        set_tag_attribute_values={"img": {"loading": "lazy"}},
    )
    clean = _place_figures(drop_foreign_images(clean), figures)
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
