"""Small presentation helpers of the public site."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from publications.cards import render_cards

register = template.Library()


@register.simple_tag
def publication_cards(publications, level: int = 3, compact: bool = False):
    """``{% publication_cards publications level=3 as cards %}``: their cards (``publications.cards``)."""
    return render_cards(publications, level=level, compact=compact)


@register.simple_tag
def protected_email(email: str):
    """An email address harvesters do not find in the HTML source.

    The page shows "name [at] example [dot] org"; ``site.js`` turns it into a
    button that reveals a real link when clicked. The address parts sit
    reversed in data attributes, never as one plain string or a ``mailto:``.
    """
    if not email or "@" not in email:
        return ""
    user, _, domain = email.rpartition("@")
    readable = f"{user} [at] {domain.replace('.', ' [dot] ')}"
    return format_html(
        '<span class="protected-email" data-email-user="{}" data-email-domain="{}">{}</span>',
        user[::-1],
        domain[::-1],
        readable,
    )


@register.filter
def license_short(label: str) -> str:
    """ "CC BY-NC 4.0" -> "BY-NC 4.0" (the part after the CC mark on the badge)."""
    return label.removeprefix("CC ").split(" (")[0]


@register.filter
def thousands(number) -> str:
    """5821 -> "5,821" (English digit grouping, whatever the locale settings)."""
    try:
        return f"{int(number):,}"
    except (TypeError, ValueError):
        return str(number)
