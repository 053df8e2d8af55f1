"""`manage.py ensure_admin` (run by every `make run`): creates the admin once, never resets it."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from center.management.commands import ensure_admin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def password_file(settings, tmp_path, monkeypatch):
    """A temporary .admin-password (never the developer's own) and DEBUG on."""
    settings.DEBUG = True
    path = tmp_path / ".admin-password"
    monkeypatch.setattr(ensure_admin, "PASSWORD_FILE", path)
    return path


def run() -> str:
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_ensure_admin_creates_missing_user(password_file):
    """With no admin, it creates a superuser, stores the password and prints it."""
    output = run()
    user = get_user_model().objects.get(username="admin")
    password = password_file.read_text().strip()
    assert user.is_superuser and user.is_staff
    assert user.check_password(password)
    assert f"password: {password}" in output
    assert password_file.stat().st_mode & 0o777 == 0o600


def test_ensure_admin_missing_user_reuses_stored_password(password_file):
    """A new database with an existing .admin-password gets the stored password."""
    password_file.write_text("kept-from-before\n")
    run()
    assert get_user_model().objects.get(username="admin").check_password("kept-from-before")


def test_ensure_admin_second_run_prints_stored_password(password_file):
    """Run again unchanged: the same password is printed and still works."""
    run()
    password = password_file.read_text().strip()
    output = run()
    assert f"password: {password}" in output
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_ensure_admin_keeps_password_changed_in_admin(password_file):
    """A password changed since (in the admin) is kept, and the stale stored one is not printed."""
    run()
    stale = password_file.read_text().strip()
    user = get_user_model().objects.get(username="admin")
    user.set_password("chosen-by-the-editor")
    user.save()
    output = run()
    user.refresh_from_db()
    assert user.check_password("chosen-by-the-editor")
    assert stale not in output
    assert "changed since" in output
    assert password_file.read_text().strip() == stale


def test_ensure_admin_existing_user_without_file_untouched(password_file):
    """An admin created otherwise (no .admin-password) keeps its password; no file is written."""
    get_user_model().objects.create_superuser(username="admin", email="a@localhost", password="own-one")
    output = run()
    assert get_user_model().objects.get(username="admin").check_password("own-one")
    assert "not stored here" in output
    assert not password_file.exists()


def test_ensure_admin_refuses_without_debug(settings):
    """With DEBUG off it refuses and creates nothing."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        run()
    assert not get_user_model().objects.exists()
