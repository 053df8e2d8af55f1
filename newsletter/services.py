"""Writes of the mailing list: subscribing, confirming, leaving, erasing and sending.

HackSoft style: keyword-only, typed functions named ``<entity>_<action>`` that
raise ``ValidationError``, never HTTP errors. Email goes out through tasks
(``newsletter/tasks.py``), enqueued inside the transaction that decided to send
it: with the database task backend the task row commits (or rolls back) with
the decision.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import smtplib
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from newsletter import emails, selectors, tokens
from newsletter.models import ConfirmationEmail, Delivery, Newsletter, Subscriber
from publications.models import Publication

# The wording the consent checkbox shows; bump the version whenever it changes.
CONSENT_TEXT = (
    "I agree to receive the newsletter by email and to the processing of my address "
    "as described in the privacy notice. I can unsubscribe at any time."
)
CONSENT_TEXT_VERSION = "2026-11-22"


def normalize_email(email: str) -> str:
    """Trimmed, with the domain in lower case (the local part may be case-sensitive)."""
    email = (email or "").strip()
    local, at, domain = email.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else email


def _subscriber_for_update(email: str) -> Subscriber:
    """The subscriber for this address, created if new, its row locked for this transaction.

    Two concurrent first submits both try to insert; the unique index makes the
    second wait for the first and fail, and it then locks the row the first made.
    """
    existing = Subscriber.objects.select_for_update().with_email(email).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email, status=Subscriber.Status.PENDING)
    except IntegrityError:
        return Subscriber.objects.select_for_update().with_email(email).get()


def _email_once(*, subscriber: Subscriber, kind: str, now: dt.datetime) -> ConfirmationEmail | None:
    """Record (and enqueue) one subscription email, unless one went out within the resend window."""
    window = settings.NEWSLETTER_RESEND_SECONDS
    if subscriber.confirmation_emails.filter(created_at__gt=now - dt.timedelta(seconds=window)).exists():
        return None
    key = f"{kind}:{subscriber.pk}:{subscriber.round}:{int(now.timestamp()) // max(window, 1)}"
    try:
        with transaction.atomic():
            record = ConfirmationEmail.objects.create(subscriber=subscriber, kind=kind, key=key)
    except IntegrityError:
        return None
    from newsletter.tasks import send_subscription_email

    send_subscription_email.enqueue(record.pk)
    return record


def subscriber_subscribe(
    *,
    email: str,
    name: str = "",
    themes: Iterable = (),
    regions: Iterable = (),
    ip: str | None,
    form: str,
) -> Subscriber:
    """Ask for a subscription: a confirmation email (double opt-in), whatever the address's state.

    The caller's answer must not depend on the result: a new, pending, active or
    unsubscribed address all look the same from outside. An active subscriber
    gets an "already subscribed" email with a link to their preferences instead;
    their preferences are not changed by an unverified form.
    """
    email = normalize_email(email)
    validate_email(email)
    now = timezone.now()
    with transaction.atomic():
        subscriber = _subscriber_for_update(email)
        if subscriber.status == Subscriber.Status.ACTIVE:
            _email_once(subscriber=subscriber, kind=ConfirmationEmail.Kind.ALREADY_SUBSCRIBED, now=now)
            return subscriber
        if subscriber.status != Subscriber.Status.PENDING:
            # Re-subscribing after leaving (or after being suspended): a new opt-in round.
            subscriber.status = Subscriber.Status.PENDING
            subscriber.round += 1
            subscriber.confirmed_at = None
        subscriber.name = (name or "").strip()[:200] or subscriber.name
        subscriber.consent_at = now
        subscriber.consent_form = form[:60]
        subscriber.consent_text_version = CONSENT_TEXT_VERSION
        subscriber.consent_ip = ip or None
        subscriber.full_clean(
            exclude=["themes", "regions"], validate_unique=False, validate_constraints=False
        )
        subscriber.save()
        subscriber.themes.set(themes)
        subscriber.regions.set(regions)
        _email_once(subscriber=subscriber, kind=ConfirmationEmail.Kind.CONFIRM, now=now)
    return subscriber


def subscriber_from_token(*, token: str, purpose: str) -> Subscriber:
    """The subscriber a signed link names; ``tokens.TokenError`` if it is bad, expired or void."""
    payload = tokens.read_token(token, purpose)
    return subscriber_for_payload(payload)


def subscriber_for_payload(payload: tokens.TokenPayload) -> Subscriber:
    subscriber = Subscriber.objects.filter(pk=payload.subscriber_id).first()
    if subscriber is None or tokens.email_hash(subscriber.email) != payload.email_hash:
        raise tokens.TokenError("This link is not valid any more.")
    return subscriber


def subscriber_confirm(*, token: str) -> Subscriber:
    """Activate the subscription a confirmation link names. Confirming twice changes nothing."""
    payload = tokens.read_token(token, tokens.CONFIRM)
    with transaction.atomic():
        subscriber = subscriber_for_payload(payload)
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if payload.round != subscriber.round:
            raise tokens.TokenError("This link belongs to an earlier subscription and is not valid any more.")
        if subscriber.status == Subscriber.Status.PENDING:
            subscriber.status = Subscriber.Status.ACTIVE
            subscriber.confirmed_at = timezone.now()
            subscriber.permanent_failures = 0
            subscriber.suspended_at = None
            subscriber.save(update_fields=["status", "confirmed_at", "permanent_failures", "suspended_at"])
        elif subscriber.status != Subscriber.Status.ACTIVE:
            raise tokens.TokenError("This link is not valid any more.")
    return subscriber


def subscriber_resend_confirmation(*, subscriber: Subscriber) -> None:
    """A new confirmation email for a pending subscriber (once per resend window)."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status == Subscriber.Status.PENDING:
            _email_once(subscriber=subscriber, kind=ConfirmationEmail.Kind.CONFIRM, now=timezone.now())


