"""Sending newsletters: topic matching, idempotence under crashes and retries, failures and backoff."""

from __future__ import annotations

import datetime as dt
import smtplib
from email import message_from_bytes

import pytest
from django.core import mail
from django.utils import timezone

from newsletter import services
from newsletter.models import Delivery, Newsletter, Subscriber
from newsletter.tasks import send_newsletter_batch
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, SubscriberFactory, ThemeFactory
from tests.newsletter.mail_backends import SimulatedKill

pytestmark = pytest.mark.django_db


def make_newsletter(*publications, **fields) -> Newsletter:
    fields.setdefault("selection", Newsletter.Selection.MANUAL)
    newsletter = Newsletter.objects.create(subject="Our latest research", intro="Dear reader,", **fields)
    newsletter.publications.set(publications)
    return newsletter


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_send_reaches_each_active_subscriber_once():
    """Every active subscriber gets one email; pending and unsubscribed addresses get none."""
    active = SubscriberFactory.create_batch(3)
    SubscriberFactory(status=Subscriber.Status.PENDING)
    SubscriberFactory(status=Subscriber.Status.UNSUBSCRIBED)
    newsletter = make_newsletter(PublicationFactory())
    assert services.newsletter_send(newsletter=newsletter) == 3
    assert recipients() == sorted(subscriber.email for subscriber in active)
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.SENT
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 3


