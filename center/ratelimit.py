"""Fixed-window rate limits kept in Django's cache.

With ``REDIS_URL`` set the cache is Redis, so limits are shared by every app
server; otherwise they are per process (good enough for one server).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache


def client_ip(request) -> str:
    """The visitor's address, as seen by the last of our ``TRUSTED_PROXIES`` proxies.

    Each proxy appends the address it received the request from to
    ``X-Forwarded-For``, so only the last ``TRUSTED_PROXIES`` entries can be
    trusted: anything before them was sent by the client and may be forged (a
    forged first entry must not give an attacker a fresh rate-limit bucket).
    Without the header (no proxy, e.g. a local benchmark) it is ``REMOTE_ADDR``.
    """
    trusted = getattr(settings, "TRUSTED_PROXIES", 1)
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if trusted and hops:
        return hops[-min(trusted, len(hops))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def axes_client_ip(request) -> str | None:
    """``client_ip`` for django-axes, which stores it in an IP address column.

    A request without an address (``Client.force_login`` in tests, some ASGI
    servers) gives None rather than "unknown", which PostgreSQL's inet type refuses.
    """
    address = client_ip(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


def hit(scope: str, key: str, *, limit: int, window: int) -> bool:
    """Count a hit of ``key`` in ``scope``; False once more than ``limit`` hits fall in ``window`` seconds."""
    bucket = int(time.time() // window)
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{bucket}"
    backend = cache if isinstance(cache, BaseCache) else caches[DEFAULT_CACHE_ALIAS]  # not the proxy
    if isinstance(backend, RedisCache):
        return _redis_count(backend, cache_key, window) <= limit
    cache.add(cache_key, 0, timeout=window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.set(cache_key, 1, timeout=window + 1)
        count = 1
    return count <= limit


def _redis_count(backend: RedisCache, cache_key: str, window: int) -> int:
    """The hit counted in one round trip: the window's counter made if missing (with its expiry),
    then incremented. Django's ``add()`` and ``incr()`` take three (SET NX, EXISTS, INCRBY), on
    every search."""
    key = backend.make_and_validate_key(cache_key)
    client = backend._cache.get_client(key, write=True)
    pipeline = client.pipeline(transaction=False)
    pipeline.set(key, 0, ex=window + 1, nx=True)
    pipeline.incr(key)
    return pipeline.execute()[-1]
