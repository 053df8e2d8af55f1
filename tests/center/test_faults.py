"""Faults: a mail server that refuses connections, a full disk on upload, a database that goes away."""

from __future__ import annotations

import errno
import io
import time
from http import HTTPStatus
from pathlib import Path

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
from tests.center.app_server import (
    TcpProxy,
    admin_connection,
    database_url,
    fetch,
    free_port,
    production_env,
    running_server,
)
from tests.factories import PublicationFactory
from tests.newsletter.conftest import subscribe
from tests.publications.admin_post import changeform_data


def closed_port() -> int:
    """A local port nobody listens on (connections are refused)."""
    return free_port()


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


# PostgreSQL faults, on a real gunicorn server (tests/center/app_server.py).


def _server_env(tmp_path, **overrides):
    env = production_env(
        tmp_path,
        DATABASE_CONN_MAX_AGE="600",  # persistent connections: the case that needs health checks
        PAGE_CACHE_SECONDS="0",  # every request really goes to the database
        **overrides,
    )
    env.pop("REDIS_URL", None)  # a local-memory cache: the database is the only thing that fails
    return env


@pytest.mark.postgresql
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_database_connections_killed_server_recovers(tmp_path):
    """pg_terminate_backend on every server connection: the next requests succeed (health checks)."""
    PublicationFactory.create_batch(3)
    env = _server_env(tmp_path, DATABASE_URL=database_url())
    with running_server(env, workers=2, threads=2) as server:
        for _ in range(6):
            assert fetch(f"{server.url}/publications/")[0] == HTTPStatus.OK
        connection.ensure_connection()
        own = connection.connection.info.backend_pid  # this test's connection stays
        with admin_connection() as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s",
                [settings.DATABASES["default"]["NAME"], own],
            ).fetchall()
        assert killed
        statuses = [fetch(f"{server.url}/publications/")[0] for _ in range(8)]
        assert statuses == [HTTPStatus.OK] * 8
        assert fetch(f"{server.url}/healthz")[0] == HTTPStatus.OK


@pytest.fixture
def database_proxy():
    """A TCP proxy between the app server and PostgreSQL, to cut and restore."""
    database = settings.DATABASES["default"]
    proxy = TcpProxy((database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432)))
    proxy.start()
    yield proxy
    proxy.cut()


OUTAGE_PATHS = ["/", "/publications/", "/authors/", "/healthz"]


@pytest.mark.postgresql
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_database_outage_clean_errors_then_recovers(tmp_path, database_proxy):
    """The database goes away under a running server: clean error pages, no hang; back, it serves again."""
    publication = PublicationFactory()
    paths = [*OUTAGE_PATHS, publication.get_absolute_url()]
    env = _server_env(tmp_path, DATABASE_URL=database_url(host="127.0.0.1", port=database_proxy.port))
    with running_server(env, workers=2, threads=2) as server:
        assert [fetch(f"{server.url}{path}")[0] for path in paths] == [HTTPStatus.OK] * len(paths)
        assert database_proxy.connections  # persistent connections run through the proxy

        database_proxy.cut()
        started = time.monotonic()
        # Searches never made before: nothing cached can answer them, so they must read the database.
        uncached = [f"/search/?q=outage{number}" for number in range(2)]
        during = [(path, *fetch(f"{server.url}{path}")) for path in [*paths * 2, *uncached]]
        elapsed = time.monotonic() - started
        for path, status, body in during:
            if path == "/healthz":
                assert status == HTTPStatus.SERVICE_UNAVAILABLE, (path, status)
                assert '"database": "error"' in body
            elif status != HTTPStatus.OK:  # a page whose data is all in the cache may still be served
                assert status in (HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE), path
                assert "Something went wrong" in body, body[:500]
            for leak in ("Traceback", "OperationalError", "psycopg", "connection refused", "DATABASES"):
                assert leak.lower() not in body.lower(), (path, leak)
        assert elapsed < 20, f"{len(during)} requests took {elapsed:.1f}s during the outage"
        # The outage was real: what needed the database failed (pages whose every part is cached
        # may still be served, which is the point of caching them).
        failed = (HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE)
        assert [status in failed for path, status, _ in during if path in uncached] == [True, True]

        database_proxy.restore()
        after = [fetch(f"{server.url}{path}")[0] for path in paths * 2]
        assert after == [HTTPStatus.OK] * len(after)


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
