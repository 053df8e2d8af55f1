"""Subscribing: the forms, double opt-in, spam protection, and saying nothing about who is subscribed."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from newsletter.models import ConfirmationEmail, Subscriber
from newsletter.services import CONSENT_TEXT_VERSION, subscriber_subscribe, subscriber_unsubscribe
from tests.factories import RegionFactory, SubscriberFactory, ThemeFactory
from tests.newsletter.conftest import stamp, subscribe

pytestmark = pytest.mark.django_db


def test_subscribe_creates_pending_subscriber(client):
    """A valid form creates a subscriber waiting for confirmation and redirects to "check your inbox"."""
    response = subscribe(client, "Reader@Example.ORG")
    assert response.status_code == HTTPStatus.FOUND
    assert response.url == reverse("newsletter:thanks")
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.email == "Reader@example.org"


def test_subscribe_sends_confirmation_email_in_html_and_text(client):
    """The confirmation email has a plain-text body and an HTML alternative, both with the link."""
    subscribe(client)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.org"]
    assert "/newsletter/confirm/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "/newsletter/confirm/" in html


def test_subscribe_records_consent(client):
    """When, from which form, which wording and which IP address are kept."""
    subscribe(client, form="footer", ip="198.51.100.4")
    subscriber = Subscriber.objects.get()
    assert subscriber.consent_at is not None
    assert subscriber.consent_form == "footer"
    assert subscriber.consent_text_version == CONSENT_TEXT_VERSION
    assert subscriber.consent_ip == "198.51.100.4"


def test_subscribe_keeps_topic_preferences(client):
    """Themes and regions chosen on /newsletter/ are stored."""
    theme, region = ThemeFactory(), RegionFactory()
    subscribe(client, themes=[theme.pk], regions=[region.pk])
    subscriber = Subscriber.objects.get()
    assert list(subscriber.themes.all()) == [theme]
    assert list(subscriber.regions.all()) == [region]


def test_subscribe_bad_email_shows_message_next_to_field(client):
    """An invalid address gets a clear message by the field and nothing is stored."""
    response = subscribe(client, "not-an-address")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert 'id="email-error"' in response.text
    assert "Please enter a valid email address" in response.text
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_subscribe_without_consent_rejected(client):
    """No ticked consent box, no subscription."""
    response = subscribe(client, consent="")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Please tick the box" in response.text
    assert not Subscriber.objects.exists()


def test_subscribe_honeypot_does_nothing(client):
    """A filled honeypot gets the normal answer but no subscriber and no email."""
    response = subscribe(client, website="https://spam.example")
    assert response.status_code == HTTPStatus.FOUND
    assert not Subscriber.objects.exists()
    assert mail.outbox == []


def test_subscribe_too_fast_rejected(client):
    """A form posted a second after it was shown is asked to be sent again."""
    response = subscribe(client, stamp=stamp(seconds_ago=1))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "That was quick" in response.text
    assert not Subscriber.objects.exists()


def test_subscribe_tampered_stamp_rejected(client):
    """A forged time stamp is refused."""
    response = subscribe(client, stamp=stamp()[:-2] + "xx")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not Subscriber.objects.exists()


def test_subscribe_stale_form_rejected(client):
    """A form shown more than a day ago must be sent again."""
    response = subscribe(client, stamp=stamp(seconds_ago=2 * 24 * 3600))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "expired" in response.text


def test_subscribe_rate_limited_per_ip(client, settings):
    """Past the hourly limit per IP address the answer is 429."""
    settings.NEWSLETTER_RATE_PER_IP = 3
    for number in range(3):
        assert subscribe(client, f"reader{number}@example.org").status_code == HTTPStatus.FOUND
    response = subscribe(client, "reader9@example.org")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert Subscriber.objects.count() == 3


def test_subscribe_rate_limited_per_email(client, settings):
    """Past the hourly limit per address the answer is 429, whichever IP asks."""
    settings.NEWSLETTER_RATE_PER_EMAIL = 2
    assert subscribe(client, ip="198.51.100.1").status_code == HTTPStatus.FOUND
    assert subscribe(client, ip="198.51.100.2").status_code == HTTPStatus.FOUND
    assert subscribe(client, ip="198.51.100.3").status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_subscribe_twice_one_subscriber_one_email(client):
    """A double submit (even in another case) makes one subscriber and one confirmation email."""
    subscribe(client, "reader@example.org")
    subscribe(client, "READER@example.org")
    assert Subscriber.objects.count() == 1
    assert ConfirmationEmail.objects.count() == 1
    assert len(mail.outbox) == 1


def test_subscribe_again_after_resend_window_sends_new_email(client, time_machine):
    """Asking again later (the email got lost) sends a new confirmation."""
    subscribe(client)
    time_machine.move_to(timezone.now() + dt.timedelta(minutes=11))
    subscribe(client)
    assert len(mail.outbox) == 2


def test_subscribe_answer_same_for_subscribed_address(client):
    """The answer does not reveal whether an address is already subscribed."""
    SubscriberFactory(email="known@example.org", status=Subscriber.Status.ACTIVE)
    known = subscribe(client, "known@example.org")
    unknown = subscribe(client, "unknown@example.org")
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    page = client.get(known.url).text
    assert "Check your inbox" in page
    assert known.url == unknown.url


def test_subscribe_active_address_gets_notice_not_changes(client):
    """An active subscriber gets an "already subscribed" email; the form cannot change their topics."""
    theme = ThemeFactory()
    subscriber = SubscriberFactory(email="known@example.org", status=Subscriber.Status.ACTIVE)
    subscribe(client, "known@example.org", themes=[theme.pk])
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert not subscriber.themes.exists()
    assert mail.outbox[0].subject == "You are already subscribed"
    assert "/newsletter/manage/" in mail.outbox[0].body


def test_resubscribe_after_unsubscribe_needs_new_confirmation(client):
    """Subscribing again after leaving works, with a new opt-in."""
    subscriber = SubscriberFactory(email="back@example.org", status=Subscriber.Status.ACTIVE)
    subscriber_unsubscribe(subscriber=subscriber)
    subscribe(client, "back@example.org")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING
    assert mail.outbox[-1].subject == "Please confirm your subscription"


def test_subscribe_service_rejects_bad_email():
    """The service validates the address itself."""
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        subscriber_subscribe(email="nobody", ip=None, form="page")


def test_subscribe_without_csrf_token_is_not_acted_on():
    """A post without a CSRF token (cross-site, or no JavaScript) re-shows the form, pre-filled."""
    client = Client(enforce_csrf_checks=True)
    response = subscribe(client, "victim@example.org")
    assert response.status_code == HTTPStatus.OK
    assert "once more" in response.text
    assert 'value="victim@example.org"' in response.text
    assert not Subscriber.objects.exists()


def test_subscribe_with_csrf_token_from_endpoint(settings):
    """The footer's script fetches a token from /newsletter/csrf/; with it the post goes through."""
    client = Client(enforce_csrf_checks=True)
    token = client.get(reverse("newsletter:csrf")).json()["token"]
    response = subscribe(client, csrfmiddlewaretoken=token)
    assert response.status_code == HTTPStatus.FOUND
    assert Subscriber.objects.count() == 1


