"""Rate limits: the visitor's address cannot be forged, and limits are shared between servers."""

from __future__ import annotations

import pytest
import redis
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


@pytest.mark.postgresql
def test_a_hit_on_redis_is_one_round_trip_and_expires(monkeypatch):
    """On Redis a hit is SET NX with the window's expiry and INCRBY, sent together: no EXISTS."""
    server = RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": "ratelimit-round-trip"})
    server.clear()
    monkeypatch.setattr(ratelimit, "cache", server)
    client = server._cache.get_client(write=True)
    sent = []
    monkeypatch.setattr(
        redis.client.Redis, "execute_command", _recording(redis.client.Redis.execute_command, sent)
    )
    monkeypatch.setattr(
        redis.client.Pipeline, "execute", _recording_pipeline(redis.client.Pipeline.execute, sent)
    )
    try:
        assert [ratelimit.hit("trip", "198.51.100.7", limit=2, window=60) for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert sent == [("SET", "INCRBY")] * 3  # one round trip per hit
        (key,) = client.keys("*ratelimit:trip:*")
        assert int(client.get(key)) == 3
        assert 0 < client.ttl(key) <= 61
    finally:
        server.clear()


def _recording(method, sent: list):
    def execute_command(self, *args, **options):
        sent.append((args[0],))
        return method(self, *args, **options)

    return execute_command


def _recording_pipeline(method, sent: list):
    def execute(self, *args, **kwargs):
        sent.append(tuple(command[0][0] for command in self.command_stack))
        return method(self, *args, **kwargs)

    return execute
