"""Fixtures of the mailing-list tests."""

from __future__ import annotations

import re
import time

import pytest
from django.core import mail, signing
from django.urls import reverse

from newsletter.forms import FORM_STAMP_SALT
from tests.newsletter.mail_backends import FlakyBackend


@pytest.fixture
def flaky(settings):
    settings.EMAIL_BACKEND = "tests.newsletter.mail_backends.FlakyBackend"
    FlakyBackend.reset()
    yield FlakyBackend
    FlakyBackend.reset()


@pytest.fixture
def deferred_tasks(settings):
    """Tasks are queued (not run) so the test can run them, and see ``run_after``."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    from django_tasks import default_task_backend

    default_task_backend.clear()
    return default_task_backend


@pytest.fixture(autouse=True)
def _newsletter_settings(settings):
    settings.SITE_URL = "https://center.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NEWSLETTER_RATE_PER_IP = 20
    settings.NEWSLETTER_RATE_PER_EMAIL = 5
    # The staff fixtures hash a password per test; a fast hasher keeps these tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def stamp(seconds_ago: float = 60) -> str:
    """The signed "form shown at" value of a form shown ``seconds_ago``."""
    return signing.Signer(salt=FORM_STAMP_SALT).sign_object({"t": time.time() - seconds_ago})


def subscribe(client, email="reader@example.org", **extra):
    """Post the subscribe form as a person would (shown a minute ago, consent ticked)."""
    data = {"email": email, "consent": "on", "stamp": stamp(), "form": "page", "website": ""}
    data.update(extra)
    return client.post(reverse("newsletter:index"), data, REMOTE_ADDR=extra.pop("ip", "203.0.113.7"))


def link_from(message, name: str) -> str:
    """The path of the link named ``name`` (confirm, manage, unsubscribe) in an email's text."""
    match = re.search(rf"https://center\.example\.org(/newsletter/{name}/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def outbox():
    return mail.outbox
