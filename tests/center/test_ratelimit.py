"""Rate limits: the visitor's address cannot be forged, and limits are shared between servers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory

from center import ratelimit


def request_with(remote: str = "10.0.0.1", forwarded: str | None = None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


def test_client_ip_without_proxy_header():
    """Without X-Forwarded-For the address is the connection's."""
    assert ratelimit.client_ip(request_with("198.51.100.4")) == "198.51.100.4"


def test_client_ip_forged_first_hop_ignored(settings):
    """A client-sent X-Forwarded-For entry is ignored: the proxy's appended entry counts."""
    settings.TRUSTED_PROXIES = 1
    request = request_with(forwarded="1.2.3.4, 203.0.113.9")
    assert ratelimit.client_ip(request) == "203.0.113.9"


def test_client_ip_two_proxies(settings):
    """With two trusted proxies the entry the outer proxy appended counts."""
    settings.TRUSTED_PROXIES = 2
    request = request_with(forwarded="1.2.3.4, 203.0.113.9, 10.0.0.2")
    assert ratelimit.client_ip(request) == "203.0.113.9"


def test_client_ip_no_trusted_proxy_ignores_header(settings):
    """With no trusted proxy the header is ignored entirely."""
    settings.TRUSTED_PROXIES = 0
    assert ratelimit.client_ip(request_with("198.51.100.4", "1.2.3.4")) == "198.51.100.4"


def test_hit_blocks_after_limit():
    """The limit+1-th hit in a window is refused."""
    assert all(ratelimit.hit("test", "k", limit=3, window=3600) for _ in range(3))
    assert not ratelimit.hit("test", "k", limit=3, window=3600)


@pytest.mark.postgresql
def test_limits_shared_between_servers(monkeypatch):
    """Two app servers (two separate Redis connections) count hits of one visitor together."""
    location = settings.CACHES["default"]["LOCATION"]
    server_a = RedisCache(location, {"KEY_PREFIX": "ratelimit-two-servers"})
    server_b = RedisCache(location, {"KEY_PREFIX": "ratelimit-two-servers"})
    server_a.clear()
    assert server_a._cache.get_client() is not server_b._cache.get_client()
    try:
        for server in (server_a, server_b, server_a):
            monkeypatch.setattr(ratelimit, "cache", server)
            assert ratelimit.hit("shared", "203.0.113.9", limit=3, window=3600)
        monkeypatch.setattr(ratelimit, "cache", server_b)
        assert not ratelimit.hit("shared", "203.0.113.9", limit=3, window=3600)
    finally:
        server_a.clear()
