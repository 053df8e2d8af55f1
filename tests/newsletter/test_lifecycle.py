"""The whole life of a subscription, as the reader and the editor see it."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core import mail
from django.test import Client

from newsletter import services
from newsletter.models import Subscriber
from tests.factories import PublicationFactory, ThemeFactory
from tests.newsletter.conftest import link_from, subscribe
from tests.newsletter.test_sending import make_newsletter

pytestmark = pytest.mark.django_db


def test_subscribe_confirm_preferences_newsletter_unsubscribe(client):
    """Subscribe → confirm → pick a theme → only matching items → one-click unsubscribe → nothing more."""
    economics, security = ThemeFactory(name="Economics"), ThemeFactory(name="Security")
    assert subscribe(client, "ana@example.org").status_code == HTTPStatus.FOUND

    # Nothing is sent to a pending address.
    services.newsletter_send(newsletter=make_newsletter(PublicationFactory(title="Too early")))
    assert [message.subject for message in mail.outbox] == ["Please confirm your subscription"]

    assert client.get(link_from(mail.outbox[0], "confirm")).status_code == HTTPStatus.OK
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE

    manage = link_from(mail.outbox[0], "manage")
    client.post(manage, {"name": "Ana", "themes": [economics.pk]})

    services.newsletter_send(
        newsletter=make_newsletter(
            PublicationFactory(title="Inflation in Emerging Markets", themes=[economics]),
            PublicationFactory(title="Naval Doctrine", themes=[security]),
        )
    )
    issue = mail.outbox[-1]
    assert issue.subject == "Our latest research"
    assert "Inflation in Emerging Markets" in issue.body
    assert "Naval Doctrine" not in issue.body

    unsubscribe = (
        issue.extra_headers["List-Unsubscribe"].strip("<>").removeprefix("https://center.example.org")
    )
    response = Client(enforce_csrf_checks=True).post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == HTTPStatus.OK
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED

    sent_before = len(mail.outbox)
    services.newsletter_send(newsletter=make_newsletter(PublicationFactory(themes=[economics])))
    assert len(mail.outbox) == sent_before
