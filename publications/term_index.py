"""The publications holding each frequent word, as bitmaps in memory (PostgreSQL).

A word found in most of a large index ("data": 83,000 of 100,000 publications)
costs PostgreSQL one heap visit per match to return the matching ids, tens of
milliseconds, whatever the GIN index knows. Here the most frequent lexemes of
the search vectors are held as one bitmap each over the publication ids, so
that such a word costs a few vectorised operations.

Never stale, without being rebuilt on every change:

- The bitmaps are read in one ``REPEATABLE READ`` transaction, whose snapshot
  is kept with them.
- Every search document records the transaction that last wrote it
  (``written_by``, migration 0011). The documents written since the snapshot
  are those whose transaction it does not see, whatever order the
  transactions committed in; the btree index on ``written_by`` finds them.
- A search answers from the bitmaps for every other document, and asks
  PostgreSQL about these few only (``publications.search``), in the same
  round trip as its other questions.
- When too many documents have been written since (a rebuild of the search
  index rewrites them all), the bitmaps are not used, and are read again in a
  background thread. A search document is only ever deleted with its
  publication, which the facet index then no longer holds.

Built by one process at a time (a lock in the cache) and shared through the
cache; used from ``SEARCH_TERM_INDEX_FROM`` visible publications on, below
which PostgreSQL answers every word in a few milliseconds.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from publications import facet_index
from publications.models import SearchDocument

log = logging.getLogger(__name__)

CONFIG = "center_search"
CACHE_SECONDS = 24 * 3600
# Lexemes read per statement while building (each one's ids come as one string: a few MB at most).
BATCH = 4
# The part of the vector the tiered ranking looks in first (title and subtitle, people and subjects),
# and the prefix of its lexemes' rows: the same words there are other bitmaps.
HEAD = "ts_filter(vector, '{a,b}')"
HEAD_PREFIX = "\x01"


@dataclass(frozen=True)
class TermIndex:
    snapshot: str  # pg_snapshot the bitmaps were read in
    size: int  # bitmaps cover ids 0 … size - 1 (every id written before the snapshot)
    rows: dict[str, int]  # lexeme -> row of ``bits``
    bits: np.ndarray  # uint8 [lexemes, ceil(size / 8)]: packed bitmaps over publication ids
    built_at: float = field(default_factory=time.time)

    def __contains__(self, lexeme: str) -> bool:
        return lexeme in self.rows

    @staticmethod
    def key(lexeme: str, *, head: bool = False) -> str:
        """The row name of ``lexeme`` in the whole vector, or in its head (``HEAD``)."""
        return HEAD_PREFIX + lexeme if head else lexeme

    def members(self, lexeme: str) -> np.ndarray:
        """A boolean array over ids ``0 … size - 1``: the publications whose vector holds ``lexeme``."""
        return np.unpackbits(self.bits[self.rows[lexeme]], count=self.size).view(bool)

    @property
    def nbytes(self) -> int:
        return int(self.bits.nbytes)


def _table() -> str:
    return SearchDocument._meta.db_table


def _literal(lexeme: str) -> str:
    """``lexeme`` as a tsquery literal, matched as it is (no parsing, no stemming)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def build() -> TermIndex:
    """Read the bitmaps of the most frequent lexemes, in one snapshot.

    The lexemes found in at least ``SEARCH_TERM_INDEX_MIN_DOCUMENTS`` documents,
    most frequent first, as many as ``SEARCH_TERM_INDEX_MB`` holds. Must run
    outside a transaction (the snapshot must hold committed data only).
    """
    table = _table()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(
            f"SELECT pg_current_snapshot()::text, coalesce(max(publication_id), 0) + 1 FROM {table}"  # noqa: S608
        )
        snapshot, size = cursor.fetchone()
        width = math.ceil(size / 8)
        limit = int(settings.SEARCH_TERM_INDEX_MB * 2**20) // width
        # The most frequent lexemes of the vectors and of their heads, together: a lexeme frequent
        # in the titles (the tiered ranking's first question) costs as much there.
        stats = "SELECT word, ndoc, %s AS head FROM ts_stat(%s) WHERE ndoc >= %s"
        cursor.execute(
            f"{stats} UNION ALL {stats} ORDER BY ndoc DESC, head, word LIMIT %s",
            [
                *(False, f"SELECT vector FROM {table}", settings.SEARCH_TERM_INDEX_MIN_DOCUMENTS),  # noqa: S608
                *(True, f"SELECT {HEAD} FROM {table}", settings.SEARCH_TERM_INDEX_MIN_DOCUMENTS),  # noqa: S608
                limit,
            ],
        )
        lexemes = [TermIndex.key(word, head=head) for word, _, head in cursor.fetchall()]
        bits = np.zeros((len(lexemes), width), dtype=np.uint8)
        present = np.zeros(size, dtype=bool)  # one buffer for every lexeme: a lower peak
        # The GIN indexes answer each lexeme; the planner would read every vector instead.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for start in range(0, len(lexemes), BATCH):
            batch = lexemes[start : start + BATCH]
            parts = ", ".join(
                f"(SELECT string_agg(publication_id::text, ',') FROM {table} "  # noqa: S608
                f"WHERE {HEAD if word.startswith(HEAD_PREFIX) else 'vector'} @@ %s::tsquery)"
                for word in batch
            )
            cursor.execute(f"SELECT {parts}", [_literal(word.removeprefix(HEAD_PREFIX)) for word in batch])
            for row, text in enumerate(cursor.fetchone(), start=start):
                present[:] = False
                present[facet_index.parse_ids(text)] = True
                bits[row] = np.packbits(present)
    rows = {word: row for row, word in enumerate(lexemes)}
    return TermIndex(snapshot=snapshot, size=int(size), rows=rows, bits=bits)


