"""Production hardening: check --deploy, security headers, cookies, error pages and request ids."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest
from django.test import Client

from center.log_format import JsonFormatter, RequestIdFilter
from tests.center.raising_urls import SECRET_MARKER

ROOT = Path(__file__).resolve().parent.parent.parent

# The production environment the README documents (debug off, secret key, host names, https SITE_URL).
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "publications.example.org",
    "SITE_URL": "https://publications.example.org",
    "DJANGO_TESTING": "0",
}


def production_run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TASKS_"))}
    env.update(PRODUCTION_ENV)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_clean_in_production():
    """`manage.py check --deploy` with the documented production environment reports nothing."""
    result = production_run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_cookies_secure_httponly_samesite():
    """In production the session and CSRF cookies are Secure, HttpOnly and SameSite."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY,"
        "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE, s.SECURE_SSL_REDIRECT, s.DEBUG]))"
    )
    env_script = f"import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'center.settings'; {script}"
    result = production_run("-c", env_script)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, True, True, True, "Lax", "Lax", True, False]


@pytest.mark.django_db
def test_security_headers_on_home(client):
    """The home page carries nosniff, Referrer-Policy, frame protection, Permissions-Policy and COOP."""
    response = client.get("/")
    assert response.status_code == HTTPStatus.OK
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def _csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db
def test_csp_strict_on_home(client):
    """The CSP allows same-origin scripts and nonces only: no unsafe-inline/eval, no other origin."""
    directives = _csp_directives(client.get("/"))
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] in (["'self'"], ["'none'"])
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    for name, values in directives.items():
        for value in values:
            assert "unsafe" not in value, (name, value)
            assert value in ("'self'", "'none'", "data:") or value.startswith("'nonce-"), (name, value)


def _header_nonce(response) -> str:
    """The nonce the CSP header announces for scripts (empty if none)."""
    nonces = [v[7:-1] for v in _csp_directives(response)["script-src"] if v.startswith("'nonce-")]
    assert len(nonces) <= 1, nonces
    return nonces[0] if nonces else ""


def _script_nonces(response) -> list[str]:
    return re.findall(r'<script\b[^>]*\bnonce="([^"]*)"', response.content.decode())


def _assert_scripts_match_header(response) -> None:
    nonce = _header_nonce(response)
    for tag in re.findall(r"<script\b[^>]*>", response.content.decode()):
        if "src=" in tag and "nonce=" not in tag:
            continue  # same-origin file: allowed by 'self'
        assert nonce, tag
        assert f'nonce="{nonce}"' in tag, tag


