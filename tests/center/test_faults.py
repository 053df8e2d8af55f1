"""Faults: a mail server that refuses connections, a full disk on upload, a database that goes away."""

from __future__ import annotations

import errno
import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core import mail
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from PIL import Image

from newsletter.models import ConfirmationEmail, Subscriber
from newsletter.tasks import send_subscription_email
from publications.demo_pdf import build_pdf
from publications.models import Publication
from tests.factories import PublicationFactory
from tests.newsletter.conftest import subscribe
from tests.publications.admin_post import changeform_data

ROOT = Path(__file__).resolve().parent.parent.parent


def closed_port() -> int:
    """A local port nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    settings.SITE_URL = "https://center.example.org"
    return settings


@pytest.mark.django_db
def test_subscribe_with_mail_server_down_succeeds(client, smtp_down):
    """SMTP refusing connections: the visitor still gets the thanks page, the subscriber is saved."""
    response = subscribe(client, email="fault@example.org")
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.FOUND, HTTPStatus.SEE_OTHER)
    assert Subscriber.objects.filter(email="fault@example.org", status=Subscriber.Status.PENDING).exists()


@pytest.mark.django_db
def test_subscribe_with_mail_server_down_keeps_email_unsent(client, smtp_down):
    """The confirmation email is recorded but not marked sent, so it can be sent again."""
    subscribe(client, email="fault@example.org")
    record = ConfirmationEmail.objects.get(subscriber__email="fault@example.org")
    assert record.sent_at is None


@pytest.mark.django_db
def test_confirmation_sent_once_mail_server_back(client, smtp_down):
    """Once the mail server is back, running the task again sends the email exactly once."""
    subscribe(client, email="fault@example.org")
    record = ConfirmationEmail.objects.get(subscriber__email="fault@example.org")
    smtp_down.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_subscription_email.call(record.pk) is True
    assert send_subscription_email.call(record.pk) is False
    assert [m.to for m in mail.outbox] == [["fault@example.org"]]


@pytest.mark.django_db
def test_subscribe_with_mail_server_down_queues_task(client, smtp_down):
    """With the database task queue the request only queues the email: the task row is committed."""
    from django_tasks_db.models import DBTaskResult

    smtp_down.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    response = subscribe(client, email="queued@example.org")
    assert response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR
    assert DBTaskResult.objects.filter(task_path="newsletter.tasks.send_subscription_email").count() == 1


# PostgreSQL: the connections of a running server are killed; the next request must succeed.


def free_port() -> int:
    return closed_port()


def admin_connection():
    database = settings.DATABASES["default"]
    return psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    )


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=10)
            return
        except OSError:  # refused while booting, or a slow first answer
            time.sleep(0.2)
    raise TimeoutError(url)


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.postgresql
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_database_connections_killed_server_recovers(tmp_path):
    """pg_terminate_backend on every server connection: the next requests succeed (health checks)."""
    PublicationFactory.create_batch(3)
    database = settings.DATABASES["default"]
    port = free_port()
    env = {
        **os.environ,
        # Test mode only serves static files from the sources (no slow collectstatic).
        "DJANGO_TESTING": "1",
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "fault-injection-secret-key-0123456789abcdefghijkl",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        "DATABASE_CONN_MAX_AGE": "600",  # persistent connections: the case that needs health checks
        "PAGE_CACHE_SECONDS": "0",
        "CONTENT_STATE_FILE": str(tmp_path / "state.json"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "center.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--threads", "2", "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        for _ in range(6):
            assert get(f"{base}/publications/") == HTTPStatus.OK
        connection.ensure_connection()
        own = connection.connection.info.backend_pid  # this test's connection stays
        with admin_connection() as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
                [database["NAME"], own],
            ).fetchall()
        assert killed
        statuses = [get(f"{base}/publications/") for _ in range(8)]
        assert statuses == [HTTPStatus.OK] * 8
        assert get(f"{base}/healthz") == HTTPStatus.OK
    finally:
        server.terminate()
        server.wait(timeout=30)


# A full disk on upload: a clean 503 page, no row, no file (partial or complete) left behind.


def _half_written_then_full(only_under: str = ""):
    """A ``FileSystemStorage._save`` that writes half the file, then fails like a full disk."""
    real_save = FileSystemStorage._save

    def save(storage, name, content):
        if only_under and not name.startswith(only_under):
            return real_save(storage, name, content)
        path = Path(storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.read()
        path.write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    return save


def _pdf_upload(content: bytes | None = None) -> SimpleUploadedFile:
    content = content if content is not None else build_pdf("Ports", ["Text."])
    return SimpleUploadedFile("ports.pdf", content, content_type="application/pdf")


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (40, 30), "#336699").save(output, format="PNG")
    return output.getvalue()


def _add_with_files(client, **files):
    add = reverse("admin:publications_publication_add")
    data = changeform_data(
        client.get(add), title="Ports of the Caspian", slug="ports-caspian", kind="report", status="draft"
    )
    return client.post(add, {**data, **files})


def _media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_upload_disk_full_clean_error_page(staff_client, monkeypatch):
    """A PDF upload hitting a full disk gives a clean 503 page saying nothing was saved."""
    monkeypatch.setattr(FileSystemStorage, "_save", _half_written_then_full())
    staff_client.raise_request_exception = False
    response = _add_with_files(staff_client, pdf=_pdf_upload())
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.content.decode()
    assert "Nothing was saved" in body
    assert "Traceback" not in body and "ENOSPC" not in body and "No space left" not in body
    assert response["Retry-After"]
    assert "Content-Security-Policy" in response


@pytest.mark.django_db
def test_upload_disk_full_stores_no_row_nor_file(staff_client, monkeypatch, settings):
    """The failed upload leaves no publication row and no half-written file."""
    monkeypatch.setattr(FileSystemStorage, "_save", _half_written_then_full())
    staff_client.raise_request_exception = False
    _add_with_files(staff_client, pdf=_pdf_upload())
    assert not Publication.objects.filter(slug="ports-caspian").exists()
    assert _media_files(settings) == []


@pytest.mark.django_db
def test_upload_disk_full_on_cover_removes_saved_pdf(staff_client, monkeypatch, settings):
    """The PDF was written, then the cover hit the full disk: the PDF is removed with the row."""
    monkeypatch.setattr(FileSystemStorage, "_save", _half_written_then_full("publications/covers/"))
    staff_client.raise_request_exception = False
    response = _add_with_files(
        staff_client,
        pdf=_pdf_upload(),
        cover_image=SimpleUploadedFile("cover.png", _png(), content_type="image/png"),
    )
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert not Publication.objects.filter(slug="ports-caspian").exists()
    assert _media_files(settings) == []


@pytest.mark.django_db
def test_upload_after_disk_freed_succeeds(staff_client, settings):
    """Without the fault the same upload is stored whole under its real name (no temporary name left)."""
    pdf = build_pdf("Ports", ["Text."])
    response = _add_with_files(staff_client, pdf=_pdf_upload(pdf))
    assert response.status_code == HTTPStatus.FOUND
    publication = Publication.objects.get(slug="ports-caspian")
    assert Path(publication.pdf.path).read_bytes() == pdf
    assert not [path for path in _media_files(settings) if ".partial-" in path.name]
