"""What lists show of their publications' related objects, read for many at once.

The cards, the feeds' items and the OAI-PMH records each show the bylines, themes,
regions (and the feeds and records the tags) of a page of publications. They read
them here, as plain rows in one ``UNION ALL``, not as prefetched model instances:
a feed of 30 built 31 of taggit's querysets alone, and an OAI page of 100 records
thousands of instances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import Value
from taggit.models import TaggedItem

from authors.models import PersonName
from publications.models import Authorship, Publication

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
    ids = list(ids)
    if not ids:
        return {}
    # Each row: (publication, part, position, tie, name, family name, slug).
    rows = [
        Publication._meta.get_field(relation)
        .remote_field.through.objects.filter(publication__in=ids)
        .order_by()
        .values_list(
            "publication", Value(part), Value(0), Value(0), f"{target}__name", Value(""), f"{target}__slug"
        )
        for part, relation, target in ((THEME, "themes", "theme"), (REGION, "regions", "region"))
    ]
    if authors:
        rows.append(
            Authorship.objects.filter(publication__in=ids)
            .order_by()
            .values_list(
                "publication",
                Value(AUTHOR),
                "position",
                "pk",
                "author__given_name",
                "author__family_name",
                "author__slug",
            )
        )
    if tags:
        rows.append(
            TaggedItem.objects.filter(
                content_type=ContentType.objects.get_for_model(Publication), object_id__in=ids
            )
            .order_by()
            .values_list("object_id", Value(TAG), Value(0), Value(0), "tag__name", Value(""), Value(""))
        )
    found: dict[int, Related] = {}
    for pk, part, _, _, name, family_name, slug in sorted(rows[0].union(*rows[1:], all=True), key=_in_order):
        item = found.setdefault(pk, Related())
        if part == AUTHOR:
            item.authors.append(Byline(name, family_name, slug))
        elif part == TAG:
            item.tags.append(name)
        else:
            (item.themes if part == THEME else item.regions).append((slug, name))
    return found


def _in_order(row: tuple) -> tuple:
    _, part, position, tie, name, _, _ = row
    return (part, position, tie) if part == AUTHOR else (part, name)
