"""Whole-site backups: the database content as JSON plus the media files.

``site_export`` writes a backup (a directory, or a ``.tar.gz`` of one) and
``site_import`` restores it into an empty database. The layout::

    manifest.json   format version, time, object count per model, checksums of
                    data.json and of every media file
    data.json       every row, in Django's JSON serialization format (what dumpdata
                    writes) with natural keys, but timestamps to the microsecond
    media/          a copy of MEDIA_ROOT

The import reads and checks everything first, then inserts the rows in batches in
one transaction (no per-row signals), resets PostgreSQL's sequences and rebuilds
the derived data once.

Content types and permissions are left out (``migrate`` creates them, and the
data refers to them by natural key), as are sessions (short-lived and tied to
the secret key). Everything else, including users, tags, subscribers and the
task queue, is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import json
import shutil
import tarfile
import tempfile
import zlib
from collections import Counter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.json import Serializer as JSONSerializer
from django.core.serializers.python import Deserializer as PythonDeserializer
from django.db import DatabaseError, connection, transaction
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


class _ExactJSONEncoder(DjangoJSONEncoder):
    """Datetimes and times with their microseconds.

    ``DjangoJSONEncoder`` writes them to the millisecond (ECMA-262), so a backup
    written with it restores ``12:00:01.000412`` as ``12:00:01``: every timestamp
    changes a little, and a comparison made with the same encoder sees it only for
    rows whose milliseconds happen to be ``.000``.
    """

    def default(self, o):
        if isinstance(o, dt.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        if isinstance(o, dt.time):
            return o.isoformat()
        return super().default(o)


class _Serializer(JSONSerializer):
    """Django's JSON serializer (the format ``dumpdata`` writes), with each natural key looked up once.

    The stock serializer fetches the related row of every natural foreign key (a query per
    tagged item, log entry or history row) to ask it for its key; here each distinct target is
    fetched once. Many-to-many values come prefetched (see ``_rows``).
    """

    def start_serialization(self):
        super().start_serialization()
        self._natural_keys: dict[tuple, object] = {}

    def handle_fk_field(self, obj, field):
        model = field.remote_field.model
        if not (self.use_natural_foreign_keys and hasattr(model, "natural_key")):
            return super().handle_fk_field(obj, field)
        value = getattr(obj, field.attname)
        if value is not None:
            key = (model, value)
            if key not in self._natural_keys:
                self._natural_keys[key] = getattr(obj, field.name).natural_key()
            value = self._natural_keys[key]
        self._current[field.name] = value

    def handle_m2m_field(self, obj, field):
        # Django's own version builds a queryset per row and field even when the values are prefetched.
        prefetched = getattr(obj, "_prefetched_objects_cache", {})
        if field.name not in prefetched or not field.remote_field.through._meta.auto_created:
            return super().handle_m2m_field(obj, field)
        if self.use_natural_foreign_keys and hasattr(field.remote_field.model, "natural_key"):
            values = [related.natural_key() for related in prefetched[field.name]]
        else:
            values = [self._value_from_field(related, related._meta.pk) for related in prefetched[field.name]]
        self._current[field.name] = values

    def end_object(self, obj):
        # json.dumps runs the C encoder; json.dump (Django's choice) encodes in Python, piece by piece.
        if not self.first:
            self.stream.write(", ")
        self.stream.write(json.dumps(self.get_dump_object(obj), **self.json_kwargs))
        self._current = None


def _ordered_models() -> list:
    """The backed-up models, every model with a natural key before the models that refer to it."""
    by_app: dict = {}
    for model in backed_up_models():
        by_app.setdefault(model._meta.app_config, []).append(model)
    return serializers.sort_dependencies(by_app.items(), allow_cycles=True)


def _rows(model):
    """Every row of ``model`` in primary key order, many-to-many values prefetched, in chunks."""
    queryset = model._base_manager.order_by(model._meta.pk.name)
    many = [
        field.name
        for field in model._meta.local_many_to_many
        if field.serialize and field.remote_field.through._meta.auto_created
    ]
    if many:
        queryset = queryset.prefetch_related(*many)
    return queryset.iterator(chunk_size=2000)


def _serialize(models, stream) -> Counter:
    """Write the rows of ``models`` to ``stream`` as JSON; return the object count per model."""
    counts = Counter()

    def objects():
        for model in models:
            for obj in _rows(model):
                counts[model._meta.label_lower] += 1
                yield obj

    _Serializer().serialize(objects(), stream=stream, use_natural_foreign_keys=True, cls=_ExactJSONEncoder)
    return counts


def _dump_data(path: Path) -> Counter:
    # Ids are kept (natural primary keys are not used: taggit's tagged-item "natural key" is not unique).
    with path.open("w", encoding="utf-8") as stream:
        return _serialize(_ordered_models(), stream)


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
            "data_sha256": _file_digest(folder / "data.json"),
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


def _refuse_non_empty_database() -> None:
    busy = _non_empty_models()
    if busy:
        raise ValidationError(
            "The database is not empty (" + ", ".join(busy[:5]) + (", …" if len(busy) > 5 else "") + "). "
            "import_site restores into an empty database only: create a new one and run migrate first. "
            "Nothing was imported."
        )


def _safe_extract(tar: tarfile.TarFile, destination: Path) -> None:
    """Extract regular files and folders only, never outside ``destination``."""
    for member in tar.getmembers():
        if not (member.isfile() or member.isdir()):
            raise ValidationError(f"Unexpected entry in the archive: {member.name!r}.")
    tar.extractall(destination, filter="data")


def _unpack(source: Path, scratch: Path) -> Path:
    """The backup folder: ``source`` itself, or ``source`` (a .tar.gz) extracted into ``scratch``."""
    if not source.is_file():
        return source
    try:
        with tarfile.open(source, "r:*") as tar:
            _safe_extract(tar, scratch)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise ValidationError(
            f"{source} is damaged or not a site backup (the archive cannot be read: {error}). "
            "Nothing was imported."
        ) from error
    return scratch / "backup"


def _read_backup(folder: Path, source: Path) -> tuple[dict, list[dict]]:
    """The manifest and the rows of the backup in ``folder``, checked against each other."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise ValidationError(f"{source} is not a site backup (no readable manifest.json).") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ValidationError(f"Unsupported backup format {found!r}.")
    data_path = folder / "data.json"
    # Backups written before the checksum was recorded are checked by their object counts only.
    expected = manifest.get("data_sha256")
    if expected and (not data_path.is_file() or _file_digest(data_path) != expected):
        raise ValidationError(
            f"{source}: data.json is missing or damaged (its checksum differs from the manifest's). "
            "Nothing was imported."
        )
    try:
        with data_path.open("rb") as stream:
            rows = json.load(stream)
        counts = Counter(row["model"] for row in rows)
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise ValidationError(
            f"{source}: data.json cannot be read ({error}). Nothing was imported."
        ) from error
    if dict(counts) != manifest.get("objects"):
        raise ValidationError(
            f"{source}: data.json does not match the manifest's object counts. Nothing was imported."
        )
    return manifest, rows


