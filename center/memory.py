"""Keep the garbage collector's full passes out of the way of requests.

A worker holds over 100,000 long-lived objects (modules, compiled templates, URL patterns, the facet
and term indexes). A full pass of the cyclic garbage collector walks every one of them: about 80 ms
on the benchmark machine, once every few hundred requests, and every request queued on the worker
waits for it. So after the 1st, 10th, 100th and 1,000th request of a process, and after every
10,000th, ``settle()`` runs one full pass and moves what survives into the collector's permanent
generation (``gc.freeze()``), which later passes skip: they walk only what is newer.

Frozen objects are still freed as soon as nothing refers to them. Only a reference cycle that was
frozen and has since become garbage waits, until the next settle, which unfreezes everything first.
"""

import gc
import itertools

SETTLE_AFTER = frozenset({1, 10, 100, 1_000})
SETTLE_EVERY = 10_000

_served = itertools.count(1)


def settle():
    """Collect everything once, then leave the survivors out of later passes."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def should_settle(served: int) -> bool:
    return served in SETTLE_AFTER or served % SETTLE_EVERY == 0


def request_finished(**kwargs):
    if should_settle(next(_served)):
        settle()
