"""Template tags for the subscribe form in the footer of every page (no queries)."""

from __future__ import annotations

from django import template

from newsletter.forms import form_stamp
from newsletter.services import CONSENT_TEXT

register = template.Library()


@register.simple_tag
def newsletter_form_stamp() -> str:
    return form_stamp()


@register.simple_tag
def newsletter_consent_text() -> str:
    return CONSENT_TEXT