class _Deserializer(PythonDeserializer):
    """Django's deserializer, with each natural key looked up once (not once per row)."""

    def __init__(self, object_list, *, resolved: dict, **options):
        super().__init__(object_list, **options)
        self._resolved = resolved  # shared by the deserializers of one import

    def _handle_fk_field_node(self, field, field_value):
        if not isinstance(field_value, list):
            return super()._handle_fk_field_node(field, field_value)
        key = (field.remote_field.model, field.remote_field.field_name, tuple(field_value))
        if key not in self._resolved:
            self._resolved[key] = super()._handle_fk_field_node(field, field_value)
        return self._resolved[key]

    def _handle_m2m_field_node(self, field, field_value):
        if not any(isinstance(value, list) for value in field_value):
            return super()._handle_m2m_field_node(field, field_value)
        values = []
        for value in field_value:
            key = (field.remote_field.model, None, tuple(value) if isinstance(value, list) else value)
            if key not in self._resolved:
                self._resolved[key] = super()._handle_m2m_field_node(field, [value])[0]
            values.append(self._resolved[key])
        return values


class _BulkLoader:
    """Insert deserialized rows a model at a time in multi-row INSERTs, as they are.

    ``loaddata`` saves row by row and sends signals that update derived data (the search
    index, the content version) for every row and many-to-many set; here the rows go in
    raw (no signals, ``auto_now`` fields kept) and the derived data is rebuilt once at the
    end. ``export_site`` writes the rows of a model together, natural-key models first.
    """

    BATCH = 500

    def __init__(self, using: str):
        self.using = using
        self.model = None
        self.pending: list = []
        self.links: dict = {}  # auto-created many-to-many table -> its rows
        self.models: list = []

    def add(self, deserialized) -> None:
        obj = deserialized.object
        if type(obj) is not self.model:
            self.flush()
            self.model = type(obj)
            if self.model not in self.models:
                self.models.append(self.model)
        self.pending.append(obj)
        for name, values in deserialized.m2m_data.items():
            field = self.model._meta.get_field(name)
            through = field.remote_field.through
            source = through._meta.get_field(field.m2m_field_name()).attname
            target = through._meta.get_field(field.m2m_reverse_field_name()).attname
            self.links.setdefault(through, []).extend(
                through(**{source: obj.pk, target: value}) for value in values
            )

    def flush(self) -> None:
        if self.pending:
            model, objs = self.model, self.pending
            fields = model._meta.local_concrete_fields
            size = max(1, min(self.BATCH, connection.ops.bulk_batch_size(fields, objs)))
            manager = model._base_manager.using(self.using)
            for start in range(0, len(objs), size):
                # What Model.save_base(raw=True) does for one row (loaddata), for a batch of rows.
                manager._insert(objs[start : start + size], fields=fields, raw=True, using=self.using)
            self.pending = []
        for through, rows in self.links.items():
            through._base_manager.using(self.using).bulk_create(rows, batch_size=self.BATCH)
        self.links = {}


