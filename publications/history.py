"""The revision history of a publication's related objects.

simple-history records the publication's own fields. Its authors (in byline order,
with the author for correspondence), references (in order), themes, regions, tags
and figures live in other tables, so each historical row also keeps a JSON
snapshot of them (``HistoricalPublication.related``):

- taken when the row is created (every save: bulk actions, imports, services), and
- taken again, on the same row, once the admin has saved the form's inlines and
  many-to-many fields (``history_capture_related``): one row per admin save, and it
  shows what that save did to the related objects.

``related_changes`` compares two snapshots for the history page and the compare
view; ``publication_restore_related`` puts an old snapshot's authors, references and
figures back. Rows saved before snapshots existed have ``related = None``: they show
and compare their own fields only, and restoring them leaves the related objects alone.
"""

from __future__ import annotations

import difflib

from django.core.files.storage import default_storage
from taggit.models import Tag

from publications.models import Authorship, Figure, Publication, Reference, Region, Theme

RELATED_LABELS = {
    "authors": "Authors",
    "references": "References",
    "themes": "Themes",
    "regions": "Regions",
    "tags": "Tags",
    "figures": "Figures",
}


def related_snapshot(publication: Publication) -> dict:
    """The publication's related objects as stored now, as JSON-ready data (six queries).

    Read from the tables, never from a prefetch cache on ``publication``: the snapshot must
    be what was just saved.
    """
    pk = publication.pk
    authorships = (
        Authorship.objects.filter(publication_id=pk).select_related("author").order_by("position", "pk")
    )
    return {
        "authors": [
            {
                "author": authorship.author_id,
                "name": str(authorship.author),
                "position": authorship.position,
                "corresponding": authorship.is_corresponding,
            }
            for authorship in authorships
        ],
        "references": [
            {
                "position": reference.position,
                "text": reference.text,
                "doi": reference.doi,
                "url": reference.url,
                "accessed_on": reference.accessed_on.isoformat() if reference.accessed_on else None,
                "language": reference.language,
            }
            for reference in Reference.objects.filter(publication_id=pk).order_by("position", "pk")
        ],
        "themes": [{"id": theme.pk, "name": theme.name} for theme in Theme.objects.filter(publications=pk)],
        "regions": [
            {"id": region.pk, "name": region.name} for region in Region.objects.filter(publications=pk)
        ],
        "tags": sorted(Tag.objects.filter(publication=pk).values_list("name", flat=True)),
        "figures": [
            {
                "id": figure.pk,
                "position": figure.position,
                "image": figure.image.name,
                "width": figure.width,
                "height": figure.height,
                "alt_text": figure.alt_text,
                "caption": figure.caption,
            }
            for figure in Figure.objects.filter(publication_id=pk).order_by("position", "pk")
        ],
    }


def history_capture_related(*, publication: Publication) -> None:
    """Record the related objects as saved now on the history row of ``publication``'s last save.

    The admin calls it after saving the inlines and many-to-many fields, so the row made by
    the save shows them; without a row from this save (nothing recorded) it does nothing.
    """
    record = getattr(publication, "_history_record", None)
    if record is None or record.pk is None:
        return
    record.related = related_snapshot(publication)
    type(record).objects.filter(pk=record.pk).update(related=record.related)


# Comparing ------------------------------------------------------------------------------


def _author_label(entry: dict) -> str:
    return entry["name"] + (" (corresponding)" if entry.get("corresponding") else "")


def _reference_line(entry: dict) -> str:
    parts = [entry["text"]]
    if entry.get("doi"):
        parts.append(f"DOI: {entry['doi']}")
    if entry.get("url"):
        parts.append(f"URL: {entry['url']}")
    if entry.get("accessed_on"):
        parts.append(f"(accessed {entry['accessed_on']})")
    if entry.get("language"):
        parts.append(f"[{entry['language']}]")
    return " ".join(parts)


def _figure_line(entry: dict) -> str:
    caption = f" – {entry['caption']}" if entry.get("caption") else ""
    return f"Figure {entry['position']}: {entry['alt_text']}{caption} ({entry['image'].rsplit('/', 1)[-1]})"


def _names(entries: list) -> list[str]:
    return sorted(entry if isinstance(entry, str) else entry["name"] for entry in entries)


def _list_change(label: str, old: list[str], new: list[str]) -> dict:
    """A change of an ordered list: counts, what came and went, or that only the order changed."""
    added = [line for line in new if line not in old]
    removed = [line for line in old if line not in new]
    if not added and not removed:
        note = "order changed"
    else:
        note = "; ".join(
            part
            for part in (f"{len(added)} added" if added else "", f"{len(removed)} removed" if removed else "")
            if part
        )
    diff = list(difflib.unified_diff(old, new, "before", "after", lineterm="", n=1))
    return {
        "label": label,
        "old": f"{len(old)} {label.lower() if len(old) != 1 else label.lower().rstrip('s')}",
        "new": f"{len(new)} {label.lower() if len(new) != 1 else label.lower().rstrip('s')}",
        "note": note,
        "diff": diff,
    }


