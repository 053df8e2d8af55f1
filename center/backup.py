"""Whole-site backups: the database content as JSON plus the media files.

``site_export`` writes a backup (a directory, or a ``.tar.gz`` of one) and
``site_import`` restores it into an empty database. The layout::

    manifest.json   format version, time, object count per model, media file list
    data.json       every row, as Django's JSON serialization with natural keys
    media/          a copy of MEDIA_ROOT

Content types and permissions are left out (``migrate`` creates them, and the
data refers to them by natural key), as are sessions (short-lived and tied to
the secret key). Everything else, including users, tags, subscribers and the
task queue, is kept.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

FORMAT_VERSION = 1
# Derived data is left out and rebuilt on import: the search index (PostgreSQL's SearchDocument;
# on SQLite an FTS5 table Django does not know) is rebuilt by ``rebuild_search_index``.
EXCLUDED_MODELS = {
    "contenttypes.contenttype",
    "auth.permission",
    "sessions.session",
    "publications.searchdocument",
}
# Rows that migrations create (the editorial roles): present in a fresh database, not counted
# as content, and replaced on import by the backup's own (same names, permissions and ids).
CREATED_BY_MIGRATE = {"auth.group"}


def backed_up_models() -> list:
    """The models whose rows a backup holds (every concrete, managed model but the excluded ones)."""
    return [
        model
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and model._meta.label_lower not in EXCLUDED_MODELS
    ]


def _dump_data(path: Path) -> Counter:
    call_command(
        "dumpdata",
        *(model._meta.label for model in backed_up_models()),
        natural_foreign=True,
        natural_primary=False,  # keep ids (taggit's tagged-item "natural key" is not unique)
        use_base_manager=True,
        output=str(path),
        verbosity=0,
    )
    counts = Counter()
    with path.open("rb") as data:
        for item in json.load(data):
            counts[item["model"]] += 1
    return counts


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def site_export(*, target: Path) -> dict:
    """Write a backup to ``target`` (a directory, or a file ending in ``.tar.gz``); return the manifest."""
    target = Path(target)
    archive = target.name.endswith((".tar.gz", ".tgz"))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "backup" if archive else target
        if folder.exists() and any(folder.iterdir()):
            raise ValidationError(f"{folder} exists and is not empty.")
        folder.mkdir(parents=True, exist_ok=True)
        # One consistent snapshot of every table (PostgreSQL: repeatable read in one transaction).
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts = _dump_data(folder / "data.json")
        media_root = Path(settings.MEDIA_ROOT)
        media = {}
        if media_root.is_dir():
            for source in sorted(p for p in media_root.rglob("*") if p.is_file()):
                relative = source.relative_to(media_root).as_posix()
                destination = folder / "media" / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, destination)
                media[relative] = _file_digest(destination)
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": timezone.now().isoformat(),
            "database_vendor": connection.vendor,
            "objects": dict(sorted(counts.items())),
            "media": media,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
        if archive:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(target, "w:gz") as tar:
                tar.add(folder, arcname="backup")
    return manifest


def _non_empty_models() -> list[str]:
    return [
        model._meta.label
        for model in backed_up_models()
        if model._meta.label_lower not in CREATED_BY_MIGRATE and model._base_manager.exists()
    ]


def _safe_extract(tar: tarfile.TarFile, destination: Path) -> None:
    """Extract regular files and folders only, never outside ``destination``."""
    for member in tar.getmembers():
        if not (member.isfile() or member.isdir()):
            raise ValidationError(f"Unexpected entry in the archive: {member.name!r}.")
    tar.extractall(destination, filter="data")


def site_import(*, source: Path) -> dict:
    """Restore a backup from ``source`` (directory or ``.tar.gz``) into an empty database.

    Refuses when any backed-up table has rows. The database part is one
    transaction: on any error nothing is kept. Media files are copied after it
    commits; a file already present with other content is refused beforehand.
    """
    source = Path(source)
    busy = _non_empty_models()
    if busy:
        raise ValidationError(
            "The database is not empty (" + ", ".join(busy[:5]) + (", …" if len(busy) > 5 else "") + "). "
            "import_site restores into an empty database only: create a new one and run migrate first."
        )
    with tempfile.TemporaryDirectory() as scratch:
        if source.is_file():
            with tarfile.open(source, "r:*") as tar:
                _safe_extract(tar, Path(scratch))
            folder = Path(scratch) / "backup"
        else:
            folder = source
        try:
            manifest = json.loads((folder / "manifest.json").read_text())
        except (OSError, ValueError) as error:
            raise ValidationError(f"{source} is not a site backup (no readable manifest.json).") from error
        if manifest.get("format") != FORMAT_VERSION:
            raise ValidationError(f"Unsupported backup format {manifest.get('format')!r}.")
        media_root = Path(settings.MEDIA_ROOT)
        for relative, digest in manifest["media"].items():
            copied = folder / "media" / relative
            if not copied.is_file() or _file_digest(copied) != digest:
                raise ValidationError(f"Media file {relative} is missing or damaged in the backup.")
            existing = media_root / relative
            if existing.exists() and _file_digest(existing) != digest:
                raise ValidationError(f"Media file {relative} already exists with other content.")
        with transaction.atomic():
            for label in CREATED_BY_MIGRATE:
                apps.get_model(label)._base_manager.all().delete()
            call_command("loaddata", str(folder / "data.json"), verbosity=0)
            restored = Counter()
            with (folder / "data.json").open("rb") as data:
                for item in json.load(data):
                    restored[item["model"]] += 1
            if dict(restored) != manifest["objects"]:
                raise ValidationError("The data does not match the manifest's object counts.")
        for relative in manifest["media"]:
            destination = media_root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / "media" / relative, destination)
    _rebuild_derived_data()
    from center import caching

    caching.bulk_content_changed()
    return manifest


def _rebuild_derived_data() -> None:
    """Rebuild what the backup leaves out because it is computed from the rows (the search index)."""
    from django.core.management import get_commands

    if "rebuild_search_index" in get_commands():
        call_command("rebuild_search_index", stdout=io.StringIO())


def serialized_site() -> list[dict]:
    """Every backed-up row as comparable plain data (for tests and checks)."""
    stream = io.StringIO()
    objects = (obj for model in backed_up_models() for obj in model._base_manager.order_by("pk").iterator())
    serializers.serialize("json", objects, stream=stream, use_natural_foreign_keys=True)
    return sorted(json.loads(stream.getvalue()), key=lambda item: json.dumps(item, sort_keys=True))
