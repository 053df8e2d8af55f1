"""The send_digest command (cron): a digest of what is new, through the same machinery."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from newsletter.models import Newsletter
from tests.factories import PublicationFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("send_digest", *args, stdout=out)
    return out.getvalue()


def test_send_digest_sends_new_publications():
    """New publications go out as a digest newsletter to active subscribers."""
    SubscriberFactory()
    PublicationFactory(title="A new working paper")
    output = run()
    assert "queued for 1 subscriber" in output
    assert "A new working paper" in mail.outbox[0].body
    assert Newsletter.objects.get().is_digest


def test_send_digest_twice_sends_once():
    """Run again right away, nothing is new: no second digest."""
    SubscriberFactory()
    PublicationFactory()
    run()
    assert "Nothing new" in run()
    assert len(mail.outbox) == 1
    assert Newsletter.objects.count() == 1


def test_send_digest_skips_old_publications():
    """Publications from before the last newsletter are not sent again."""
    SubscriberFactory()
    PublicationFactory(title="Old", published_at=timezone.now() - dt.timedelta(days=3))
    Newsletter.objects.create(
        subject="Previous",
        status=Newsletter.Status.SENT,
        send_started_at=timezone.now() - dt.timedelta(days=1),
    )
    assert "Nothing new" in run()
    assert mail.outbox == []


def test_send_digest_dry_run_sends_nothing():
    """--dry-run only reports."""
    SubscriberFactory()
    PublicationFactory()
    assert "Would send a digest of 1 publication" in run("--dry-run")
    assert mail.outbox == []
    assert not Newsletter.objects.exists()