def related_changes(old: dict | None, new: dict | None) -> list[dict]:
    """What changed in the related objects from snapshot ``old`` to ``new``.

    One dict per changed kind, with ``label``, ``old`` and ``new`` (short texts), ``note``
    (what was added or removed) and, for references and figures, ``diff`` (unified diff
    lines, so a reordering shows). Empty when either side was never recorded.
    """
    if old is None or new is None:
        return []
    changes = []
    old_authors = [_author_label(entry) for entry in old.get("authors", [])]
    new_authors = [_author_label(entry) for entry in new.get("authors", [])]
    if old_authors != new_authors:
        changes.append(
            {
                "label": "Authors",
                "old": ", ".join(old_authors),
                "new": ", ".join(new_authors),
                "note": "",
                "diff": None,
            }
        )
    for key, line in (("references", _reference_line), ("figures", _figure_line)):
        old_lines = [line(entry) for entry in old.get(key, [])]
        new_lines = [line(entry) for entry in new.get(key, [])]
        if old_lines != new_lines:
            changes.append(_list_change(RELATED_LABELS[key], old_lines, new_lines))
    for key in ("themes", "regions", "tags"):
        old_names, new_names = _names(old.get(key, [])), _names(new.get(key, []))
        if old_names != new_names:
            added = [name for name in new_names if name not in old_names]
            removed = [name for name in old_names if name not in new_names]
            note = "; ".join(
                part
                for part in (
                    f"added {', '.join(added)}" if added else "",
                    f"removed {', '.join(removed)}" if removed else "",
                )
                if part
            )
            changes.append(
                {
                    "label": RELATED_LABELS[key],
                    "old": ", ".join(old_names),
                    "new": ", ".join(new_names),
                    "note": note,
                    "diff": None,
                }
            )
    # In the order of the change form.
    order = list(RELATED_LABELS.values())
    return sorted(changes, key=lambda change: order.index(change["label"]))


# Restoring ------------------------------------------------------------------------------


def publication_restore_related(*, publication: Publication, snapshot: dict) -> list[str]:
    """Give ``publication`` the authors, references and figures of ``snapshot`` (themes, regions
    and tags come back through the restore form, which shows them).

    Call it inside the restore's transaction. Returns what could not be restored (an author
    deleted since, a figure whose file is gone), for the editor to see.
    """
    from authors.models import Author

    problems: list[str] = []
    wanted = snapshot.get("authors", [])
    existing = set(
        Author.objects.filter(pk__in=[entry["author"] for entry in wanted]).values_list("pk", flat=True)
    )
    Authorship.objects.filter(publication=publication).delete()
    Authorship.objects.bulk_create(
        Authorship(
            publication=publication,
            author_id=entry["author"],
            position=entry["position"],
            is_corresponding=entry["corresponding"],
        )
        for entry in wanted
        if entry["author"] in existing
    )
    problems += [
        f"Author {entry['name']} no longer exists and was left out."
        for entry in wanted
        if entry["author"] not in existing
    ]

    Reference.objects.filter(publication=publication).delete()
    Reference.objects.bulk_create(
        Reference(
            publication=publication,
            position=entry["position"],
            text=entry["text"],
            doi=entry["doi"],
            url=entry["url"],
            accessed_on=entry["accessed_on"],
            language=entry["language"],
        )
        for entry in snapshot.get("references", [])
    )

    # Deleting a figure keeps its file (Django never deletes files), so an old figure comes back
    # with the same file; its row may have to be made again.
    current = {figure.pk: figure for figure in Figure.objects.filter(publication=publication)}
    kept = []
    for entry in snapshot.get("figures", []):
        figure = current.get(entry["id"])
        if figure is None:
            if not default_storage.exists(entry["image"]):
                problems.append(f"The image of figure {entry['position']} is gone; the figure was left out.")
                continue
            figure = Figure(publication=publication)
        figure.position = entry["position"]
        figure.image.name = entry["image"]
        figure.width, figure.height = entry["width"], entry["height"]
        figure.alt_text, figure.caption = entry["alt_text"], entry["caption"]
        figure.save()
        kept.append(figure.pk)
    Figure.objects.filter(publication=publication).exclude(pk__in=kept).delete()
    return problems


def snapshot_initial(snapshot: dict) -> dict:
    """Form initial values for the themes, regions and tags of ``snapshot`` (those still existing)."""
    from taggit.utils import edit_string_for_tags

    return {
        "themes": list(
            Theme.objects.filter(pk__in=[entry["id"] for entry in snapshot.get("themes", [])]).values_list(
                "pk", flat=True
            )
        ),
        "regions": list(
            Region.objects.filter(pk__in=[entry["id"] for entry in snapshot.get("regions", [])]).values_list(
                "pk", flat=True
            )
        ),
        "tags": edit_string_for_tags([Tag(name=name) for name in snapshot.get("tags", [])]),
    }


# Recording --------------------------------------------------------------------------------


def _history_row_created(sender, instance, history_instance, **kwargs) -> None:
    """Each new history row of a publication starts with the related objects as stored now."""
    if not isinstance(instance, Publication):
        return
    history_instance.related = related_snapshot(instance)
    # For history_capture_related: the row of this save, to complete after the inlines.
    instance._history_record = history_instance


def connect() -> None:
    """Called from ``PublicationsConfig.ready()``."""
    from simple_history.signals import pre_create_historical_record

    pre_create_historical_record.connect(
        _history_row_created, sender=Publication.history.model, dispatch_uid="publications.history.related"
    )
