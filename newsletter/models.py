"""The mailing list: subscribers, what they agreed to, newsletters and their deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse


class SubscriberQuerySet(models.QuerySet):
    def active(self) -> SubscriberQuerySet:
        return self.filter(status=Subscriber.Status.ACTIVE)

    def with_email(self, email: str) -> SubscriberQuerySet:
        """The subscriber with this address in any case (uses the case-insensitive unique index)."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower())


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        SUSPENDED = "suspended", "Suspended (bouncing)"

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    # No themes and no regions chosen means "everything".
    themes = models.ManyToManyField("publications.Theme", blank=True, related_name="subscribers")
    regions = models.ManyToManyField("publications.Region", blank=True, related_name="subscribers")
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_form = models.CharField(max_length=60, blank=True, help_text="Which form the consent came from.")
    consent_text_version = models.CharField(max_length=20, blank=True)
    consent_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Permanent delivery failures since the last confirmation; too many suspend the address.
    permanent_failures = models.PositiveSmallIntegerField(default=0)
    suspended_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every new subscription round and on unsubscribing: confirmation links
    # carry it, so a link from an earlier round can never re-activate the address.
    round = models.PositiveIntegerField(default=1, editable=False)

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_unique_email_ci"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        self.email = (self.email or "").strip()


class ConfirmationEmail(models.Model):
    """The idempotency record of a subscription email (confirmation or "already subscribed").

    Created in the same transaction as the subscription request, after locking the
    subscriber row; ``key`` is unique, so two concurrent or repeated submits in one
    window create one record and one email.
    """

    class Kind(models.TextChoices):
        CONFIRM = "confirm", "Please confirm"
        ALREADY_SUBSCRIBED = "already", "Already subscribed"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="confirmation_emails")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.key


class Newsletter(models.Model):
    class Selection(models.TextChoices):
        MANUAL = "manual", "Hand-picked publications"
        NEW = "new", "New since the last newsletter"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    subject = models.CharField(max_length=200)
    intro = models.TextField("introduction", blank=True)
    selection = models.CharField(max_length=10, choices=Selection.choices, default=Selection.NEW)
    # Hand-picked items; for "new since the last newsletter" they are filled (frozen) when sending starts.
    publications = models.ManyToManyField("publications.Publication", blank=True, related_name="+")
    is_digest = models.BooleanField(default=False, help_text="Made by the send_digest command.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # For "new since": items published after this moment (the previous newsletter's start).
    items_since = models.DateTimeField(null=True, blank=True, editable=False)
    send_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject

    def get_absolute_url(self) -> str:
        return reverse("admin:newsletter_newsletter_change", args=[self.pk])


class DeliveryQuerySet(models.QuerySet):
    def progress(self) -> dict[str, int]:
        """How many deliveries are in each status (one query)."""
        counts = dict(self.values_list("status").annotate(n=models.Count("pk")).values_list("status", "n"))
        return {status: counts.get(status, 0) for status in Delivery.Status.values}


class Delivery(models.Model):
    """One newsletter to one subscriber: the record that makes sending idempotent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (nothing matched or not active)"

    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE, related_name="deliveries")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A pending delivery waits until then (backoff after a temporary failure).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While SENDING: when the worker claimed it; a claim older than the lease is a crashed worker's.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["newsletter", "subscriber"], name="delivery_once_per_subscriber"),
        ]
        indexes = [
            models.Index(
                fields=["newsletter", "status", "next_attempt_at"],
                name="delivery_claim",
                condition=Q(status__in=["pending", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.newsletter_id} → {self.subscriber_id} ({self.status})"