def test_send_email_carries_items_and_list_headers():
    """Titles, authors, dates and absolute links, in text and HTML, with the one-click headers."""
    SubscriberFactory(email="reader@example.org")
    author = AuthorFactory(given_name="Maria", family_name="Ivanova")
    publication = PublicationFactory(title="Water and Power in Central Asia", authors=[author])
    services.newsletter_send(newsletter=make_newsletter(publication))
    message = mail.outbox[0]
    assert message.subject == "Our latest research"
    assert "Water and Power in Central Asia" in message.body
    assert "Maria Ivanova" in message.body
    assert f"https://center.example.org{publication.get_absolute_url()}" in message.body
    assert f"{publication.published_at:%-d %B %Y}" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Water and Power in Central Asia" in html
    parsed = message_from_bytes(message.message().as_bytes())
    assert parsed.get_content_type() == "multipart/alternative"
    # Long headers are folded before the URL (legal whitespace): unfold to compare.
    assert (
        parsed["List-Unsubscribe"].strip().startswith("<https://center.example.org/newsletter/unsubscribe/")
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_send_only_published_items():
    """A draft or scheduled publication picked by hand never goes into an email."""
    SubscriberFactory()
    visible = PublicationFactory(title="Visible report")
    draft = PublicationFactory(title="Draft report", status=Publication.Status.DRAFT, published_at=None)
    scheduled = PublicationFactory(
        title="Scheduled report", published_at=timezone.now() + dt.timedelta(days=3)
    )
    services.newsletter_send(newsletter=make_newsletter(visible, draft, scheduled))
    body = mail.outbox[0].body
    assert "Visible report" in body
    assert "Draft report" not in body
    assert "Scheduled report" not in body


def test_send_without_published_items_refused():
    """A newsletter with nothing public to send is refused and stays a draft."""
    SubscriberFactory()
    newsletter = make_newsletter(PublicationFactory(status=Publication.Status.DRAFT, published_at=None))
    with pytest.raises(services.ValidationError):
        services.newsletter_send(newsletter=newsletter)
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.DRAFT
    assert mail.outbox == []


def test_topics_none_chosen_gets_everything():
    """A subscriber with no themes and no regions receives every item."""
    SubscriberFactory()
    publications = [
        PublicationFactory(themes=[ThemeFactory()]),
        PublicationFactory(regions=[RegionFactory()]),
    ]
    services.newsletter_send(newsletter=make_newsletter(*publications))
    assert all(publication.title in mail.outbox[0].body for publication in publications)


def test_topics_items_matching_any_theme_or_region():
    """With topics chosen, an item matching any chosen theme or region is in; others are out."""
    economics, security = ThemeFactory(name="Economics"), ThemeFactory(name="Security")
    asia = RegionFactory(name="Asia")
    subscriber = SubscriberFactory()
    subscriber.themes.set([economics])
    subscriber.regions.set([asia])
    by_theme = PublicationFactory(title="By theme", themes=[economics])
    by_region = PublicationFactory(title="By region", regions=[asia], themes=[security])
    other = PublicationFactory(title="Other topic", themes=[security])
    services.newsletter_send(newsletter=make_newsletter(by_theme, by_region, other))
    body = mail.outbox[0].body
    assert "By theme" in body and "By region" in body
    assert "Other topic" not in body
    assert Delivery.objects.get().item_count == 2


def test_topics_nothing_matches_no_email():
    """A subscriber whose topics match no item gets no email at all."""
    subscriber = SubscriberFactory()
    subscriber.themes.set([ThemeFactory()])
    services.newsletter_send(newsletter=make_newsletter(PublicationFactory(themes=[ThemeFactory()])))
    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED


def test_send_second_click_sends_nothing_more():
    """Sending again (a second click) creates no deliveries and sends nobody anything twice."""
    SubscriberFactory.create_batch(2)
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    assert services.newsletter_send(newsletter=newsletter) == 0
    assert len(mail.outbox) == 2


def test_send_new_since_last_newsletter():
    """The automatic selection takes what appeared since the previous newsletter started."""
    SubscriberFactory()
    PublicationFactory(title="Old news", published_at=timezone.now() - dt.timedelta(days=5))
    make_newsletter(status=Newsletter.Status.SENT, send_started_at=timezone.now() - dt.timedelta(days=2))
    PublicationFactory(title="Fresh news", published_at=timezone.now() - dt.timedelta(hours=3))
    newsletter = make_newsletter(selection=Newsletter.Selection.NEW)
    services.newsletter_send(newsletter=newsletter)
    assert "Fresh news" in mail.outbox[0].body
    assert "Old news" not in mail.outbox[0].body
    assert [p.title for p in newsletter.publications.all()] == ["Fresh news"]  # frozen when sending started


def test_crash_halfway_then_rerun_sends_each_exactly_once(flaky, settings):
    """The mail backend breaks after 3 of 7 messages; re-running the task sends the other 4, no one twice."""
    settings.NEWSLETTER_BATCH_SIZE = 5
    subscribers = SubscriberFactory.create_batch(7)
    flaky.fail_after, flaky.error = 3, RuntimeError("backend crashed")
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    assert len(mail.outbox) == 3
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 4
    flaky.reset()
    send_newsletter_batch.enqueue(newsletter.pk)
    assert recipients() == sorted(subscriber.email for subscriber in subscribers)
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.SENT


def test_hard_crash_rows_resent_only_after_lease(flaky, settings, time_machine):
    """A killed worker's claimed rows are not taken by a retry at once, but after the lease; none twice."""
    settings.NEWSLETTER_BATCH_SIZE = 10
    subscribers = SubscriberFactory.create_batch(6)
    flaky.fail_after, flaky.error = 2, SimulatedKill()
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    assert len(mail.outbox) == 2
    assert Delivery.objects.filter(status=Delivery.Status.SENDING).count() == 4
    flaky.reset()
    send_newsletter_batch.enqueue(newsletter.pk)  # the retry: the rows may still be in a live worker's hands
    assert len(mail.outbox) == 2
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE_SECONDS + 1))
    send_newsletter_batch.enqueue(newsletter.pk)
    assert recipients() == sorted(subscriber.email for subscriber in subscribers)


def test_retried_task_sends_nothing_twice(settings):
    """Running the batch task again after it succeeded (an at-least-once queue retrying) sends nothing."""
    settings.NEWSLETTER_BATCH_SIZE = 2
    SubscriberFactory.create_batch(5)
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    Newsletter.objects.filter(pk=newsletter.pk).update(
        status=Newsletter.Status.SENDING
    )  # as if not yet marked
    send_newsletter_batch.enqueue(newsletter.pk)
    send_newsletter_batch.enqueue(newsletter.pk)
    assert len(mail.outbox) == 5


def test_batches_are_separate_tasks(deferred_tasks, settings):
    """With a real queue each batch is one task that queues the next; together they send to everyone once."""
    settings.NEWSLETTER_BATCH_SIZE = 2
    SubscriberFactory.create_batch(5)
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    assert mail.outbox == []
    runs = 0
    while deferred_tasks.results:
        result = deferred_tasks.results.pop(0)
        result.task.call(*result.args, **result.kwargs)
        runs += result.task.func is send_newsletter_batch.func  # not the watchdog
    assert runs == 3
    assert len(mail.outbox) == 5


