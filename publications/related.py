"""What lists show of their publications' related objects, read for many at once.

The cards, the feeds' items and the OAI-PMH records each show the bylines, themes,
regions (and the feeds and records the tags) of a page of publications. They read
them here, as plain rows in one ``UNION ALL``, not as prefetched model instances:
a feed of 30 built 31 of taggit's querysets alone, and an OAI page of 100 records
thousands of instances.

The publication page reads its one publication's related objects as model instances, since the
template, the head metadata and the citations read ``publication.themes.all()`` and the like:
``prefetch_detail()``, with the themes, regions and tags in one query of the same kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects
from taggit.models import Tag, TaggedItem

from authors.models import Author, PersonName
from publications.models import Authorship, Publication, Reference

AUTHOR, THEME, REGION, TAG = range(4)  # each row's part, in the order they are shown


@dataclass(frozen=True)
class Byline(PersonName):
    """An author as a list shows them (``full_name``, ``sort_name``)."""

    given_name: str
    family_name: str
    slug: str


@dataclass
class Related:
    """A publication's related objects, each kind in its display order."""

    authors: list[Byline] = field(default_factory=list)  # in byline order
    themes: list[tuple[str, str]] = field(default_factory=list)  # (slug, name), by name
    regions: list[tuple[str, str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # names, sorted


def related(ids: Iterable[int], *, authors: bool = True, tags: bool = False) -> dict[int, Related]:
    """The related objects of the publications with these ids, in one query; a publication
    with none is left out (use ``.get(pk, Related())``)."""
    ids = [int(pk) for pk in ids]  # numpy's integers too (the facet index's ids)
    if not ids:
        return {}
    found: dict[int, Related] = {}
    for pk, part, _, _, name, family_name, slug in sorted(_rows(ids, authors, tags), key=_in_order):
        item = found.setdefault(pk, Related())
        if part == AUTHOR:
            item.authors.append(Byline(name, family_name, slug))
        elif part == TAG:
            item.tags.append(name)
        else:
            (item.themes if part == THEME else item.regions).append((slug, name))
    return found


def attach_related(publications: list, *, authors: bool = True, tags: bool = False) -> list:
    """Give each of ``publications`` its :class:`Related` as ``publication.related`` (one query)."""
    found = related([publication.pk for publication in publications], authors=authors, tags=tags)
    for publication in publications:
        publication.related = found.get(publication.pk, Related())
    return publications


def prefetch_detail(publications: list[Publication]) -> list[Publication]:
    """Read what the publication page shows besides the publication's own fields: the authorships
    (with their authors and the authors' organizations) and the references, prefetched, then the
    themes, regions and tags (:func:`prefetch_topics`)."""
    authorships = Authorship.objects.select_related("author__organization").order_by("position")
    prefetch_related_objects(
        publications,
        Prefetch("authorships", queryset=authorships),
        Prefetch("references", queryset=Reference.objects.order_by("position")),
    )
    return prefetch_topics(publications)


def prefetch_topics(publications: list[Publication]) -> list[Publication]:
    """Prefetch the themes, regions and tags of ``publications`` as model instances, in one query.

    ``publication.themes.all()`` (and ``regions``, ``tags``) then read no query, as after
    ``prefetch_related()``, which reads them in three queries it builds anew each time: on the
    publication page with every cache off, those took 2.6 ms, this 0.8 (in one process).
    Each kind is in name order.
    """
    by_pk = {int(publication.pk): publication for publication in publications}
    if not by_pk:
        return publications
    links = _topic_links(tags=True)
    models = {part: model for part, _, _, model, _ in links}
    fields = {part: model._meta.concrete_fields for part, model in models.items()}
    width = max(len(each) for each in fields.values())

    def columns(part: int) -> str:  # the name to sort by, then every field, padded with NULLs
        read = [f"v.{field.column}" for field in fields[part]]
        return ", ".join(["v.name", *read] + ["NULL"] * (width - len(read)))

    parts = [(part, link, column, model, join, columns(part)) for part, link, column, model, join in links]
    sql, params = _union(parts, list(by_pk))
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY 2, 3", params)  # by kind, then by name (the models' order)
        rows = cursor.fetchall()
    names = {part: [field.attname for field in each] for part, each in fields.items()}
    found = {(pk, part): [] for pk in by_pk for part in fields}
    for pk, part, _, *values in rows:
        found[(pk, part)].append(
            models[part].from_db(connection.alias, names[part], values[: len(names[part])])
        )
    for publication in publications:
        cache = getattr(publication, "_prefetched_objects_cache", None)
        if cache is None:
            cache = publication._prefetched_objects_cache = {}
        for part, name in ((THEME, "themes"), (REGION, "regions"), (TAG, "tags")):
            queryset = getattr(publication, name).get_queryset()
            queryset._result_cache = found[(int(publication.pk), part)]
            queryset._prefetch_done = True
            cache[name] = queryset
    return publications


def _topic_links(*, tags: bool) -> list[tuple]:
    """(part, link model, its publication column, the topic model, the join) of each topic kind."""
    themes, regions = (Publication._meta.get_field(name) for name in ("themes", "regions"))
    links = [
        (part, m2m.remote_field.through, m2m.m2m_column_name(), m2m.related_model,
         f"v.id = l.{m2m.m2m_reverse_name()}")
        for part, m2m in ((THEME, themes), (REGION, regions))
    ]  # fmt: skip
    if tags:
        content_type = int(ContentType.objects.get_for_model(Publication).pk)
        join = f"v.id = l.tag_id AND l.content_type_id = {content_type}"
        links.append((TAG, TaggedItem, "object_id", Tag, join))
    return links


def _union(parts: list[tuple], ids: list[int]) -> tuple[str, list]:
    """One ``SELECT`` per part, joined with ``UNION ALL``: each row starts with the publication's id
    and the part, then the part's columns."""
    if connection.vendor == "postgresql":
        matching, params = "= ANY(%s)", [ids] * len(parts)
    else:
        matching, params = f"IN ({', '.join(['%s'] * len(ids))})", ids * len(parts)
    sql = " UNION ALL ".join(
        f"SELECT l.{column}, {part}, {columns} FROM {link._meta.db_table} l "  # noqa: S608 - names from the models
        f"JOIN {model._meta.db_table} v ON {join} WHERE l.{column} {matching}"
        for part, link, column, model, join, columns in parts
    )
    return sql, params


def _rows(ids: list[int], authors: bool, tags: bool) -> list[tuple]:
    """Each row: (publication, part, position, tie, name, family name, slug).

    Written as SQL rather than as querysets the ORM puts together: for a page of 20 cards, building
    and compiling those took longer than running the query (2.7 ms in all, the query 0.9).
    """
    # (part, link table, its publication column, the other table, the join, the columns read)
    slugs = {THEME: "v.slug", REGION: "v.slug", TAG: "''"}  # tags are shown by name alone
    parts = [(*link, f"0, 0, v.name, '', {slugs[link[0]]}") for link in _topic_links(tags=tags)]
    if authors:
        columns = "l.position, l.id, v.given_name, v.family_name, v.slug"
        parts.append((AUTHOR, Authorship, "publication_id", Author, "v.id = l.author_id", columns))
    sql, params = _union(parts, ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _in_order(row: tuple) -> tuple:
    _, part, position, tie, name, _, _ = row
    return (part, position, tie) if part == AUTHOR else (part, name)
