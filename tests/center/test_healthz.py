"""/healthz: database, cache and task queue state for load balancers, without details."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

pytestmark = pytest.mark.django_db

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_healthz_all_ok(client):
    """A healthy site answers 200 with every part "ok"."""
    response = client.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["cache"] == "ok"
    assert body["tasks"]["state"] == "ok"


def test_healthz_never_cached(client):
    """The answer is never cached by proxies."""
    assert "no-cache" in client.get("/healthz")["Cache-Control"]


def test_healthz_database_down_503(client):
    """With the database failing the answer is 503 and names no error."""
    with mock.patch(
        "center.views.connection.cursor", side_effect=OperationalError("connection refused to 10.0.0.5")
    ):
        response = client.get("/healthz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["database"] == "error"
    assert response.json()["status"] == "error"
    assert "10.0.0.5" not in response.content.decode()
    assert "refused" not in response.content.decode()


def test_healthz_cache_down_503(client):
    """With the cache failing the answer is 503 and names no error."""
    with mock.patch("center.views.cache.set", side_effect=ConnectionError("redis at 10.0.0.6 down")):
        response = client.get("/healthz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["cache"] == "error"
    assert "10.0.0.6" not in response.content.decode()


def _db_task(*, waited: dt.timedelta):
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.create(
        task_path="newsletter.tasks.send_confirmation",
        args_kwargs={"args": [], "kwargs": {}},
        backend_name="default",
        run_after=timezone.now() - waited,
        status="READY",
    )


def test_healthz_tasks_counts_waiting(client, settings):
    """With the database queue, fresh waiting tasks are counted and the queue is "ok"."""
    settings.TASKS = DB_TASKS
    _db_task(waited=dt.timedelta(seconds=5))
    tasks = client.get("/healthz").json()["tasks"]
    assert tasks == {"state": "ok", "waiting": 1, "overdue": 0}


def test_healthz_tasks_backlog_reported(client, settings):
    """Tasks waiting longer than HEALTH_TASKS_OVERDUE_SECONDS make the queue "backlog", still 200."""
    settings.TASKS = DB_TASKS
    _db_task(waited=dt.timedelta(seconds=settings.HEALTH_TASKS_OVERDUE_SECONDS + 60))
    response = client.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "degraded"
    assert response.json()["tasks"] == {"state": "backlog", "waiting": 1, "overdue": 1}


def test_healthz_constant_queries(client, settings, django_assert_max_num_queries):
    """The check stays cheap: a fixed handful of queries however long the queue."""
    settings.TASKS = DB_TASKS
    for _ in range(20):
        _db_task(waited=dt.timedelta(hours=1))
    with django_assert_max_num_queries(3):
        client.get("/healthz")


def test_healthz_backlog_of_tasks_enqueued_to_run_at_once(client, settings):
    """A task enqueued the ordinary way (no run_after) and left waiting too long is a backlog."""
    import time_machine

    from newsletter.tasks import send_subscription_email

    settings.TASKS = DB_TASKS
    send_subscription_email.enqueue(0)
    assert client.get("/healthz").json()["tasks"] == {"state": "ok", "waiting": 1, "overdue": 0}
    later = timezone.now() + dt.timedelta(seconds=settings.HEALTH_TASKS_OVERDUE_SECONDS + 60)
    with time_machine.travel(later, tick=False):
        tasks = client.get("/healthz").json()["tasks"]
    assert tasks == {"state": "backlog", "waiting": 1, "overdue": 1}
