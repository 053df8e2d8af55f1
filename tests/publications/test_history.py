"""Revision history of publications: who changed what, the diff, and restoring."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from publications.models import Publication
from tests.factories import PublicationFactory
from tests.publications.admin_post import changeform_data

pytestmark = pytest.mark.django_db


def change_url(publication) -> str:
    return reverse("admin:publications_publication_change", args=[publication.pk])


def history_url(publication) -> str:
    return reverse("admin:publications_publication_history", args=[publication.pk])


def edit(client, publication, **changes):
    return client.post(
        change_url(publication), changeform_data(client.get(change_url(publication)), **changes)
    )


@pytest.fixture
def edited(editor):
    publication = PublicationFactory(title="Original Title")
    client = Client()
    client.force_login(editor)
    edit(client, publication, title="Revised Title")
    return publication


def test_history_records_user_and_change(edited, editor):
    """Each admin save records who saved and what the title became."""
    latest = edited.history.first()
    assert latest.history_user == editor
    assert latest.title == "Revised Title"
    assert edited.history.count() == 2


def test_history_page_shows_diff(editor_client, edited):
    """The history page lists the change from the old value to the new one."""
    response = editor_client.get(history_url(edited))
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "Original Title" in content
    assert "Revised Title" in content
    assert "editor-role" in content


def test_history_diff_of_versions(edited):
    """diff_against between two versions names the changed fields."""
    newer, older = edited.history.all()[:2]
    delta = newer.diff_against(older)
    assert "title" in delta.changed_fields
    assert "body" not in delta.changed_fields


def test_restore_old_version(editor_client, edited):
    """Restoring the first version through its history form brings the old title back."""
    oldest = edited.history.last()
    url = reverse("admin:publications_publication_simple_history", args=[edited.pk, oldest.history_id])
    response = editor_client.get(url)
    assert response.status_code == HTTPStatus.OK
    response = editor_client.post(url, changeform_data(response))
    assert response.status_code == HTTPStatus.FOUND
    edited.refresh_from_db()
    assert edited.title == "Original Title"
    assert edited.version == 3


def test_restore_by_contributor_refused(contributor_client, edited):
    """A contributor cannot restore a version of a publication they may not change."""
    oldest = edited.history.last()
    url = reverse("admin:publications_publication_simple_history", args=[edited.pk, oldest.history_id])
    response = contributor_client.post(url, {"title": "Original Title"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Publication.objects.get(pk=edited.pk).title == "Revised Title"


def test_restore_cannot_publish_for_contributor(contributor_client, contributor):
    """Restoring an old published version of their own draft does not let a contributor publish."""
    publication = PublicationFactory(created_by=contributor, status="published")
    publication.status = "draft"
    publication.save()
    published_version = publication.history.last()
    url = reverse(
        "admin:publications_publication_simple_history", args=[publication.pk, published_version.history_id]
    )
    response = contributor_client.post(url, changeform_data(contributor_client.get(url)))
    assert response.status_code == HTTPStatus.OK
    publication.refresh_from_db()
    assert publication.status == "draft"


def compare_url(publication) -> str:
    return reverse("admin:publications_publication_history_compare", args=[publication.pk])


def test_history_compare_any_two_versions(editor_client, edited):
    """The compare page shows each changed field before and after."""
    oldest = edited.history.last()
    response = editor_client.get(compare_url(edited), {"from": oldest.history_id})
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "Original Title" in content and "Revised Title" in content
    labels = [change["label"] for change in response.context["changes"]]
    assert "Title" in labels
    assert "Body" not in labels


def test_history_compare_body_as_line_diff(editor_client, edited):
    """A long text field is compared line by line."""
    edit(editor_client, edited, body="<p>First paragraph.</p>\n<p>Second paragraph.</p>")
    oldest = edited.history.last()
    response = editor_client.get(compare_url(edited), {"from": oldest.history_id})
    body = next(change for change in response.context["changes"] if change["label"] == "Body")
    assert "+<p>Second paragraph.</p>" in body["diff"]


def test_history_compare_bad_version_redirects(editor_client, edited):
    """A malformed version number leads back to the history with a message, not an error."""
    response = editor_client.get(compare_url(edited), {"from": "abc"})
    assert response.status_code == HTTPStatus.FOUND


def test_history_lists_compare_links(editor_client, edited):
    """Each history entry links to the comparison with the current version."""
    response = editor_client.get(history_url(edited))
    assert compare_url(edited) in response.content.decode()
