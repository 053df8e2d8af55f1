"""Concurrent submits and concurrent senders on PostgreSQL (real transactions, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from newsletter import services
from newsletter.models import ConfirmationEmail, Delivery, Subscriber
from tests.factories import PublicationFactory, SubscriberFactory
from tests.newsletter.conftest import subscribe
from tests.newsletter.test_sending import make_newsletter

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def run_together(count: int, work) -> list:
    """Run ``work(index)`` in ``count`` threads released at the same moment; re-raise their errors."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_concurrent_submits_one_subscriber_one_email():
    """Four simultaneous submits of one address (in different cases) make one subscriber, one email."""
    emails = ["reader@example.org", "Reader@example.org", "READER@example.org", "reader@EXAMPLE.org"]
    responses = run_together(4, lambda index: subscribe(Client(), emails[index], ip=f"198.51.100.{index}"))
    assert {response.status_code for response in responses} == {302}
    assert Subscriber.objects.count() == 1
    assert ConfirmationEmail.objects.count() == 1
    assert len(mail.outbox) == 1


def test_concurrent_senders_send_each_once(settings):
    """Three workers sending one newsletter at once take disjoint rows: everyone gets exactly one email."""
    settings.NEWSLETTER_BATCH_SIZE = 3
    subscribers = SubscriberFactory.create_batch(20)
    newsletter = make_newsletter(PublicationFactory())
    original = services._queue_batches
    services._queue_batches = lambda newsletter: None  # the workers below do the sending
    try:
        services.newsletter_send(newsletter=newsletter)
    finally:
        services._queue_batches = original

    def worker(index: int) -> int:
        sent = 0
        while True:
            counts, more = services.newsletter_send_batch(newsletter_id=newsletter.pk)
            sent += counts["sent"]
            if not more:
                return sent

    sent = run_together(3, worker)
    assert sum(sent) == 20
    assert sorted(address for message in mail.outbox for address in message.to) == sorted(
        subscriber.email for subscriber in subscribers
    )
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 20
