"""The publication admin as editors and contributors use it."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from publications.models import Authorship, Publication
from tests.factories import AuthorFactory, PublicationFactory, SubscriberFactory, UserFactory
from tests.publications.admin_post import changeform_data

pytestmark = pytest.mark.django_db
Status = Publication.Status
CHANGELIST = "admin:publications_publication_changelist"


def change_url(publication) -> str:
    return reverse("admin:publications_publication_change", args=[publication.pk])


def post_change(client, publication, **changes):
    """Open the change form and submit it with ``changes``, like a browser."""
    data = changeform_data(client.get(change_url(publication)), **changes)
    return client.post(change_url(publication), data)


@pytest.fixture
def own_draft(contributor):
    return PublicationFactory(status=Status.DRAFT, published_at=None, created_by=contributor)


def test_contributor_changelist_renders(contributor_client, own_draft):
    """A contributor sees the publication list."""
    response = contributor_client.get(reverse(CHANGELIST))
    assert response.status_code == HTTPStatus.OK
    assert own_draft.title in response.content.decode()


def test_contributor_adds_publication_as_draft(contributor_client, contributor):
    """A contributor creates a publication; it is theirs and a draft."""
    response = contributor_client.get(reverse("admin:publications_publication_add"))
    data = changeform_data(
        response, title="Water and Power in the Ferghana Valley", slug="water-power-ferghana", status="draft"
    )
    response = contributor_client.post(reverse("admin:publications_publication_add"), data)
    assert response.status_code == HTTPStatus.FOUND
    publication = Publication.objects.get(slug="water-power-ferghana")
    assert publication.created_by == contributor
    assert publication.status == Status.DRAFT


def test_contributor_edits_own_draft(contributor_client, own_draft):
    """A contributor changes their own draft."""
    response = post_change(contributor_client, own_draft, title="A better title")
    assert response.status_code == HTTPStatus.FOUND
    own_draft.refresh_from_db()
    assert own_draft.title == "A better title"


def test_contributor_cannot_publish_via_form(contributor_client, own_draft):
    """Setting status to published in a crafted change-form POST is refused."""
    response = post_change(contributor_client, own_draft, status="published")
    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors["status"]
    own_draft.refresh_from_db()
    assert own_draft.status == Status.DRAFT


def test_contributor_cannot_publish_via_add_form(contributor_client):
    """A new publication posted as published by a contributor is refused."""
    response = contributor_client.get(reverse("admin:publications_publication_add"))
    data = changeform_data(response, title="Sneaky", slug="sneaky", status="published")
    response = contributor_client.post(reverse("admin:publications_publication_add"), data)
    assert response.status_code == HTTPStatus.OK
    assert not Publication.objects.filter(slug="sneaky").exists()


def test_contributor_cannot_publish_via_bulk_action(contributor_client, own_draft):
    """The publish bulk action, posted by a contributor, changes nothing."""
    contributor_client.post(reverse(CHANGELIST), {"action": "publish", "_selected_action": [own_draft.pk]})
    own_draft.refresh_from_db()
    assert own_draft.status == Status.DRAFT


def test_contributor_does_not_see_publish_action(contributor_client, own_draft):
    """The change list offers no publish action to a contributor."""
    response = contributor_client.get(reverse(CHANGELIST))
    choices = [value for value, _ in response.context["action_form"].fields["action"].choices]
    assert "publish" not in choices
    assert "submit_for_review" in choices


def test_contributor_cannot_change_others_publication(contributor_client):
    """A contributor's POST to somebody else's publication is forbidden."""
    other = PublicationFactory(status=Status.DRAFT, published_at=None, created_by=UserFactory())
    response = contributor_client.post(change_url(other), {"title": "Hijacked"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    other.refresh_from_db()
    assert other.title != "Hijacked"


def test_contributor_cannot_change_own_draft_in_review(contributor_client, contributor):
    """Once in review, a contributor's publication is read-only for them."""
    publication = PublicationFactory(status=Status.REVIEW, published_at=None, created_by=contributor)
    response = contributor_client.post(change_url(publication), {"title": "Changed in review"})
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_contributor_submits_for_review_via_bulk_action(contributor_client, own_draft):
    """A contributor sends their draft to review from the change list."""
    contributor_client.post(
        reverse(CHANGELIST), {"action": "submit_for_review", "_selected_action": [own_draft.pk]}
    )
    own_draft.refresh_from_db()
    assert own_draft.status == Status.REVIEW


def test_contributor_cannot_see_subscribers(contributor_client):
    """Subscribers are hidden from contributors."""
    SubscriberFactory()
    response = contributor_client.get(reverse("admin:newsletter_subscriber_changelist"))
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_editor_sees_subscribers(editor_client):
    """Editors manage the newsletter's subscribers."""
    SubscriberFactory()
    response = editor_client.get(reverse("admin:newsletter_subscriber_changelist"))
    assert response.status_code == HTTPStatus.OK


