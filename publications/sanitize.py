"""What HTML may be stored in a publication's rich-text body.

Everything is cleaned with nh3 (ammonia) against a whitelist: section headings,
paragraphs, lists, links (http, https and mailto only), emphasis, quotes, tables and
figures with images. Scripts, styles, event handlers, ``javascript:``/``data:`` URLs
and every other tag or attribute are dropped before anything is saved.

Images may only come from the site's own media files (``MEDIA_URL``, as a path or on
``SITE_URL``): an ``img`` pointing anywhere else (another origin, ``data:``,
``javascript:``) is removed, as the Content-Security-Policy (``img-src 'self'``) would
not show it anyway. Figures are uploaded in the admin and placed with ``[figure N]``
(see :mod:`publications.body`).
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3
from django.conf import settings

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
# An img whose src was refused: nothing left to show.
IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)


def own_media_path(url: str) -> str | None:
    """``url`` as a path under the site's ``MEDIA_URL`` if it is one of our media files, else None.

    Accepts ``/media/…`` and ``<SITE_URL>/media/…``; refuses other origins, protocol-relative
    ``//host/…``, every other scheme, and paths climbing out with ``..``.
    """
    value = (url or "").strip()
    media = urlsplit(settings.MEDIA_URL).path or "/"
    if not media.startswith("/"):
        media = "/" + media
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        site = urlsplit(settings.SITE_URL)
        if (parts.scheme, parts.netloc) != (site.scheme, site.netloc):
            return None
    path = parts.path
    if not path.startswith(media) or ".." in path.split("/") or "\\" in value:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def image_source_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return own_media_path(value)
    return value


def drop_foreign_images(cleaned: str) -> str:
    """Remove the images whose source ``image_source_filter`` refused."""
    return IMG_WITHOUT_SRC.sub("", cleaned)


def sanitize_html(value: str) -> str:
    """Return ``value`` with everything outside the rich-text whitelist removed."""
    if not value:
        return ""
    cleaned = nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=image_source_filter,
    )
    return drop_foreign_images(cleaned).strip()


def plain_text(value: str) -> str:
    """Return ``value`` with every tag removed, as plain text (for fields shown escaped)."""
    if not value:
        return ""
    return html.unescape(nh3.clean(value, tags=set(), attributes={})).strip()
