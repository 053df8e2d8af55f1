"""A reader subscribes in the footer, confirms from the email and unsubscribes, in a real browser."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from newsletter.models import Subscriber
from tests.browser.conftest import email_link, subscribe_in_footer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _live_settings(settings, live_server):
    settings.SITE_URL = live_server.url  # links in the emails point at the test server
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NEWSLETTER_FORM_MIN_SECONDS = 0


def test_subscribe_confirm_unsubscribe(browser_page, live_server):
    """Footer form → "check your inbox" → confirmation link → unsubscribe button."""
    page = browser_page
    subscribe_in_footer(page, live_server.url, "reader@example.org")
    assert page.get_by_role("heading", name="Check your inbox").is_visible()

    [confirmation] = mail.outbox
    page.goto(email_link(confirmation, "confirm"))
    assert page.get_by_role("heading", name="Your subscription is confirmed").is_visible()
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE

    page.goto(email_link(confirmation, "unsubscribe"))
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_url(re.compile(r"/newsletter/unsubscribe/"))
    assert page.get_by_role("heading", name="You are unsubscribed").is_visible()
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_footer_topics_chosen_in_browser(browser_page, live_server):
    """The footer's folded "Choose topics" opens; the ticked theme and the name are stored."""
    from tests.factories import ThemeFactory

    ThemeFactory(name="Energy")
    ThemeFactory(name="Security")
    page = browser_page
    page.goto(live_server.url + "/")
    footer = page.locator("footer form.subscribe-form")
    assert not footer.get_by_label("Energy").is_visible()  # folded away until asked for
    footer.get_by_text("Choose topics").click()
    footer.get_by_label("Energy").check()
    footer.get_by_label("Email address").fill("reader@example.org")
    footer.get_by_label("Name (optional)").fill("Maria")
    footer.locator("input[name=consent]").check()
    footer.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(re.compile(r"/newsletter/thanks/$"))
    subscriber = Subscriber.objects.get()
    assert subscriber.name == "Maria"
    assert [theme.name for theme in subscriber.themes.all()] == ["Energy"]
