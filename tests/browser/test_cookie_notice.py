"""The cookie notice in Chromium, with and without JavaScript."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def no_js_page(browser):
    """A page in a context with JavaScript turned off."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_cookie_notice_visible_without_javascript(live_server, no_js_page):
    """With JavaScript off the notice is visible, names the cookies and links to /cookies/."""
    page = no_js_page
    page.goto(live_server.url + "/")
    notice = page.get_by_role("region", name="Cookies on this site")
    assert notice.count() == 1
    assert notice.is_visible()
    text = notice.inner_text()
    for name in ("csrftoken", "visitor", "sessionid"):
        assert name in text
    notice.get_by_role("link", name="Details").click()
    page.wait_for_url("**/cookies/")
    assert page.context.cookies() == []


def test_cookie_notice_single_with_javascript(live_server, browser_page):
    """With JavaScript only the dismissible notice shows (the no-JS one is not rendered), once."""
    page = browser_page
    page.goto(live_server.url + "/")
    notice = page.get_by_role("region", name="Cookies on this site")
    assert notice.count() == 1
    assert notice.is_visible()
    assert not page.locator(".cookie-notice-static").count()
    notice.get_by_role("button", name="OK, got it").click()
    page.reload()
    assert not page.locator(".cookie-notice").first.is_visible()
    assert page.get_by_role("region", name="Cookies on this site").count() == 0
