"""Admin login lockout (django-axes) after repeated failures."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
import time_machine
from django.urls import reverse

pytestmark = pytest.mark.django_db
LOGIN = reverse("admin:login")
PASSWORD = "correct horse battery staple"


def attempt(client, password: str):
    return client.post(LOGIN, {"username": "editor", "password": password, "next": "/admin/"})


def test_login_succeeds(client, staff_user):
    """The right password logs in."""
    response = attempt(client, PASSWORD)
    assert response.status_code == HTTPStatus.FOUND


def test_lockout_after_five_failures(client, staff_user):
    """After five wrong passwords even the right one is refused with a clear message."""
    for _ in range(4):
        assert attempt(client, "wrong").status_code == HTTPStatus.OK
    response = attempt(client, "wrong")
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    response = attempt(client, PASSWORD)
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many failed logins" in response.content.decode()


def test_lockout_ends_after_cooloff(client, staff_user):
    """After the cool-off period the right password works again."""
    for _ in range(5):
        attempt(client, "wrong")
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=16)):
        assert attempt(client, PASSWORD).status_code == HTTPStatus.FOUND


def test_four_failures_do_not_lock(client, staff_user):
    """Four failures still let the right password in."""
    for _ in range(4):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == HTTPStatus.FOUND


def test_lockout_disabled_setting(client, staff_user, settings):
    """AXES_ENABLED=False turns the lockout off."""
    settings.AXES_ENABLED = False
    for _ in range(6):
        attempt(client, "wrong")
    assert attempt(client, PASSWORD).status_code == HTTPStatus.FOUND


def test_session_expires(settings):
    """Sessions have a limited lifetime and staff passwords are validated."""
    assert 0 < settings.SESSION_COOKIE_AGE <= 60 * 60 * 24
    assert len(settings.AUTH_PASSWORD_VALIDATORS) >= 4


def test_client_login_with_lockout_off(client, staff_user, no_login_lockout):
    """With the lockout off (the no_login_lockout fixture), the test client's login() works."""
    assert client.login(username="editor", password=PASSWORD)


def test_lockout_per_client_address_behind_proxy(client, staff_user):
    """Behind the proxy, a lockout of one client address does not lock the user out elsewhere."""
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "editor", "password": "wrong", "next": "/admin/"},
            HTTP_X_FORWARDED_FOR="203.0.113.7",
        )
    response = client.post(
        LOGIN,
        {"username": "editor", "password": PASSWORD, "next": "/admin/"},
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert response.status_code == HTTPStatus.FOUND