def changed_since(index: TermIndex) -> tuple[str, list]:
    """SQL of a CTE ``changed (publication_id, vector, head)``: the documents written since ``index``
    was read (at most ``SEARCH_TERM_INDEX_CHANGES`` + 1 of them), and its parameters.

    In a transaction that wrote documents, its own writes are among them: the
    snapshot may hold the same transaction id as seen.
    """
    own = None
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id_if_assigned()::text")
            own = cursor.fetchone()[0]
    table = _table()
    sql = f"""changed AS MATERIALIZED (
        SELECT publication_id, vector, {HEAD} AS head FROM {table}
         WHERE written_by >= least(pg_snapshot_xmin(%s::pg_snapshot),
                                   coalesce(%s::xid8, pg_snapshot_xmin(%s::pg_snapshot)))
           AND (NOT pg_visible_in_snapshot(written_by, %s::pg_snapshot) OR written_by = %s::xid8)
         LIMIT %s)"""  # noqa: S608 - the table name is the model's
    snapshot = index.snapshot
    return sql, [snapshot, own, snapshot, snapshot, own, settings.SEARCH_TERM_INDEX_CHANGES + 1]


# The index of this process -----------------------------------------------------------

_lock = threading.Lock()
_held: dict[str, TermIndex] = {}
_building: set[str] = set()
_checked: dict[str, float] = {}
CHECK_SECONDS = 1.0  # while there is none: how often the shared cache is looked at


def _name() -> str:
    return connection.settings_dict.get("NAME") or ""


def _cache_key(name: str) -> str:
    return f"search:term-index:{name}"


def current() -> TermIndex | None:
    """The term index to search with, or None (PostgreSQL answers alone).

    None on SQLite, when disabled (``SEARCH_TERM_INDEX_MB = 0``), below
    ``SEARCH_TERM_INDEX_FROM`` visible publications, and until one is built
    (which the first call starts, in the background).
    """
    if not _wanted():
        return None
    name = _name()
    held = _held.get(name)
    if held is None:
        held = _adopt_shared(name)
        if held is None:
            refresh()
    return held


def _wanted() -> bool:
    if connection.vendor != "postgresql" or settings.SEARCH_TERM_INDEX_MB <= 0:
        return False
    return len(facet_index.current()) >= settings.SEARCH_TERM_INDEX_FROM


