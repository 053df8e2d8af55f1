"""The cookie notice: dismissible with JavaScript, always visible (in the page flow) without it."""

from __future__ import annotations

import re

import html5lib
import pytest
from django.urls import reverse

from tests.html_checks import assert_valid_page

pytestmark = pytest.mark.django_db

COOKIES = ("csrftoken", "visitor", "sessionid")


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def noscript_notice(content: str) -> str:
    """The markup a browser without JavaScript renders for the notice."""
    match = re.search(r"<noscript>(.*?)</noscript>", content, re.DOTALL)
    assert match, "no <noscript> cookie notice"
    return match.group(1)


def test_cookie_notice_noscript_lists_cookies(client):
    """Without JavaScript the notice names every cookie and links to the cookie page."""
    notice = noscript_notice(client.get(reverse("home")).content.decode())
    assert "Cookies on this site" in notice
    for name in COOKIES:
        assert f"<strong>{name}</strong>" in notice
    assert f'href="{reverse("cookies")}"' in notice


def test_cookie_notice_noscript_is_not_hidden(client):
    """The no-JS notice is shown as is: no hidden attribute, no button that would need a script."""
    notice = noscript_notice(client.get(reverse("home")).content.decode())
    assert not re.search(r"<section[^>]*\bhidden\b", notice)
    assert "<button" not in notice
    assert "cookie-notice-static" in notice


def test_cookie_notice_noscript_comes_before_main(client):
    """The no-JS notice opens the page (right after the skip link), so it is seen without scrolling."""
    content = client.get(reverse("home")).content.decode()
    assert content.index("<noscript>") < content.index('<main id="main"')
    assert content.index('class="skip-link"') < content.index("<noscript>")


def test_cookie_notice_scripted_stays_hidden_until_script(client):
    """The dismissible notice starts hidden (shown by site.js unless dismissed): no flash after dismissal."""
    document = html5lib.HTMLParser(namespaceHTMLElements=False).parse(client.get(reverse("home")).content)
    sections = document.iter("section")
    [notice] = [element for element in sections if element.get("data-cookie-notice") is not None]
    assert notice.get("hidden") is not None
    assert notice.find(".//button[@data-cookie-dismiss]") is not None


def test_cookie_notice_both_variants_valid_html(client):
    """With both notices the page is valid, with distinct ids and a single h1."""
    assert_valid_page(client.get(reverse("publications:index")).content)