def test_temporary_failure_retried_with_backoff(flaky, deferred_tasks, time_machine):
    """A dropped connection puts the batch back, due after a backoff, with a deferred task."""
    SubscriberFactory.create_batch(3)
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    flaky.fail_after, flaky.error = 0, smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    deferred_tasks.results.clear()
    send_newsletter_batch.call(newsletter.pk)
    assert mail.outbox == []
    deliveries = list(Delivery.objects.all())
    assert {delivery.status for delivery in deliveries} == {Delivery.Status.PENDING}
    retry_at = deliveries[0].next_attempt_at
    assert retry_at > timezone.now() + dt.timedelta(seconds=30)
    [retry] = deferred_tasks.results
    assert retry.task.run_after == retry_at
    flaky.reset()
    send_newsletter_batch.call(newsletter.pk)  # too early: nothing is due
    assert mail.outbox == []
    time_machine.move_to(retry_at + dt.timedelta(seconds=1))
    send_newsletter_batch.call(newsletter.pk)
    assert len(mail.outbox) == 3
    assert Subscriber.objects.filter(permanent_failures=0).count() == 3


def test_temporary_recipient_failure_retried(flaky, time_machine):
    """A 4xx for one recipient retries that one later; the others go out now."""
    SubscriberFactory(email="busy@example.org")
    SubscriberFactory(email="fine@example.org")
    flaky.refuse = {
        "busy@example.org": smtplib.SMTPRecipientsRefused({"busy@example.org": (451, b"Try later")})
    }
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    assert recipients() == ["fine@example.org"]
    busy = Delivery.objects.get(subscriber__email="busy@example.org")
    assert (busy.status, busy.attempts) == (Delivery.Status.PENDING, 1)
    flaky.reset()
    time_machine.move_to(busy.next_attempt_at + dt.timedelta(seconds=1))
    send_newsletter_batch.enqueue(newsletter.pk)
    assert recipients() == ["busy@example.org", "fine@example.org"]


def test_permanent_failure_recorded(flaky):
    """A 5xx refusal marks the delivery failed with the reason, and counts against the address."""
    subscriber = SubscriberFactory(email="gone@example.org")
    flaky.refuse = {
        "gone@example.org": smtplib.SMTPRecipientsRefused({"gone@example.org": (550, b"No such user")})
    }
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert "No such user" in delivery.last_error
    subscriber.refresh_from_db()
    assert subscriber.permanent_failures == 1
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.SENT


def test_repeated_permanent_failures_suspend(flaky, settings):
    """After NEWSLETTER_SUSPEND_AFTER permanent failures the address is suspended and skipped."""
    settings.NEWSLETTER_SUSPEND_AFTER = 2
    subscriber = SubscriberFactory(email="gone@example.org")
    flaky.refuse = {"gone@example.org": smtplib.SMTPDataError(554, b"Rejected")}
    for _ in range(2):
        services.newsletter_send(newsletter=make_newsletter(PublicationFactory()))
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED
    assert services.newsletter_send(newsletter=make_newsletter(PublicationFactory())) == 0


def test_attempts_exhausted_marks_failed(flaky, settings, time_machine):
    """A recipient answering 4xx every time is given up after NEWSLETTER_MAX_ATTEMPTS."""
    settings.NEWSLETTER_MAX_ATTEMPTS = 2
    SubscriberFactory(email="busy@example.org")
    flaky.refuse = {"busy@example.org": smtplib.SMTPRecipientsRefused({"busy@example.org": (452, b"Full")})}
    newsletter = make_newsletter(PublicationFactory())
    services.newsletter_send(newsletter=newsletter)
    time_machine.move_to(Delivery.objects.get().next_attempt_at + dt.timedelta(seconds=1))
    send_newsletter_batch.enqueue(newsletter.pk)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.FAILED, 2)


def test_unsubscribed_after_queueing_is_skipped():
    """Someone who leaves while a newsletter is queued does not receive it."""
    subscriber = SubscriberFactory()
    newsletter = make_newsletter(PublicationFactory())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_queue_batches", lambda newsletter: None)
        services.newsletter_send(newsletter=newsletter)
    services.subscriber_unsubscribe(subscriber=subscriber)
    send_newsletter_batch.enqueue(newsletter.pk)
    assert mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED


def test_delivery_unique_per_subscriber():
    """The database refuses a second delivery of one newsletter to one subscriber."""
    from django.db import IntegrityError, transaction

    subscriber = SubscriberFactory()
    newsletter = make_newsletter(PublicationFactory())
    Delivery.objects.create(newsletter=newsletter, subscriber=subscriber)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(newsletter=newsletter, subscriber=subscriber)
