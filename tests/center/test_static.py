"""Static assets as production serves them: hashed, compressed, cached for a year."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

from center import caching

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "center.storage.StaticStorage"},
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """collectstatic (once per module) into a temporary STATIC_ROOT with the production storage."""
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=PRODUCTION_STORAGES):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


def get_asset(url: str, encoding: str):
    body = Client().get(url, headers={"Accept-Encoding": encoding})
    return body


def test_static_url_is_hashed(collected):
    """Templates link to content-hashed file names."""
    url = static("css/site.css")
    assert url.startswith("/static/css/site.")
    assert url != "/static/css/site.css"


def test_static_hashed_file_is_immutable(collected):
    """Hashed files are served with a far-future, immutable Cache-Control."""
    response = get_asset(static("css/site.css"), "identity")
    assert response.status_code == HTTPStatus.OK
    assert "immutable" in response["Cache-Control"]
    assert "max-age=315360000" in response["Cache-Control"] or "max-age=31536000" in response["Cache-Control"]


def test_static_served_with_brotli(collected):
    """Browsers accepting brotli get the .br variant."""
    response = get_asset(static("css/site.css"), "gzip, deflate, br")
    assert response["Content-Encoding"] == "br"


def test_static_served_with_gzip(collected):
    """Clients accepting only gzip get the .gz variant."""
    response = get_asset(static("css/site.css"), "gzip")
    assert response["Content-Encoding"] == "gzip"


def test_static_unhashed_name_is_not_immutable(collected):
    """The plain name may change content, so it is not cached forever."""
    response = get_asset("/static/css/site.css", "identity")
    assert "immutable" not in response.get("Cache-Control", "")


def test_static_urls_are_whitenoises_worked_out_once(collected, monkeypatch):
    """Each name's URL is the one whitenoise's storage gives, looked up in the manifest only once."""
    names = ["css/site.css", "js/site.js", "img/favicon.svg"]
    expected = {name: CompressedManifestStaticFilesStorage.url(staticfiles_storage, name) for name in names}
    assert all(url.startswith("/static/") and url != f"/static/{name}" for name, url in expected.items())
    storage = staticfiles_storage._wrapped
    monkeypatch.setattr(storage, "_urls", {})  # as a new process starts
    static("css/site.css")
    looked_up = []
    original = storage.stored_name
    monkeypatch.setattr(storage, "stored_name", lambda name: looked_up.append(name) or original(name))
    for _ in range(3):
        assert {name: static(name) for name in names} == expected
    assert sorted(looked_up) == ["img/favicon.svg", "js/site.js"]


@pytest.mark.django_db
def test_pages_cached_under_other_static_files_are_not_served(collected, monkeypatch):
    """Cached pages and fragments link assets by their hashed names; after a deploy whose files have
    other hashes (the same content version in Redis), they are rendered again with the new names."""
    client = Client()
    old_css = static("css/site.css")
    assert old_css in client.get("/").content.decode()
    version = caching.content_version()

    # The next deploy: the same content, site.css changed (a new process reads the new manifest).
    new_css = "css/site.0123456789ab.css"
    storage = staticfiles_storage._wrapped
    monkeypatch.setattr(storage, "hashed_files", {**storage.hashed_files, "css/site.css": new_css})
    monkeypatch.setattr(storage, "_urls", {})
    assert caching.content_version() != version
    page = client.get("/").content.decode()
    assert f"/static/{new_css}" in page
    assert old_css not in page
