"""The demo index command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from taggit.models import Tag

from authors.models import Author, Organization
from publications.management.commands.seed_demo import Command as SeedDemo
from publications.models import Publication, Reference, Region, Theme
from tests.factories import (
    AuthorFactory,
    OrganizationFactory,
    PublicationFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


def _seed(**options):
    call_command("seed_demo", stdout=io.StringIO(), **options)


def _snapshot():
    return list(
        Publication.objects.published()
        .order_by("pk")
        .values_list("title", "slug", "kind", "published_at", "abstract", "doi", "pdf", "language")
    ), list(Reference.objects.order_by("pk").values_list("publication__slug", "position", "text"))


def test_seed_demo_counts():
    """The requested number of publications is published, with the surrounding index."""
    _seed(publications=120)
    assert Publication.objects.published().count() == 120
    assert Publication.objects.exclude(pk__in=Publication.objects.published()).exists()
    assert Author.objects.count() >= 20
    assert Tag.objects.count() == 300
    assert Reference.objects.filter(language="ru").exists()
    assert set(Publication.objects.values_list("kind", flat=True)) == set(Publication.Kind.values)


def test_seed_demo_is_deterministic():
    """The same seed gives the same index."""
    _seed(publications=60, seed=7)
    first = _snapshot()
    _seed(publications=60, seed=7, reset=True)
    assert _snapshot() == first


def test_seed_demo_other_seed_differs():
    """Another seed gives another index."""
    _seed(publications=60, seed=7)
    first = _snapshot()
    _seed(publications=60, seed=8, reset=True)
    assert _snapshot() != first


def test_seed_demo_refuses_non_empty_database():
    """Without --reset, existing content is never touched."""
    _seed(publications=10)
    with pytest.raises(CommandError, match="--reset"):
        _seed(publications=10)
    assert Publication.objects.published().count() == 10


def test_seed_demo_if_empty_leaves_content():
    """--if-empty (used by make run) succeeds and changes nothing on a filled database."""
    _seed(publications=10)
    _seed(publications=50, if_empty=True)
    assert Publication.objects.published().count() == 10


def test_seed_demo_pdfs_are_real_pdfs(settings):
    """The demo PDFs exist in storage and open as PDFs."""
    import pypdf
    from django.core.files.storage import default_storage

    _seed(publications=40)
    publication = Publication.objects.exclude(pdf="").first()
    with default_storage.open(publication.pdf.name) as handle:
        reader = pypdf.PdfReader(handle)
        assert reader.pages[0].extract_text().strip()


def _one_theme():
    return ThemeFactory(name="Economics", slug="economics")


EDITORIAL_CONTENT = {
    "theme": _one_theme,
    "region": lambda: RegionFactory(name="Asia", slug="asia"),
    "tag": lambda: Tag.objects.create(name="sanctions", slug="sanctions"),
    "organization": lambda: OrganizationFactory(),
    "author": lambda: AuthorFactory(),
    "publication": lambda: PublicationFactory(),
}


def _editorial_counts():
    return [model.objects.count() for model in (Publication, Author, Organization, Theme, Region, Tag)]


@pytest.mark.parametrize("make_content", EDITORIAL_CONTENT.values(), ids=EDITORIAL_CONTENT.keys())
def test_seed_demo_refuses_any_editorial_content(make_content):
    """One theme, region, tag, organization, author or publication is enough to refuse, writing nothing."""
    make_content()
    before = _editorial_counts()
    with pytest.raises(CommandError, match=r"Nothing was written.*--reset"):
        _seed(publications=10)
    assert _editorial_counts() == before


def test_seed_demo_refusal_exits_non_zero(capsys, monkeypatch):
    """From the command line the refusal is a clear message on stderr and a non-zero exit status."""
    _one_theme()
    # run_from_argv closes the connections when done; the test's transaction must survive it.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exit_info:
        SeedDemo().run_from_argv(["manage.py", "seed_demo", "--publications", "10"])
    assert exit_info.value.code != 0
    assert "already has content (themes)" in capsys.readouterr().err
    assert not Publication.objects.exists()


def test_seed_demo_if_empty_leaves_a_lone_theme():
    """--if-empty (make run) succeeds and writes nothing when only a theme exists."""
    _one_theme()
    out = io.StringIO()
    call_command("seed_demo", publications=10, if_empty=True, stdout=out)
    assert "leaving it as it is" in out.getvalue()
    assert _editorial_counts() == [0, 0, 0, 1, 0, 0]


def test_seed_demo_reset_replaces_a_lone_theme():
    """--reset deletes the lone theme and loads the demo index without an IntegrityError."""
    _one_theme()
    _seed(publications=10, reset=True)
    assert Publication.objects.published().count() == 10


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_seed_demo_leaves_postgresql_vacuumed(settings, tmp_path):
    """Outside a transaction the demo index ends with VACUUM (ANALYZE) on PostgreSQL, as autovacuum
    would leave it in a while: its rows marked visible to all (index-only scans need not read the
    table) and the planner's statistics fresh."""
    from django.db import connection

    settings.MEDIA_ROOT = str(tmp_path)
    _seed(publications=10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname = %s",
            [Publication._meta.db_table],
        )
        assert cursor.fetchone() == (True, True)
        cursor.execute(
            "SELECT relallvisible > 0 FROM pg_class WHERE relname = %s", [Publication._meta.db_table]
        )
        assert cursor.fetchone() == (True,)
