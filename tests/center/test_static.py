"""Static assets as production serves them: hashed, compressed, cached for a year."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings

PRODUCTION_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
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