def subscriber_unsubscribe(*, subscriber: Subscriber) -> Subscriber:
    """Leave the list at once; only a new subscription (with a new confirmation) brings the address back."""
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
            subscriber.status = Subscriber.Status.UNSUBSCRIBED
            subscriber.unsubscribed_at = timezone.now()
            subscriber.round += 1  # earlier confirmation links become void
            subscriber.save(update_fields=["status", "unsubscribed_at", "round"])
    return subscriber


def subscriber_update_preferences(
    *, subscriber: Subscriber, name: str, themes: Iterable, regions: Iterable
) -> Subscriber:
    """Change name and topics (none chosen means everything)."""
    with transaction.atomic():
        subscriber.name = (name or "").strip()[:200]
        subscriber.save(update_fields=["name"])
        subscriber.themes.set(themes)
        subscriber.regions.set(regions)
    return subscriber


def subscriber_erase(*, subscriber: Subscriber) -> None:
    """Erase everything held about a subscriber (GDPR): the row, consent record, emails and deliveries."""
    if not subscriber.pk:
        raise ValidationError("This subscriber does not exist.")
    subscriber.delete()


# Sending newsletters ----------------------------------------------------------
#
# A Delivery row per (newsletter, subscriber) is the whole truth. Batch tasks claim
# due rows (PENDING, or SENDING whose worker's lease ran out) in a short transaction,
# send each message and record the outcome right away in its own commit. So a retried
# task, a second click or two workers never send a row twice (a claimed row is not
# due), and a crash never skips one (its rows are released, or their lease runs out).
# The only window for a duplicate is a hard crash between the SMTP server accepting a
# message and the next commit; the Message-ID is fixed per delivery so that receiving
# servers can recognise the copy.


class _ServerTrouble(Exception):
    """The mail server (not one recipient) failed: stop the batch and retry later."""


