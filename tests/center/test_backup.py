"""export_site / import_site: a complete backup that restores into an empty database."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from center.backup import serialized_site
from center.management.commands.import_site import Command as ImportSiteCommand
from newsletter.models import Subscriber
from publications.demo_pdf import build_pdf
from publications.models import Publication, Reaction
from tests.factories import (
    AuthorFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    SubscriberFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def media_files(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def build_dataset(django_user_model):
    """Every kind of row the site holds: publications with all relations and files, users, subscribers."""
    django_user_model.objects.create_superuser("editor", "editor@example.org", "a long password here")
    themes, regions = ThemeFactory.create_batch(3), RegionFactory.create_batch(2)
    authors = AuthorFactory.create_batch(4)
    for number in range(6):
        publication = PublicationFactory(
            title=f"Énergie & sécurité — «{number}» 東アジア",
            kind=Publication.Kind.ARTICLE if number % 2 else Publication.Kind.BLOG_POST,
            status=Publication.Status.PUBLISHED if number < 5 else Publication.Status.DRAFT,
            authors=authors[number % 3 : number % 3 + 2],
            themes=themes[: number % 3 + 1],
            regions=regions[: number % 2 + 1],
            tags=[f"tag-{number}", "energy"],
        )
        publication.pdf.save(f"report-{number}.pdf", ContentFile(build_pdf(publication.title, ["Text."])))
        ReferenceFactory.create_batch(2, publication=publication)
        Reaction.objects.create(publication=publication, visitor=f"v{number}", value=Reaction.Value.LIKE)
    authors[0].photo.save("photo.png", ContentFile(b"\x89PNG\r\n\x1a\nnot really"))
    subscriber = SubscriberFactory(
        email="Reader@Example.org", consent_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    )
    subscriber.themes.set(themes[:2])
    SubscriberFactory(status=Subscriber.Status.PENDING)


def round_trip(target, settings):
    before, files = serialized_site(), media_files(settings.MEDIA_ROOT)
    call_command("export_site", str(target), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    for path in settings.MEDIA_ROOT.rglob("*"):
        if path.is_file():
            path.unlink()
    assert not Publication.objects.exists()
    call_command("import_site", str(target), verbosity=0)
    return before, files


def test_round_trip_directory(tmp_path, settings, django_user_model):
    """Export to a directory, empty everything, import: every row and media file comes back equal."""
    build_dataset(django_user_model)
    before, files = round_trip(tmp_path / "backup", settings)
    assert serialized_site() == before
    assert media_files(settings.MEDIA_ROOT) == files
    assert len(files) == 7


def test_round_trip_tar_gz(tmp_path, settings, django_user_model):
    """The same through a .tar.gz file."""
    build_dataset(django_user_model)
    before, files = round_trip(tmp_path / "site.tar.gz", settings)
    assert serialized_site() == before
    assert media_files(settings.MEDIA_ROOT) == files


def test_round_trip_restored_site_works(tmp_path, settings, django_user_model, client):
    """After a restore the editor's password works, the subscriber is unique and pages render."""
    build_dataset(django_user_model)
    round_trip(tmp_path / "backup", settings)
    assert django_user_model.objects.get(username="editor").check_password("a long password here")
    assert Subscriber.objects.filter(email__iexact="reader@example.org").count() == 1
    published = Publication.objects.published().first()
    assert client.get(published.get_absolute_url()).status_code == 200


def ids_found_by_search(query: str) -> list[int]:
    from publications.search import filter_by_query

    return sorted(filter_by_query(Publication.objects.published(), query).values_list("pk", flat=True))


def create_one_of_each():
    """New rows after a restore (PostgreSQL: the sequences must have moved past the restored ids)."""
    return PublicationFactory(), AuthorFactory(), SubscriberFactory()


