"""The demo index command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from taggit.models import Tag

from authors.models import Author
from publications.models import Publication, Reference

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
