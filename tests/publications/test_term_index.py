"""The term index (PostgreSQL): frequent words answered from bitmaps, never staler than the table.

Every test compares with what PostgreSQL alone finds for the same query, on
committed data (the index is read in a snapshot of its own), and checks that
the bitmaps were used, so that a fallback to PostgreSQL cannot pass for them.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time

import numpy as np
import pytest
from django.core.cache import cache
from django.db import connection, transaction

from publications import search, term_index
from publications.models import Publication
from tests.factories import PublicationFactory

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

COMMON = ["energy", "security", "trade", "climate", "policy", "markets"]
RARE = ["tundra", "lithium", "fisheries", "ombudsman"]


@pytest.fixture(autouse=True)
def small_thresholds(settings):
    settings.SEARCH_TERM_INDEX_FROM = 1
    settings.SEARCH_TERM_INDEX_MIN_DOCUMENTS = 4
    settings.SEARCH_TERM_INDEX_CHANGES = 40
    term_index.forget()
    yield
    for thread in threading.enumerate():
        if thread.name == "term-index":  # a build a search started: finished before the tables are emptied
            thread.join(30)
    term_index.forget()


@pytest.fixture
def corpus():
    """Forty publications of common words (most in many documents) and a few rare ones."""
    rng = random.Random(7)
    publications = []
    for number in range(40):
        words = rng.sample(COMMON, 3) + ([RARE[number // 8 % 4]] if number % 8 == 0 else [])
        title = " ".join(words[:2]).capitalize()
        publications.append(PublicationFactory(title=f"{title} {number}", abstract=" ".join(words[2:])))
    search.flush_pending()
    return publications


def postgresql_alone(query: str) -> list[int]:
    return sorted(search._engine()._ids(("vector", search.parse_query(query)))[0].tolist())


def from_index(index: term_index.TermIndex, query: str) -> list[int] | None:
    found = search._engine()._matched_with(index, search.parse_query(query))
    return None if found is None else sorted(found.tolist())


def queries() -> list[str]:
    rng = random.Random(3)
    made = [
        "energy",
        "energy security",
        "energy OR lithium",
        "energy security OR tundra",
        "trade -climate",
        "trade -lithium",
        'trade -"energy security"',
        '"energy security" markets',
        "trade markets OR fisheries -policy",
        "Énergy SECURITY",
    ]
    for _ in range(60):
        words = rng.sample(COMMON + RARE, rng.randint(1, 3))
        if rng.random() < 0.3:
            words.insert(rng.randint(1, len(words)), "OR")
        if rng.random() < 0.3:
            words.append("-" + rng.choice(COMMON + RARE))
        made.append(" ".join(words))
    return made


def test_every_query_finds_what_postgresql_finds(corpus):
    index = term_index.build()
    assert {search.lexeme(word) for word in COMMON} <= set(index.rows)
    assert not {search.lexeme(word) for word in RARE} & set(index.rows)
    answered = 0
    for query in queries():
        found = from_index(index, query)
        if found is not None:
            answered += 1
            assert found == postgresql_alone(query), query
        assert search.search(query).total == len(
            set(postgresql_alone(query)) & set(Publication.objects.published().values_list("pk", flat=True))
        ), query
    assert answered >= 50  # most queries hold a frequent word: the bitmaps answered them


def postgresql_alone_in_heads(query: str) -> list[int]:
    return sorted(search._engine()._ids((term_index.HEAD, search.parse_query(query)))[0].tolist())


def test_every_query_finds_in_the_heads_what_postgresql_finds(corpus):
    """The tiered ranking's first question, the words in titles, authors and subjects: the heads'
    bitmaps answer it as PostgreSQL does, with an edit made since the index was read."""
    index = term_index.build()
    heads = {row for row in index.rows if row.startswith(term_index.HEAD_PREFIX)}
    assert {term_index.TermIndex.key(search.lexeme(word), head=True) for word in COMMON} <= heads
    edited = next(publication for publication in corpus if "energy" in publication.title.lower())
    edited.title = "Tundra notes"  # its head loses every common word; its abstract keeps one
    edited.save()
    search.flush_pending()
    answered = 0
    for query in queries():
        found = search._engine()._matched_with(index, search.parse_query(query), head=True)
        if found is not None:
            answered += 1
            assert sorted(found.tolist()) == postgresql_alone_in_heads(query), query
    assert answered >= 50
    assert edited.pk not in search._engine()._matched_with(index, search.parse_query("energy"), head=True)


def test_groups_are_and_of_ors(corpus):
    """``a b OR c`` is a and (b or c), in the bitmaps as in PostgreSQL and SQLite."""
    index = term_index.build()
    found = from_index(index, "energy security OR tundra")
    energy = set(postgresql_alone("energy"))
    either = set(postgresql_alone("security")) | set(postgresql_alone("tundra"))
    assert found == sorted(energy & either)


def test_quoted_stop_words_leave_it_to_postgresql(corpus):
    index = term_index.build()
    assert from_index(index, '"the" energy') is None
    assert search.search('"the" energy').total == len(postgresql_alone("energy"))


def test_a_query_without_frequent_words_goes_to_postgresql(corpus):
    index = term_index.build()
    assert from_index(index, "tundra") is None
    assert from_index(index, '"energy security"') is None


def test_changes_since_the_index_was_read_are_seen(corpus):
    index = term_index.build()
    edited, deleted = corpus[0], corpus[1]
    # An edit that removes every common word, one that adds one, a new publication, a deletion.
    edited.title, edited.abstract = "Ombudsman report", "Ombudsman"
    edited.save()
    corpus[2].title = f"{corpus[2].title} trade"
    corpus[2].save()
    new = PublicationFactory(title="Trade winds", abstract="")
    deleted_pk = deleted.pk
    deleted.delete()
    search.flush_pending()
    # A deleted publication's bits stay set until the next index: every search goes through the
    # facet index, which holds the visible publications only.
    published = set(Publication.objects.published().values_list("pk", flat=True))
    for query in ("trade", "trade OR ombudsman", "energy", "security -trade", "markets policy"):
        assert set(from_index(index, query)) & published == set(postgresql_alone(query)) & published, query
        assert set(from_index(index, query)) - set(postgresql_alone(query)) <= {deleted_pk}, query
        assert search.search(query).total == len(set(postgresql_alone(query)) & published), query
    assert new.pk in from_index(index, "trade")
    assert corpus[2].pk in from_index(index, "trade")
    every_common_word = " OR ".join(COMMON)
    assert edited.pk not in from_index(index, every_common_word)
    assert deleted_pk not in search.search(every_common_word).ids()


def test_writes_of_the_current_transaction_are_seen(corpus):
    index = term_index.build()
    target = corpus[3]
    before = from_index(index, "ombudsman OR energy")
    with transaction.atomic():
        target.title, target.abstract = "Ombudsman only", ""
        target.save()
        search.flush_pending()
        assert from_index(index, "energy") == postgresql_alone("energy")
        assert target.pk not in from_index(index, "energy")
        transaction.set_rollback(True)
    assert from_index(index, "ombudsman OR energy") == before == postgresql_alone("ombudsman OR energy")


def test_a_transaction_open_while_the_index_is_read_is_seen_when_it_commits(corpus):
    """Its documents are not in the snapshot, whatever the order of commits."""
    target = corpus[4]
    written, read = threading.Event(), threading.Event()

    def writer():
        try:
            with transaction.atomic():
                Publication.objects.filter(pk=target.pk).update(title="Tundra study", abstract="")
                search.index_publications([target.pk])
                written.set()
                read.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert written.wait(10)
    index = term_index.build()
    read.set()
    thread.join(10)
    assert target.pk in postgresql_alone("tundra")
    assert target.pk not in from_index(index, "energy OR security OR trade OR climate OR policy OR markets")
    assert from_index(index, "energy OR tundra") == postgresql_alone("energy OR tundra")


def test_too_many_changes_fall_back_then_a_new_index_is_read(corpus, settings):
    settings.SEARCH_TERM_INDEX_CHANGES = 4
    old = term_index.prepare()
    assert old is not None and term_index.current() is old
    for publication in corpus[:6]:
        publication.title = f"{publication.title} lithium"
        publication.save()
    search.flush_pending()
    assert from_index(old, "energy") is None  # six written since: PostgreSQL answers
    assert search.search("energy").total == len(postgresql_alone("energy"))
    deadline = time.monotonic() + 30  # read again in the background
    while (new := term_index.current()) is old:
        assert time.monotonic() < deadline, "no new index was read"
        assert from_index(old, "energy") is None
        time.sleep(0.05)
    assert new is not None and new.snapshot != old.snapshot
    assert from_index(new, "energy") == postgresql_alone("energy")


def test_the_index_is_shared_through_the_cache(corpus, monkeypatch):
    built = term_index.prepare()
    term_index.forget()  # another process: nothing in memory, the cache holds the index

    def no_build():
        raise AssertionError("the shared index should have been used")

    monkeypatch.setattr(term_index, "build", no_build)
    shared = term_index.current()
    assert shared is not None and shared.snapshot == built.snapshot
    assert np.array_equal(shared.bits, built.bits)


def test_memory_budget_and_thresholds(corpus, settings):
    width = (Publication.objects.order_by("-pk").first().pk + 1 + 7) // 8
    settings.SEARCH_TERM_INDEX_MB = 3 * width / 2**20
    assert len(term_index.build().rows) == 3  # the three most frequent lexemes
    settings.SEARCH_TERM_INDEX_MB = 8
    settings.SEARCH_TERM_INDEX_MIN_DOCUMENTS = 1000
    assert term_index.build().rows == {}
    settings.SEARCH_TERM_INDEX_MB = 0
    assert term_index.current() is None


def test_below_the_size_it_is_used_from_none_is_built(corpus, settings, monkeypatch):
    settings.SEARCH_TERM_INDEX_FROM = 1000
    monkeypatch.setattr(term_index, "build", lambda: pytest.fail("built below SEARCH_TERM_INDEX_FROM"))
    assert term_index.current() is None
    assert search.search("energy").total == len(postgresql_alone("energy"))


def test_searches_rank_and_count_as_without_the_index(corpus, settings):
    """The same hits in the same order, the same facets, with the bitmaps and without."""
    settings.SEARCH_EXACT_RANK_LIMIT = 5  # large results too: their tiers
    assert term_index.prepare() is not None
    with_index = {query: search.search(query) for query in queries()[:30]}
    settings.SEARCH_TERM_INDEX_MB = 0
    assert term_index.current() is None
    cache.clear()  # counted and ranked again, not read back
    for query, found in with_index.items():
        alone = search.search(query)
        assert (found.total, found.facets, found.ids()) == (alone.total, alone.facets, alone.ids()), query


def test_an_incomplete_shared_index_is_not_used(corpus, monkeypatch):
    """A piece of the shared index evicted from the cache: this process builds its own instead."""
    built = term_index.prepare()
    term_index.forget()
    stamp = hashlib.sha256(built.snapshot.encode()).hexdigest()[:16]
    first_piece = f"{term_index._cache_key(term_index._name())}:{stamp}:0"
    assert isinstance(cache.get(first_piece), bytes), "the bitmaps are shared in pieces"
    cache.delete(first_piece)
    started = []
    monkeypatch.setattr(term_index, "refresh", lambda: started.append(1))
    assert term_index.current() is None
    assert started == [1]
