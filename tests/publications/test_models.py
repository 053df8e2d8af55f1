"""Model rules and database constraints of publications."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from publications.models import Authorship, Publication, Reference
from tests.factories import AuthorFactory, PublicationFactory, ReferenceFactory

pytestmark = pytest.mark.django_db


def test_published_includes_past_published():
    """A published item whose moment has passed is public."""
    publication = PublicationFactory()
    assert list(Publication.objects.published()) == [publication]


def test_published_excludes_drafts_and_review():
    """Drafts and items in review are never public."""
    PublicationFactory(status=Publication.Status.DRAFT)
    PublicationFactory(status=Publication.Status.REVIEW)
    assert not Publication.objects.published().exists()


def test_published_excludes_scheduled():
    """A published item with a future date is scheduled, not public."""
    publication = PublicationFactory(published_at=timezone.now() + dt.timedelta(hours=1))
    assert not Publication.objects.published().exists()
    assert list(Publication.objects.scheduled()) == [publication]
    assert publication.is_scheduled and not publication.is_public


def test_scheduled_becomes_public_when_due(time_machine):
    """No job has to run: the scheduled item is public once its moment comes."""
    time_machine.move_to(dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC), tick=False)
    PublicationFactory(published_at=dt.datetime(2030, 1, 1, 13, tzinfo=dt.UTC))
    assert Publication.objects.published().count() == 0
    time_machine.move_to(dt.datetime(2030, 1, 1, 13, 0, 1, tzinfo=dt.UTC), tick=False)
    assert Publication.objects.published().count() == 1


def test_duplicate_slug_rejected_by_database():
    """Two publications cannot share a slug."""
    PublicationFactory(slug="energy-outlook")
    with pytest.raises(IntegrityError), transaction.atomic():
        PublicationFactory(slug="energy-outlook")


def test_bad_doi_rejected_by_database():
    """The database refuses a DOI that is not 10.NNNN/suffix."""
    with pytest.raises(IntegrityError), transaction.atomic():
        PublicationFactory(doi="not-a-doi")


def test_bad_doi_rejected_by_validation():
    """full_clean explains what a DOI looks like."""
    publication = PublicationFactory.build(doi="doi 10/abc")
    with pytest.raises(ValidationError) as error:
        publication.full_clean()
    assert "doi" in error.value.message_dict


def test_doi_resolver_prefix_is_stripped():
    """Editors may paste https://doi.org/...; the bare DOI is stored."""
    publication = PublicationFactory.build(doi="https://doi.org/10.1234/ABC.2020.1")
    publication.full_clean(exclude=["slug"])
    assert publication.doi == "10.1234/ABC.2020.1"
    assert publication.doi_url == "https://doi.org/10.1234/ABC.2020.1"


def test_duplicate_doi_rejected():
    """One DOI identifies one publication."""
    PublicationFactory(doi="10.1234/x.1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PublicationFactory(doi="10.1234/x.1")


def test_empty_doi_may_repeat():
    """Many publications have no DOI."""
    PublicationFactory(doi="")
    PublicationFactory(doi="")
    assert Publication.objects.filter(doi="").count() == 2


def test_published_without_date_rejected_by_database():
    """A published item always has its publication moment."""
    with pytest.raises(IntegrityError), transaction.atomic():
        PublicationFactory(published_at=None)


def test_clean_dates_publication_on_publish():
    """Publishing without a date means 'now'."""
    publication = PublicationFactory.build(published_at=None)
    publication.clean()
    assert publication.published_at is not None


def test_author_once_per_publication():
    """An author holds one position per publication."""
    author = AuthorFactory()
    publication = PublicationFactory(authors=[author])
    with pytest.raises(IntegrityError), transaction.atomic():
        Authorship.objects.create(publication=publication, author=author, position=2)


def test_one_corresponding_author_per_publication():
    """At most one author is the author for correspondence."""
    first, second = AuthorFactory(), AuthorFactory()
    publication = PublicationFactory()
    Authorship.objects.create(publication=publication, author=first, position=1, is_corresponding=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Authorship.objects.create(publication=publication, author=second, position=2, is_corresponding=True)


def test_reference_bad_doi_rejected():
    """References' DOIs are checked like publications'."""
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferenceFactory(doi="10.12/x")


def test_reference_language_note():
    """A reference in Russian says so."""
    reference = Reference(text="Иванов А.А. Энергетика.", language="ru")
    assert reference.language_note == "(In Russian)"
    assert Reference(text="Smith J.", language="en").language_note == ""


def test_pages_split_into_first_and_last():
    """Journal pages give first and last page for metadata."""
    publication = Publication(pages="45–67")
    assert (publication.first_page, publication.last_page) == ("45", "67")


def test_date_label_depends_on_kind():
    """Blog posts are 'Posted on', everything else 'Published'."""
    assert Publication(kind=Publication.Kind.BLOG_POST).date_label == "Posted on"
    assert Publication(kind=Publication.Kind.REPORT).date_label == "Published"


def test_license_url_for_creative_commons():
    """A CC license links to its deed."""
    assert (
        Publication(license="CC-BY-NC-4.0").license_url == "https://creativecommons.org/licenses/by-nc/4.0/"
    )


def test_absolute_url_uses_slug():
    """The public URL is /publications/<slug>/."""
    assert Publication(slug="energy-outlook").get_absolute_url() == "/publications/energy-outlook/"
