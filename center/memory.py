"""Keep the garbage collector's full passes out of the way of requests.

A worker holds over 100,000 long-lived objects (modules, compiled templates, URL patterns, the facet
and term indexes). A full pass of the cyclic garbage collector walks every one of them: 40 to 180 ms
on the benchmark machine, and every request queued on the worker waits for it. So after the 1st,
10th, 100th and 1,000th request of a process ``settle()`` runs one full pass and moves what survives
into the collector's permanent generation (``gc.freeze()``), which later passes skip: they walk only
what is newer.

Frozen objects are still freed as soon as nothing refers to them. Only a reference cycle that was
frozen and has since become garbage waits, until the next settle, which unfreezes everything first.
Such garbage comes from replacing what was kept, which happens when the content changes: the facet
and term indexes call ``settle_after_this_request()`` when they replace theirs, and the request
pays the pass on top of a rebuild that already costs more. There is no settle by request count
after the 1,000th: one every 10,000 requests put p99 latencies of 50 to 160 ms into benchmark runs
whose p99 is otherwise 15 to 25 ms.

glibc's malloc also gives each thread that allocates its own arena, and each arena keeps its own
freed memory: with gunicorn's two threads a worker's RSS rose to 150 MB at 100,000 publications,
against 141 MB with one arena. ``limit_malloc_arenas()`` (at start-up, before any request thread
exists) keeps one per process, unless ``MALLOC_ARENA_MAX`` is set in the environment.
"""

import ctypes
import ctypes.util
import functools
import gc
import itertools
import os
import threading

SETTLE_AFTER = frozenset({1, 10, 100, 1_000})

_served = itertools.count(1)
_settle_requested = threading.Event()


def settle():
    """Collect everything once, then leave the survivors out of later passes."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def settle_after_this_request():
    """Ask for a settle when the current request ends (what was kept has just been replaced)."""
    _settle_requested.set()


def should_settle(served: int) -> bool:
    if served in SETTLE_AFTER or _settle_requested.is_set():
        _settle_requested.clear()
        return True
    return False


def request_finished(**kwargs):
    if should_settle(next(_served)):
        settle()


# glibc's mallopt() parameter for the most arenas malloc may create.
M_ARENA_MAX = -8


@functools.cache
def glibc():
    """The C library, when it is glibc (its malloc_trim and mallopt), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc has both; musl and others do not
    except (OSError, AttributeError):
        return None
    return libc


def limit_malloc_arenas(environ=os.environ) -> bool:
    """One malloc arena for the whole process, unless ``MALLOC_ARENA_MAX`` says otherwise (glibc
    reads that itself). True when the limit was set here."""
    libc = glibc()
    if libc is None or "MALLOC_ARENA_MAX" in environ:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, 1))


def release_freed_memory() -> None:
    """Hand the memory freed since to the system (glibc keeps it otherwise). Elsewhere, nothing to do."""
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)
