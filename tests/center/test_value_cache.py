"""``VALUE_CACHE_SECONDS=0`` (the benchmark's cold mode): derived values are computed on every call."""

from __future__ import annotations

import pytest
from django.urls import reverse

from center import caching
from tests.factories import PublicationFactory, ThemeFactory

pytestmark = pytest.mark.django_db


def test_cached_computes_once_per_content_version():
    """By default a value is computed once, then served from the cache."""
    calls = []
    assert caching.cached("answer", lambda: calls.append(1) or 42) == 42
    assert caching.cached("answer", lambda: calls.append(1) or 42) == 42
    assert len(calls) == 1


def test_cached_off_computes_every_time(settings):
    """With the value cache off, every call computes."""
    settings.VALUE_CACHE_SECONDS = 0
    calls = []
    for _ in range(3):
        assert caching.cached("answer", lambda: calls.append(1) or 42) == 42
    assert len(calls) == 3


def test_pages_right_with_every_cache_off(client, settings):
    """The index and search pages count correctly with the page cache and the value cache off."""
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 0
    theme = ThemeFactory(name="Energy")
    PublicationFactory.create_batch(3, title="Gas markets", themes=[theme])
    response = client.get(reverse("publications:index"), {"theme": theme.slug})
    assert response.context["paginator"].count == 3
    assert client.get(reverse("search"), {"q": "gas"}).context["result"].total == 3
    PublicationFactory(title="Gas prices", themes=[theme])
    assert client.get(reverse("search"), {"q": "gas"}).context["result"].total == 4