# Shared in pieces of this many bytes: writing or reading the whole at once would hold two or three
# copies of it (pickled, and the connection's buffer) in the worker for a moment.
CHUNK_BYTES = 1 << 20


def _share(name: str, index: TermIndex) -> None:
    """Put ``index`` in the cache: its description, then its bitmaps a few rows at a time."""
    rows_per_chunk = max(1, CHUNK_BYTES // max(1, index.bits.shape[1]))
    stamp = hashlib.sha256(index.snapshot.encode()).hexdigest()[:16]
    chunks = range(0, len(index.rows), rows_per_chunk)
    for number, start in enumerate(chunks):
        chunk = index.bits[start : start + rows_per_chunk].tobytes()
        cache.set(f"{_cache_key(name)}:{stamp}:{number}", chunk, timeout=CACHE_SECONDS)
    description = (index.snapshot, index.size, index.rows, index.built_at, rows_per_chunk, len(chunks))
    cache.set(_cache_key(name), description, timeout=CACHE_SECONDS)


def _shared(name: str, known: str | None) -> TermIndex | None:
    """The index in the cache, unless it is the one of snapshot ``known``; None if it is incomplete."""
    description = cache.get(_cache_key(name))
    if not isinstance(description, tuple) or len(description) != 6 or description[0] == known:
        return None
    snapshot, size, rows, built_at, rows_per_chunk, count = description
    stamp = hashlib.sha256(snapshot.encode()).hexdigest()[:16]
    bits = np.zeros((len(rows), math.ceil(size / 8)), dtype=np.uint8)
    for number in range(count):
        chunk = cache.get(f"{_cache_key(name)}:{stamp}:{number}")
        start = number * rows_per_chunk
        part = bits[start : start + rows_per_chunk]
        if not isinstance(chunk, bytes) or len(chunk) != part.nbytes:
            return None  # evicted, or a partial write: build another
        part[:] = np.frombuffer(chunk, dtype=np.uint8).reshape(part.shape)
    return TermIndex(snapshot=snapshot, size=size, rows=rows, bits=bits, built_at=built_at)


def _adopt_shared(name: str) -> TermIndex | None:
    """The index another process built, when there is one (looked at once a second at most)."""
    now = time.monotonic()
    if now - _checked.get(name, -CHECK_SECONDS) < CHECK_SECONDS:
        return None
    _checked[name] = now
    held = _held.get(name)
    shared = _shared(name, held.snapshot if held else None)
    if shared is not None:
        _held[name] = shared
        facet_index.index_replaced()  # the pieces read from the cache
    return shared


def refresh() -> None:
    """Too much written since the index was read, or no index: adopt a newer one another process
    built, else build one in the background (one process at a time)."""
    name = _name()
    if _adopt_shared(name) is not None:
        return
    with _lock:
        if name in _building:
            return
        if not cache.add(f"{_cache_key(name)}:building", 1, timeout=600):
            return  # another process builds it
        _building.add(name)
    threading.Thread(target=_build_in_background, args=(name,), daemon=True, name="term-index").start()


def _build_in_background(name: str) -> None:
    try:
        index = build()
        _held[name] = index
        _share(name, index)
        log.info("term index: %d lexemes, %.1f MB", len(index.rows), index.nbytes / 2**20)
        del index
        facet_index.index_replaced()
    except Exception:
        log.exception("term index: build failed; searches go to PostgreSQL alone")
    finally:
        cache.delete(f"{_cache_key(name)}:building")
        _building.discard(name)
        connection.close()


def prepare() -> TermIndex | None:
    """Build the index now, in this thread, when it would be used and there is none (benchmarks
    and deployment scripts, so that the first searches do not go to PostgreSQL alone)."""
    if not _wanted():
        return None
    if _name() in _held:
        return _held[_name()]
    index = _held[_name()] = build()
    _share(_name(), index)
    facet_index.index_replaced()
    return index


def forget() -> None:
    """Drop this process's index (tests)."""
    _held.clear()
    _checked.clear()
