"""Delivery through a real SMTP server (aiosmtpd on 127.0.0.1, a free port)."""

from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as default_policy
from email.utils import parseaddr

import pytest
from aiosmtpd.controller import Controller
from django.core import mail

from newsletter import services
from newsletter.models import Delivery, Subscriber
from tests.factories import PublicationFactory, SubscriberFactory
from tests.newsletter.test_sending import make_newsletter

pytestmark = pytest.mark.django_db


class Recorder:
    """An SMTP handler keeping each message; refuses the recipients in ``refuse`` with their reply."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's SMTP backend pointed at it."""
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()


def test_newsletter_through_smtp_has_list_headers(smtp_server, settings):
    """The message the SMTP server receives is multipart/alternative with the RFC 8058 headers."""
    SubscriberFactory(email="reader@example.org")
    publication = PublicationFactory(title="Energy Security in the Caspian Region")
    services.newsletter_send(newsletter=make_newsletter(publication))
    [(sender, rcpt_tos, raw)] = smtp_server.messages
    assert sender == parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    assert rcpt_tos == ["reader@example.org"]
    message = message_from_bytes(raw, policy=default_policy)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    unsubscribe = str(message["List-Unsubscribe"]).strip()  # folded before the URL: legal whitespace
    assert unsubscribe.startswith("<https://center.example.org/newsletter/unsubscribe/")
    assert unsubscribe.endswith("/>")
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert "Energy Security in the Caspian Region" in message.get_body(("plain",)).get_content()
    assert Delivery.objects.get().status == Delivery.Status.SENT
    assert mail.outbox == []  # really went over SMTP


def test_one_click_unsubscribe_from_smtp_message(smtp_server, client):
    """POSTing the List-Unsubscribe URL of the delivered message, as a mail client does, unsubscribes."""
    subscriber = SubscriberFactory(email="reader@example.org")
    services.newsletter_send(newsletter=make_newsletter(PublicationFactory()))
    message = message_from_bytes(smtp_server.messages[0][2], policy=default_policy)
    url = str(message["List-Unsubscribe"]).strip().strip("<>")
    path = url.removeprefix("https://center.example.org")
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED


def test_smtp_permanent_refusal_recorded(smtp_server):
    """A real 550 for one recipient fails that delivery only; the other recipient gets the newsletter."""
    SubscriberFactory(email="gone@example.org")
    SubscriberFactory(email="reader@example.org")
    smtp_server.refuse = {"gone@example.org": "550 5.1.1 No such user"}
    services.newsletter_send(newsletter=make_newsletter(PublicationFactory()))
    assert [rcpt for _, rcpt, _ in smtp_server.messages] == [["reader@example.org"]]
    failed = Delivery.objects.get(subscriber__email="gone@example.org")
    assert failed.status == Delivery.Status.FAILED
    assert "No such user" in failed.last_error


def test_smtp_temporary_refusal_retried(smtp_server):
    """A real 451 leaves the delivery pending for a retry, with the attempt counted."""
    SubscriberFactory(email="busy@example.org")
    smtp_server.refuse = {"busy@example.org": "451 4.2.1 Mailbox busy, try later"}
    services.newsletter_send(newsletter=make_newsletter(PublicationFactory()))
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 1)
    assert delivery.next_attempt_at is not None


def test_smtp_server_down_is_temporary(settings):
    """No server listening: the deliveries wait for a retry instead of failing."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_TIMEOUT = 2
    SubscriberFactory.create_batch(2)
    services.newsletter_send(newsletter=make_newsletter(PublicationFactory()))
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.PENDING}
    assert not Subscriber.objects.filter(permanent_failures__gt=0).exists()