def test_editor_cannot_manage_users(editor_client):
    """Managing user accounts is for superusers only."""
    response = editor_client.get(reverse("admin:auth_user_changelist"))
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_editor_bulk_publish(editor_client):
    """An editor publishes several drafts at once."""
    drafts = PublicationFactory.create_batch(2, status=Status.DRAFT, published_at=None)
    editor_client.post(reverse(CHANGELIST), {"action": "publish", "_selected_action": [p.pk for p in drafts]})
    assert Publication.objects.published().count() == 2


def test_editor_bulk_unpublish(editor_client):
    """An editor moves published items back to draft."""
    publication = PublicationFactory()
    editor_client.post(reverse(CHANGELIST), {"action": "unpublish", "_selected_action": [publication.pk]})
    publication.refresh_from_db()
    assert publication.status == Status.DRAFT


def test_editor_bulk_add_tag_shows_form(editor_client):
    """The add-tag action first asks which tags to add."""
    publication = PublicationFactory()
    response = editor_client.post(
        reverse(CHANGELIST), {"action": "add_tags", "_selected_action": [publication.pk]}
    )
    assert response.status_code == HTTPStatus.OK
    assert "Tags to add" in response.content.decode()


def test_editor_bulk_add_tag_applies(editor_client):
    """Submitting the add-tag form tags every selected publication."""
    publications = PublicationFactory.create_batch(2)
    editor_client.post(
        reverse(CHANGELIST),
        {
            "action": "add_tags",
            "apply": "1",
            "tags": "energy, Arctic",
            "_selected_action": [p.pk for p in publications],
        },
    )
    for publication in publications:
        assert sorted(publication.tags.names()) == ["Arctic", "energy"]


def test_editor_send_back_needs_comment(editor_client, contributor):
    """Sending a publication in review back to draft without a comment asks for one."""
    publication = PublicationFactory(status=Status.REVIEW, published_at=None, created_by=contributor)
    response = post_change(editor_client, publication, status="draft")
    assert response.status_code == HTTPStatus.OK
    assert response.context["adminform"].form.errors["workflow_comment"]


def test_editor_send_back_with_comment(editor_client, contributor):
    """With a comment, the publication goes back to draft and the comment is shown."""
    publication = PublicationFactory(status=Status.REVIEW, published_at=None, created_by=contributor)
    response = post_change(editor_client, publication, status="draft", workflow_comment="Add sources.")
    assert response.status_code == HTTPStatus.FOUND
    response = editor_client.get(change_url(publication))
    assert "Sent back: Add sources." in response.content.decode()


def test_optimistic_lock_conflict_shown(editor_client, editor):
    """Saving a form loaded before someone else's save shows a conflict and keeps their change."""
    publication = PublicationFactory()
    stale_data = changeform_data(editor_client.get(change_url(publication)), title="Mine")
    other = Client()
    other.force_login(UserFactory(username="other-editor", groups=["Editor"]))
    assert post_change(other, publication, title="Theirs").status_code == HTTPStatus.FOUND
    response = editor_client.post(change_url(publication), stale_data)
    assert response.status_code == HTTPStatus.OK
    assert "Someone else saved this publication" in response.content.decode()
    publication.refresh_from_db()
    assert publication.title == "Theirs"


def test_save_bumps_version(editor_client):
    """Every save through the admin increments the version."""
    publication = PublicationFactory()
    post_change(editor_client, publication, title="Once")
    post_change(editor_client, publication, title="Twice")
    publication.refresh_from_db()
    assert publication.version == 3


def test_authorship_two_corresponding_refused(editor_client):
    """Two authors for correspondence get a clear form error."""
    first, second = AuthorFactory(), AuthorFactory()
    publication = PublicationFactory(authors=[first, second])
    data = changeform_data(editor_client.get(change_url(publication)))
    data["authorships-0-is_corresponding"] = "on"
    data["authorships-1-is_corresponding"] = "on"
    response = editor_client.post(change_url(publication), data)
    assert response.status_code == HTTPStatus.OK
    assert "Only one author can be the author for correspondence" in response.content.decode()


def test_authorship_corresponding_moves(editor_client):
    """Moving the corresponding flag from one author to another saves."""
    first, second = AuthorFactory(), AuthorFactory()
    publication = PublicationFactory(authors=[first, second])
    Authorship.objects.filter(publication=publication, author=first).update(is_corresponding=True)
    data = changeform_data(editor_client.get(change_url(publication)))
    data.pop("authorships-0-is_corresponding", None)
    data["authorships-1-is_corresponding"] = "on"
    response = editor_client.post(change_url(publication), data)
    assert response.status_code == HTTPStatus.FOUND
    corresponding = Authorship.objects.get(publication=publication, is_corresponding=True)
    assert corresponding.author == second


