"""Template tags for the subscribe form in the footer of every page (no queries on a warm cache)."""

from __future__ import annotations

from django import template

from newsletter import selectors
from newsletter.forms import form_stamp
from newsletter.services import CONSENT_TEXT

register = template.Library()


@register.simple_tag
def newsletter_form_stamp() -> str:
    return form_stamp()


@register.simple_tag
def newsletter_consent_text() -> str:
    return CONSENT_TEXT


@register.simple_tag
def newsletter_topics() -> dict[str, list[tuple[int, str]]]:
    """Themes and regions to choose from, cached per content version."""
    return selectors.subscribe_topics()
