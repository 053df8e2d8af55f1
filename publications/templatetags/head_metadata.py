"""Tags for the machine-readable parts of pages: head metadata, JSON-LD and feed links."""

from __future__ import annotations

import hashlib
import json

from django import template
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from taggit.models import Tag

from authors.models import Author
from center import caching
from publications.metadata import head_metadata
from publications.models import Publication, Region, Theme

register = template.Library()

# As json_script escapes: nothing in the data can close the <script> element or open a comment.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


@register.simple_tag
def publication_head_metadata(publication):
    """``{% publication_head_metadata publication as meta %}``: see ``publications.metadata``."""
    return head_metadata(publication)


@register.simple_tag(takes_context=True)
def json_ld(context, data) -> str:
    """``<script type="application/ld+json">`` with ``data``, escaped as ``json_script`` does.

    A data block is never executed, so the CSP does not need a nonce for it;
    it gets the page's nonce anyway where there is one.
    """
    # Compact: a long article's JSON-LD (sixty citations) is a fifth of its page.
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    text = text.translate(_JSON_SCRIPT_ESCAPES)
    request = context.get("request")
    nonce = getattr(request, "csp_nonce", None) if request is not None else None
    # django-csp's lazy nonce is falsy until read: test for presence, then read it (which
    # also puts it in the header).
    if nonce is not None:
        return format_html(
            '<script type="application/ld+json" nonce="{}">{}</script>', str(nonce), mark_safe(text)
        )
    return format_html('<script type="application/ld+json">{}</script>', mark_safe(text))


def feeds_for(subject) -> tuple[str, str, str] | None:
    """(title, RSS URL, Atom URL) of the feed about ``subject``, or None.

    ``subject`` is a theme, region, tag, author, kind of publication (its
    value) or None for the site-wide feed.
    """
    if subject is None or subject == "":
        return "Latest publications", reverse("publications:feed-rss"), reverse("publications:feed-atom")
    if isinstance(subject, Theme | Region | Tag):
        name = {Theme: "theme", Region: "region", Tag: "tag"}[type(subject)]
        kwargs = {"slug": subject.slug}
        return (
            f"Latest publications: {subject}",
            reverse(f"publications:{name}-feed-rss", kwargs=kwargs),
            reverse(f"publications:{name}-feed-atom", kwargs=kwargs),
        )
    if isinstance(subject, Author):
        kwargs = {"slug": subject.slug}
        return (
            f"Latest publications by {subject.full_name}",
            reverse("authors:feed-rss", kwargs=kwargs),
            reverse("authors:feed-atom", kwargs=kwargs),
        )
    if isinstance(subject, str) and subject in Publication.Kind.values:
        kwargs = {"kind": subject}
        return (
            f"Latest {Publication.Kind(subject).label.lower()}s",
            reverse("publications:kind-feed-rss", kwargs=kwargs),
            reverse("publications:kind-feed-atom", kwargs=kwargs),
        )
    return None


def _feed_subject_key(subject) -> str:
    """What ``feeds_for`` depends on: the subject's kind of page and its slug (or the kind)."""
    if isinstance(subject, Theme | Region | Tag | Author):
        return f"{type(subject).__name__}:{subject.pk}:{subject.slug}"
    if isinstance(subject, str) and subject in Publication.Kind.values:
        return f"kind:{subject}"
    return ""


@register.simple_tag
def feed_links(subject=None) -> str:
    """Autodiscovery ``<link rel="alternate">`` tags for the feeds of ``subject`` (and the site).

    Rendered once per subject and content version (a title holds the subject's name).
    """
    key = _feed_subject_key(subject)

    def render() -> str:
        # A subject's own feeds, then the site's; anything else (no subject, an unknown kind): the site's.
        feeds = [feeds_for(subject), feeds_for(None)] if key else [feeds_for(None)]
        context = {
            "feeds": [{"title": title, "rss": rss, "atom": atom} for title, rss, atom in feeds],
            "SITE_NAME": settings.SITE_NAME,
            "SITE_URL": settings.SITE_URL,
        }
        return render_to_string("includes/feed_links.html", context)

    site = f"{settings.SITE_URL}|{settings.SITE_NAME}|{get_script_prefix()}".encode()
    name = f"feed-links:{key}:{hashlib.sha256(site).hexdigest()[:16]}"
    return mark_safe(caching.cached(name, render, timeout=caching.html_timeout()))
