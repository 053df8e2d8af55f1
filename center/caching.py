"""Caching that is never stale.

Everything public is cached under a *content version*: a random token that
changes whenever content changes, plus the moment the next scheduled
publication becomes due.

- Any save, delete or many-to-many change of a model in ``CONTENT_APPS``
  (publications, authors, tags) replaces the token, right away and once more
  after the transaction commits (so a page rendered from the old data while
  the transaction ran is never served). Queryset ``update()`` calls on
  publications and authors do the same (see the querysets); bulk loaders call
  :func:`content_changed` themselves.
- A published item with a future ``published_at`` is scheduled. The version
  also holds the earliest such moment; the first request after it replaces
  the token, so scheduled items appear on time without a cron job.
- The version lives in the shared cache when there is one (Redis: every app
  server sees the same version) and in a small file otherwise (local-memory
  caches are per process, so several gunicorn workers on one machine share the
  version through the file).

:class:`PublicPageCacheMiddleware` caches whole anonymous responses of the
public views under that version; :func:`cached` caches any computed value
(counts, facets) the same way.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as dt
import fnmatch
import hashlib
import json
import os
import pickle
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.paginator import InvalidPage, Paginator
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.cache import set_response_etag
from django.utils.encoding import iri_to_uri
from django.utils.functional import cached_property

STATE_KEY = "content:state"
# Request headers that may change a public page (htmx partial responses).
VARYING_REQUEST_HEADERS = (
    "HTTP_HX_REQUEST",
    "HTTP_HX_BOOSTED",
    "HTTP_HX_TARGET",
    "HTTP_HX_HISTORY_RESTORE_REQUEST",
)
# Response Vary headers the page cache understands: the key covers them.
UNDERSTOOD_VARY = {"cookie", "hx-request", "hx-boosted", "hx-target", "hx-history-restore-request"}


# The content version ---------------------------------------------------------


class _CacheStateStore:
    """The version in the shared cache (Redis): the same for every app server."""

    def read(self) -> dict | None:
        return cache.get(STATE_KEY)

    def write(self, state: dict) -> None:
        cache.set(STATE_KEY, state, timeout=None)

    def clear(self) -> None:
        cache.delete(STATE_KEY)


class _FileStateStore:
    """The version in a file, for process-local caches: one small read per request.

    Read every time (not trusted to ``stat``: file times are coarse and inode
    numbers are reused, so two quick writes could look the same).
    """

    def __init__(self, path: Path):
        self.path = path
        self._raw: bytes = b""
        self._state: dict | None = None

    def read(self) -> dict | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if raw != self._raw:
            try:
                self._state = json.loads(raw)
            except ValueError:
                return None
            self._raw = raw
        return self._state

    def write(self, state: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".content-state-")
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle)
        os.replace(tmp, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self._raw, self._state = b"", None


def _default_state_file() -> Path:
    database = settings.DATABASES["default"]
    identity = (
        f"{database['ENGINE']}|{database.get('HOST', '')}|{database.get('PORT', '')}|{database['NAME']}"
    )
    if "memory" in str(database["NAME"]) or not database["NAME"]:
        identity += f"|{os.getpid()}"  # an in-memory database (tests) belongs to one process
    digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"center-content-state-{digest}.json"


_store: _CacheStateStore | _FileStateStore | None = None


def _state_store() -> _CacheStateStore | _FileStateStore:
    global _store
    if _store is None:
        if isinstance(caches["default"], LocMemCache | DummyCache):
            path = getattr(settings, "CONTENT_STATE_FILE", "") or _default_state_file()
            _store = _FileStateStore(Path(path))
        else:
            _store = _CacheStateStore()
    return _store


def _next_due_from_database() -> float | None:
    from publications.models import Publication

    moment = (
        Publication.objects.scheduled()
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    return moment.timestamp() if moment else None


def _new_state(next_due: float | None) -> dict:
    return {"token": uuid.uuid4().hex[:12], "next_due": next_due}


# Within one request the version is read once (``PublicPageCacheMiddleware`` opens the memo): a page
# asks for it for each cached value and fragment. A content change in the request forgets it.
_request_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "content_version_memo", default=None
)


def content_version() -> str:
    """The current content version, for cache keys.

    Replaced on every content change and when the next scheduled publication
    becomes due.
    """
    memo = _request_memo.get()
    if memo is not None and "version" in memo:
        return memo["version"]
    return _version_and(None)[0]


def _version_and(key: str | None) -> tuple[str, Any]:
    """The content version and the cache entry under ``key``, in one round trip to Redis."""
    version, entry = _read_version_and(key)
    memo = _request_memo.get()
    if memo is not None:
        memo["version"] = version
    return version, entry


def _read_version_and(key: str | None) -> tuple[str, Any]:
    store = _state_store()
    entry = None
    if isinstance(store, _CacheStateStore) and key:
        found = cache.get_many([STATE_KEY, key])
        state, entry = found.get(STATE_KEY), found.get(key)
    else:
        state = store.read()
        if key:
            entry = cache.get(key)
    if state is None or (state["next_due"] is not None and time_now() >= state["next_due"]):
        state = _new_state(_next_due_from_database())
        store.write(state)
    return state["token"] + _static_release(), entry


_release: tuple[object, str] = (None, "")


def _static_release() -> str:
    """What the deployed static files are, as part of the version: a cached page or fragment links
    assets by their hashed names, so one rendered under another deploy's manifest is not served."""
    global _release
    files = getattr(staticfiles_storage, "hashed_files", None)
    if not files:
        return ""
    if _release[0] is not files:  # read once per storage (and so per manifest)
        digest = hashlib.sha256(repr(sorted(files.items())).encode()).hexdigest()[:8]
        _release = (files, f".{digest}")
    return _release[1]


