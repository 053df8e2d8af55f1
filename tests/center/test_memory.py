"""A worker's full garbage-collector passes skip what it has kept since its first requests."""

from __future__ import annotations

import gc
import itertools
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

from center import memory


@pytest.fixture(autouse=True)
def unfrozen():
    memory._settle_requested.clear()
    yield
    gc.unfreeze()
    memory._settle_requested.clear()


class Node:
    pass


def test_settles_after_the_first_requests_only():
    """A full pass every 10,000 requests showed in the benchmark's p99 (50 to 160 ms)."""
    settled = [served for served in range(1, 100_001) if memory.should_settle(served)]
    assert settled == [1, 10, 100, 1_000]


def test_settles_once_after_a_request_that_asked():
    memory.settle_after_this_request()
    assert memory.should_settle(5_000) is True
    assert memory.should_settle(5_001) is False


@pytest.fixture
def settles(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "settle", lambda: calls.append(gc.get_count()))
    return calls


@pytest.mark.django_db
def test_a_served_request_counts_towards_the_next_settle(client, monkeypatch, settles):
    monkeypatch.setattr(memory, "_served", itertools.count(999))
    assert client.get("/robots.txt").status_code == 200
    assert settles == []  # the 999th request
    assert client.get("/robots.txt").status_code == 200
    assert len(settles) == 1  # the 1,000th
    assert client.get("/robots.txt").status_code == 200
    assert len(settles) == 1


@pytest.mark.django_db
def test_the_request_that_rebuilds_the_facet_index_settles_after_it(client, monkeypatch, settles):
    from tests.factories import PublicationFactory

    monkeypatch.setattr(memory, "_served", itertools.count(5_000))
    PublicationFactory()
    assert client.get("/publications/").status_code == 200  # builds the index
    assert len(settles) == 1
    assert client.get("/publications/").status_code == 200  # the same content: nothing to walk
    assert len(settles) == 1
    PublicationFactory(title="A second one")
    assert client.get("/publications/").status_code == 200
    assert len(settles) == 2


def test_survivors_are_left_out_of_later_passes():
    kept = [Node() for _ in range(5_000)]
    memory.settle()
    assert gc.get_freeze_count() >= len(kept)
    walked = {id(candidate) for candidate in gc.get_objects()}
    assert not any(id(node) in walked for node in kept)
    newer = Node()
    assert id(newer) in {id(candidate) for candidate in gc.get_objects()}


def test_a_frozen_cycle_that_became_garbage_is_freed_at_the_next_settle():
    node = Node()
    node.itself = node
    alive = weakref.ref(node)
    memory.settle()
    del node
    gc.collect()
    assert alive() is not None  # frozen: ordinary passes skip it
    memory.settle()
    assert alive() is None


def test_frozen_objects_without_a_cycle_are_freed_at_once():
    node = Node()
    alive = weakref.ref(node)
    memory.settle()
    del node
    assert alive() is None


@pytest.mark.django_db
def test_a_replaced_facet_index_is_freed_though_frozen():
    """The index is rebuilt on each content change: the old one, frozen by a settle, must not wait
    for the next settle (it holds no reference cycle)."""
    from publications import facet_index
    from tests.factories import PublicationFactory

    PublicationFactory()
    old = weakref.ref(facet_index.current())
    memory.settle()
    PublicationFactory()
    assert len(facet_index.current()) == 2
    assert old() is None


ROOT = Path(__file__).resolve().parents[2]
# After Django has started, four threads allocate blocks large enough for malloc (not Python's own
# allocator); glibc's malloc_stats() then lists one "Arena N:" per arena on stderr.
ARENAS = """
import ctypes, threading, django
django.setup()
def allocate():
    kept = [bytes(2000) for _ in range(2000)]
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL("libc.so.6").malloc_stats()
"""


def arenas(**env: str) -> int:
    environment = {key: value for key, value in os.environ.items() if key != "MALLOC_ARENA_MAX"}
    environment.update({"DJANGO_SETTINGS_MODULE": "center.settings", "DJANGO_DEBUG": "1", **env})
    result = subprocess.run(
        [sys.executable, "-c", ARENAS], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return sum(line.startswith("Arena ") for line in result.stderr.splitlines())


@pytest.mark.skipif(memory.glibc() is None, reason="malloc arenas are glibc's")
def test_one_malloc_arena_per_process_unless_the_environment_says():
    assert arenas() == 1
    assert arenas(MALLOC_ARENA_MAX="4") > 1


def test_arena_limit_left_to_the_environment_when_set():
    assert memory.limit_malloc_arenas({"MALLOC_ARENA_MAX": "2"}) is False
