"""The signed links in the emails: confirm, manage, export, erase, unsubscribe."""

from __future__ import annotations

import datetime as dt
import json
from http import HTTPStatus

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from newsletter import tokens
from newsletter.models import ConfirmationEmail, Subscriber
from newsletter.services import subscriber_unsubscribe
from tests.factories import RegionFactory, SubscriberFactory, ThemeFactory
from tests.newsletter.conftest import link_from, subscribe

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(client):
    """A subscriber who has just asked; their confirmation email is in the outbox."""
    subscribe(client)
    return Subscriber.objects.get()


@pytest.fixture
def active():
    return SubscriberFactory(email="active@example.org", status=Subscriber.Status.ACTIVE)


def manage_path(subscriber, name="manage"):
    return reverse(f"newsletter:{name}", kwargs={"token": tokens.make_token(subscriber, tokens.MANAGE)})


def test_confirm_link_activates(client, pending):
    """The link in the confirmation email makes the subscription active."""
    response = client.get(link_from(mail.outbox[0], "confirm"))
    assert response.status_code == HTTPStatus.OK
    assert "Your subscription is confirmed" in response.text
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.ACTIVE
    assert pending.confirmed_at is not None


def test_confirm_twice_harmless(client, pending):
    """Opening the link again shows the same page and changes nothing."""
    link = link_from(mail.outbox[0], "confirm")
    client.get(link)
    pending.refresh_from_db()
    confirmed_at = pending.confirmed_at
    response = client.get(link)
    assert response.status_code == HTTPStatus.OK
    pending.refresh_from_db()
    assert pending.confirmed_at == confirmed_at


def test_confirm_expired_link_explains_and_offers_new_email(client, pending, time_machine):
    """After seven days the link explains itself and offers a new email, which works."""
    link = link_from(mail.outbox[0], "confirm")
    time_machine.move_to(timezone.now() + dt.timedelta(days=8))
    response = client.get(link)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "This link has expired" in response.text
    assert reverse("newsletter:confirm-resend") in response.text
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert client.post(reverse("newsletter:confirm-resend"), {"token": token}).status_code == HTTPStatus.FOUND
    assert len(mail.outbox) == 2
    client.get(link_from(mail.outbox[1], "confirm"))
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.ACTIVE


def test_confirm_tampered_link_rejected(client, pending):
    """A changed token is refused with an explanation and a way to subscribe again."""
    link = link_from(mail.outbox[0], "confirm")
    # The signature's last two characters changed; "AA" would leave about one link in a thousand
    # as it was (its last character carries four bits, so it is "A" one time in sixteen).
    forged = link[:-3] + ("BB" if link[-3:-1] == "AA" else "AA") + "/"
    assert forged != link
    response = client.get(forged)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "This link cannot be used" in response.text
    assert reverse("newsletter:index") in response.text
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.PENDING


@pytest.mark.parametrize("token", ["x", "a:b:c", "%00", "." * 300])
def test_confirm_garbage_token_rejected(client, token):
    """Nonsense in the link gets a clear 400, never a 500."""
    response = client.get(f"/newsletter/confirm/{token}/")
    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND)


