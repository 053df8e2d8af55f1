"""The editorial workflow: who may move a publication through draft → review → published."""

from __future__ import annotations

import datetime as dt
import re
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from publications.models import Publication
from publications.services import (
    PublicationConflict,
    publication_publish,
    publication_save,
    publication_send_back,
    publication_submit_for_review,
    publication_unpublish,
)
from tests.factories import PublicationFactory, UserFactory

pytestmark = pytest.mark.django_db
Status = Publication.Status


@pytest.fixture
def draft(contributor):
    return PublicationFactory(status=Status.DRAFT, published_at=None, created_by=contributor)


def test_roles_groups_created_by_migration():
    """The data migration creates the Editor and Contributor groups with permissions."""
    editor = Group.objects.get(name="Editor")
    contributor = Group.objects.get(name="Contributor")
    editor_perms = set(editor.permissions.values_list("codename", flat=True))
    contributor_perms = set(contributor.permissions.values_list("codename", flat=True))
    assert {"publish_publication", "edit_any_publication", "change_subscriber"} <= editor_perms
    assert "add_publication" in contributor_perms
    assert "publish_publication" not in contributor_perms
    assert not any(perm.endswith("subscriber") for perm in contributor_perms)


def test_submit_for_review_by_owner(draft, contributor):
    """A contributor submits their own draft for review."""
    publication_submit_for_review(publication=draft, user=contributor)
    draft.refresh_from_db()
    assert draft.status == Status.REVIEW


def test_submit_for_review_of_others_draft_refused(contributor):
    """A contributor cannot submit somebody else's draft."""
    other = PublicationFactory(status=Status.DRAFT, published_at=None, created_by=UserFactory())
    with pytest.raises(PermissionDenied):
        publication_submit_for_review(publication=other, user=contributor)


def test_publish_by_contributor_refused(draft, contributor):
    """The publish service refuses a contributor, even on their own draft."""
    with pytest.raises(PermissionDenied):
        publication_publish(publication=draft, user=contributor)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_publish_by_editor(draft, editor):
    """An editor publishes a reviewed publication; it is public at once."""
    publication_submit_for_review(publication=draft, user=editor)
    publication_publish(publication=draft, user=editor)
    draft.refresh_from_db()
    assert draft.status == Status.PUBLISHED
    assert Publication.objects.published().filter(pk=draft.pk).exists()


def test_send_back_requires_comment(draft, editor, contributor):
    """Sending back to draft needs a comment."""
    publication_submit_for_review(publication=draft, user=contributor)
    with pytest.raises(ValidationError):
        publication_send_back(publication=draft, user=editor, comment="  ")


def test_send_back_records_comment(draft, editor, contributor):
    """An editor sends a publication back with a comment kept in the history."""
    publication_submit_for_review(publication=draft, user=contributor)
    publication_send_back(publication=draft, user=editor, comment="Shorten the abstract.")
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert draft.history.first().history_change_reason == "Sent back: Shorten the abstract."


def test_send_back_by_contributor_refused(draft, contributor):
    """A contributor cannot send back a publication in review."""
    publication_submit_for_review(publication=draft, user=contributor)
    with pytest.raises(PermissionDenied):
        publication_send_back(publication=draft, user=contributor, comment="Looks fine to me")


def test_unpublish_by_editor(editor):
    """Unpublishing moves a publication back to draft and out of public view."""
    publication = PublicationFactory()
    publication_unpublish(publication=publication, user=editor)
    assert not Publication.objects.published().filter(pk=publication.pk).exists()


def test_scheduled_publication_becomes_public_on_time(draft, editor):
    """A publication published with a future date is scheduled and goes public at that moment."""
    moment = timezone.now() + dt.timedelta(days=2)
    publication_publish(publication=draft, user=editor, published_at=moment)
    assert not Publication.objects.published().filter(pk=draft.pk).exists()
    assert Publication.objects.scheduled().filter(pk=draft.pk).exists()
    with time_machine.travel(moment + dt.timedelta(minutes=1)):
        assert Publication.objects.published().filter(pk=draft.pk).exists()


def test_save_with_stale_version_conflicts(editor):
    """Saving a copy loaded before somebody else's save raises a conflict."""
    publication = PublicationFactory()
    stale = Publication.objects.get(pk=publication.pk)
    publication.title = "First editor's title"
    publication_save(publication=publication, user=editor, expected_version=1)
    stale.title = "Second editor's title"
    with pytest.raises(PublicationConflict):
        publication_save(publication=stale, user=editor, expected_version=1)
    publication.refresh_from_db()
    assert publication.title == "First editor's title"
    assert publication.version == 2


def test_admin_changelist_shows_scheduled(staff_client):
    """The change list labels a published item with a future date as scheduled."""
    PublicationFactory(title="Future Outlook", published_at=timezone.now() + dt.timedelta(days=3))
    response = staff_client.get(reverse("admin:publications_publication_changelist"))
    assert response.status_code == HTTPStatus.OK
    assert "Scheduled for" in response.content.decode()


def test_admin_scheduled_filter(staff_client):
    """The status filter lists only scheduled publications under "Scheduled"."""
    PublicationFactory(title="Future Outlook", published_at=timezone.now() + dt.timedelta(days=3))
    PublicationFactory(title="Past Review")
    response = staff_client.get(reverse("admin:publications_publication_changelist"), {"state": "scheduled"})
    titles = [publication.title for publication in response.context["cl"].result_list]
    assert titles == ["Future Outlook"]


def test_preview_draft_for_staff(editor_client):
    """Staff open a draft's public page (the preview)."""
    draft = PublicationFactory(status=Status.DRAFT, published_at=None, title="Unreleased Brief")
    response = editor_client.get(draft.get_absolute_url())
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "Unreleased Brief" in content
    assert "Preview." in content
    assert re.search(r'<meta name="robots" content="noindex[^"]*">', content)


def test_preview_contributor_sees_draft(contributor_client, contributor):
    """A contributor (staff) previews their draft the same way."""
    draft = PublicationFactory(status=Status.DRAFT, published_at=None, created_by=contributor)
    assert contributor_client.get(draft.get_absolute_url()).status_code == HTTPStatus.OK


def test_preview_draft_hidden_from_public(client):
    """Visitors get 404 for a draft, and for a scheduled item before its moment."""
    draft = PublicationFactory(status=Status.DRAFT, published_at=None)
    scheduled = PublicationFactory(published_at=timezone.now() + dt.timedelta(days=1))
    assert client.get(draft.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND
    assert client.get(scheduled.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_preview_draft_hidden_from_logged_in_non_staff(client):
    """A logged-in visitor without staff status cannot preview drafts."""
    client.force_login(UserFactory(username="reader", is_staff=False))
    draft = PublicationFactory(status=Status.DRAFT, published_at=None)
    assert client.get(draft.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_admin_links_to_preview(editor_client):
    """The change form of a draft links to its page on the site (the preview)."""
    draft = PublicationFactory(status=Status.DRAFT, published_at=None)
    response = editor_client.get(reverse("admin:publications_publication_change", args=[draft.pk]))
    assert "viewsitelink" in response.content.decode()
