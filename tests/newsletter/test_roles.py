"""Who may do what with the mailing list: Editors send newsletters, Contributors see none of it."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core import mail
from django.urls import reverse

from newsletter.models import Delivery, Newsletter, Subscriber
from tests.factories import PublicationFactory, SubscriberFactory
from tests.newsletter.test_sending import make_newsletter

pytestmark = pytest.mark.django_db


def test_editor_previews_newsletter(editor_client):
    """An Editor opens the preview of a newsletter."""
    newsletter = make_newsletter(PublicationFactory(title="Arctic Shipping Routes"))
    response = editor_client.get(reverse("admin:newsletter_newsletter_preview", args=[newsletter.pk]))
    assert response.status_code == HTTPStatus.OK
    assert "Arctic Shipping Routes" in response.text


def test_editor_sends_test_to_self(editor_client, editor):
    """An Editor's "send a test" mails their own address only."""
    SubscriberFactory()
    newsletter = make_newsletter(PublicationFactory())
    editor_client.post(reverse("admin:newsletter_newsletter_send", args=[newsletter.pk]), {"test": "1"})
    assert [message.to for message in mail.outbox] == [[editor.email]]
    assert not Delivery.objects.exists()


def test_editor_sends_newsletter(editor_client):
    """An Editor sends a newsletter: every active subscriber gets it once."""
    subscribers = SubscriberFactory.create_batch(2)
    newsletter = make_newsletter(PublicationFactory())
    response = editor_client.post(
        reverse("admin:newsletter_newsletter_send", args=[newsletter.pk]), {"send": "1"}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert sorted(m.to[0] for m in mail.outbox) == sorted(s.email for s in subscribers)
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.SENT


@pytest.mark.parametrize(
    "name",
    [
        "admin:newsletter_subscriber_changelist",
        "admin:newsletter_subscriber_add",
        "admin:newsletter_newsletter_changelist",
        "admin:newsletter_newsletter_add",
        "admin:newsletter_delivery_changelist",
    ],
)
def test_contributor_forbidden_on_list_pages(contributor_client, name):
    """A Contributor gets 403 on the subscriber, newsletter and delivery admin pages."""
    assert contributor_client.get(reverse(name)).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(
    "name",
    [
        "admin:newsletter_newsletter_change",
        "admin:newsletter_newsletter_preview",
        "admin:newsletter_newsletter_send",
    ],
)
def test_contributor_forbidden_on_newsletter_pages(contributor_client, name):
    """A Contributor cannot open a newsletter, its preview or its send page."""
    newsletter = make_newsletter(PublicationFactory())
    response = contributor_client.get(reverse(name, args=[newsletter.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_contributor_forbidden_on_subscriber_page(contributor_client):
    """A Contributor cannot see a subscriber's record."""
    subscriber = SubscriberFactory()
    response = contributor_client.get(reverse("admin:newsletter_subscriber_change", args=[subscriber.pk]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert subscriber.email not in response.text


@pytest.mark.parametrize("button", ["send", "test"])
def test_contributor_crafted_send_post_refused(contributor_client, button):
    """A hand-made POST to the send page sends nothing, not even a test, and starts nothing."""
    SubscriberFactory.create_batch(2)
    newsletter = make_newsletter(PublicationFactory())
    response = contributor_client.post(
        reverse("admin:newsletter_newsletter_send", args=[newsletter.pk]), {button: "1"}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert mail.outbox == []
    assert not Delivery.objects.exists()
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.DRAFT


def test_contributor_crafted_erase_post_refused(contributor_client):
    """A hand-made POST of the GDPR erase action erases nobody."""
    subscriber = SubscriberFactory()
    response = contributor_client.post(
        reverse("admin:newsletter_subscriber_changelist"),
        {"action": "erase", "_selected_action": [subscriber.pk]},
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()
