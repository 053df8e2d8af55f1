"""Background work of the mailing list (django-tasks; ``manage.py db_worker`` in production)."""

from __future__ import annotations

from collections import Counter

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import task
from django_tasks.backends.immediate import ImmediateBackend

from newsletter import emails, tokens
from newsletter.models import ConfirmationEmail


@task()
def send_subscription_email(confirmation_email_id: int) -> bool:
    """Send one recorded subscription email (confirm, or "already subscribed"), at most once."""
    with transaction.atomic():
        record = (
            ConfirmationEmail.objects.select_for_update()
            .select_related("subscriber")
            .filter(pk=confirmation_email_id, sent_at__isnull=True)
            .first()
        )
        if record is None:  # sent already, or the subscriber was erased
            return False
        record.sent_at = timezone.now()
        record.save(update_fields=["sent_at"])
    subscriber = record.subscriber
    if record.kind == ConfirmationEmail.Kind.CONFIRM:
        token = tokens.make_token(subscriber, tokens.CONFIRM)
        context = {"confirm_url": emails.absolute_url(reverse("newsletter:confirm", kwargs={"token": token}))}
        subject = "Please confirm your subscription"
        template = "confirm"
    else:
        context = {}
        subject = "You are already subscribed"
        template = "already_subscribed"
    try:
        emails.build_message(
            subscriber=subscriber, subject=subject, template=template, context=context
        ).send()
    except Exception:
        # Not sent: let a later request (or a retry of this task) send it.
        ConfirmationEmail.objects.filter(pk=record.pk).update(sent_at=None)
        raise
    return True


@task()
def send_newsletter_batch(newsletter_id: int) -> dict[str, int]:
    """Claim and send a batch of a newsletter's deliveries, then queue the next batch.

    With a real queue (the database backend) each batch is its own task; the
    immediate backend (tests) runs the batches in a loop here instead of nesting them.
    """
    from newsletter.services import newsletter_send_batch

    total: Counter[str] = Counter()
    while True:
        counts, more = newsletter_send_batch(newsletter_id=newsletter_id)
        total.update(counts)
        if not more:
            return dict(total)
        if not isinstance(send_newsletter_batch.get_backend(), ImmediateBackend):
            send_newsletter_batch.enqueue(newsletter_id)
            return dict(total)


@task()
def watch_newsletter_sending(newsletter_id: int) -> bool:
    """Restart a newsletter whose sending stalled (a killed worker); runs again one lease later."""
    from newsletter.services import newsletter_watch

    return newsletter_watch(newsletter_id=newsletter_id)