def newsletter_send(*, newsletter: Newsletter) -> int:
    """Start sending: freeze the items, create a delivery per active subscriber, queue the batches.

    Returns the number of deliveries created. A second call (a second click)
    creates none; for a newsletter still sending it just queues batches again,
    which resumes work a crashed worker left behind.
    """
    with transaction.atomic():
        newsletter = Newsletter.objects.select_for_update().get(pk=newsletter.pk)
        if newsletter.status != Newsletter.Status.DRAFT:
            if newsletter.status == Newsletter.Status.SENDING:
                _queue_batches(newsletter)
            return 0
        now = timezone.now()
        if newsletter.selection == Newsletter.Selection.NEW:
            since = (
                selectors.newsletter_last_send_moment(exclude_pk=newsletter.pk) or selectors.default_since()
            )
            newsletter.items_since = since
            newsletter.publications.set(selectors.newsletter_new_publications(since=since, until=now))
        if not Publication.objects.published().filter(pk__in=newsletter.publications.values("pk")).exists():
            raise ValidationError("There is nothing to send: the newsletter has no published publications.")
        newsletter.status = Newsletter.Status.SENDING
        newsletter.send_started_at = now
        newsletter.save(update_fields=["status", "send_started_at", "items_since"])
        subscriber_ids = Subscriber.objects.active().order_by("pk").values_list("pk", flat=True)
        created = Delivery.objects.bulk_create(
            [Delivery(newsletter=newsletter, subscriber_id=pk) for pk in subscriber_ids.iterator()],
            ignore_conflicts=True,
            batch_size=1000,
        )
        # Inside the transaction: with the database task backend the task rows commit with the deliveries.
        _queue_batches(newsletter)
        _schedule_watch(newsletter.pk, now + _lease())
    return len(created)


def newsletter_resume() -> int:
    """Queue batches for every newsletter still sending (cron safety net); returns how many."""
    sending = list(Newsletter.objects.filter(status=Newsletter.Status.SENDING))
    for newsletter in sending:
        _queue_batches(newsletter)
    return len(sending)


def _queue_batches(newsletter: Newsletter) -> None:
    from newsletter.tasks import send_newsletter_batch

    if not _finish_if_done(newsletter):
        send_newsletter_batch.enqueue(newsletter.pk)


def _schedule_batch(newsletter_id: int, when: dt.datetime) -> None:
    """A batch at ``when`` (for retries). Backends that cannot defer (immediate) leave it to a resume."""
    from newsletter.tasks import send_newsletter_batch

    if send_newsletter_batch.get_backend().supports_defer:
        send_newsletter_batch.using(run_after=when).enqueue(newsletter_id)


def _lease() -> dt.timedelta:
    """How long a claim is left to its worker, plus a second so that a claim made now has run out by then."""
    return dt.timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE_SECONDS + 1)


def _schedule_watch(newsletter_id: int, when: dt.datetime) -> None:
    """The watchdog of a sending newsletter at ``when`` (only with a queue that can defer)."""
    from newsletter.tasks import watch_newsletter_sending

    if watch_newsletter_sending.get_backend().supports_defer:
        watch_newsletter_sending.using(run_after=when).enqueue(newsletter_id)


def newsletter_watch(*, newsletter_id: int) -> bool:
    """Restart a newsletter whose sending stalled; look again one lease later while it is sending.

    A worker killed in the middle of a batch takes the chain of batch tasks with it (each
    batch queues the next when it ends), and its claimed deliveries wait for their lease to
    run out. The watchdog, queued when sending starts, notices either case: claims whose
    lease has run out, or due deliveries that nobody claimed for a whole lease. It then
    queues one batch, which takes those rows again. Claims are atomic, so a batch too many
    sends nothing twice. Returns whether a batch was queued.
    """
    from newsletter.tasks import send_newsletter_batch

    newsletter = Newsletter.objects.filter(pk=newsletter_id, status=Newsletter.Status.SENDING).first()
    if newsletter is None or _finish_if_done(newsletter):
        return False
    now = timezone.now()
    rows = Delivery.objects.filter(newsletter_id=newsletter_id)
    expired_claims = rows.filter(status=Delivery.Status.SENDING, claimed_at__lt=now - _lease()).exists()
    stalled = expired_claims or (
        rows.filter(_due(now)).exists() and not rows.filter(claimed_at__gte=now - _lease()).exists()
    )
    if stalled:
        send_newsletter_batch.enqueue(newsletter_id)
    _schedule_watch(newsletter_id, now + _lease())
    return stalled


