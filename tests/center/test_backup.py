"""export_site / import_site: a complete backup that restores into an empty database."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from center.backup import serialized_site
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


@pytest.mark.slow
def test_round_trip_seed_demo(tmp_path, settings):
    """The demo index (50 publications) survives a round trip unchanged, search index rebuilt."""
    call_command("seed_demo", publications=50, verbosity=0)
    before_search = ids_found_by_search("energy")
    assert before_search
    before, files = round_trip(tmp_path / "demo.tar.gz", settings)
    assert Publication.objects.published().count() == 50
    assert ids_found_by_search("energy") == before_search
    assert serialized_site() == before
    assert media_files(settings.MEDIA_ROOT) == files


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


def test_import_refuses_non_empty_database(tmp_path, django_user_model):
    """Importing into a database that has content is refused, and nothing is added."""
    build_dataset(django_user_model)
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    with pytest.raises(CommandError, match="not empty"):
        call_command("import_site", str(tmp_path / "backup"), verbosity=0)
    assert Publication.objects.count() == 6


def test_export_refuses_non_empty_directory(tmp_path):
    """Exporting into a directory that already holds files is refused."""
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export_site", str(tmp_path / "backup"), verbosity=0)


def test_import_damaged_backup_leaves_nothing(tmp_path, settings, django_user_model):
    """A backup whose data fails half-way restores nothing (one transaction)."""
    build_dataset(django_user_model)
    call_command("export_site", str(tmp_path / "backup"), verbosity=0)
    data_path = tmp_path / "backup" / "data.json"
    data = json.loads(data_path.read_text())
    data[-1]["fields"] = {"no_such_field": 1}
    data[-1]["model"] = "publications.publication"
    data_path.write_text(json.dumps(data))
    call_command("flush", interactive=False, verbosity=0)
    with pytest.raises(Exception):  # noqa: B017 - loaddata raises DeserializationError
        call_command("import_site", str(tmp_path / "backup"), verbosity=0)
    assert not Publication.objects.exists()
    assert not django_user_model.objects.exists()


def test_import_rejects_non_backup(tmp_path):
    """A directory that is not a backup gets a clear error."""
    (tmp_path / "nothing").mkdir()
    with pytest.raises(CommandError, match="not a site backup"):
        call_command("import_site", str(tmp_path / "nothing"), verbosity=0)