def test_confirm_resend_tampered_token_rejected(client, pending):
    """The "new email" button with a forged token sends nothing."""
    response = client.post(reverse("newsletter:confirm-resend"), {"token": "forged:token"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert len(mail.outbox) == 1


def test_confirm_link_of_earlier_round_void_after_unsubscribe(client, pending):
    """An old confirmation link cannot bring back an address that unsubscribed."""
    link = link_from(mail.outbox[0], "confirm")
    client.get(link)
    subscriber_unsubscribe(subscriber=pending)
    response = client.get(link)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.UNSUBSCRIBED


def test_confirm_link_of_erased_subscriber_rejected(client, pending):
    """A link for an erased address is just invalid."""
    link = link_from(mail.outbox[0], "confirm")
    pending.delete()
    assert client.get(link).status_code == HTTPStatus.BAD_REQUEST


def test_confirmation_email_has_list_headers(client, pending):
    """Every email carries List-Unsubscribe (https) and the RFC 8058 one-click header."""
    message = mail.outbox[0].message()
    assert message["List-Unsubscribe"].startswith("<https://center.example.org/newsletter/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_unsubscribe_one_click_post(active):
    """A mail client's one-click POST (no CSRF token, no page) unsubscribes at once."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(manage_path(active, "unsubscribe"), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    active.refresh_from_db()
    assert active.status == Subscriber.Status.UNSUBSCRIBED
    assert active.unsubscribed_at is not None


def test_unsubscribe_get_shows_button_only(client, active):
    """GET (a link prefetcher, a person) shows a confirm button and changes nothing."""
    response = client.get(manage_path(active, "unsubscribe"))
    assert response.status_code == HTTPStatus.OK
    assert '<button type="submit">Unsubscribe</button>' in response.text
    active.refresh_from_db()
    assert active.status == Subscriber.Status.ACTIVE


def test_unsubscribe_button_shows_page(client, active):
    """The confirm button unsubscribes and says so."""
    response = client.post(manage_path(active, "unsubscribe"))
    assert "You are unsubscribed" in response.text
    active.refresh_from_db()
    assert active.status == Subscriber.Status.UNSUBSCRIBED


def test_unsubscribe_bad_token_rejected(client, active):
    """A forged unsubscribe link changes nothing."""
    response = client.post("/newsletter/unsubscribe/forged:token/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    active.refresh_from_db()
    assert active.status == Subscriber.Status.ACTIVE


def test_unsubscribe_token_of_other_purpose_rejected(client, pending):
    """A confirmation token does not work as an unsubscribe token (salted per purpose)."""
    token = tokens.make_token(pending, tokens.CONFIRM)
    assert client.post(f"/newsletter/unsubscribe/{token}/").status_code == HTTPStatus.BAD_REQUEST


def test_manage_updates_preferences(client, active):
    """The preferences page changes name, themes and regions."""
    theme, region = ThemeFactory(), RegionFactory()
    path = manage_path(active)
    response = client.post(path, {"name": "Ana", "themes": [theme.pk], "regions": [region.pk]}, follow=True)
    assert "Your preferences are saved" in response.text
    active.refresh_from_db()
    assert active.name == "Ana"
    assert list(active.themes.all()) == [theme]
    assert list(active.regions.all()) == [region]


@pytest.mark.parametrize("value", ["999999", "99999999999999999999999999", "x"])
def test_manage_bad_choice_rejected(client, active, value):
    """An unknown or impossible theme id gets a form error, not a 500."""
    response = client.post(manage_path(active), {"themes": [value]})
    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("count", [1, 10])
def test_manage_page_constant_queries(client, active, django_assert_max_num_queries, count):
    """The preferences page costs the same number of queries however many topics exist."""
    ThemeFactory.create_batch(count)
    active.themes.set(ThemeFactory.create_batch(count))
    with django_assert_max_num_queries(5):
        assert client.get(manage_path(active)).status_code == HTTPStatus.OK


def test_export_lists_what_we_hold(client, pending):
    """The data export is JSON with address, consent record and emails sent."""
    response = client.get(manage_path(pending, "export"))
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    assert data["email"] == "reader@example.org"
    assert data["consent"]["ip_address"] == "203.0.113.7"
    assert data["emails"][0]["kind"] == "Please confirm"


def test_erase_deletes_everything(client, pending):
    """Erasure removes the subscriber, their consent record and their email records."""
    path = manage_path(pending, "erase")
    assert client.get(path).status_code == HTTPStatus.OK
    response = client.post(path)
    assert "Your data has been erased" in response.text
    assert not Subscriber.objects.exists()
    assert not ConfirmationEmail.objects.exists()
    assert client.get(manage_path(pending)).status_code == HTTPStatus.BAD_REQUEST


def test_unsubscribe_erased_address_answers_ok(active):
    """A one-click unsubscribe for an address erased since is simply done (200), not an error."""
    path = manage_path(active, "unsubscribe")
    active.delete()
    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("name", ["unsubscribe", "manage", "export", "erase"])
@pytest.mark.parametrize("token", ["x", "a:b:c", "eyJzIjoiYSJ9:1xVFFS:forged"])
def test_signed_pages_garbage_token_rejected(client, name, token):
    """Nonsense or forged tokens on every signed page get a clear 400, never a 500."""
    response = client.get(
        f"/newsletter/{name}/{token}/"
        if name in ("unsubscribe", "manage")
        else f"/newsletter/manage/{token}/{name}/"
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "This link cannot be used" in response.text
