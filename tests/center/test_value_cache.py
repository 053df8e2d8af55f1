"""``VALUE_CACHE_SECONDS=0`` (the benchmark's cold mode): derived values are computed on every call."""

from __future__ import annotations

import pytest
from django.urls import reverse

from center import caching
from publications import filters
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


def test_whole_list_facets_counted_once_per_version_with_every_cache_off(client, settings, monkeypatch):
    """The facets of the index and of a theme page (no filter values) are kept with the facet
    index: counted once per content version, and a new publication shows in them at once.
    Filtered lists are counted on each request."""
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 0
    calls = []
    compute = filters._compute_facets
    monkeypatch.setattr(filters, "_compute_facets", lambda *args: calls.append(args) or compute(*args))
    energy, water = ThemeFactory(name="Energy"), ThemeFactory(name="Water")
    PublicationFactory.create_batch(2, themes=[energy])
    index = reverse("publications:index")

    def theme_counts(response) -> dict[str, int]:
        return {item["value"]: item["count"] for item in response.context["facets"]["theme"]}

    for _ in range(3):
        assert theme_counts(client.get(index)) == {energy.slug: 2}
        client.get(energy.get_absolute_url())
    assert len(calls) == 2  # the index and the theme page, once each
    PublicationFactory(themes=[water])
    assert theme_counts(client.get(index)) == {energy.slug: 2, water.slug: 1}
    assert len(calls) == 3
    for _ in range(2):
        client.get(index, {"kind": "report"})
    assert len(calls) == 5


# This process's recent values, in front of Redis -------------------------------------------


def test_recent_values_give_copies_of_objects_and_strings_as_they_are():
    recent = caching._RecentValues()
    facets = {"kind": [{"value": "report", "count": 3}]}
    recent.set_many({"a": facets, "b": "<article>card</article>"}, timeout=60)
    first = recent.get_many(["a", "b", "missing"])
    assert first == {"a": facets, "b": "<article>card</article>"}
    first["a"]["kind"].append("changed by one request")
    assert recent.get_many(["a"])["a"] == facets  # the next request does not see it


def test_recent_values_expire_and_stay_within_their_size(monkeypatch):
    recent = caching._RecentValues(max_bytes=3000, max_entry_bytes=1500)
    clock = [1000.0]
    monkeypatch.setattr(caching.time, "monotonic", lambda: clock[0])
    recent.set_many({"short": "x"}, timeout=10)
    clock[0] += 11
    assert recent.get_many(["short"]) == {}
    recent.set_many({"too-big": "y" * 2000}, timeout=60)
    assert recent.get_many(["too-big"]) == {}
    for number in range(5):
        recent.set_many({f"k{number}": "z" * 900}, timeout=60)
        recent.get_many(["k0"])  # used lately: kept
    kept = recent.get_many([f"k{number}" for number in range(5)])
    assert "k0" in kept and "k4" in kept
    assert len(kept) <= 3
    assert recent._bytes <= 3000


def test_values_come_from_this_process_when_the_cache_is_shared(settings, monkeypatch):
    """With Redis, a value read once is read from this process next time: no round trip."""
    monkeypatch.setattr(caching, "_shared_cache_is_remote", lambda: True)
    caching._recent.clear()
    computed = []
    assert caching.cached("count:x", lambda: computed.append(1) or 7) == 7
    gets = []
    real_get_many = caching.cache.get_many
    monkeypatch.setattr(caching.cache, "get_many", lambda keys: gets.append(keys) or real_get_many(keys))
    assert caching.cached("count:x", lambda: computed.append(1) or 8) == 7
    assert gets == []
    assert computed == [1]
    caching.content_changed()  # a new version: a new key, computed again
    assert caching.cached("count:x", lambda: computed.append(1) or 9) == 9
