"""PostgreSQL connections give up on a server that never answers (DATABASE_CONNECT_TIMEOUT)."""

from __future__ import annotations

import socket
import time

import pytest
from django.db import connection


@pytest.mark.postgresql
@pytest.mark.django_db
def test_connect_timeout_fails_a_silent_server():
    """A server that accepts the TCP connection and never speaks fails the connection within the timeout."""
    timeout = connection.settings_dict["OPTIONS"]["connect_timeout"]
    assert timeout == 5
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        params = {**connection.get_connection_params(), "host": "127.0.0.1", "port": silent.getsockname()[1]}
        params["connect_timeout"] = 1  # the same option, shortened for the test
        started = time.monotonic()
        with pytest.raises(connection.Database.OperationalError):
            connection.Database.connect(**params)
        assert time.monotonic() - started < 10
