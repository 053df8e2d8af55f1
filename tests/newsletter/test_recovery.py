"""Sending heals itself after a worker dies mid-batch: no cron job, no second click, nobody twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from newsletter import services
from newsletter.models import Delivery, Newsletter
from newsletter.tasks import send_newsletter_batch, watch_newsletter_sending
from tests.factories import PublicationFactory, SubscriberFactory
from tests.newsletter.mail_backends import SimulatedKill

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(deferred_tasks):
    """Tasks are queued, not run: ``run_ready`` runs those whose ``run_after`` has come."""
    return deferred_tasks


def run_ready(queue) -> list[str]:
    """Run the queued tasks that are due now, oldest first (including those they queue); their names."""
    ran = []
    while True:
        ready = [r for r in queue.results if r.task.run_after is None or r.task.run_after <= timezone.now()]
        if not ready:
            return ran
        queue.results.remove(ready[0])
        ready[0].task.call(*ready[0].args, **ready[0].kwargs)
        ran.append(ready[0].task.name)


def start_sending(count: int) -> tuple[Newsletter, list[str]]:
    subscribers = SubscriberFactory.create_batch(count)
    newsletter = Newsletter.objects.create(subject="Our latest research", selection="manual")
    newsletter.publications.set([PublicationFactory()])
    services.newsletter_send(newsletter=newsletter)
    return newsletter, sorted(subscriber.email for subscriber in subscribers)


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def past_the_lease(settings) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE_SECONDS + 2)


def test_killed_batch_resumed_by_watchdog_after_lease(flaky, queue, settings, time_machine):
    """The only batch task dies after 2 of 6 emails; once the lease runs out the queue sends the other 4."""
    time_machine.move_to(timezone.now(), tick=False)
    settings.NEWSLETTER_BATCH_SIZE = 10
    newsletter, everyone = start_sending(6)
    flaky.fail_after, flaky.error = 2, SimulatedKill()
    with pytest.raises(SimulatedKill):
        run_ready(queue)
    flaky.reset()
    assert Delivery.objects.filter(status=Delivery.Status.SENDING).count() == 4
    assert run_ready(queue) == []  # the watchdog waits for the lease
    time_machine.move_to(past_the_lease(settings), tick=False)
    assert run_ready(queue) == [watch_newsletter_sending.name, send_newsletter_batch.name]
    assert recipients() == everyone
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.SENT


def test_watchdog_leaves_live_sending_alone(queue, settings, time_machine):
    """While batches keep claiming, the watchdog queues nothing and only looks again later."""
    time_machine.move_to(timezone.now(), tick=False)
    settings.NEWSLETTER_BATCH_SIZE = 2
    newsletter, _ = start_sending(5)
    queue.results.clear()
    send_newsletter_batch.call(newsletter.pk)  # a live batch claimed just now
    queue.results.clear()
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=5), tick=False)
    assert services.newsletter_watch(newsletter_id=newsletter.pk) is False
    [again] = queue.results
    assert again.task.name == watch_newsletter_sending.name
    lease = dt.timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE_SECONDS)
    assert again.task.run_after > timezone.now() + lease


def test_watchdog_stops_when_sent(queue):
    """A newsletter that finished sending gets no more watchdog runs."""
    newsletter, everyone = start_sending(2)
    run_ready(queue)
    assert recipients() == everyone
    queue.results.clear()
    assert services.newsletter_watch(newsletter_id=newsletter.pk) is False
    assert queue.results == []


def test_batch_finding_rows_claimed_elsewhere_comes_back_after_lease(flaky, queue, settings, time_machine):
    """A batch finding only a dead worker's claims queues itself for their lease expiry, then sends them."""
    time_machine.move_to(timezone.now(), tick=False)
    settings.NEWSLETTER_BATCH_SIZE = 10
    newsletter, everyone = start_sending(5)
    flaky.fail_after, flaky.error = 1, SimulatedKill()
    with pytest.raises(SimulatedKill):
        run_ready(queue)
    flaky.reset()
    queue.results.clear()  # the watchdog lost too: only the batch's own follow-up can heal it
    claimed_at = Delivery.objects.filter(status=Delivery.Status.SENDING).first().claimed_at
    services.newsletter_send(newsletter=newsletter)  # a second click: its batch finds nothing due
    assert run_ready(queue) == [send_newsletter_batch.name]
    [follow_up] = queue.results
    assert follow_up.task.name == send_newsletter_batch.name
    lease = dt.timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE_SECONDS)
    assert follow_up.task.run_after > claimed_at + lease
    assert len(mail.outbox) == 1
    time_machine.move_to(past_the_lease(settings), tick=False)
    assert run_ready(queue) == [send_newsletter_batch.name]
    assert recipients() == everyone


def db_worker() -> None:
    """Run every task of the database queue that is due now, as ``manage.py db_worker`` does, then stop."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0.01", verbosity=0)


@pytest.fixture
def database_queue(settings, monkeypatch):
    """The production task backend. The worker's housekeeping would close the connection that
    holds the test's transaction (on PostgreSQL), so it is switched off here."""
    from django_tasks_db.management.commands import db_worker as command

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(command, "close_old_connections", lambda: None)


def test_db_worker_sends_each_subscriber_once(database_queue, settings):
    """Through the real database queue and its worker, in batches: every subscriber gets one email."""
    from django_tasks_db.models import DBTaskResult

    settings.NEWSLETTER_BATCH_SIZE = 2
    newsletter, everyone = start_sending(5)
    assert mail.outbox == []
    assert DBTaskResult.objects.filter(task_path=send_newsletter_batch.module_path).count() == 1
    db_worker()
    assert recipients() == everyone
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.SENT
    assert DBTaskResult.objects.filter(task_path=send_newsletter_batch.module_path).successful().count() == 3


def test_db_worker_heals_killed_batch(database_queue, flaky, settings, time_machine):
    """A batch dies in the database worker; after the lease the same worker sends the rest, nobody twice."""
    time_machine.move_to(timezone.now(), tick=False)
    settings.NEWSLETTER_BATCH_SIZE = 10
    _, everyone = start_sending(4)
    flaky.fail_after, flaky.error = 1, SimulatedKill()
    db_worker()
    flaky.reset()
    assert len(mail.outbox) == 1
    db_worker()  # nothing due yet: the claims are still the dead worker's
    assert len(mail.outbox) == 1
    time_machine.move_to(past_the_lease(settings), tick=False)
    db_worker()
    assert recipients() == everyone
