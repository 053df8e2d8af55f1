"""Full-text search of the publications, on PostgreSQL and on SQLite.

One interface, two engines chosen by ``connection.vendor``:

- PostgreSQL: ``SearchDocument.vector``, a weighted ``tsvector`` (A title and
  subtitle, B authors, tags, themes and regions, C abstract and body, D PDF
  text) with a GIN index, in the ``center_search`` configuration (English
  stemming, accents removed by ``unaccent``); ``websearch_to_tsquery``,
  ``ts_rank`` and ``ts_headline``.
- SQLite: the FTS5 table ``publications_search_fts`` (rowid = publication id,
  one column per weight, ``porter unicode61 remove_diacritics 2``), ``bm25()``
  with column weights and ``snippet()``.

Both read the same query syntax, parsed here once: words (all must match),
``"quoted phrases"``, ``-excluded`` words or phrases and ``OR`` between two
words or phrases. The parser keeps only letters and digits, so no user text
ever reaches ``MATCH`` or ``websearch_to_tsquery`` unquoted.

Only ``Publication.objects.published()`` is ever searched: the index holds
every publication (so a scheduled one appears at its moment with no job to
run) and the visibility rule is applied to every query.

The index is kept current by ``publications.signals``: saves mark the
publication as pending, and pending publications are reindexed once, when the
transaction commits (or before the next search in the same transaction).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import html
import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import Stemmer
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError, connection, transaction
from django.db.models import Q, Value
from django.db.models.expressions import RawSQL
from django.utils.safestring import SafeString, mark_safe

from center import caching
from publications import facet_index, term_index
from publications.body import FIGURE_SHORTCODE
from publications.models import Authorship, Publication, Region, SearchDocument, Theme

FTS_TABLE = "publications_search_fts"
PG_CONFIG = "center_search"
# ts_rank weights for D, C, B, A; bm25 weights for title, people, body, pdf.
PG_WEIGHTS = "{0.02, 0.1, 0.3, 1.0}"
FTS_WEIGHTS = (10.0, 4.0, 2.0, 1.0)

MAX_QUERY_CHARS = 500  # the rest of a longer query is ignored
MAX_TERMS = 12
MAX_WORD_CHARS = 60
# Only this much of a PDF's text is indexed (tsvector's 1 MB limit) and scanned for snippets.
MAX_PDF_CHARS = 300_000
SNIPPET_PDF_CHARS = 40_000
# Deepest result reachable by paging (OFFSET cost); refine the query for more.
MAX_RESULTS = 1000
FACET_LIMIT = 12

# PostgreSQL's english.stop: words both engines ignore outside phrases.
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can did do does doing don down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own s same
    she should so some such t than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why will
    with you your yours yourself yourselves""".split()  # noqa: SIM905 - a readable block of words
)

# Sentinels around matched words in snippets: the text is escaped first, then they become <mark>.
_START, _STOP = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


# The query language --------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of several words in this order."""

    words: tuple[str, ...]

    def websearch(self) -> str:
        return self.words[0] if len(self.words) == 1 else '"' + " ".join(self.words) + '"'

    def fts5(self) -> str:
        # Words hold only letters and digits: quoting them is enough to make them literal.
        return '"' + " ".join(self.words) + '"'


@dataclass(frozen=True)
class ParsedQuery:
    """All ``groups`` must match (a group matches when one of its terms does); no ``excluded`` may."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.groups)

    @property
    def words(self) -> list[str]:
        """The words looked for (not the excluded ones)."""
        return [word for group in self.groups for term in group for word in term.words]

    def websearch(self) -> str:
        """The query in ``websearch_to_tsquery`` syntax, rebuilt from clean terms."""
        parts = [" OR ".join(term.websearch() for term in group) for group in self.groups]
        parts += [f"-{term.websearch()}" for term in self.excluded]
        return " ".join(parts)

    def every_word(self) -> ParsedQuery:
        """The words and phrases looked for, all required, without the exclusions."""
        return ParsedQuery(self.groups)

    def any_word(self) -> ParsedQuery:
        """Any one of the words and phrases looked for."""
        return ParsedQuery((tuple(term for group in self.groups for term in group),))

    def tsquery(self) -> tuple[str, list[str]]:
        """The query as a PostgreSQL ``tsquery`` expression, and its parameters.

        Each term goes through ``websearch_to_tsquery`` alone and the terms are joined with
        tsquery operators: websearch syntax has no parentheses, and would read ``a b OR c``
        as ``(a AND b) OR c``. A term of stop words only is left out, as there.
        """
        one = f"websearch_to_tsquery('{PG_CONFIG}', %s)"
        parts = ["(" + " || ".join([one] * len(group)) + ")" for group in self.groups]
        parts += [f"(!! {one})" for _ in self.excluded]
        terms = [term for group in self.groups for term in group] + list(self.excluded)
        return "(" + " && ".join(parts) + ")", [term.websearch() for term in terms]

    def fts5(self) -> str:
        """The query in FTS5 syntax: every term quoted."""
        groups = []
        for group in self.groups:
            terms = " OR ".join(term.fts5() for term in group)
            groups.append(f"({terms})" if len(group) > 1 else terms)
        expression = " AND ".join(groups)
        if self.excluded:
            expression = f"({expression}) NOT ({' OR '.join(term.fts5() for term in self.excluded)})"
        return expression


_TOKEN = re.compile(r'(-?)"([^"]*)"?|([^\s"]+)')
_WORD = re.compile(r"[^\W_]+")


def parse_query(text: str) -> ParsedQuery:
    """Read words, "phrases", -exclusions and OR; ignore everything else.

    A chunk such as ``co-operation`` or ``U.S.`` is a phrase of its parts.
    Single stop words are ignored (a query of only stop words finds nothing).
    """
    items: list[tuple[Term, bool] | None] = []  # (term, excluded); None stands for OR
    for match in _TOKEN.finditer(text[:MAX_QUERY_CHARS]):
        phrase_minus, phrase, chunk = match.groups()
        if chunk == "OR":
            items.append(None)
            continue
        if phrase is not None:
            negated, source, quoted = bool(phrase_minus), phrase, True
        else:
            negated = chunk.startswith("-") and len(chunk) > 1
            source, quoted = chunk, False
        words = tuple(word.lower()[:MAX_WORD_CHARS] for word in _WORD.findall(source))
        if not words or (not quoted and len(words) == 1 and words[0] in STOP_WORDS):
            continue
        items.append((Term(words), negated))

    groups: list[tuple[Term, ...]] = []
    excluded: list[Term] = []
    join_next = False
    count = 0
    for item in items:
        if item is None:
            join_next = bool(groups)
            continue
        term, negated = item
        count += 1
        if count > MAX_TERMS:
            break
        if negated:
            excluded.append(term)
        elif join_next and groups:
            groups[-1] = (*groups[-1], term)
        else:
            groups.append((term,))
        join_next = False
    return ParsedQuery(tuple(groups), tuple(excluded))


# Snippets -------------------------------------------------------------------------


def plain_text(markup: str) -> str:
    """HTML as one line of plain text (tags dropped, entities decoded, control characters removed)."""
    text = html.unescape(_TAG.sub(" ", markup or ""))
    return _SPACE.sub(" ", _CONTROL.sub(" ", text)).strip()


def clean_text(text: str) -> str:
    """Text as one line: control characters removed, whitespace collapsed."""
    return _SPACE.sub(" ", _CONTROL.sub(" ", text or "")).strip()


def highlight(raw: str) -> SafeString:
    """Escape a snippet, then turn the engine's sentinels into ``<mark>``."""
    escaped = html.escape(raw.replace(_STOP + _START, ""), quote=True)
    parts = []
    open_mark = False
    for piece in re.split(f"([{_START}{_STOP}])", escaped):
        if piece == _START and not open_mark:
            parts.append("<mark>")
            open_mark = True
        elif piece == _STOP and open_mark:
            parts.append("</mark>")
            open_mark = False
        elif piece not in (_START, _STOP):
            parts.append(piece)
    if open_mark:
        parts.append("</mark>")
    return mark_safe("".join(parts))


