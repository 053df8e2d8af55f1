"""Make sure a local admin account exists and print how to log in (development only).

``make run`` calls this every time, so it must lose nothing: it creates the user
only when missing (with the password kept in ``.admin-password``, or a new one),
and never changes an existing user. The stored password is printed only while it
still works; once changed in the admin, the command says so instead.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError

PASSWORD_FILE = settings.BASE_DIR / ".admin-password"
LOGIN_URL = "http://127.0.0.1:8000/admin/"


def stored_password() -> str:
    return PASSWORD_FILE.read_text().strip() if PASSWORD_FILE.exists() else ""


def store_password(password: str) -> None:
    PASSWORD_FILE.write_text(password + "\n")
    PASSWORD_FILE.chmod(0o600)


class Command(BaseCommand):
    help = (
        "Create the local 'admin' superuser if missing and print its user name and password "
        "(DEBUG only). An existing user is never changed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        if not settings.DEBUG:
            raise CommandError("ensure_admin is for local development; it refuses to run with DEBUG off.")
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        password = stored_password()
        if user is None:
            password = password or secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email=f"{username}@localhost", password=password)
            store_password(password)
        elif not password or not user.check_password(password):
            reason = (
                f"changed since (no longer the one in {PASSWORD_FILE.name})"
                if password
                else f"not stored here ({PASSWORD_FILE.name} is missing)"
            )
            self.stdout.write(
                f"Admin login at {LOGIN_URL}  user: {username}  password: {reason}; use the one you set, "
                f"or `python manage.py changepassword {username}`."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(f"Admin login at {LOGIN_URL}  user: {username}  password: {password}")
        )
