"""Small presentation helpers of the public site."""

from __future__ import annotations

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from publications.cards import render_cards

register = template.Library()


@register.simple_tag
def publication_cards(publications, level: int = 3, compact: bool = False):
    """``{% publication_cards publications level=3 as cards %}``: their cards (``publications.cards``)."""
    return render_cards(publications, level=level, compact=compact)


# The index's filters list up to a few hundred values with their counts, rendered afresh whenever the
# content changes: their options and checkboxes are put together here with ``escape`` rather than in
# a template loop (a dozen variable lookups and filters per value).


@register.simple_tag
def facet_options(items: list[dict]) -> SafeString:
    """``<option>``s of a facet's select: each value with its count, the selected ones marked."""
    return mark_safe(  # values and labels escaped, counts are integers
        "".join(
            f'<option value="{escape(item["value"])}"{" selected" if item["selected"] else ""}>'
            f"{escape(item['label'])} ({item['count']:d})</option>"
            for item in items
        )
    )


@register.simple_tag
def facet_checklist(name: str, items: list[dict]) -> SafeString:
    """``<li>``s of checkboxes for a facet (the tags): each value with its count, labelled."""
    name = escape(name)
    boxes = []
    for item in items:
        value, checked = escape(item["value"]), " checked" if item["selected"] else ""
        boxes.append(
            f'<li><input type="checkbox" name="{name}" value="{value}" id="filter-{name}-{value}"{checked}>'
            f' <label for="filter-{name}-{value}">{escape(item["label"])}'
            f' <span class="count">{item["count"]:d}</span></label></li>\n'
        )
    return mark_safe("".join(boxes))  # values and labels escaped, counts are integers


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
