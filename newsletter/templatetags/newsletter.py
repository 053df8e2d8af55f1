"""Template tags for the subscribe form in the footer of every page (no queries on a warm cache)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

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
def newsletter_topic_choices() -> SafeString:
    """The footer's folded choice of themes and regions (none ticked means all), or nothing when
    there are none. Its checkboxes are put together here rather than in a template loop: the footer
    is on every page, and rendered afresh whenever the content changes."""
    topics = selectors.subscribe_topics()
    if not topics["themes"] and not topics["regions"]:
        return SafeString("")
    groups = [
        format_html(
            "<fieldset><legend>{}</legend><ul>{}</ul></fieldset>",
            legend,
            format_html_join(
                "",
                '<li><input type="checkbox" name="{}" value="{}" id="ft-{}{}">'
                ' <label for="ft-{}{}">{}</label></li>',
                ((field, pk, prefix, pk, prefix, pk, name) for pk, name in topics[field]),
            ),
        )
        for field, legend, prefix in (("themes", "Themes", "t"), ("regions", "Regions", "r"))
        if topics[field]
    ]
    return format_html(
        '<details class="subscribe-topics">'
        "<summary>Choose topics (optional: none means all)</summary>\n{}</details>",
        mark_safe("\n".join(groups)),
    )