def time_now() -> float:
    return timezone.now().timestamp()


def content_changed(*, due: float | None = None, exact: bool = False) -> None:
    """Record that content changed: every cached page and value is now old.

    ``due`` is the moment a just-saved item becomes visible (if scheduled);
    ``exact`` recomputes the next due moment from the database.
    """
    memo = _request_memo.get()
    if memo is not None:
        memo.pop("version", None)
    store = _state_store()
    if exact:
        next_due = _next_due_from_database()
    else:
        state = store.read()
        if state is None:
            next_due = _next_due_from_database()
        else:
            candidates = [moment for moment in (state["next_due"], due) if moment is not None]
            next_due = min(candidates) if candidates else None
    store.write(_new_state(next_due))


def _after_commit() -> None:
    content_changed(exact=True)


def _content_changed_now_and_after_commit(due: float | None = None) -> None:
    """Bump now (this process sees its own writes) and again once the data is committed."""
    if not connection.in_atomic_block:
        content_changed(exact=True)
        return
    content_changed(due=due)
    if not any(callback is _after_commit for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_after_commit)


def _content_apps() -> set[str]:
    return set(getattr(settings, "CONTENT_APPS", ("publications", "authors", "taggit")))


def _scheduled_moment(instance) -> float | None:
    published_at = getattr(instance, "published_at", None)
    status = getattr(instance, "status", None)
    if published_at is not None and status == "published" and published_at.timestamp() > time_now():
        return published_at.timestamp()
    return None


def _on_content_signal(sender, instance=None, **kwargs) -> None:
    if kwargs.get("raw"):  # loaddata: the loader bumps once at the end
        return
    if sender._meta.app_label in _content_apps():
        _content_changed_now_and_after_commit(_scheduled_moment(instance))


def _on_m2m_signal(sender, action: str, **kwargs) -> None:
    if action.startswith("post_") and sender._meta.app_label in _content_apps():
        _content_changed_now_and_after_commit()


def connect_signals() -> None:
    """Called from ``CenterConfig.ready()``."""
    post_save.connect(_on_content_signal, dispatch_uid="center.caching.post_save")
    post_delete.connect(_on_content_signal, dispatch_uid="center.caching.post_delete")
    m2m_changed.connect(_on_m2m_signal, dispatch_uid="center.caching.m2m_changed")


def bulk_content_changed() -> None:
    """For querysets' ``update()`` and bulk loaders, which send no signals."""
    _content_changed_now_and_after_commit()


def reset() -> None:
    """Forget the version and this process's recent values (tests, ``seed_demo``)."""
    _state_store().clear()
    _recent.clear()


# Cached values ---------------------------------------------------------------


# Values are keyed by the content version, so they can live long (VALUE_CACHE_SECONDS): the TTL
# only frees memory. Being keyed by the version, an entry never changes: each process also keeps
# the ones it used lately (``_recent``), so that with Redis a page's many values and fragments
# cost one round trip (the version) instead of one each.