@pytest.mark.slow
def test_round_trip_full_demo_index(tmp_path, settings, capsys):
    """The demo index as ``make run`` loads it (5,821 publications, PDFs) survives a round trip unchanged.

    Every row, every media file and the rebuilt search index are compared; afterwards new
    publications, authors and subscribers can be created.
    """
    call_command("seed_demo", verbosity=0)
    assert Publication.objects.published().count() == 5821
    before_search = ids_found_by_search("energy")
    assert before_search
    before, files = serialized_site(), media_files(settings.MEDIA_ROOT)
    assert len(files) == 36
    started = time.monotonic()
    call_command("export_site", str(tmp_path / "demo.tar.gz"), verbosity=0)
    exported = time.monotonic()
    call_command("flush", interactive=False, verbosity=0)
    for path in settings.MEDIA_ROOT.rglob("*"):
        if path.is_file():
            path.unlink()
    assert not Publication.objects.exists()
    assert not media_files(settings.MEDIA_ROOT)
    flushed = time.monotonic()
    call_command("import_site", str(tmp_path / "demo.tar.gz"), verbosity=0)
    imported = time.monotonic()
    with capsys.disabled():
        print(
            f"\nfull demo index: export {exported - started:.1f} s, import {imported - flushed:.1f} s, "
            f"{len(before):,} objects"
        )
    assert Publication.objects.published().count() == 5821
    assert ids_found_by_search("energy") == before_search
    assert media_files(settings.MEDIA_ROOT) == files
    assert serialized_site() == before
    publication, author, subscriber = create_one_of_each()
    restored_ids = {(item["model"], item["pk"]) for item in before}
    assert ("publications.publication", publication.pk) not in restored_ids
    assert ("authors.author", author.pk) not in restored_ids
    assert ("newsletter.subscriber", subscriber.pk) not in restored_ids


def test_round_trip_keeps_microseconds(tmp_path, settings, django_user_model):
    """Timestamps come back to the microsecond, also when their milliseconds are zero.

    JSON written with Django's encoder keeps milliseconds only: 10:00:01.000412 came back as
    10:00:01, and the old comparison (made with that encoder too) noticed only those rows.
    """
    build_dataset(django_user_model)
    moments = [dt.datetime(2025, 3, 4, 10, 0, 1, micro, tzinfo=dt.UTC) for micro in (412, 123456, 999)]
    for publication, moment in zip(Publication.objects.order_by("pk"), moments, strict=False):
        Publication.objects.filter(pk=publication.pk).update(created_at=moment, updated_at=moment)
    Subscriber.objects.update(consent_at=moments[0])
    stamps = sorted(Publication.objects.values_list("pk", "created_at", "updated_at"))
    consents = sorted(Subscriber.objects.values_list("pk", "consent_at"))
    before, _ = round_trip(tmp_path / "backup", settings)
    assert sorted(Publication.objects.values_list("pk", "created_at", "updated_at")) == stamps
    assert sorted(Subscriber.objects.values_list("pk", "consent_at")) == consents
    assert serialized_site() == before


def test_import_resets_sequences(tmp_path, settings, django_user_model):
    """After a restore new publications, authors and subscribers get new ids (PostgreSQL sequences)."""
    build_dataset(django_user_model)
    round_trip(tmp_path / "backup", settings)
    publication, author, subscriber = create_one_of_each()
    assert Publication.objects.count() == 7
    assert publication.pk == Publication.objects.order_by("pk").last().pk
    assert author.pk and subscriber.pk


def test_manifest_counts(tmp_path, django_user_model):
    """The manifest lists how many objects of each model the backup holds."""
    build_dataset(django_user_model)
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["objects"]["publications.publication"] == 6
    assert manifest["objects"]["newsletter.subscriber"] == 2
    assert "contenttypes.contenttype" not in manifest["objects"]


def test_import_replaces_groups_created_by_migrate(tmp_path, django_user_model):
    """Groups a fresh migrate creates do not block an import; the backup's groups replace them."""
    from django.contrib.auth.models import Group

    build_dataset(django_user_model)
    Group.objects.get_or_create(name="Editors")
    names = sorted(Group.objects.values_list("name", flat=True))
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    Group.objects.create(name="Editors")
    call_command("import_site", str(tmp_path / "backup"), verbosity=0)
    assert sorted(Group.objects.values_list("name", flat=True)) == names


