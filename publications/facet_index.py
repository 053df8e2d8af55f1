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
import threading
from dataclasses import dataclass

import numpy as np
from django.db import connection

from center import caching
from publications.models import Publication, Region, Theme

_EMPTY = np.zeros(0, dtype=np.int64)


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
    published = Publication.objects.published().order_by("-published_at", "-pk")
    rows = list(published.values_list("pk", "kind", "published_at"))
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    kinds = tuple(Publication.Kind.values)
    kind_code = {kind: code for code, kind in enumerate(kinds)}
    kind = np.fromiter((kind_code.get(row[1], -1) for row in rows), dtype=np.int16, count=len(rows))
    year = np.fromiter((row[2].astimezone(dt.UTC).year for row in rows), dtype=np.int16, count=len(rows))
    position_of = np.full(int(ids.max()) + 1 if len(ids) else 1, -1, dtype=np.int64)
    position_of[ids] = np.arange(len(ids))
    return FacetIndex(
        ids=ids,
        position_of=position_of,
        kind=kind,
        kinds=kinds,
        year=year,
        themes=_links(Theme, Publication.themes.through, "theme_id", position_of),
        regions=_links(Region, Publication.regions.through, "region_id", position_of),
    )


def _links(model, through, column: str, position_of: np.ndarray) -> Links:
    """Every link of the visible publications to ``model``'s values, read in one query."""
    links, values = through._meta.db_table, model._meta.db_table
    pairs = _rows(
        f"SELECT l.publication_id, v.id, v.slug, v.name FROM {links} l "  # noqa: S608 - names from the models
        f"JOIN {values} v ON v.id = l.{column} ORDER BY v.id"
    )
    code_of: dict[int, int] = {}
    keys, labels = [], []
    for _, pk, slug, name in pairs:
        if pk not in code_of:
            code_of[pk] = len(keys)
            keys.append(slug)
            labels.append(name)
    publication_ids = np.fromiter((pair[0] for pair in pairs), dtype=np.int64, count=len(pairs))
    codes = np.fromiter((code_of[pair[1]] for pair in pairs), dtype=np.int64, count=len(pairs))
    inside = publication_ids < len(position_of)
    positions = np.full(len(pairs), -1, dtype=np.int64)
    positions[inside] = position_of[publication_ids[inside]]
    visible = positions >= 0
    return Links(positions=positions[visible], codes=codes[visible], keys=tuple(keys), labels=tuple(labels))


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
