"""Template tags for the subscribe form in the footer of every page (no queries on a warm cache)."""

from __future__ import annotations

from django import template
from django.utils.html import escape
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
    there are none. Its checkboxes are put together here with ``escape`` rather than in a template
    loop or ``format_html_join`` (which escapes each argument through several calls): the footer is
    on every page, and rendered afresh whenever the content changes."""
    topics = selectors.subscribe_topics()
    groups = [
        f"<fieldset><legend>{legend}</legend><ul>"
        + "".join(
            f'<li><input type="checkbox" name="{field}" value="{pk:d}" id="ft-{prefix}{pk:d}">'
            f' <label for="ft-{prefix}{pk:d}">{escape(name)}</label></li>'
            for pk, name in topics[field]
        )
        + "</ul></fieldset>"
        for field, legend, prefix in (("themes", "Themes", "t"), ("regions", "Regions", "r"))
        if topics[field]
    ]
    if not groups:
        return SafeString("")
    return mark_safe(  # every value in it is escaped above or an integer
        '<details class="subscribe-topics">'
        "<summary>Choose topics (optional: none means all)</summary>\n" + "\n".join(groups) + "</details>"
    )
