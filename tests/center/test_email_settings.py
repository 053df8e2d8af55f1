"""EMAIL_URL configures Django's email framework (settings read in a fresh process per case)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

SHOW_EMAIL_SETTINGS = (
    "import json, django; django.setup();"
    "from django.conf import settings; from django.core.mail import get_connection;"
    "c = get_connection();"
    "print(json.dumps({'backend': settings.EMAIL_BACKEND, 'host': settings.EMAIL_HOST,"
    " 'port': settings.EMAIL_PORT, 'user': settings.EMAIL_HOST_USER,"
    " 'password': settings.EMAIL_HOST_PASSWORD, 'tls': settings.EMAIL_USE_TLS,"
    " 'ssl': settings.EMAIL_USE_SSL, 'connection': type(c).__module__,"
    " 'connection_host': getattr(c, 'host', None), 'connection_port': getattr(c, 'port', None),"
    " 'connection_user': getattr(c, 'username', None)}))"
)


def email_settings(email_url: str | None) -> dict:
    """The email settings a process started with this EMAIL_URL (or none) ends up with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_"))}
    env.update(DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="center.settings")
    if email_url is not None:
        env["EMAIL_URL"] = email_url
    result = subprocess.run(
        [sys.executable, "-c", SHOW_EMAIL_SETTINGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def test_email_url_smtp_selects_smtp_backend():
    """smtp://user:pw@127.0.0.1:2525 gives the SMTP backend with that host, port, user and password."""
    found = email_settings("smtp://user:pw@127.0.0.1:2525")
    assert found["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["host"], found["port"], found["user"], found["password"]) == (
        "127.0.0.1",
        2525,
        "user",
        "pw",
    )
    assert found["tls"] is False and found["ssl"] is False
    assert found["connection"] == "django.core.mail.backends.smtp"
    assert (found["connection_host"], found["connection_port"], found["connection_user"]) == (
        "127.0.0.1",
        2525,
        "user",
    )


def test_email_url_smtp_tls_turns_starttls_on():
    """smtp+tls:// asks for STARTTLS (port 587 is the usual submission port)."""
    found = email_settings("smtp+tls://user:pw@127.0.0.1:587")
    assert found["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["port"], found["tls"]) == (587, True)


def test_email_url_unset_prints_to_console():
    """Without EMAIL_URL mail goes to the console, so `make run` sends nothing anywhere."""
    found = email_settings(None)
    assert found["backend"] == "django.core.mail.backends.console.EmailBackend"