def test_import_refuses_non_empty_database(tmp_path, settings, django_user_model, capsys):
    """Importing into a database that has content fails (exit status 1, a clear message), writing nothing."""
    build_dataset(django_user_model)
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    before, files = serialized_site(), media_files(settings.MEDIA_ROOT)
    for path in settings.MEDIA_ROOT.rglob("*.png"):
        path.unlink()
    with pytest.raises(SystemExit) as exit_info:
        ImportSiteCommand().run_from_argv(["manage.py", "import_site", str(tmp_path / "backup")])
    assert exit_info.value.code == 1
    error = capsys.readouterr().err
    assert "The database is not empty" in error
    assert "Nothing was imported" in error
    assert serialized_site() == before
    assert len(media_files(settings.MEDIA_ROOT)) == len(files) - 1


def test_export_refuses_non_empty_directory(tmp_path):
    """Exporting into a directory that already holds files is refused."""
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_site", str(tmp_path / "backup"), verbosity=0)


def empty_site_after_flush(settings):
    call_command("flush", interactive=False, verbosity=0)
    for path in settings.MEDIA_ROOT.rglob("*"):
        if path.is_file():
            path.unlink()
    return serialized_site()


def test_import_failing_half_way_leaves_nothing(tmp_path, settings, django_user_model):
    """A backup whose rows fail at the end (a byline naming a missing author) restores nothing."""
    from center.backup import _file_digest

    build_dataset(django_user_model)
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    data_path = tmp_path / "backup" / "data.json"
    data = json.loads(data_path.read_text())
    authorship = next(item for item in data if item["model"] == "publications.authorship")
    authorship["fields"]["author"] = 999999
    data_path.write_text(json.dumps(data))
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["data_sha256"] = _file_digest(data_path)  # so that the rows are read and loaded
    manifest_path.write_text(json.dumps(manifest))
    empty = empty_site_after_flush(settings)
    with pytest.raises(CommandError, match=r"could not be restored.*Nothing was imported"):
        call_command("import_site", str(tmp_path / "backup"), verbosity=0)
    assert serialized_site() == empty
    assert not Publication.objects.exists()
    assert not django_user_model.objects.exists()
    assert not ids_found_by_search("energy")
    assert not media_files(settings.MEDIA_ROOT)


def test_import_truncated_archive_leaves_nothing(tmp_path, settings, django_user_model):
    """A truncated .tar.gz gives a clear error and the database stays as it was."""
    build_dataset(django_user_model)
    archive = tmp_path / "site.tar.gz"
    call_command("export_site", str(archive), verbosity=0)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    empty = empty_site_after_flush(settings)
    with pytest.raises(CommandError, match="damaged or not a site backup"):
        call_command("import_site", str(archive), verbosity=0)
    assert serialized_site() == empty
    assert not media_files(settings.MEDIA_ROOT)


def test_import_truncated_data_leaves_nothing(tmp_path, settings, django_user_model):
    """A truncated data.json is caught by its checksum before anything is written."""
    build_dataset(django_user_model)
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    data_path = tmp_path / "backup" / "data.json"
    data_path.write_bytes(data_path.read_bytes()[:-500])
    empty = empty_site_after_flush(settings)
    with pytest.raises(CommandError, match=r"data\.json is missing or damaged"):
        call_command("import_site", str(tmp_path / "backup"), verbosity=0)
    assert serialized_site() == empty
    assert not media_files(settings.MEDIA_ROOT)


def test_import_backup_without_checksum(tmp_path, settings, django_user_model):
    """Backups written before data.json had a checksum still restore (checked by their counts)."""
    build_dataset(django_user_model)
    before, files = serialized_site(), media_files(settings.MEDIA_ROOT)
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["data_sha256"]
    manifest_path.write_text(json.dumps(manifest))
    empty_site_after_flush(settings)
    call_command("import_site", str(tmp_path / "backup"), verbosity=0)
    assert serialized_site() == before
    assert media_files(settings.MEDIA_ROOT) == files


def test_import_rejects_non_backup(tmp_path):
    """A directory that is not a backup gets a clear error."""
    (tmp_path / "nothing").mkdir()
    with pytest.raises(CommandError, match="not a site backup"):
        call_command("import_site", str(tmp_path / "nothing"), verbosity=0)