def _next_due_moment(newsletter_id: int) -> dt.datetime | None:
    """When the next of this newsletter's open deliveries becomes due (a retry, or a claim running out)."""
    rows = Delivery.objects.filter(newsletter_id=newsletter_id)
    moments = [
        rows.filter(status=Delivery.Status.PENDING).aggregate(m=Min("next_attempt_at"))["m"],
        rows.filter(status=Delivery.Status.SENDING).aggregate(m=Min("claimed_at"))["m"],
    ]
    if moments[1] is not None:
        moments[1] += _lease()
    moments = [moment for moment in moments if moment is not None]
    return min(moments) if moments else None


def _due(now: dt.datetime) -> Q:
    lease = now - dt.timedelta(seconds=settings.NEWSLETTER_CLAIM_LEASE_SECONDS)
    return (
        Q(status=Delivery.Status.PENDING, next_attempt_at__isnull=True)
        | Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Delivery.Status.SENDING, claimed_at__lt=lease)
    )


def _claim(newsletter_id: int, size: int) -> list[Delivery]:
    """Atomically take up to ``size`` due deliveries for this worker.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` lets workers take disjoint rows
    without waiting. SQLite: the IMMEDIATE transaction serialises writers. The
    update repeats the "due" condition, so a row is never taken twice either way.
    """
    now = timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(_due(now), newsletter_id=newsletter_id).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:size])
        if not ids:
            return []
        Delivery.objects.filter(_due(now), pk__in=ids).update(status=Delivery.Status.SENDING, claimed_at=now)
        claimed = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING, claimed_at=now)
        return list(
            claimed.select_related("subscriber").prefetch_related("subscriber__themes", "subscriber__regions")
        )


def _finish_if_done(newsletter: Newsletter) -> bool:
    """Mark the newsletter sent once no delivery is pending or being sent."""
    open_rows = Delivery.objects.filter(
        newsletter=newsletter, status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]
    )
    if open_rows.exists():
        return False
    Newsletter.objects.filter(pk=newsletter.pk, status=Newsletter.Status.SENDING).update(
        status=Newsletter.Status.SENT, sent_at=timezone.now()
    )
    return True


def _record(delivery: Delivery, **fields) -> None:
    """Write one delivery's outcome at once (its own commit), only if this worker still holds it."""
    Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.SENDING, claimed_at=delivery.claimed_at
    ).update(**fields)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.NEWSLETTER_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))