def _load_rows(rows: list[dict]) -> list:
    """Insert every row (inside the caller's transaction); return the models loaded."""
    using = connection.alias
    loader = _BulkLoader(using)
    resolved: dict[tuple, object] = {}
    # A model's rows are inserted before the next model's are read (they may name them by natural key).
    for _label, group in itertools.groupby(rows, key=lambda row: row["model"]):
        for deserialized in _Deserializer(list(group), using=using, resolved=resolved):
            loader.add(deserialized)
        loader.flush()
    # Foreign keys are checked at commit anyway; checking them now gives a clear error.
    connection.check_constraints(table_names=[model._meta.db_table for model in loader.models])
    # The rows keep their ids: PostgreSQL's sequences must move past them (SQLite's follow by themselves).
    statements = connection.ops.sequence_reset_sql(no_style(), loader.models)
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return loader.models


def site_import(*, source: Path) -> dict:
    """Restore a backup from ``source`` (directory or ``.tar.gz``) into an empty database.

    Refuses when any backed-up table has rows. The archive, the checksums and the
    object counts are checked before anything is written; the database part
    (rows, sequences, search index) is one transaction, so on any error nothing
    is kept. Media files are copied after it commits; a file already present with
    other content is refused beforehand.
    """
    source = Path(source)
    _refuse_non_empty_database()
    with tempfile.TemporaryDirectory() as scratch:
        folder = _unpack(source, Path(scratch))
        manifest, rows = _read_backup(folder, source)
        media_root = Path(settings.MEDIA_ROOT)
        for relative, digest in manifest["media"].items():
            copied = folder / "media" / relative
            if not copied.is_file() or _file_digest(copied) != digest:
                raise ValidationError(f"Media file {relative} is missing or damaged in the backup.")
            existing = media_root / relative
            if existing.exists() and _file_digest(existing) != digest:
                raise ValidationError(f"Media file {relative} already exists with other content.")
        try:
            with transaction.atomic():
                for label in CREATED_BY_MIGRATE:
                    apps.get_model(label)._base_manager.all().delete()
                _load_rows(rows)
                _rebuild_derived_data()
        except (DeserializationError, DatabaseError, ObjectDoesNotExist) as error:
            reason = " ".join(str(error).split())  # PostgreSQL's DETAIL comes on a line of its own
            raise ValidationError(
                f"{source}: the data could not be restored ({reason}). Nothing was imported."
            ) from error
        del rows
        for relative in manifest["media"]:
            destination = media_root / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / "media" / relative, destination)
    with connection.cursor() as cursor:
        # Fresh planner statistics for the new rows (as after seed_demo).
        cursor.execute("ANALYZE")
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
    _serialize(backed_up_models(), stream)
    return sorted(json.loads(stream.getvalue()), key=lambda item: json.dumps(item, sort_keys=True))
