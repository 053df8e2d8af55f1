"""What HTML may be stored in a publication's rich-text body.

Everything is cleaned with nh3 (ammonia) against a whitelist: section headings,
paragraphs, lists, links (http, https and mailto only), emphasis, quotes, tables and
figures with images. Scripts, styles, event handlers, ``javascript:``/``data:`` URLs
and every other tag or attribute are dropped before anything is saved.
"""

from __future__ import annotations

import html

import nh3

ALLOWED_TAGS = {
    "h2",
    "h3",
    "h4",
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "a",
    "em",
    "strong",
    "blockquote",
    "table",
    "caption",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "figure",
    "figcaption",
    "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def sanitize_html(value: str) -> str:
    """Return ``value`` with everything outside the rich-text whitelist removed."""
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def plain_text(value: str) -> str:
    """Return ``value`` with every tag removed, as plain text (for fields shown escaped)."""
    if not value:
        return ""
    return html.unescape(nh3.clean(value, tags=set(), attributes={})).strip()