def _classify(error: Exception) -> str:
    """ "recipient-temporary", "recipient-permanent" or "server" (retry the whole rest later)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return (
            "recipient-temporary"
            if codes and all(400 <= code < 500 for code in codes)
            else "recipient-permanent"
        )
    if isinstance(error, smtplib.SMTPDataError):
        return "recipient-temporary" if 400 <= error.smtp_code < 500 else "recipient-permanent"
    # Disconnects, refused connections, timeouts, a refused sender or failed login: not this
    # recipient's fault, so never counted against them.
    return "server"


TEMPORARY_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError, OSError)


def newsletter_send_batch(*, newsletter_id: int) -> tuple[dict[str, int], bool]:
    """Send one batch of a newsletter (the body of the batch task).

    Returns the counts by outcome and whether there may be more to send now.
    """
    counts = {"sent": 0, "skipped": 0, "failed": 0, "retry": 0}
    newsletter = Newsletter.objects.filter(pk=newsletter_id, status=Newsletter.Status.SENDING).first()
    if newsletter is None:
        return counts, False
    size = settings.NEWSLETTER_BATCH_SIZE
    deliveries = _claim(newsletter_id, size)
    if not deliveries:
        if not _finish_if_done(newsletter):
            # Nothing due now, but rows are claimed by another worker (alive or dead) or wait
            # for a retry: come back when the first of them is due, so that none is left behind.
            when = _next_due_moment(newsletter_id)
            if when is not None:
                _schedule_batch(newsletter_id, max(when, timezone.now()))
        return counts, False
    items = selectors.newsletter_items(newsletter=newsletter)
    mail_connection = get_connection()
    position = 0
    try:
        for position, delivery in enumerate(deliveries):  # noqa: B007 - used by the handlers
            counts[_deliver(newsletter, delivery, items, mail_connection)] += 1
    except _ServerTrouble as trouble:
        # This and the rest of the batch go back to the queue, due after the backoff.
        retry_at = timezone.now() + _backoff(deliveries[position].attempts)
        for delivery in deliveries[position:]:
            _record(
                delivery, status=Delivery.Status.PENDING, next_attempt_at=retry_at, last_error=str(trouble)
            )
        counts["retry"] += len(deliveries) - position
        _schedule_batch(newsletter_id, retry_at)
        return counts, False
    except Exception:
        # Anything unforeseen (a broken backend, a bug): give the unsent rows back untouched and
        # fail the task; a re-run (or the next resume) sends exactly those.
        for delivery in deliveries[position:]:
            _record(delivery, status=Delivery.Status.PENDING)
        raise
    finally:
        with contextlib.suppress(Exception):
            mail_connection.close()
    more = len(deliveries) == size
    if not more:
        _finish_if_done(newsletter)
    return counts, more


def _deliver(newsletter: Newsletter, delivery: Delivery, items, mail_connection) -> str:
    subscriber = delivery.subscriber
    if subscriber.status != Subscriber.Status.ACTIVE:
        _record(delivery, status=Delivery.Status.SKIPPED, last_error="Not subscribed any more.")
        return "skipped"
    matched = selectors.items_for_subscriber(
        items,
        theme_ids={theme.pk for theme in subscriber.themes.all()},
        region_ids={region.pk for region in subscriber.regions.all()},
    )
    if not matched:
        _record(delivery, status=Delivery.Status.SKIPPED, last_error="Nothing matched the preferences.")
        return "skipped"
    message = emails.build_message(
        subscriber=subscriber,
        subject=newsletter.subject,
        template="newsletter",
        context={"intro": newsletter.intro, "items": matched},
        message_id=f"<newsletter-{newsletter.pk}-{subscriber.pk}@{emails.domain()}>",
        connection=mail_connection,
    )
    attempts = delivery.attempts + 1
    try:
        message.send()
    except TEMPORARY_ERRORS as error:
        kind = _classify(error)
        if kind == "server":
            delivery.attempts = attempts
            if attempts >= settings.NEWSLETTER_MAX_ATTEMPTS:
                _record(delivery, status=Delivery.Status.FAILED, attempts=attempts, last_error=repr(error))
                return "failed"
            _record(delivery, attempts=attempts)
            with contextlib.suppress(Exception):
                mail_connection.close()
            raise _ServerTrouble(repr(error)) from error
        if kind == "recipient-temporary" and attempts < settings.NEWSLETTER_MAX_ATTEMPTS:
            retry_at = timezone.now() + _backoff(attempts)
            _record(
                delivery,
                status=Delivery.Status.PENDING,
                attempts=attempts,
                next_attempt_at=retry_at,
                last_error=repr(error),
            )
            _schedule_batch(newsletter.pk, retry_at)
            return "retry"
        _record(delivery, status=Delivery.Status.FAILED, attempts=attempts, last_error=repr(error))
        _count_permanent_failure(subscriber)
        return "failed"
    _record(
        delivery,
        status=Delivery.Status.SENT,
        attempts=attempts,
        sent_at=timezone.now(),
        item_count=len(matched),
        last_error="",
    )
    return "sent"


def _count_permanent_failure(subscriber: Subscriber) -> None:
    """One more permanent failure; after ``NEWSLETTER_SUSPEND_AFTER`` the address is suspended."""
    Subscriber.objects.filter(pk=subscriber.pk).update(permanent_failures=F("permanent_failures") + 1)
    Subscriber.objects.filter(
        pk=subscriber.pk,
        status=Subscriber.Status.ACTIVE,
        permanent_failures__gte=settings.NEWSLETTER_SUSPEND_AFTER,
    ).update(status=Subscriber.Status.SUSPENDED, suspended_at=timezone.now())


def newsletter_send_test(*, newsletter: Newsletter, email: str) -> None:
    """Send the newsletter, every item, to one address (staff checking it before the real send)."""
    items = selectors.newsletter_items(newsletter=newsletter)
    stand_in = Subscriber(email=email)  # unsaved: its links are deliberately void
    emails.build_message(
        subscriber=stand_in,
        subject=f"[Test] {newsletter.subject}",
        template="newsletter",
        context={"intro": newsletter.intro, "items": items},
    ).send()
