"""Staff accounts: passwords follow Django's validators in the admin, and sessions run out."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

STRONG = "Tundra-Lantern-93-Quiver"


def add_user(client, password: str):
    return client.post(
        reverse("admin:auth_user_add"),
        {"username": "newcomer", "usable_password": "true", "password1": password, "password2": password},
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("84937261054", "entirely numeric"),
        ("newcomer", "too similar"),
    ],
)
def test_admin_user_form_refuses_weak_password(staff_client, password, message):
    """A superuser adding staff with a short, common, numeric or name-like password is told why."""
    response = add_user(staff_client, password)
    assert response.status_code == HTTPStatus.OK
    assert message in response.text
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_admin_user_form_accepts_strong_password(staff_client):
    """A long, unusual password is accepted."""
    response = add_user(staff_client, STRONG)
    assert response.status_code == HTTPStatus.FOUND
    assert get_user_model().objects.get(username="newcomer").check_password(STRONG)


def test_admin_password_change_refuses_weak_password(staff_client, staff_user):
    """Setting a staff member's password from the admin applies the same validators."""
    url = reverse("admin:auth_user_password_change", args=[staff_user.pk])
    response = staff_client.post(url, {"usable_password": "true", "password1": "abc", "password2": "abc"})
    assert response.status_code == HTTPStatus.OK
    assert "too short" in response.text
    staff_user.refresh_from_db()
    assert staff_user.check_password("correct horse battery staple")


def test_expired_session_sends_staff_to_login(staff_client, settings, time_machine):
    """Past SESSION_COOKIE_AGE the admin asks to log in again."""
    time_machine.move_to(timezone.now(), tick=False)
    assert staff_client.get(reverse("admin:index")).status_code == HTTPStatus.OK
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60), tick=False)
    response = staff_client.get(reverse("admin:index"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("admin:login"))


def test_session_still_valid_before_its_age(staff_client, settings, time_machine):
    """Just before SESSION_COOKIE_AGE the staff member is still logged in."""
    time_machine.move_to(timezone.now(), tick=False)
    staff_client.get(reverse("admin:index"))
    time_machine.move_to(timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60), tick=False)
    assert staff_client.get(reverse("admin:index")).status_code == HTTPStatus.OK