def test_footer_form_on_home_page(client):
    """Every page's footer has the form, posting to /newsletter/ with CSRF field, consent and honeypot."""
    response = client.get(reverse("home"))
    assert f'action="{reverse("newsletter:index")}"' in response.text
    assert 'name="csrfmiddlewaretoken"' in response.text
    assert 'name="consent"' in response.text
    assert 'name="website"' in response.text
    assert reverse("newsletter:privacy") in response.text


def test_footer_keeps_pages_cacheable(client):
    """The footer form sets no cookie, so the page cache can serve the page."""
    client.get(reverse("home"))
    assert client.get(reverse("home"))["X-Cache"] == "hit"


def test_footer_form_runs_no_queries(rf, django_assert_num_queries):
    """The footer included on every page needs no database once its topic lists are cached."""
    render_to_string("newsletter/includes/subscribe_form.html", request=rf.get("/"))
    with django_assert_num_queries(0):
        html = render_to_string("newsletter/includes/subscribe_form.html", request=rf.get("/"))
    assert 'name="stamp"' in html


@pytest.mark.parametrize("count", [1, 12])
def test_newsletter_page_constant_queries(client, django_assert_max_num_queries, count):
    """/newsletter/ lists every theme and region in a constant number of queries."""
    ThemeFactory.create_batch(count)
    RegionFactory.create_batch(count)
    with django_assert_max_num_queries(2):
        response = client.get(reverse("newsletter:index"))
    assert response.status_code == HTTPStatus.OK
    assert response.text.count('name="themes"') == count


@pytest.mark.parametrize(
    "extra",
    [
        {"themes": ["not-a-number"]},
        {"regions": ["999999"]},
        {"themes": ["99999999999999999999999999"]},
        {"themes": ["-1"]},
        {"email": "<script>alert(1)</script>@example.org"},
        {"email": "a" * 300 + "@example.org"},
        {"stamp": ""},
        {"form": "<b>elsewhere</b>", "email": "x"},
    ],
)
def test_subscribe_hostile_input_gets_clear_answer(client, extra):
    """Malformed or hostile form data is answered with the form and its errors, never a 500."""
    response = subscribe(client, **extra)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "<script>alert(1)</script>" not in response.text
    assert not Subscriber.objects.exists()


def test_site_url_must_be_https_for_deploy(settings):
    """The deployment check warns when email links would not be https."""
    from newsletter.checks import check_site_url_https

    settings.SITE_URL = "http://example.org"
    assert [warning.id for warning in check_site_url_https(None)] == ["newsletter.W001"]
    settings.SITE_URL = "https://example.org"
    assert check_site_url_https(None) == []
