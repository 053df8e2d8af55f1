"""Two app servers, one PostgreSQL, one Redis: what one does, the other sees at once.

The servers are separate gunicorn processes, so they cannot use pytest-django's
test database: the test creates its own (``center_twoservers_<random>``),
migrates it with ``manage.py``, and drops it at the end.
"""

from __future__ import annotations

import http.cookiejar
import secrets
import urllib.error
import urllib.parse
import urllib.request

import lxml.html
import pytest
from django.conf import settings

from publications.demo_pdf import build_pdf
from tests.center.app_server import admin_connection, database_url, manage, production_env, start_server

PASSWORD = "two servers share everything"

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two gunicorn servers sharing a fresh database, Redis (own key prefix) and MEDIA_ROOT."""
    name = f"center_twoservers_{secrets.token_hex(4)}"
    with admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = tmp_path_factory.mktemp("twoservers")
    env = production_env(
        base,
        DJANGO_SECRET_KEY="two-servers-share-this-secret-key-0123456789abcdef",
        DATABASE_URL=database_url(name),
        REDIS_URL=settings.CACHES["default"]["LOCATION"],
        CACHE_KEY_PREFIX=name,
        EXPORT_RATE_LIMIT="3",
        EXPORT_RATE_WINDOW="3600",  # a fixed window: a long one cannot roll over mid-test
    )
    servers = []
    try:
        manage(env, "migrate", "--noinput")
        manage(
            env,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model;"
            f"get_user_model().objects.create_superuser('editor', 'editor@example.org', {PASSWORD!r});"
            "from django.utils import timezone;"
            "from publications.models import Publication as P;"
            "P.objects.create(title='Ports of the Black Sea', slug='ports', status='published',"
            " published_at=timezone.now());"
            "P.objects.create(title='Draft on Arctic Shipping Lanes', slug='arctic', status='draft')",
        )
        servers = [start_server(env), start_server(env)]
        for server in servers:
            server.wait_until_up()
        yield {"a": servers[0].url, "b": servers[1].url, "media": base / "media"}
    finally:
        for server in servers:
            server.stop()
        with admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Browser:
    """A cookie-keeping HTTP client (no JavaScript needed: forms are plain HTML)."""

    def __init__(self, jar: http.cookiejar.CookieJar | None = None):
        self.jar = jar if jar is not None else http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, url: str):
        try:
            response = self.opener.open(url, timeout=30)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.url
        return response.status, response.read().decode(), response.url

    def get_bytes(self, url: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of a download."""
        try:
            response = self.opener.open(url, timeout=30)
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get_content_type(), error.read()
        return response.status, response.headers.get_content_type(), response.read()

    def post(
        self, url: str, fields: list[tuple[str, str]], files: dict[str, tuple[str, bytes]] | None = None
    ):
        boundary = secrets.token_hex(16)
        body = b""
        for name, value in fields:
            body += (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        for name, (filename, content) in (files or {}).items():
            body += (
                (
                    f"--{boundary}\r\nContent-Disposition: form-data; "
                    f'name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: application/pdf\r\n\r\n"
                ).encode()
                + content
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            url,
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": url},
        )
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), error.url
        return response.status, response.read().decode(), response.url

    def submit(self, url: str, changes: dict | None = None, files=None):
        """Fill in a page's main form as a browser would (keeping every value), apply changes, submit."""
        status, html, final = self.get(url)
        assert status == 200, (status, final)
        # The main form is the one with the most fields (the admin header also has a logout form).
        form = max(lxml.html.fromstring(html).forms, key=lambda form: len(form.inputs))
        values = [(name, value) for name, value in form.form_values() if name not in (changes or {})]
        values += list((changes or {}).items())
        return self.post(url, values, files)

    def login(self, base: str) -> None:
        status, _, final = self.submit(
            f"{base}/admin/login/?next=/admin/", changes={"username": "editor", "password": PASSWORD}
        )
        assert status == 200 and final.endswith("/admin/"), final


def test_publish_on_one_visible_on_other(cluster):
    """Publishing a draft through server A shows on server B's (cached) pages at once."""
    visitor = Browser()
    status, html, _ = visitor.get(f"{cluster['b']}/")
    assert status == 200 and "Arctic Shipping" not in html
    visitor.get(f"{cluster['b']}/")  # now served from B's cache
    editor = Browser()
    editor.login(cluster["a"])
    change = find_change_url(editor, cluster["a"], "arctic")
    status, html, final = editor.submit(change, changes={"status": "published"})
    assert status == 200 and "/change/" not in final, form_errors(html)
    status, html, _ = Browser().get(f"{cluster['b']}/")
    assert "Arctic Shipping" in html


def test_rate_limit_shared(cluster):
    """Downloads counted on server A count on server B: past the limit, B refuses too."""
    visitor = Browser()
    url = "/publications/ports/cite.bib"
    statuses = [visitor.get(f"{cluster['a']}{url}")[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert visitor.get(f"{cluster['b']}{url}")[0] == 429


def test_session_shared(cluster):
    """A session cookie issued by server A is valid on server B."""
    editor = Browser()
    editor.login(cluster["a"])
    other = Browser(editor.jar)
    status, _html, final = other.get(f"{cluster['b']}/admin/")
    assert status == 200 and final.endswith("/admin/"), final
    assert "login" not in final


def test_uploaded_file_shared(cluster):
    """A PDF uploaded through server A is downloaded from server B, byte for byte."""
    editor = Browser()
    editor.login(cluster["a"])
    change = find_change_url(editor, cluster["a"], "ports")
    pdf = build_pdf("Ports of the Black Sea", ["Container traffic grew along the northern coast."])
    status, html, final = editor.submit(change, files={"pdf": ("ports.pdf", pdf)})
    assert status == 200 and "/change/" not in final, form_errors(html)
    status, content_type, body = Browser().get_bytes(f"{cluster['b']}/publications/ports/pdf/?download=1")
    assert status == 200
    assert content_type == "application/pdf"
    assert body == pdf


def find_change_url(browser: Browser, base: str, slug: str) -> str:
    """The admin change page of the publication with ``slug`` (found through the changelist search)."""
    status, html, _ = browser.get(f"{base}/admin/publications/publication/?q={slug}")
    assert status == 200
    links = lxml.html.fromstring(html).xpath(
        '//table[@id="result_list"]//a[contains(@href, "/change/")]/@href'
    )
    assert links, "publication not found in the admin"
    return urllib.parse.urljoin(base, links[0])


def form_errors(html: str) -> list[str]:
    return [
        " ".join(node.text_content().split()) for node in lxml.html.fromstring(html).find_class("errorlist")
    ]