@pytest.mark.django_db
def test_csp_nonce_matches_scripts(client):
    """Every <script> of a publication page (JSON-LD included) carries the nonce the CSP header announces."""
    from tests.factories import PublicationFactory

    response = client.get(PublicationFactory().get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert _script_nonces(response), "the publication page has a nonce'd script to check"
    _assert_scripts_match_header(response)


@pytest.mark.django_db
def test_hsts_over_https(client):
    """HSTS is sent over HTTPS (as seen through the proxy's X-Forwarded-Proto)."""
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response["Strict-Transport-Security"]


@pytest.mark.django_db
def test_hsts_absent_over_http(client):
    """HSTS is not sent over plain HTTP (browsers ignore it there anyway)."""
    assert "Strict-Transport-Security" not in client.get("/")


@pytest.mark.django_db
def test_security_headers_on_not_found(client):
    """Error responses (404) carry the security headers too."""
    response = client.get("/no-such-page-here/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Permissions-Policy" in response
    assert "Content-Security-Policy" in response
    assert response["X-Request-ID"]


@pytest.mark.django_db
def test_security_headers_on_cached_page(client):
    """A page served from the page cache keeps the security headers and gets a fresh request id."""
    first = client.get("/")
    second = client.get("/")
    assert second["X-Cache"] == "hit"
    assert "Content-Security-Policy" in second
    assert second["X-Content-Type-Options"] == "nosniff"
    assert "Permissions-Policy" in second
    assert second["X-Request-ID"] != first["X-Request-ID"]


@pytest.mark.django_db
def test_csp_nonce_fresh_on_each_cached_hit(client):
    """Two hits of a cached page carry different nonces, each matching its own <script nonce>."""
    from tests.factories import PublicationFactory

    url = PublicationFactory().get_absolute_url()
    miss, first, second = client.get(url), client.get(url), client.get(url)
    assert [miss["X-Cache"], first["X-Cache"], second["X-Cache"]] == ["miss", "hit", "hit"]
    nonces = [_header_nonce(response) for response in (miss, first, second)]
    assert all(nonces), nonces
    assert len(set(nonces)) == 3, nonces
    for response, nonce in zip((miss, first, second), nonces, strict=True):
        assert set(_script_nonces(response)) == {nonce}
        _assert_scripts_match_header(response)


@pytest.mark.django_db
def test_csp_nonce_cached_page_still_revalidates(client):
    """A cached page whose nonce changes per hit still answers If-None-Match with 304."""
    from tests.factories import PublicationFactory

    url = PublicationFactory().get_absolute_url()
    etag = client.get(url)["ETag"]
    assert client.get(url)["ETag"] == etag
    assert client.get(url, headers={"If-None-Match": etag}).status_code == HTTPStatus.NOT_MODIFIED


@pytest.mark.django_db
def test_request_id_generated(client):
    """Without an incoming X-Request-ID, each response gets a new one."""
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/healthz")["X-Request-ID"])


@pytest.mark.django_db
def test_request_id_from_proxy_kept(client):
    """A sane X-Request-ID from the proxy is kept and returned."""
    response = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert response["X-Request-ID"] == "lb-1234.abc"


@pytest.mark.django_db
def test_request_id_hostile_replaced(client):
    """A hostile X-Request-ID (markup, too long) is replaced by a fresh one."""
    response = client.get("/healthz", headers={"X-Request-ID": "<script>x</script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@pytest.fixture
def raising_client(settings):
    settings.ROOT_URLCONF = "tests.center.raising_urls"
    return Client(raise_request_exception=False)


@pytest.mark.django_db
def test_server_error_page_no_traceback(raising_client):
    """A view that raises gives the 500 page: no traceback, no exception text, no settings."""
    response = raising_client.get("/boom/")
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    body = response.content.decode()
    assert "Traceback" not in body
    assert "RuntimeError" not in body
    assert SECRET_MARKER not in body
    assert "SECRET_KEY" not in body
    assert "Something went wrong" in body


@pytest.mark.django_db
def test_server_error_page_shows_request_id(raising_client):
    """The 500 page shows the request id that is also in the response header."""
    response = raising_client.get("/boom/", headers={"X-Request-ID": "req-500-test"})
    assert response["X-Request-ID"] == "req-500-test"
    assert "req-500-test" in response.content.decode()
    assert "Content-Security-Policy" in response


@pytest.mark.django_db
def test_server_error_logged_as_json_with_request_id(raising_client):
    """The failure is logged (traceback included) as one JSON line carrying the request id."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        raising_client.get("/boom/", headers={"X-Request-ID": "req-log-test"})
    finally:
        logger.removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    errors = [r for r in records if r["level"] == "ERROR"]
    assert errors, records
    assert errors[0]["request_id"] == "req-log-test"
    assert errors[0]["path"] == "/boom/"
    assert "RuntimeError" in errors[0]["exception"]


def test_json_formatter_outside_request():
    """Outside a request the record carries request_id "-" and extras as JSON fields."""
    record = logging.LogRecord("center", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.publication_id = 7
    RequestIdFilter().filter(record)
    payload = json.loads(JsonFormatter().format(record))
    assert payload["message"] == "hello world"
    assert payload["request_id"] == "-"
    assert payload["publication_id"] == 7


@pytest.mark.django_db
def test_not_found_logged_with_request_id(client):
    """A 404, logged by Django after the middleware has run, still carries the request id."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        client.get("/no-such-page-here/", headers={"X-Request-ID": "req-404-test"})
    finally:
        logger.removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["request_id"] for r in records] == ["req-404-test"]