# Keeping the index current -------------------------------------------------------

_pending = threading.local()


def _pending_ids() -> set[int]:
    if not hasattr(_pending, "ids"):
        _pending.ids = set()
    return _pending.ids


def mark_for_reindex(publication_ids: Iterable[int]) -> None:
    """Reindex these publications when the transaction commits (once each, however often marked)."""
    new = {int(pk) for pk in publication_ids if pk is not None}
    if not new:
        return
    _pending_ids().update(new)
    # One flush per transaction (a rolled-back transaction's callback is gone: register again).
    if not connection.in_atomic_block or not any(
        callback is flush_pending for _, callback, _ in connection.run_on_commit
    ):
        transaction.on_commit(flush_pending)


def flush_pending() -> None:
    """Reindex what was marked; also run before each search so a transaction sees its own edits."""
    ids = _pending_ids()
    if ids:
        batch = sorted(ids)
        ids.clear()
        index_publications(batch)


# The parts of a publication's related names, in the order the index and the cards list them.
AUTHOR, THEME, REGION, TAG = 1, 2, 3, 4


def _related(ids: Sequence[int]) -> dict[int, list[tuple]]:
    """Authors, themes, regions and tags of these publications, in one query.

    ``{publication id: [(part, id, slug, name, family name), …]}``, in a fixed order
    (byline, then themes, regions and tags by name): the same data, the same vector.
    """
    sql, params = _related_query(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _grouped_related(cursor.fetchall())


def _related_query(ids: Sequence[int]) -> tuple[str, list]:
    from taggit.models import Tag, TaggedItem

    from authors.models import Author

    # PostgreSQL: one array parameter per part, planned faster than a list of constants.
    in_ids = "= ANY(%s)" if connection.vendor == "postgresql" else f"IN ({', '.join(['%s'] * len(ids))})"
    themes = Publication.themes.through._meta.db_table
    regions = Publication.regions.through._meta.db_table
    content_type = ContentType.objects.get_for_model(Publication).pk
    sql = f"""
        SELECT a.publication_id, {AUTHOR} AS part, a.position AS rank, au.given_name, au.id, au.slug,
               au.family_name
          FROM {Authorship._meta.db_table} a JOIN {Author._meta.db_table} au ON au.id = a.author_id
         WHERE a.publication_id {in_ids}
        UNION ALL
        SELECT t.publication_id, {THEME}, 0, x.name, x.id, x.slug, '' FROM {themes} t
          JOIN {Theme._meta.db_table} x ON x.id = t.theme_id
         WHERE t.publication_id {in_ids}
        UNION ALL
        SELECT r.publication_id, {REGION}, 0, x.name, x.id, x.slug, '' FROM {regions} r
          JOIN {Region._meta.db_table} x ON x.id = r.region_id
         WHERE r.publication_id {in_ids}
        UNION ALL
        SELECT i.object_id, {TAG}, 0, x.name, x.id, x.slug, '' FROM {TaggedItem._meta.db_table} i
          JOIN {Tag._meta.db_table} x ON x.id = i.tag_id
         WHERE i.content_type_id = %s AND i.object_id {in_ids}
        ORDER BY 1, 2, 3, 4, 5
    """  # noqa: S608 - table names from models, values as parameters
    values = [list(ids)] if connection.vendor == "postgresql" else list(ids)
    return sql, [*values, *values, *values, content_type, *values]


def _grouped_related(rows: Iterable[tuple]) -> dict[int, list[tuple]]:
    related: dict[int, list[tuple]] = {}
    for publication_id, part, _, name, pk, slug, family_name in rows:
        related.setdefault(publication_id, []).append((part, pk, slug, name, family_name))
    return related


def _related_names(ids: Sequence[int]) -> dict[int, list[str]]:
    """The names of ``_related``, as the index holds them."""
    return {
        pk: [f"{name} {family_name}".strip() for _, _, _, name, family_name in rows]
        for pk, rows in _related(ids).items()
    }


def _documents(ids: Sequence[int]) -> list[tuple[int, str, str, str, str]]:
    """(id, title, people and subjects, abstract and body, PDF text) of the existing publications."""
    rows = Publication.objects.filter(pk__in=ids).values_list(
        "pk", "title", "subtitle", "abstract", "body", "pdf_text"
    )
    rows = list(rows.order_by())
    names = _related_names([row[0] for row in rows]) if rows else {}
    return [
        (
            pk,
            clean_text(f"{title} {subtitle}"),
            clean_text(" ".join(names.get(pk, []))),
            clean_text(f"{abstract} {plain_text(FIGURE_SHORTCODE.sub(' ', body))}"),
            clean_text(pdf_text[:MAX_PDF_CHARS]),
        )
        for pk, title, subtitle, abstract, body, pdf_text in rows
    ]


def index_publications(ids: Iterable[int]) -> int:
    """(Re)write the index entries of these publications; entries of deleted ones are removed."""
    ids = sorted({int(pk) for pk in ids})
    written = 0
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        documents = _documents(batch)
        _engine().write(batch, documents)
        written += len(documents)
    return written


def remove_publications(ids: Iterable[int]) -> None:
    ids = sorted({int(pk) for pk in ids})
    if ids:
        _engine().write(ids, [])


def rebuild(*, batch_size: int = 1000, progress=None) -> int:
    """Rebuild the whole index from the database; ``progress(done, total)`` after each batch."""
    engine = _engine()
    engine.clear()
    ids = list(Publication.objects.order_by("pk").values_list("pk", flat=True))
    total = len(ids)
    for start in range(0, total, batch_size):
        batch = ids[start : start + batch_size]
        engine.write(batch, _documents(batch), fresh=True)
        if progress:
            progress(min(start + batch_size, total), total)
    engine.optimize()
    return total


def optimize() -> None:
    """Tidy the index after writing much of it (PostgreSQL: VACUUM, when not in a transaction)."""
    _engine().optimize()


# The two engines -----------------------------------------------------------------


def _in_list(ids: Sequence[int]) -> str:
    return ", ".join(["%s"] * len(ids))


class _PostgreSQL:
    vendor = "postgresql"

    @property
    def table(self) -> str:
        return SearchDocument._meta.db_table

    def write(self, ids, documents, *, fresh: bool = False) -> None:
        with connection.cursor() as cursor:
            if not fresh:
                present = {document[0] for document in documents}
                gone = [pk for pk in ids if pk not in present]
                if gone:
                    cursor.execute(f"DELETE FROM {self.table} WHERE publication_id = ANY(%s)", [gone])  # noqa: S608
            if not documents:
                return
            columns = list(zip(*documents, strict=True))
            cursor.execute(
                f"""
                INSERT INTO {self.table} (publication_id, vector, text)
                SELECT d.id,
                       setweight(to_tsvector('{PG_CONFIG}', d.title), 'A')
                       || setweight(to_tsvector('{PG_CONFIG}', d.people), 'B')
                       || setweight(to_tsvector('{PG_CONFIG}', d.body), 'C')
                       || setweight(to_tsvector('{PG_CONFIG}', d.pdf), 'D'),
                       d.body
                  FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[])
                       AS d(id, title, people, body, pdf)
                ON CONFLICT (publication_id) DO UPDATE SET vector = EXCLUDED.vector, text = EXCLUDED.text,
                    written_by = pg_current_xact_id()
                """,  # noqa: S608
                [list(column) for column in columns],
            )

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.table}")  # noqa: S608 - TRUNCATE is refused with pending FK checks

    def optimize(self) -> None:
        """After a rebuild: reclaim the replaced rows (every search's bitmap scan would read
        them, twice the table) and refresh the planner's statistics. VACUUM cannot run in a
        transaction; there, statistics only."""
        with connection.cursor() as cursor:
            cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {self.table}")

    # Reading.

    def scores(self, query: ParsedQuery, ids: np.ndarray) -> dict[int, float]:
        """``ts_rank`` of each of ``ids`` (found by the document's primary key, not by the GIN index)."""
        tsquery, params = query.tsquery()
        rank = f"ts_rank('{PG_WEIGHTS}', vector, {tsquery})"
        sql = f"SELECT publication_id, {rank} FROM {self.table} WHERE publication_id = ANY(%s)"  # noqa: S608
        return dict(self.run(sql, [*params, ids.tolist()]))

    def matched_ids(self, query: ParsedQuery) -> np.ndarray:
        """Ids of every publication matching ``query`` (visible or not): its frequent words from the
        term index, when there is one, and the rest from the GIN index."""
        index = term_index.current()
        found = self._matched_with(index, query) if index is not None else None
        return self._ids(("vector", query))[0] if found is None else found

    def _matched_with(
        self, index: term_index.TermIndex, query: ParsedQuery, *, head: bool = False
    ) -> np.ndarray | None:
        """``query``'s matches (``head``: in the vectors' heads, ``term_index.HEAD``): each frequent
        word from ``index``, each other word or phrase from PostgreSQL, combined as
        ``ParsedQuery.tsquery`` does; the documents written since ``index`` was read are asked
        about whole. One round trip.

        None when PostgreSQL must answer alone: no frequent word, too many documents written
        since, or a query left with only stop words to look for. In no particular order.
        """
        terms = list(dict.fromkeys([*(term for group in query.groups for term in group), *query.excluded]))
        frequent = {}
        for term in terms:
            if len(term.words) == 1:
                found = lexeme(term.words[0])
                if found is None:
                    return None  # a quoted stop word: PostgreSQL's rules for what is left
                if index.key(found, head=head) in index:
                    frequent[term] = index.key(found, head=head)
        if not frequent:
            return None  # nothing the term index would answer
        asked = [term for term in terms if term not in frequent]
        changed, params = term_index.changed_since(index)
        column, vector = ("head", term_index.HEAD) if head else ("vector", "vector")
        matches = f"websearch_to_tsquery('{PG_CONFIG}', %s)"
        whole, whole_params = query.tsquery()
        parts = [
            "(SELECT count(*) FROM changed)",
            "(SELECT string_agg(publication_id::text, ',') FROM changed)",
            f"(SELECT string_agg(publication_id::text, ',') FROM changed WHERE {column} @@ {whole})",  # noqa: S608
        ]
        params += whole_params
        for term in asked:
            ids = f"SELECT string_agg(publication_id::text, ',') FROM {self.table}"  # noqa: S608
            parts.append(f"({ids} WHERE {vector} @@ {matches})")
            parts.append(f"numnode({matches})")
            params += [term.websearch(), term.websearch()]
        sql = (
            f"SET LOCAL enable_seqscan = off; WITH {changed} SELECT {', '.join(parts)}; "
            "SET LOCAL enable_seqscan TO DEFAULT"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.cursor.nextset()
            count, changed_ids, changed_matches, *answers = cursor.fetchone()
        if count > settings.SEARCH_TERM_INDEX_CHANGES // 4:
            term_index.refresh()  # read it again, in the background
            if count > settings.SEARCH_TERM_INDEX_CHANGES:
                return None
        size = index.size
        # A term whose query is empty (only stop words) is left out, as tsquery operators do.
        ids_of = {
            term: facet_index.parse_ids(text) if nodes else None
            for term, text, nodes in zip(asked, answers[::2], answers[1::2], strict=True)
        }

        def members(term: Term) -> np.ndarray | None:
            if term in frequent:
                return index.members(frequent[term])
            ids = ids_of[term]
            if ids is None:
                return None
            found = np.zeros(size, dtype=bool)
            found[ids[ids < size]] = True
            return found

        result = None
        for group in query.groups:
            found = [part for part in map(members, group) if part is not None]
            if found:
                either = np.logical_or.reduce(found) if len(found) > 1 else found[0]
                result = either if result is None else result & either
        if result is None:
            return None
        for term in query.excluded:
            found = members(term)
            if found is not None:
                result &= ~found
        changed_ids, changed_matches = map(facet_index.parse_ids, (changed_ids, changed_matches))
        result[changed_ids[changed_ids < size]] = False
        result[changed_matches[changed_matches < size]] = True
        return np.concatenate([np.flatnonzero(result), changed_matches[changed_matches >= size]])

    def head_ids(self, query: ParsedQuery) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the publications matching ``query`` in their title, authors or subjects (A and B):
        all its words, then any of them. Frequent words in the term index's head bitmaps (a word in
        most titles costs PostgreSQL a heap visit per match)."""
        queries = (
            [query.every_word()]
            if query.every_word() == query.any_word()
            else [query.every_word(), query.any_word()]
        )
        index = term_index.current()
        found = [
            self._matched_with(index, part, head=True) if index is not None else None for part in queries
        ]
        asked = [part for part, ids in zip(queries, found, strict=True) if ids is None]
        answers = iter(self._ids(*((term_index.HEAD, part) for part in asked)) if asked else ())
        found = [next(answers) if ids is None else ids for ids in found]
        return (found[0], found[-1])

    def _ids(self, *searches: tuple[str, ParsedQuery]) -> tuple[np.ndarray, ...]:
        """The ids whose ``vector`` expression matches each query, in one round trip.

        For a common word the planner prefers a sequential scan, which reads every
        vector; the GIN indexes (search_document_vector, search_document_head) answer
        without reading any. The setting is sent in the same message as the query
        (Django's psycopg cursors bind parameters on the client), and is local to it.
        """
        aggregate = f"SELECT string_agg(publication_id::text, ',') FROM {self.table} WHERE"  # noqa: S608
        parts, params = [], []
        for vector, query in searches:
            tsquery, query_params = query.tsquery()
            parts.append(f"({aggregate} {vector} @@ {tsquery})")
            params += query_params
        sql = (
            f"SET LOCAL enable_seqscan = off; SELECT {', '.join(parts)}; SET LOCAL enable_seqscan TO DEFAULT"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.cursor.nextset()
            texts = cursor.fetchone()
        return tuple(facet_index.parse_ids(text) for text in texts)

    def read_hits(self, query: ParsedQuery, ids: list[int]) -> tuple[list[tuple], dict, dict]:
        """The hits' card fields (in ``card_fields()`` order), related names (``_related``) and
        snippet sources, in one round trip. A source is the text, and the start of the PDF's text
        when the text holds none of the words looked for (``_Marker``'s lexemes) and the PDF's
        does (most hits whose text lacks the words have them in the title or the names)."""
        table = Publication._meta.db_table
        fields = ", ".join(f"p.{Publication._meta.get_field(name).column}" for name in card_fields())
        holds = "coalesce(tsvector_to_array(ts_filter(d.vector, '{{{part}}}')) && %s::text[], false)"
        cards = f"""
            SELECT {fields}, coalesce(d.text, ''),
                   CASE WHEN {holds.format(part="d")} AND NOT {holds.format(part="c")}
                        THEN left(p.pdf_text, {SNIPPET_PDF_CHARS}) END
              FROM {table} p LEFT JOIN {self.table} d ON d.publication_id = p.id
             WHERE p.id = ANY(%s)
        """  # noqa: S608 - table names from models, values as parameters
        related, related_params = _related_query(ids)
        lexemes = sorted(_Marker(query).lexemes)
        with connection.cursor() as cursor:
            cursor.execute(f"{cards}; {related}", [lexemes, lexemes, ids, *related_params])
            rows = cursor.fetchall()
            cursor.cursor.nextset()
            grouped = _grouped_related(cursor.fetchall())
        count = len(card_fields())
        return [row[:count] for row in rows], grouped, {row[0]: row[count:] for row in rows}

    def snippets(
        self, query: ParsedQuery, texts: dict[int, CardTexts], sources: dict
    ) -> dict[int, Highlights]:
        """Marked in Python (``_Marker``): ``ts_headline`` parses each text again, which costs
        more than the rest of the search; the stems are the same as the index's."""
        marker = _Marker(query)
        found = {}
        for pk, card in texts.items():
            text, pdf = sources[pk]
            snippet = marker.fragment(text)
            if snippet is None and pdf:  # the words are only in the PDF: a fragment of its text
                snippet = marker.fragment(clean_text(pdf))
            found[pk] = Highlights(
                snippet=snippet or _opening(text),
                title=[marker.mark(part) for part in card.title],
                people=[marker.mark(name) for name in card.people],
                tags=[marker.mark(tag) for tag in card.tags],
            )
        return found

    def run(self, sql: str, params: list) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


class _SQLite:
    vendor = "sqlite"

    def write(self, ids, documents, *, fresh: bool = False) -> None:
        with connection.cursor() as cursor:
            if not fresh:
                cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({_in_list(ids)})", list(ids))  # noqa: S608
            if documents:
                cursor.executemany(
                    f"INSERT INTO {FTS_TABLE} (rowid, title, people, body, pdf) VALUES (%s, %s, %s, %s, %s)",  # noqa: S608
                    documents,
                )

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")  # noqa: S608

    def optimize(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")  # noqa: S608

    def scores(self, query: ParsedQuery, ids: np.ndarray) -> dict[int, float]:
        """``bm25`` of every match of ``query`` (negated: higher is better, as on PostgreSQL)."""
        weights = ", ".join(str(weight) for weight in FTS_WEIGHTS)
        sql = f"SELECT rowid, -bm25({FTS_TABLE}, {weights}) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
        return dict(self.run(sql, [query.fts5()]))

    def matched_ids(self, query: ParsedQuery) -> np.ndarray:
        """Ids of every publication matching ``query`` (visible or not)."""
        return self._ids(query.fts5())

    def head_ids(self, query: ParsedQuery) -> tuple[np.ndarray, np.ndarray]:
        """As on PostgreSQL: matching in the title or people, all the words, then any of them."""
        return tuple(
            self._ids(f"{{title people}} : ({part.fts5()})")
            for part in (query.every_word(), query.any_word())
        )

    def _ids(self, expression: str) -> np.ndarray:
        # One string rather than a row per match: 90,000 rows would cost more to fetch than to find.
        sql = f"SELECT group_concat(rowid) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
        rows = self.run(sql, [expression])
        return facet_index.parse_ids(rows[0][0] if rows else None)

    def read_hits(self, query: ParsedQuery, ids: list[int]) -> tuple[list[tuple], dict, dict]:
        """The hits' card fields (in ``card_fields()`` order) and related names; FTS5 makes the
        snippets from its own columns (``snippets``)."""
        rows = Publication.objects.filter(pk__in=ids).order_by().values_list(*card_fields())
        return list(rows), _related(ids), {}

    def snippets(
        self, query: ParsedQuery, texts: dict[int, CardTexts], sources: dict
    ) -> dict[int, Highlights]:
        ids = list(texts)
        # FTS5 highlights only its own columns: the words it marks there are marked in the card's texts.
        sql = f"""
            SELECT rowid, snippet({FTS_TABLE}, 2, %s, %s, '…', 24), snippet({FTS_TABLE}, 3, %s, %s, '…', 24),
                   highlight({FTS_TABLE}, 0, %s, %s), highlight({FTS_TABLE}, 1, %s, %s)
              FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid IN ({_in_list(ids)})
        """  # noqa: S608
        params = [_START, _STOP] * 4 + [query.fts5(), *ids]
        found = {}
        for pk, text, pdf, title, people in self.run(sql, params):
            card = texts[pk]
            title_words, people_words = _marked_words(title), _marked_words(people)
            found[pk] = Highlights(
                snippet=_best_snippet(text, pdf),
                title=[_mark_words(text, title_words) for text in card.title],
                people=[_mark_words(text, people_words) for text in card.people],
                tags=[_mark_words(tag, people_words) for tag in card.tags],
            )
        return found

    def run(self, sql: str, params: list) -> list[tuple]:
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        except OperationalError:
            # An FTS5 query the tokenizer empties (e.g. only combining marks): nothing matches.
            return []


@dataclass
class CardTexts:
    """What a hit's card shows besides the snippet: title and subtitle; authors', themes' and
    regions' names (in this order); tags' names (by name); the authors, for their links."""

    title: list[str]
    people: list[str]
    tags: list[str] = field(default_factory=list)
    authors: list = field(default_factory=list)


@dataclass
class Highlights:
    """A hit's texts with the engine's sentinels around matched words (tags: all, sorted by name)."""

    snippet: str = ""
    title: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


_MARKED = re.compile(f"{_START}([^{_STOP}]*){_STOP}")


def _marked_words(raw: str | None) -> set[str]:
    """The words the engine marked in ``raw``, case-folded."""
    return {word.casefold() for span in _MARKED.findall(raw or "") for word in _WORD.findall(span)}


def _mark_words(text: str, words: set[str]) -> str:
    """``text`` with sentinels around each of ``words`` (compared case-folded)."""
    if not words:
        return text
    return _WORD.sub(
        lambda match: f"{_START}{match[0]}{_STOP}" if match[0].casefold() in words else match[0], text
    )


def _folded(word: str) -> str:
    """``word`` lower-cased, without accents (as ``unaccent`` does)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


_stemmers = threading.local()
_ATTACHED = re.compile(r"[^\s\w]*")


@functools.lru_cache(maxsize=50_000)
def lexeme(word: str) -> str | None:
    """What PostgreSQL's ``center_search`` configuration indexes ``word`` as (None: a stop word).

    Folded, then stemmed by the Snowball English stemmer, the one ``english_stem`` uses.
    """
    folded = _folded(word)
    if folded in STOP_WORDS:
        return None
    if not hasattr(_stemmers, "english"):
        _stemmers.english = Stemmer.Stemmer("english")  # a stemmer is not shared between threads
    return _stemmers.english.stemWord(folded)


class _Marker:
    """Marks the words of a text that match the query's words, stemmed (PostgreSQL's snippets)."""

    SNIPPET_WORDS = 30
    CONTEXT_WORDS = 5  # shown before the first matched word of a fragment

    def __init__(self, query: ParsedQuery):
        self.lexemes = {lexeme(word) for word in query.words} - {None}
        self._seen: dict[str, bool] = {}
        self._marks: dict[str, str] = {}

    def matches(self, word: str) -> bool:
        found = self._seen.get(word)
        if found is None:
            found = self._seen[word] = lexeme(word) in self.lexemes
        return found

    def mark(self, text: str) -> str:
        """The whole of ``text``, every matched word between sentinels (a page's hits share many
        names: each is marked once)."""
        found = self._marks.get(text)
        if found is None:
            found = self._marks[text] = _WORD.sub(self._marked, text)
        return found

    def _marked(self, match: re.Match) -> str:
        return f"{_START}{match[0]}{_STOP}" if self.matches(match[0]) else match[0]

    def fragment(self, text: str) -> str | None:
        """The stretch of ``text`` with the most matched words, marked; None when none matched."""
        words = _WORD.findall(text)  # the words alone first: most texts of a page are read no further
        lexemes = self.lexemes
        found = {word for word in set(words) if lexeme(word) in lexemes}
        if not found:
            return None
        hits = [number for number, word in enumerate(words) if word in found]
        matched = set(hits)
        size = self.SNIPPET_WORDS
        # The window of ``size`` words from a matched word that holds the most matched words (the first such).
        best = max(range(len(hits)), key=lambda i: (bisect.bisect_left(hits, hits[i] + size) - i, -i))
        first = max(0, min(hits[best] - self.CONTEXT_WORDS, len(words) - size))
        last = min(len(words), first + size) - 1
        # Where the window's words are: the text is scanned only as far as its last word.
        tokens = itertools.islice(_WORD.finditer(text), first, last + 1)
        marked, cursor = [], None
        for number, token in enumerate(tokens, start=first):
            begin, end = token.span()
            if cursor is not None:
                marked.append(text[cursor:begin])
            word = words[number]
            marked.append(f"{_START}{word}{_STOP}" if number in matched else word)
            cursor = end
        if last == len(words) - 1:
            return ("…" if first else "") + "".join(marked) + text[cursor:]
        marked.append(_ATTACHED.match(text, cursor)[0])  # the word's punctuation ("5%", "U.S.")
        return ("…" if first else "") + "".join(marked) + "…"


def _opening(text: str) -> str:
    """The first words of ``text`` (the snippet of a hit whose words matched elsewhere)."""
    spans = [match.span() for match in itertools.islice(_WORD.finditer(text), _Marker.SNIPPET_WORDS + 1)]
    if len(spans) <= _Marker.SNIPPET_WORDS:
        return text
    return text[: spans[_Marker.SNIPPET_WORDS - 1][1]] + "…"


def _best_snippet(text: str, pdf: str) -> str:
    """The fragment with matched words: from the text, else from the PDF, else the text's start."""
    for candidate in (text, pdf):
        if candidate and _START in candidate:
            return candidate
    return text or pdf or ""


def _engine() -> _PostgreSQL | _SQLite:
    return _PostgreSQL() if connection.vendor == "postgresql" else _SQLite()


# Searching -----------------------------------------------------------------------


@dataclass
class Filters:
    """The facets a search is narrowed by (values already validated)."""

    kind: str = ""
    theme: str = ""
    region: str = ""
    year: int | None = None

    @classmethod
    def from_params(cls, params) -> Filters:
        """From a QueryDict; invalid values are dropped rather than refused."""
        kind = params.get("kind", "")
        theme = params.get("theme", "")
        region = params.get("region", "")
        year = params.get("year", "")
        slug = re.compile(r"^[-\w]{1,140}$")
        return cls(
            kind=kind if kind in Publication.Kind.values else "",
            theme=theme if slug.match(theme) else "",
            region=region if slug.match(region) else "",
            year=int(year) if year.isdigit() and 1000 <= int(year) <= 9999 else None,
        )

    def as_dict(self) -> dict[str, str]:
        values = {"kind": self.kind, "theme": self.theme, "region": self.region, "year": self.year}
        return {name: str(value) for name, value in values.items() if value}


@dataclass
class FacetValue:
    key: str
    label: str
    count: int
    selected: bool = False
    url: str = ""  # the query string selecting (or removing) this value, set by the view


@dataclass
class SearchResult:
    """What one search found: the total, the facets, and a sequence of ranked hits for a paginator."""

    query: ParsedQuery
    filters: Filters
    sort: str
    total: int = 0
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    _matches: tuple | None = None

    @property
    def query_key(self) -> str:
        """The words looked for, as the engine in use reads them (what the hits' highlights depend on)."""
        query = self.query.websearch() if connection.vendor == "postgresql" else self.query.fts5()
        return hashlib.sha256(f"{connection.vendor}|{query}".encode()).hexdigest()[:32]

    @property
    def cache_key(self) -> str:
        """The words and the filters (what the counts and the order depend on)."""
        name = f"{self.query_key}|{sorted(self.filters.as_dict().items())}"
        return hashlib.sha256(name.encode()).hexdigest()[:32]

    def count(self) -> int:
        """For the paginator: the reachable results (at most ``MAX_RESULTS``)."""
        return min(self.total, MAX_RESULTS)

    def __len__(self) -> int:
        return self.count()

    def ids(self, limit: int = MAX_RESULTS) -> list[int]:
        """The ids of the first ``limit`` hits in the page's order (no snippets, no objects loaded)."""
        if not self.total or limit <= 0:
            return []
        return [pk for pk, _ in _ranked(self)[:limit]]

    def __getitem__(self, index):
        if not isinstance(index, slice):
            raise TypeError("search results are read a page at a time")
        start, stop = index.start or 0, min(index.stop or MAX_RESULTS, MAX_RESULTS)
        if not self.total or stop <= start:
            return HitPage(self, [])
        return HitPage(self, _ranked(self)[start:stop])


def matched_ids(parsed: ParsedQuery) -> np.ndarray:
    """The ids of every publication matching ``parsed``, visible or not (for the facet index)."""
    flush_pending()
    return _engine().matched_ids(parsed)


def _matches(engine, result: SearchResult) -> tuple[facet_index.FacetIndex, np.ndarray]:
    """The visible matches of ``result``'s query and filters, as a mask over the facet index.

    Kept on the result, so that counting and ordering in one request look them up once.
    """
    index = facet_index.current()
    if result._matches is None or result._matches[0] is not index:
        mask = index.narrow(index.mask(engine.matched_ids(result.query)), result.filters)
        result._matches = (index, mask)
    return result._matches


def _facets(engine, result: SearchResult) -> tuple[int, dict]:
    """Total and facet counts of the matched set: counted in memory, whatever its size."""
    index, mask = _matches(engine, result)
    selected = result.filters.as_dict()
    labels = dict(Publication.Kind.choices)
    facets: dict[str, list[FacetValue]] = {"kind": [], "theme": [], "region": [], "year": []}

    kinds = np.bincount(index.kind[mask], minlength=len(index.kinds))
    for code in sorted(np.flatnonzero(kinds), key=lambda code: -kinds[code]):
        kind = index.kinds[code]
        label = labels.get(kind, kind)
        facets["kind"].append(FacetValue(kind, label, int(kinds[code]), selected.get("kind") == kind))

    years, counts = np.unique(index.year[mask], return_counts=True)
    for year, count in list(zip(years.tolist(), counts.tolist(), strict=True))[::-1][:40]:
        facets["year"].append(FacetValue(str(year), str(year), count, selected.get("year") == str(year)))

    for name, links in (("theme", index.themes), ("region", index.regions)):
        counts = links.counts(mask)
        codes = sorted(np.flatnonzero(counts), key=lambda code: (-counts[code], links.labels[code]))
        for code in codes[:FACET_LIMIT]:
            key, label = links.keys[code], links.labels[code]
            facets[name].append(FacetValue(key, label, int(counts[code]), selected.get(name) == key))
    return int(mask.sum()), facets


def search(
    query: str | ParsedQuery, *, filters: Filters | None = None, sort: str = "relevance"
) -> SearchResult:
    """Search the published publications; slice the result for a page of ranked hits (a
    ``HitPage``: their ids and ranks at once, the hits when read).

    Each hit is a ``Publication`` with its card's fields, carrying ``search_rank``,
    ``search_title``, ``search_authors``, ``search_subjects`` and ``search_snippet``
    (safe HTML with ``<mark>``).
    """
    parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
    filters = filters or Filters()
    sort = sort if sort in ("relevance", "date") else "relevance"
    result = SearchResult(query=parsed, filters=filters, sort=sort)
    if not parsed:
        return result
    flush_pending()
    engine = _engine()
    # Counted once per query, filters and content version (pages 2, 3… and the other sort reuse it).
    result.total, result.facets = caching.cached(
        f"search:facets:{result.cache_key}", lambda: _facets(engine, result)
    )
    return result


def _ranked(result: SearchResult) -> list[tuple[int, float]]:
    """(id, rank) of the best ``MAX_RESULTS`` hits, in the result's order.

    Computed once per query, filters, sort and content version: ranking costs the
    same for 20 or 1,000, and every further page is then a slice.
    """
    engine = _engine()
    key = f"search:ranked:{result.sort}:{result.cache_key}"
    if result.total > settings.SEARCH_EXACT_RANK_LIMIT:
        return caching.cached(key, lambda: _ranked_in_tiers(engine, result))
    return caching.cached(key, lambda: _ranked_exactly(engine, result))


def _ranked_exactly(engine, result: SearchResult) -> list[tuple[int, float]]:
    """Every visible match scored (``ts_rank``/``bm25``), best first, newest first among equals.

    The matches are the facet index's (visibility and filters already applied), so
    the engine scores them by id without joining the publications; ``sort=date``
    needs no score at all: the facet index is in date order.
    """
    index, mask = _matches(engine, result)
    if result.sort == "date":
        return [(int(pk), 1.0) for pk in index.newest(mask, MAX_RESULTS)]
    positions = np.flatnonzero(mask)
    scores = engine.scores(result.query, index.ids[positions])
    ranks = np.array([scores.get(int(pk), 0.0) for pk in index.ids[positions]], dtype=np.float64)
    # Best score first; among equals the lower position, which is the newer publication.
    order = np.lexsort((positions, -ranks))[:MAX_RESULTS]
    return list(zip(index.ids[positions[order]].tolist(), ranks[order].tolist(), strict=True))


def _ranked_in_tiers(engine, result: SearchResult) -> list[tuple[int, float]]:
    """The order of a large result set, without scoring every match.

    Publications matching every word in their title, authors or subjects come
    first, then those matching some of the words there, then the rest; newest
    first within each tier (``sort=date``: newest first throughout). The rank
    reported is the tier: 3, 2 or 1.
    """
    index, mask = _matches(engine, result)
    if result.sort == "date":
        return [(int(pk), 1.0) for pk in index.newest(mask, MAX_RESULTS)]
    every_word, any_word = engine.head_ids(result.query)
    every = mask & index.mask(every_word)
    some = mask & ~every & index.mask(any_word)
    rest = mask & ~every & ~some
    ranked: list[tuple[int, float]] = []
    for tier, members in ((3.0, every), (2.0, some), (1.0, rest)):
        ranked += [(int(pk), tier) for pk in index.newest(members, MAX_RESULTS - len(ranked))]
    return ranked


# What a hit's card shows of the publication itself.
CARD_FIELDS = ("id", "slug", "kind", "published_at", "title", "subtitle")


class HitPage(Sequence):
    """A page of ranked hits, known by their ids and ranks. The hits themselves, ``Publication``
    objects with their highlights, are made only by code that reads them: the search page renders
    each hit's card once per query, publication and content version (``cards.render_hits``)."""

    def __init__(self, result: SearchResult, rows: list[tuple[int, float]]):
        self.query, self.query_key, self.rows = result.query, result.query_key, rows

    @property
    def ids(self) -> list[int]:
        return [pk for pk, _ in self.rows]

    def made(self, ids: list[int]) -> dict[int, Publication]:
        """The hits of ``ids`` (of this page), each with its ``search_rank`` and highlights; one
        deleted meanwhile is left out."""
        ranks = dict(self.rows)
        found = _hits(self.query, ids)
        for pk, hit in found.items():
            hit.search_rank = float(ranks.get(pk) or 0)
        return found

    @functools.cached_property
    def objects(self) -> list[Publication]:
        found = self.made(self.ids) if self.rows else {}
        return [found[pk] for pk in self.ids if pk in found]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        return self.objects[index]


def card_fields() -> tuple[str, ...]:
    """``CARD_FIELDS`` in the model's order (what ``Model.from_db`` reads)."""
    return _loaded_fields(Publication, CARD_FIELDS)


@functools.cache
def _loaded_fields(model, names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` in ``model``'s field order: the order ``Model.from_db`` reads a row's values in."""
    return tuple(field.attname for field in model._meta.concrete_fields if field.attname in names)


def _hits(query: ParsedQuery, ids: list[int]) -> dict[int, Publication]:
    """Hits by id: the card's own fields, its related names and its snippets (one round trip on
    PostgreSQL)."""
    from authors.models import Author

    engine = _engine()
    rows, related, sources = engine.read_hits(query, ids) if ids else ([], {}, {})
    fields = card_fields()
    publications = {row[0]: Publication.from_db(connection.alias, fields, row) for row in rows}
    author_fields = _loaded_fields(Author, ("id", "slug", "given_name", "family_name"))
    hits = [publications[pk] for pk in ids if pk in publications]  # one may be deleted meanwhile
    texts = {}
    for publication in hits:
        card = CardTexts(title=[clean_text(publication.title), clean_text(publication.subtitle)], people=[])
        for part, pk, slug, name, family_name in related.get(publication.pk, []):
            if part == AUTHOR:
                values = {"id": pk, "slug": slug, "given_name": name, "family_name": family_name}
                author = Author.from_db(connection.alias, author_fields, [values[f] for f in author_fields])
                card.authors.append(author)
                card.people.append(clean_text(author.full_name))
            else:
                (card.tags if part == TAG else card.people).append(clean_text(name))
        texts[publication.pk] = card
    found = engine.snippets(query, texts, sources) if hits else {}
    for publication in hits:
        _set_highlights(publication, texts[publication.pk], found.get(publication.pk) or Highlights())
    return {publication.pk: publication for publication in hits}


def _set_highlights(publication: Publication, texts: CardTexts, found: Highlights) -> None:
    """Give a hit its safe, highlighted texts.

    ``search_title``; ``search_subtitle`` (only when it matched); ``search_authors``
    as (author, name) in byline order; ``search_subjects``, the matching themes,
    regions and tags; ``search_snippet``.
    """
    title = found.title or texts.title
    people = found.people if len(found.people) == len(texts.people) else texts.people
    authors = texts.authors
    publication.search_title = highlight(title[0])
    publication.search_subtitle = highlight(title[1]) if _START in title[1] else ""
    publication.search_authors = [
        (author, highlight(name)) for author, name in zip(authors, people, strict=False)
    ]
    subjects = [*people[len(authors) :], *found.tags]
    publication.search_subjects = [highlight(name) for name in subjects if _START in name]
    publication.search_snippet = highlight(found.snippet)


def filter_by_query(queryset, query: str):
    """The publications of ``queryset`` that match ``query`` (the index's ``?q=``), in its own order.

    An empty or wordless query leaves the queryset as it is.
    """
    parsed = parse_query(query)
    if not parsed:
        return queryset
    flush_pending()
    if connection.vendor == "postgresql":
        tsquery, params = parsed.tsquery()
        table = SearchDocument._meta.db_table
        # Constants and the model's table name; the query's words are parameters.
        matching = RawSQL(f"SELECT publication_id FROM {table} WHERE vector @@ {tsquery}", params)  # noqa: S608, S611
        return queryset.filter(pk__in=matching)
    # The table name is a constant and the query a parameter.
    matching = RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [parsed.fts5()])  # noqa: S608, S611
    return queryset.filter(pk__in=matching)


def matching_people_and_subjects(parsed: ParsedQuery, *, limit: int = 6):
    """Authors, themes and regions whose names contain every word looked for (two queries, once
    per set of words and content version)."""
    words = [word for word in parsed.words if len(word) > 1][:4]
    if not words:
        return [], [], []
    name = f"search:people:{limit}:{hashlib.sha256(repr(words).encode()).hexdigest()[:32]}"
    return caching.cached(name, lambda: _people_and_subjects(words, limit))


def _people_and_subjects(words: list[str], limit: int):
    from authors.models import Author

    author_filter, name_filter = Q(), Q()
    for word in words:
        author_filter &= Q(given_name__icontains=word) | Q(family_name__icontains=word)
        name_filter &= Q(name__icontains=word)
    authors = list(Author.objects.filter(author_filter).select_related("organization")[:limit])
    # Themes and regions in one query, as unsaved instances (enough for their links).
    fields = ("pk", "slug", "name")
    themes = Theme.objects.filter(name_filter).annotate(model=Value("theme")).values("model", *fields)
    regions = Region.objects.filter(name_filter).annotate(model=Value("region")).values("model", *fields)
    found = {"theme": [], "region": []}
    # Vocabularies are small (dozens of names), so the limit is applied here.
    for row in themes.order_by().union(regions.order_by(), all=True).order_by("name"):
        model = Theme if row["model"] == "theme" else Region
        found[row["model"]].append(model(pk=row["pk"], slug=row["slug"], name=row["name"]))
    return authors, found["theme"][:limit], found["region"][:limit]
