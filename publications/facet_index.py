"""What the public sees, as columns in memory: facet counts and date order of large searches.

A search that matches most of a large index (a word in 90,000 of 100,000
publications) would otherwise join every match with the publication table and
the theme and region links to count its facets, and rank every match to find
the best page. Here the visible publications are held as numpy arrays in
date order (newest first), with the kind, year, theme and region of each, so
that counting the facets of any set of matches is a few vectorised
operations, whatever its size.

The arrays are built from ``Publication.objects.published()`` once per content
version (``center.caching``) and process, and dropped when the version
changes: they are never staler than the page cache. At 100,000 publications
they take a few megabytes and a fraction of a second to build.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone
from taggit.models import Tag, TaggedItem

from authors.models import Author
from center import caching, memory
from publications.models import Authorship, Language, Publication, Region, Theme

log = logging.getLogger(__name__)

_EMPTY = np.zeros(0, dtype=np.int64)
# The index on publications (status, published_at, kind, language, updated_at): everything read here.
COLUMNS_INDEX = "pub_facet_columns"
# Links.counts() reads every link once more than one publication in this many is counted.
DENSE_SHARE = 4


def parse_ids(text: str | None) -> np.ndarray:
    """Publication ids from a comma-separated list (``group_concat``/``string_agg``), as an array."""
    if not text:
        return _EMPTY
    return np.fromstring(text, dtype=np.int64, sep=",")


@dataclass(frozen=True)
class Links:
    """A many-to-many facet (themes, regions, tags, authors) over the positions of the index.

    Held twice, each as a run per key: the publications' positions by value (for a value's
    members) and the values' codes by position (to count the values of a few publications without
    reading every link), plus where each run starts: an offset per value and per position more
    than one copy with a value code per link would take.
    """

    positions: np.ndarray  # the positions carrying each value, one run per value (by code)
    starts: np.ndarray  # where each code's run starts in ``positions``, and the end (one more)
    codes: np.ndarray  # the codes of each position's values, one run per position (by position)
    offsets: np.ndarray  # where each position's run starts in ``codes``, and the end (one more)
    pks: np.ndarray  # primary key of the value per code
    keys: tuple[str, ...]  # slug per code
    labels: tuple[str, ...]  # name per code
    label_rank: np.ndarray  # place of each code's name in alphabetical order (case folded)

    def members(self, key: str) -> np.ndarray:
        """Positions of the publications carrying ``key``."""
        try:
            code = self.keys.index(key)
        except ValueError:
            return _EMPTY
        return self.positions[self.starts[code] : self.starts[code + 1]]

    def top(self, counts: np.ndarray, limit: int, keep: set[str] = frozenset()) -> list[int]:
        """Codes of the ``limit`` most frequent values (ties by name), plus those in ``keep``, by name."""
        present = np.flatnonzero(counts)
        if len(present) > limit:
            order = np.lexsort((self.label_rank[present], -counts[present]))
            chosen = set(present[order[:limit]].tolist())
            kept = (self.keys.index(key) for key in keep if key in self.keys)
            chosen |= {code for code in kept if counts[code]}
            present = np.array(sorted(chosen), dtype=np.int64)
        return sorted(present.tolist(), key=lambda code: self.label_rank[code])

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """How many of the publications in ``mask`` carry each value (by code).

        A few publications (a filtered index) are counted from their own links, so the cost
        follows the matches, not the index; a large share, from every link at once.
        """
        if np.count_nonzero(mask) * DENSE_SHARE > len(mask):
            carried = np.r_[0, np.cumsum(mask[self.positions], dtype=np.int64)]
            return carried[self.starts[1:]] - carried[self.starts[:-1]]
        selected = np.flatnonzero(mask)
        firsts = self.offsets[selected]
        lengths = self.offsets[selected + 1] - firsts
        # Each publication's run of codes, one after the other: its first link plus 0, 1, …
        ends = np.cumsum(lengths)
        take = np.repeat(firsts - (ends - lengths), lengths) + np.arange(ends[-1] if len(ends) else 0)
        return np.bincount(self.codes[take], minlength=len(self.keys))

    def latest(self, stamps: np.ndarray) -> dict[int, int]:
        """``{pk: the largest of stamps}`` over each value's publications (values with any)."""
        carried = np.flatnonzero(self.starts[1:] > self.starts[:-1])
        if not len(carried):
            return {}
        maxima = np.maximum.reduceat(stamps[self.positions], self.starts[carried])
        return dict(zip(self.pks[carried].tolist(), maxima.tolist(), strict=True))