class _RecentValues:
    """A small least-recently-used map of this process, in front of a shared cache.

    Strings (fragments, cards) are kept as they are; anything else pickled, so no
    two requests ever share a mutable object. Entries expire as they would in the
    shared cache; at most ``max_bytes`` in all, and none larger than ``max_entry_bytes``
    (a search's ranking of 100,000 ids stays in the shared cache only).
    """

    def __init__(self, max_bytes: int = 4 * 1024 * 1024, max_entry_bytes: int = 256 * 1024):
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[str, tuple[float, bool, Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        now, found = time.monotonic(), {}
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    continue
                if entry[0] <= now:
                    self._drop(key)
                    continue
                self._entries.move_to_end(key)
                found[key] = entry
        # Only this process's own pickles, never data from outside.
        return {key: _unpickled(value) if pickled else value for key, (_, pickled, value, _) in found.items()}

    def set_many(self, values: dict[str, Any], timeout: int) -> None:
        expires = time.monotonic() + timeout
        entries = {}
        for key, value in values.items():
            pickled = not isinstance(value, str)
            stored = pickle.dumps(value, pickle.HIGHEST_PROTOCOL) if pickled else value
            size = len(stored) + len(key) + 100
            if size <= self.max_entry_bytes:
                entries[key] = (expires, pickled, stored, size)
        with self._lock:
            for key, entry in entries.items():
                self._drop(key)
                self._entries[key] = entry
                self._bytes += entry[3]
            while self._bytes > self.max_bytes and self._entries:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[3]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def _unpickled(data: bytes) -> Any:
    return pickle.loads(data)  # noqa: S301 (pickled by this process, see _RecentValues)


_recent = _RecentValues()


def _shared_cache_is_remote() -> bool:
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def _get_values(keys: list[str]) -> dict[str, Any]:
    """The cached values of ``keys``: this process's recent ones first, then the shared cache."""
    if not _shared_cache_is_remote():
        return cache.get_many(keys)
    found = _recent.get_many(keys)
    missing = [key for key in keys if key not in found]
    if missing:
        shared = cache.get_many(missing)
        if shared:
            _recent.set_many(shared, html_timeout())
            found.update(shared)
    return found


def _set_values(values: dict[str, Any], timeout: int) -> None:
    cache.set_many(values, timeout=timeout)
    if _shared_cache_is_remote():
        _recent.set_many(values, timeout)


def cached(name: str, compute: Callable[[], Any], *, timeout: int | None = None) -> Any:
    """``compute()``'s value, computed once per content version.

    For whatever the public pages derive from the content: the total count,
    facet counts, tag clouds. ``name`` must say everything the value depends on
    (e.g. ``f"facets:{query_string}"``).
    """
    return cached_many([name], lambda names: {name: compute()}, timeout=timeout)[name]


def cached_many(
    names: list[str], compute: Callable[[list[str]], dict[str, Any]], *, timeout: int | None = None
) -> dict[str, Any]:
    """:func:`cached` for several values at once: one cache read, and one write for those missing.

    ``compute(missing_names)`` returns a value for each of the names it is given.
    """
    if not settings.VALUE_CACHE_SECONDS:  # off: every request computes (the benchmark's cold mode)
        return compute(list(names))
    version = content_version()
    keys = {name: f"value:{version}:{_short(name)}" for name in names}
    found = _get_values(list(keys.values()))
    values = {name: found[key] for name, key in keys.items() if key in found}
    missing = [name for name in keys if name not in values]
    if missing:
        computed = compute(missing)
        _set_values({keys[name]: computed[name] for name in missing}, timeout or settings.VALUE_CACHE_SECONDS)
        values.update(computed)
    return values


def html_timeout(seconds: int | None = None) -> int:
    """How long cached HTML may live: ``seconds`` (default: VALUE_CACHE_SECONDS), but never past
    half the life of a signed file URL it may hold (``SIGNED_FILE_URL_SECONDS``, 0 when unsigned)."""
    seconds = settings.VALUE_CACHE_SECONDS if seconds is None else seconds
    signed = getattr(settings, "SIGNED_FILE_URL_SECONDS", 0)
    return min(seconds, max(1, signed // 2)) if signed else seconds


def _short(text: str) -> str:
    return text if len(text) <= 120 else hashlib.sha256(text.encode()).hexdigest()


def published_count() -> int:
    """How many publications the public can see (the home page's "Total Index"), never a COUNT per
    request: the length of the facet index when this process has built it for this version, else
    counted once per version; with the value cache off, the facet index is built (once per version
    and process) rather than counting every publication on each request."""
    from publications import facet_index
    from publications.models import Publication

    index = facet_index.built()
    if index is None and not settings.VALUE_CACHE_SECONDS:
        index = facet_index.current()
    if index is not None:
        return len(index)
    return cached("count:published", lambda: Publication.objects.published().count())


def _is_about_now(value, now: dt.datetime) -> bool:
    """Is this query parameter the "now" of ``published()`` (a datetime, or SQLite's string of one)?"""
    if isinstance(value, str) and 19 <= len(value) <= 32 and value[:2] in ("19", "20"):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return False
    if not isinstance(value, dt.datetime):
        return False
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return abs((value - now).total_seconds()) < 60


class CachedCountPaginator(Paginator):
    """A paginator whose total is computed once per content version, with a depth limit.

    The COUNT(*) that grows with the index runs once per content change, not per
    request: it is cached under the list's SQL, with "now" (of ``published()``)
    left out, since what is visible cannot change within one content version.
    Pages beyond ``MAX_INDEX_PAGES`` are refused with a clear message (their
    OFFSET would grow with the index); filters and search reach everything.

    With a ``list_name`` (what the list is, stated by the view: the path and the
    filter values), the total and each page's ids are cached under it, so that
    neither compiling the SQL nor running it is needed once per content version;
    a page's items are then a :class:`PageOfIds`.

    ``ordered_ids``, when given, is a function returning the list's ids in its
    order from memory (or None when it cannot tell): the total and the pages are
    then worked out from it, not by SQL, whenever they are not cached.
    """

    def __init__(
        self,
        *args,
        max_pages: int | None = None,
        list_name: str | None = None,
        ordered_ids: Callable[[], Sequence[int] | None] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.max_pages = max_pages if max_pages is not None else settings.MAX_INDEX_PAGES
        # Hashed: the name holds filter values (spaces, any text), and keys must stay plain.
        self.list_name = hashlib.sha256(list_name.encode()).hexdigest()[:32] if list_name else None
        self._ordered_ids = ordered_ids

    @cached_property
    def in_memory(self) -> Sequence[int] | None:
        return self._ordered_ids() if self._ordered_ids else None

    def _count_all(self) -> int:
        if self.in_memory is not None:
            return len(self.in_memory)
        return Paginator.count.real_func(self)

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None:
            return super().count
        if self.list_name:
            return cached(f"count:list:{self.list_name}", self._count_all)
        sql, params = query.sql_with_params()
        now = timezone.now()
        stable = ["now" if _is_about_now(value, now) else repr(value) for value in params]
        return cached(f"count:{sql}|{stable}", lambda: Paginator.count.real_func(self))

    def page(self, number):
        page = super().page(number)
        if self.list_name and hasattr(page.object_list, "values_list"):
            items = page.object_list
            name = f"page:list:{self.list_name}:{self.per_page}:{page.number}"
            page.object_list = PageOfIds(self.object_list, cached(name, lambda: self._page_ids(page, items)))
        return page

    def _page_ids(self, page, items) -> list:
        if self.in_memory is None:
            return list(items.values_list("pk", flat=True))
        bottom = (page.number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:  # as Paginator.page slices
            top = self.count
        return [int(pk) for pk in self.in_memory[bottom:top]]

    def validate_number(self, number):
        number = super().validate_number(number)
        if self.max_pages and number > self.max_pages:
            raise InvalidPage(
                f"Only the first {self.max_pages} pages are listed. "
                "Narrow the list with the filters or the search to reach older publications."
            )
        return number


class PageOfIds(Sequence):
    """A page's items, known by their ids (cached): what the cards need. Read as objects (one
    query, in the list's order) only by code that iterates them."""

    def __init__(self, queryset, ids: list, objects: list | None = None):
        self.queryset, self.ids = queryset, ids
        if objects is not None:  # read already, when the ids were
            self.__dict__["objects"] = objects

    @property
    def loaded(self) -> bool:
        return "objects" in self.__dict__

    @cached_property
    def objects(self) -> list:
        found = self.queryset.filter(pk__in=self.ids).in_bulk() if self.ids else {}
        return [found[pk] for pk in self.ids if pk in found]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        return self.objects[index]


# Whole pages -----------------------------------------------------------------

# Entries are (version, status, headers, content, nonce); anything else is an old format.
ENTRY_LENGTH = 5
CSP_HEADERS = {"content-security-policy", "content-security-policy-report-only"}


def _make_nonce() -> str:
    """A nonce as django-csp makes them (16 random bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


class PublicPageCacheMiddleware:
    """Serve anonymous GET/HEAD requests of the public views from the cache.

    A request is anonymous when it carries no cookie besides the CSRF one (so
    staff, with their session, and visitors with any personal state always get
    a fresh page). A response is stored only when it is a plain 200 that sets
    no cookie, is not private, and varies on nothing but htmx headers. The key
    covers host, path, query string and htmx headers; the entry records the
    content version it was rendered under and is used only while that is current.
    Stored responses get an ETag, so ``ConditionalGetMiddleware`` (placed
    before this one) answers revalidations with 304.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.patterns = tuple(getattr(settings, "PAGE_CACHE_VIEWS", ()))

    def __call__(self, request):
        token = _request_memo.set({})
        try:
            return self._respond(request)
        finally:
            _request_memo.reset(token)

    def _respond(self, request):
        if not self._cacheable_request(request):
            return self.get_response(request)
        # One lookup fetches the version and the entry together; an entry of an older
        # version is simply overwritten.
        key = self._key(request)
        version, entry = _version_and(key)
        if entry is not None and entry[0] == version and len(entry) == ENTRY_LENGTH:
            return self._replay(entry)
        response = self.get_response(request)
        if request.method == "GET" and self._cacheable_response(response):
            # The CSP nonce this response used (django-csp sets ``_csp_nonce`` once it is read):
            # each hit swaps it for a fresh one, so no two visitors ever share a nonce.
            nonce = getattr(request, "_csp_nonce", None)
            nonce = nonce if isinstance(nonce, str) and nonce else ""
            if not response.has_header("ETag"):
                set_response_etag(response)
                if nonce:
                    # Hits differ by their nonce only: the same page, not the same bytes.
                    response["ETag"] = "W/" + response["ETag"]
            entry = (version, response.status_code, list(response.headers.items()), response.content, nonce)
            cache.set(key, entry, timeout=html_timeout(settings.PAGE_CACHE_SECONDS))
            response["X-Cache"] = "miss"
        return response

    @staticmethod
    def _replay(entry: tuple) -> HttpResponse:
        """A stored response, with a fresh CSP nonce in its body and header if it used one.

        The stored nonce is 128 random bits, so replacing its every occurrence
        touches nothing else, and no one can plant it in content beforehand.
        """
        _, status, headers, content, old_nonce = entry
        new_nonce = _make_nonce() if old_nonce else ""
        if old_nonce:
            content = content.replace(old_nonce.encode("ascii"), new_nonce.encode("ascii"))
        response = HttpResponse(content, status=status)
        for name, value in headers:
            if old_nonce and name.lower() in CSP_HEADERS:
                value = value.replace(old_nonce, new_nonce)
            response.headers[name] = value
        response["X-Cache"] = "hit"
        return response

    def _cacheable_request(self, request) -> bool:
        if not settings.PAGE_CACHE_SECONDS or request.method not in ("GET", "HEAD"):
            return False
        if any(name != settings.CSRF_COOKIE_NAME for name in request.COOKIES):
            return False
        try:
            view_name = resolve(request.path_info).view_name
        except Resolver404:
            return False
        return any(fnmatch.fnmatchcase(view_name, pattern) for pattern in self.patterns)

    @staticmethod
    def _cacheable_response(response) -> bool:
        if response.status_code != 200 or response.streaming or response.cookies:
            return False
        if response.has_header("Content-Encoding"):
            return False
        cache_control = response.get("Cache-Control", "").lower()
        if any(word in cache_control for word in ("private", "no-cache", "no-store")):
            return False
        vary = {part.strip().lower() for part in response.get("Vary", "").split(",") if part.strip()}
        return vary <= UNDERSTOOD_VARY

    @staticmethod
    def _key(request) -> str:
        parts = [
            request.get_host(),
            iri_to_uri(request.path),
            request.META.get("QUERY_STRING", ""),
            *(request.META.get(header, "") for header in VARYING_REQUEST_HEADERS),
        ]
        digest = hashlib.sha256("\n".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]
        return f"page:{digest}"


__all__ = [
    "CachedCountPaginator",
    "PageOfIds",
    "PublicPageCacheMiddleware",
    "bulk_content_changed",
    "cached",
    "cached_many",
    "content_changed",
    "content_version",
    "html_timeout",
    "published_count",
    "reset",
    "time_now",
]
