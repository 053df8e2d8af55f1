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

import threading
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.models import IntegerField
from django.db.models.expressions import RawSQL

from center import caching
from publications.models import Publication, Region, Theme

_EMPTY = np.zeros(0, dtype=np.int64)
# The index on publications (id, status, published_at, kind): everything the facet index reads.
VISIBILITY_INDEX = "pub_search_visibility"


def parse_ids(text: str | None) -> np.ndarray:
    """Publication ids from a comma-separated list (``group_concat``/``string_agg``), as an array."""
    if not text:
        return _EMPTY
    return np.fromstring(text, dtype=np.int64, sep=",")


@dataclass(frozen=True)
class Links:
    """A many-to-many facet (themes, regions): one entry per link, by position and value code."""

    positions: np.ndarray  # position of the publication (in date order) for each link
    codes: np.ndarray  # code of the value for each link
    keys: tuple[str, ...]  # slug per code
    labels: tuple[str, ...]  # name per code

    def members(self, key: str) -> np.ndarray:
        """Positions of the publications carrying ``key``."""
        try:
            code = self.keys.index(key)
        except ValueError:
            return _EMPTY
        return self.positions[self.codes == code]

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """How many of the publications in ``mask`` carry each value (by code)."""
        return np.bincount(self.codes[mask[self.positions]], minlength=len(self.keys))


@dataclass(frozen=True)
class FacetIndex:
    ids: np.ndarray  # visible publication ids, newest first (published_at DESC, id DESC)
    position_of: np.ndarray  # id -> position in ``ids``, -1 when not visible
    kind: np.ndarray  # kind code per position
    kinds: tuple[str, ...]
    year: np.ndarray  # publication year (UTC) per position
    themes: Links
    regions: Links

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, ids: np.ndarray) -> np.ndarray:
        """A boolean mask over positions: the visible publications among ``ids``."""
        mask = np.zeros(len(self.ids), dtype=bool)
        ids = ids[(ids >= 0) & (ids < len(self.position_of))]
        positions = self.position_of[ids]
        mask[positions[positions >= 0]] = True
        return mask

    def narrow(self, mask: np.ndarray, filters) -> np.ndarray:
        """``mask`` restricted to the kind, year, theme and region of ``filters`` (each optional)."""
        mask = mask.copy()
        if filters.kind:
            mask &= self.kind == (self.kinds.index(filters.kind) if filters.kind in self.kinds else -1)
        if filters.year:
            mask &= self.year == filters.year
        for links, key in ((self.themes, filters.theme), (self.regions, filters.region)):
            if key:
                members = np.zeros(len(self.ids), dtype=bool)
                members[links.members(key)] = True
                mask &= members
        return mask

    def newest(self, mask: np.ndarray, count: int) -> np.ndarray:
        """The ids of the first ``count`` publications of ``mask``, newest first."""
        return self.ids[np.flatnonzero(mask)[:count]]


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def build() -> FacetIndex:
    """Read the visible publications and their themes and regions (three queries)."""
    year = "CAST(substr(published_at, 1, 4) AS integer)"  # SQLite stores UTC as ISO 8601 text
    if connection.vendor == "postgresql":
        year = "EXTRACT(YEAR FROM published_at AT TIME ZONE 'UTC')::int"
    published = (
        Publication.objects.published()
        .order_by("-published_at", "-pk")
        .annotate(year=RawSQL(year, [], output_field=IntegerField()))  # noqa: S611 - a constant
        .values_list("pk", "kind", "year")
    )
    # Through the cursor: the ORM's per-row converters would cost more than the query.
    sql, params = published.query.sql_with_params()
    if connection.vendor == "sqlite":
        # The covering index holds every column read; the table's rows carry the long texts.
        table = connection.ops.quote_name(Publication._meta.db_table)
        sql = sql.replace(f"FROM {table}", f"FROM {table} INDEXED BY {VISIBILITY_INDEX}", 1)
    rows = _rows(sql, params)
    ids, kind_names, years = zip(*rows, strict=True) if rows else ((), (), ())
    ids = np.array(ids, dtype=np.int64)
    kinds = tuple(Publication.Kind.values)
    kind_code = {kind: code for code, kind in enumerate(kinds)}
    position_of = np.full(int(ids.max()) + 1 if len(ids) else 1, -1, dtype=np.int64)
    position_of[ids] = np.arange(len(ids))
    return FacetIndex(
        ids=ids,
        position_of=position_of,
        kind=np.array([kind_code.get(kind, -1) for kind in kind_names], dtype=np.int16),
        kinds=kinds,
        year=np.array(years, dtype=np.int16),
        themes=_links(Theme, Publication.themes.through, "theme_id", position_of),
        regions=_links(Region, Publication.regions.through, "region_id", position_of),
    )


def _links(model, through, column: str, position_of: np.ndarray) -> Links:
    """The links of the visible publications to ``model``'s values: one row per value, ids as one string."""
    ids = "group_concat(l.publication_id)"
    if connection.vendor == "postgresql":
        ids = "string_agg(l.publication_id::text, ',')"
    rows = _rows(
        f"SELECT v.slug, v.name, {ids} FROM {through._meta.db_table} l "  # noqa: S608 - names from the models
        f"JOIN {model._meta.db_table} v ON v.id = l.{column} GROUP BY v.id, v.slug, v.name ORDER BY v.id"
    )
    positions, codes = [], []
    for code, (_, _, text) in enumerate(rows):
        publication_ids = parse_ids(text)
        publication_ids = publication_ids[publication_ids < len(position_of)]
        found = position_of[publication_ids]
        found = found[found >= 0]
        positions.append(found)
        codes.append(np.full(len(found), code, dtype=np.int64))
    return Links(
        positions=np.concatenate(positions) if positions else _EMPTY,
        codes=np.concatenate(codes) if codes else _EMPTY,
        keys=tuple(slug for slug, _, _ in rows),
        labels=tuple(name for _, name, _ in rows),
    )


_lock = threading.Lock()
_current: dict[str, tuple[str, FacetIndex]] = {}


def current() -> FacetIndex:
    """The index of the current content version (built on first use in this process)."""
    version = caching.content_version()
    key = connection.settings_dict.get("NAME") or ""
    held = _current.get(key)
    if held and held[0] == version:
        return held[1]
    with _lock:
        held = _current.get(key)
        if held and held[0] == version:
            return held[1]
        index = build()
        _current[key] = (version, index)
        return index