@dataclass(frozen=True)
class FacetIndex:
    ids: np.ndarray  # visible publication ids, newest first (published_at DESC, id DESC)
    position_of: np.ndarray  # id -> position in ``ids``, -1 when not visible
    kind: np.ndarray  # kind code per position
    kinds: tuple[str, ...]
    language: np.ndarray  # language code per position
    languages: tuple[str, ...]
    year: np.ndarray  # publication year (in the site's TIME_ZONE, as the year filters count) per position
    # When each page last changed (the later of its last edit and its publication), in
    # microseconds since the epoch (UTC), per position: the sitemaps' and OAI's lastmod.
    datestamp: np.ndarray
    themes: Links
    regions: Links
    tags: Links
    authors: Links
    # What callers derive from the index, kept as long as it is (see ``derived``).
    _derived: dict = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, ids: np.ndarray) -> np.ndarray:
        """A boolean mask over positions: the visible publications among ``ids``."""
        mask = np.zeros(len(self.ids), dtype=bool)
        ids = ids[(ids >= 0) & (ids < len(self.position_of))]
        positions = self.position_of[ids]
        mask[positions[positions >= 0]] = True
        return mask

    def carrying(self, facet: str, key: str) -> np.ndarray:
        """A mask of the publications carrying ``key`` in ``facet`` (themes, regions, tags, authors)."""
        members = np.zeros(len(self.ids), dtype=bool)
        members[getattr(self, facet).members(key)] = True
        return members

    def narrow(self, mask: np.ndarray, filters) -> np.ndarray:
        """``mask`` restricted to the kind, year, theme and region of ``filters`` (each optional)."""
        mask = mask.copy()
        if filters.kind:
            mask &= self.kind == (self.kinds.index(filters.kind) if filters.kind in self.kinds else -1)
        if filters.year:
            mask &= self.year == filters.year
        for facet, key in (("themes", filters.theme), ("regions", filters.region)):
            if key:
                mask &= self.carrying(facet, key)
        return mask

    def related(self, pk: int, keys: dict[str, list[str]], count: int) -> list[int]:
        """Ids of the ``count`` publications sharing most of ``keys`` (e.g. ``{"themes": [...]}``)
        with publication ``pk``, newest first among equals; ``pk`` itself left out."""
        shared = np.zeros(len(self.ids), dtype=np.int32)
        for facet, values in keys.items():
            for key in values:
                shared += self.carrying(facet, key)
        if 0 <= pk < len(self.position_of) and self.position_of[pk] >= 0:
            shared[self.position_of[pk]] = 0
        candidates = np.flatnonzero(shared)
        # Most shared first; among equals the lower position, which is the newer publication.
        order = np.lexsort((candidates, -shared[candidates]))
        return self.ids[candidates[order[:count]]].tolist()

    def newest(self, mask: np.ndarray, count: int) -> np.ndarray:
        """The ids of the first ``count`` publications of ``mask``, newest first."""
        return self.ids[np.flatnonzero(mask)[:count]]

    def derived(self, key: str, compute):
        """``compute()``, computed once per index (so once per content version and process)."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    @cached_property
    def ids_in_order(self) -> np.ndarray:
        """The visible ids in ascending order (the sitemap's order)."""
        return np.sort(self.ids)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def start_of_year(year: int) -> dt.datetime:
    """The first moment of ``year`` in the site's time zone (``TIME_ZONE``)."""
    return dt.datetime(year, 1, 1, tzinfo=timezone.get_default_timezone())


def microseconds(moment: dt.datetime) -> int:
    """``moment`` (aware) in microseconds since the epoch, as the index holds moments."""
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def local_years(moments: np.ndarray) -> np.ndarray:
    """The year (in the site's time zone) of each moment, in microseconds since the epoch: the year
    whose ``start_of_year`` is the last at or before it, as the year filters select in SQL."""
    if not len(moments):
        return np.zeros(0, dtype=np.int16)
    first = max(1, (_EPOCH + dt.timedelta(microseconds=int(moments.min()))).year - 1)
    last = min(9998, (_EPOCH + dt.timedelta(microseconds=int(moments.max()))).year + 1)
    starts = np.array(
        [microseconds(start_of_year(year)) for year in range(first, last + 1)],
        dtype=np.int64,
    )
    return (first - 1 + np.searchsorted(starts, moments, side="right")).astype(np.int16)


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# PostgreSQL: publications per row of build()'s strings (see there).
ROWS_PER_CHUNK = 2000
# The columns read per visible publication, in the order of each row of build()'s strings.
_COLUMNS = ("row_id", "kind_code", "language_code", "stamp", "order_stamp")


def _microseconds(column: str) -> str:
    """SQL for ``column`` (a moment) in microseconds since the epoch (UTC)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"
    # SQLite stores UTC as ISO 8601 text ("2026-12-01 09:38:32.123456", no fraction when 0). Its
    # strftime() rounds to the millisecond first (":32.9996" would count as ":33"), so the whole
    # seconds are taken from the text without its fraction.
    return (
        f"(CAST(strftime('%%s', substr({column}, 1, 19)) AS integer) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS integer))"
    )


def build() -> FacetIndex:
    """Read the visible publications, then their themes, regions, tags and authors (two queries).

    The publications come back as strings of numbers (one on SQLite, one per
    ``ROWS_PER_CHUNK`` publications on PostgreSQL), joined and parsed by numpy:
    100,000 rows as Python tuples would cost more memory than the whole index,
    and a worker keeps what its peak took.
    """
    kinds, languages = tuple(Publication.Kind.values), tuple(Language.values)
    latest = (
        "GREATEST(updated_at, published_at)"
        if connection.vendor == "postgresql"
        else "max(updated_at, published_at)"
    )
    columns = {
        "row_id": F("pk"),
        "kind_code": _code_of("kind", kinds),
        "language_code": _code_of("language", languages),
        # Constants: no user input reaches these expressions.
        "stamp": RawSQL(_microseconds(latest), [], output_field=IntegerField()),  # noqa: S611
        "order_stamp": RawSQL(_microseconds("published_at"), [], output_field=IntegerField()),  # noqa: S611
    }
    published = Publication.objects.published().order_by().annotate(**columns).values_list(*columns)
    inner, params = published.query.sql_with_params()
    if connection.vendor == "sqlite":
        # The covering index holds every column read; the table's rows carry the long texts.
        table = connection.ops.quote_name(Publication._meta.db_table)
        inner = inner.replace(f"FROM {table}", f"FROM {table} INDEXED BY {COLUMNS_INDEX}", 1)
        row = " || ',' || ".join(f"v.{name}" for name in _COLUMNS)
        sql = f"SELECT group_concat({row}) FROM ({inner}) AS v"  # noqa: S608 - names are constants
    else:
        # In rows of a few thousand publications: libpq keeps its input buffer as large as the
        # largest row it received, for as long as the connection lives.
        row = ", ".join(f"v.{name}" for name in _COLUMNS)
        sql = (
            f"SELECT string_agg(concat_ws(',', {row}), ',') FROM ({inner}) AS v "  # noqa: S608
            f"GROUP BY v.row_id / {ROWS_PER_CHUNK}"
        )
    text = ",".join(chunk for (chunk,) in _rows(sql, params) if chunk)
    table = parse_ids(text).reshape(-1, len(_COLUMNS))
    # Newest first (published_at DESC, id DESC), whatever order the aggregate saw.
    table = table[np.lexsort((-table[:, 0], -table[:, 4]))]
    ids = table[:, 0].copy()
    kind, language = (table[:, column].astype(np.int16) for column in (1, 2))
    year, datestamp = local_years(table[:, 4]), table[:, 3].copy()
    del table, text  # before the links are read: a lower peak
    position_of = np.full(int(ids.max()) + 1 if len(ids) else 1, -1, dtype=np.int64)
    position_of[ids] = np.arange(len(ids))
    links = _all_links(position_of)
    return FacetIndex(
        ids=ids,
        position_of=position_of,
        kind=kind,
        kinds=kinds,
        language=language,
        languages=languages,
        year=year,
        datestamp=datestamp,
        themes=links["themes"],
        regions=links["regions"],
        tags=links["tags"],
        authors=links["authors"],
    )


def _code_of(field: str, vocabulary: tuple[str, ...]) -> Case:
    """The place of ``field``'s value in ``vocabulary``, -1 for a value not in it."""
    return Case(
        *(When(**{field: value}, then=Value(code)) for code, value in enumerate(vocabulary)),
        default=Value(-1),
        output_field=IntegerField(),
    )


def _all_links(position_of: np.ndarray) -> dict[str, Links]:
    """The themes, regions, tags and authors of the visible publications, in one query.

    One row per value, with the ids of its publications as one string.
    """

    def agg(column: str) -> str:
        if connection.vendor == "postgresql":
            return f"string_agg(l.{column}::text, ',')"
        return f"group_concat(l.{column})"

    content_type = int(ContentType.objects.get_for_model(Publication).pk)
    parts = {
        "themes": (Publication.themes.through, "publication_id", "theme_id", Theme, "v.name", ""),
        "regions": (Publication.regions.through, "publication_id", "region_id", Region, "v.name", ""),
        "tags": (
            TaggedItem,
            "object_id",
            "tag_id",
            Tag,
            "v.name",
            f"WHERE l.content_type_id = {content_type}",
        ),
        "authors": (
            Authorship,
            "publication_id",
            "author_id",
            Author,
            "v.family_name || ', ' || v.given_name",
            "",
        ),
    }
    sql = " UNION ALL ".join(
        f"SELECT '{facet}', v.id, v.slug, {label}, {agg(publication)} "  # noqa: S608 - names from the models
        f"FROM {through._meta.db_table} l JOIN {model._meta.db_table} v ON v.id = l.{column} {where} "
        f"GROUP BY v.id"
        for facet, (through, publication, column, model, label, where) in parts.items()
    )
    grouped: dict[str, list[tuple]] = {facet: [] for facet in parts}
    for facet, pk, slug, label, text in _rows(f"{sql} ORDER BY 1, 2"):
        grouped[facet].append((pk, slug, label, text))
    count = int(np.count_nonzero(position_of >= 0))
    return {facet: _links(rows, position_of, count) for facet, rows in grouped.items()}


def _links(rows: list[tuple], position_of: np.ndarray, count: int) -> Links:
    """The links of ``rows`` (one per value, its publications' ids as one string) over the
    ``count`` positions of the index."""
    # Every value's ids parsed at once (one array, not one per value: 20,000 authors would leave
    # 40,000 small arrays behind in the build's peak).
    texts = [text or "" for _, _, _, text in rows]
    counts = np.array([text.count(",") + 1 if text else 0 for text in texts], dtype=np.int64)
    publication_ids = parse_ids(",".join(text for text in texts if text))
    codes = np.repeat(np.arange(len(rows), dtype=np.int32), counts)
    inside = publication_ids < len(position_of)
    found = position_of[publication_ids[inside]]
    visible = found >= 0
    positions, codes = found[visible].astype(np.int32), codes[inside][visible]
    by_position = np.argsort(positions, kind="stable")
    labels = tuple(label for _, _, label, _ in rows)
    label_rank = np.empty(len(labels), dtype=np.int64)
    label_rank[sorted(range(len(labels)), key=lambda code: labels[code].casefold())] = np.arange(len(labels))
    return Links(
        positions=positions,
        starts=np.searchsorted(codes, np.arange(len(rows) + 1)).astype(np.int32),
        codes=codes[by_position],
        offsets=np.searchsorted(positions[by_position], np.arange(count + 1)).astype(np.int32),
        pks=np.array([pk for pk, _, _, _ in rows], dtype=np.int64),
        keys=tuple(slug for _, slug, _, _ in rows),
        labels=labels,
        label_rank=label_rank,
    )


_lock = threading.Lock()
_current: dict[str, tuple[str, FacetIndex]] = {}


def built() -> FacetIndex | None:
    """The index of the current content version if this process has built it already, else None."""
    held = _current.get(connection.settings_dict.get("NAME") or "")
    return held[1] if held and held[0] == caching.content_version() else None


def current() -> FacetIndex:
    """The index of the current content version (built on first use in this process)."""
    index = built()
    if index is not None:
        return index
    with _lock:
        index = built()
        if index is not None:
            return index
        version, key = caching.content_version(), connection.settings_dict.get("NAME") or ""
        _current.pop(key, None)  # the old index goes before the new one is built: a lower peak
        index = build()
        _current[key] = (version, index)
        index_replaced()
        return index


def build_at_start() -> None:
    """Build the index as the process starts, before it serves (``FACET_INDEX_AT_START``), so that
    its first visitors do not wait for it: 2–3 s at 100,000 publications.

    Whatever fails here (a database or a Redis that does not answer yet) leaves the build to the
    first request that needs it, which reports the failure as requests do: a process that cannot
    warm up still starts, and answers ``/healthz``. The connections opened here are closed, so a
    process forked afterwards (gunicorn ``--preload``) shares none with its parent.
    """
    if not settings.FACET_INDEX_AT_START:
        return
    try:
        index = current()
    except Exception as error:  # noqa: BLE001 - a warm-up must never stop the process starting
        log.warning("facet index: not built at start (%s); the first request builds it", error)
    else:
        log.info("facet index: built at start, %d publications", len(index))
    finally:
        connections.close_all()


def index_replaced() -> None:
    """After an index (this one or the term index) was built or replaced: hand the memory freed
    back to the system (glibc keeps it otherwise: about 10 MB of a worker's RSS at 100,000
    publications), and have the garbage collector walk everything once the request ends, since
    the index replaced may have been frozen (``center.memory``)."""
    memory.release_freed_memory()
    memory.settle_after_this_request()