def test_author_autocomplete_has_add_button(editor_client):
    """The author inline offers creating an author on the fly."""
    response = editor_client.get(reverse("admin:publications_publication_add"))
    assert reverse("admin:authors_author_add").encode() in response.content


def test_paste_references_creates_entries(editor_client):
    """A pasted numbered list becomes one reference per entry, after existing ones."""
    publication = PublicationFactory()
    pasted = (
        "1. Smith J. Regional integration. Journal of Policy. 2019; 12(3): 45-67. doi:10.1234/jp.2019.45\n"
        "2. Иванов А.А. Энергетическая безопасность. Москва: Наука; 2018. 312 с.\n"
    )
    response = post_change(editor_client, publication, references_paste=pasted)
    assert response.status_code == HTTPStatus.FOUND
    references = list(publication.references.order_by("position"))
    assert [reference.doi for reference in references] == ["10.1234/jp.2019.45", ""]
    assert references[1].language == "ru"
    assert references[0].text.startswith("Smith J.")


@pytest.mark.parametrize("query", ["Arctic Shipping", "10.5555/arctic.2024", "Lindqvist"])
def test_changelist_search(staff_client, query):
    """The change list finds publications by title, DOI and author."""
    author = AuthorFactory(family_name="Lindqvist")
    PublicationFactory(title="Arctic Shipping Routes", doi="10.5555/arctic.2024", authors=[author])
    PublicationFactory(title="Unrelated")
    response = staff_client.get(reverse(CHANGELIST), {"q": query})
    titles = [publication.title for publication in response.context["cl"].result_list]
    assert titles == ["Arctic Shipping Routes"]


def test_changelist_has_pdf_filter(staff_client):
    """The PDF filter separates publications with and without a PDF."""
    PublicationFactory(title="With file", pdf="publications/pdf/2024/a.pdf")
    PublicationFactory(title="Without file")
    response = staff_client.get(reverse(CHANGELIST), {"has_pdf": "yes"})
    assert [p.title for p in response.context["cl"].result_list] == ["With file"]


@pytest.mark.parametrize("size", [1, 8])
def test_changelist_queries_constant(staff_client, django_assert_max_num_queries, size):
    """The change list needs the same number of queries for few or many rows."""
    for _ in range(size):
        PublicationFactory(authors=[AuthorFactory(), AuthorFactory()])
    with django_assert_max_num_queries(16):
        response = staff_client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == size


@pytest.mark.parametrize(
    "name",
    [
        "admin:publications_publication_changelist",
        "admin:publications_publication_add",
        "admin:authors_author_changelist",
        "admin:authors_author_add",
        "admin:authors_organization_changelist",
    ],
)
def test_admin_pages_render_for_editor(editor_client, name):
    """The editorial pages answer 200 for an editor."""
    PublicationFactory(authors=[AuthorFactory()])
    assert editor_client.get(reverse(name)).status_code == HTTPStatus.OK


def test_change_pages_render_for_editor(editor_client):
    """The publication, author and history pages of an existing item answer 200 for an editor."""
    author = AuthorFactory()
    publication = PublicationFactory(authors=[author])
    for url in (
        change_url(publication),
        reverse("admin:publications_publication_history", args=[publication.pk]),
        reverse("admin:authors_author_change", args=[author.pk]),
        reverse("admin:authors_organization_change", args=[author.organization.pk]),
    ):
        assert editor_client.get(url).status_code == HTTPStatus.OK, url


def test_change_form_has_editor_widget(editor_client):
    """The body field carries the toolbar script, served from our static files."""
    response = editor_client.get(reverse("admin:publications_publication_add"))
    content = response.content.decode()
    assert "js/richtext-editor.js" in content
    assert "data-richtext" in content


def test_contributor_cannot_import(contributor_client):
    """Importing (which creates published items) is refused to contributors."""
    response = contributor_client.get(reverse("admin:publications_publication_import"))
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_editor_can_open_import(editor_client):
    """Editors open the import page."""
    response = editor_client.get(reverse("admin:publications_publication_import"))
    assert response.status_code == HTTPStatus.OK


def test_authors_without_positions_keep_form_order(editor_client):
    """Author rows added without a position are numbered in the order they appear."""
    first, second = AuthorFactory(), AuthorFactory()
    response = editor_client.get(reverse("admin:publications_publication_add"))
    data = changeform_data(response, title="Ordered", slug="ordered", status="draft")
    data.update(
        {
            "authorships-TOTAL_FORMS": "2",
            "authorships-0-author": str(second.pk),
            "authorships-0-position": "0",
            "authorships-1-author": str(first.pk),
            "authorships-1-position": "0",
        }
    )
    response = editor_client.post(reverse("admin:publications_publication_add"), data)
    assert response.status_code == HTTPStatus.FOUND
    publication = Publication.objects.get(slug="ordered")
    ordered = list(publication.authorships.order_by("position").values_list("author_id", "position"))
    assert ordered == [(second.pk, 1), (first.pk, 2)]
