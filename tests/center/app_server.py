"""Real app servers for the tests that need them: gunicorn on a free loopback port.

Shared by the fault-injection and two-server tests, so the way the site is
started in production (debug off, a secret key, gunicorn) is written once.
Also a loopback TCP proxy, to cut a server's database connections and bring
them back without touching the real PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    """A local port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def admin_connection():
    """An autocommit connection to the ``postgres`` database of the test server."""
    database = settings.DATABASES["default"]
    return psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    )


def database_url(name: str | None = None, *, host: str | None = None, port: int | None = None) -> str:
    """The ``DATABASE_URL`` of the test server's database ``name`` (default: the test database)."""
    database = settings.DATABASES["default"]
    user = urllib.parse.quote(database["USER"] or "")
    password = urllib.parse.quote(database["PASSWORD"] or "")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    host = host or database["HOST"] or "127.0.0.1"
    port = port or database["PORT"] or 5432
    return f"postgres://{credentials}{host}:{port}/{name or database['NAME']}"


def production_env(base: Path, **overrides: str) -> dict[str, str]:
    """The environment of a production-like server: debug off, a secret key, its own media folder."""
    env = {
        **os.environ,
        # Test mode only serves static files from the sources (no slow collectstatic).
        "DJANGO_TESTING": "1",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "app-server-tests-secret-key-0123456789abcdefghijkl",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
        "MEDIA_ROOT": str(base / "media"),
        "STATIC_ROOT": str(base / "static"),
        "CONTENT_STATE_FILE": str(base / "content-state.json"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PYTEST_XDIST_WORKER", None)
    env.update(overrides)
    return env


@dataclass
class AppServer:
    process: subprocess.Popen
    url: str

    def wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited"
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=10)
                return
            except OSError:  # not listening yet, still starting (timeout), or not healthy yet
                time.sleep(0.2)
        raise AssertionError(f"{self.url} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def start_server(env: dict[str, str], *, workers: int = 1, threads: int = 1) -> AppServer:
    """Start gunicorn with ``env`` on a free port (not waiting for it: see ``wait_until_up``)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "center.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return AppServer(process, f"http://127.0.0.1:{port}")


@contextlib.contextmanager
def running_server(env: dict[str, str], *, workers: int = 1, threads: int = 1) -> Iterator[AppServer]:
    """A started, healthy server, stopped at the end."""
    server = start_server(env, workers=workers, threads=threads)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def manage(env: dict[str, str], *args: str) -> None:
    """Run ``manage.py`` with the servers' environment."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)


def fetch(url: str, *, timeout: float = 10) -> tuple[int, str]:
    """(status, body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class TcpProxy:
    """A loopback TCP proxy to ``target``: ``cut()`` resets every connection and refuses new ones.

    That is what a server sees when its database restarts; ``restore()`` listens
    again on the same port.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._accepting: threading.Thread | None = None

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.1)
        self._stopping.clear()
        self._accepting = threading.Thread(target=self._accept_loop, args=(self._listener,), daemon=True)
        self._accepting.start()

    def cut(self) -> None:
        self._stopping.set()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self.start()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._sockets) // 2

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets -= {source, sink}
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
