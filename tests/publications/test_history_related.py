"""Revision history of a publication's related objects: authors, references, themes, regions, tags.

Every change goes through the real admin change form with its inlines (tests/publications/admin_post.py).
"""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from publications.models import Authorship, Publication
from tests.factories import AuthorFactory, PublicationFactory, ReferenceFactory, RegionFactory, ThemeFactory
from tests.publications.admin_post import changeform_data

pytestmark = pytest.mark.django_db


def change_url(publication) -> str:
    return reverse("admin:publications_publication_change", args=[publication.pk])


def history_url(publication) -> str:
    return reverse("admin:publications_publication_history", args=[publication.pk])


def compare_url(publication) -> str:
    return reverse("admin:publications_publication_history_compare", args=[publication.pk])


def restore_url(publication, record) -> str:
    return reverse("admin:publications_publication_simple_history", args=[publication.pk, record.history_id])


def form_data(client, publication, **changes) -> dict:
    return changeform_data(client.get(change_url(publication)), **changes)


def rows(data: dict, prefix: str) -> dict[str, int]:
    """Inline form index by the row's primary key."""
    return {data[f"{prefix}-{n}-id"]: n for n in range(int(data[f"{prefix}-TOTAL_FORMS"]))}


def save(client, publication, data: dict) -> None:
    response = client.post(change_url(publication), data)
    assert response.status_code == HTTPStatus.FOUND, response.context["errors"] if response.context else ""


@pytest.fixture
def people():
    return {
        "A": AuthorFactory(given_name="Ann", family_name="Alpha"),
        "B": AuthorFactory(given_name="Ben", family_name="Beta"),
        "C": AuthorFactory(given_name="Cid", family_name="Gamma"),
    }


@pytest.fixture
def publication(editor_client, people):
    """A publication saved once through the admin: authors A, B (A corresponding), two references,
    themes Energy and Trade, region Caucasus, tags oil and gas."""
    energy, trade = ThemeFactory(name="Energy"), ThemeFactory(name="Trade")
    caucasus = RegionFactory(name="Caucasus")
    item = PublicationFactory(
        authors=[people["A"], people["B"]],
        themes=[energy, trade],
        regions=[caucasus],
        tags=["oil", "gas"],
    )
    Authorship.objects.filter(publication=item, author=people["A"]).update(is_corresponding=True)
    ReferenceFactory(publication=item, position=1, text="First F. One work. 2001.", doi="10.1234/one")
    ReferenceFactory(
        publication=item, position=2, text="Second S. Other work. 2002.", url="https://example.org/"
    )
    save(editor_client, item, form_data(editor_client, item, workflow_comment="Baseline"))
    return item


def authorship_of(publication, author) -> Authorship:
    return Authorship.objects.get(publication=publication, author=author)


def replace_b_by_c(client, publication, people) -> None:
    data = form_data(client, publication)
    index = rows(data, "authorships")[
        str(Authorship.objects.get(publication=publication, author=people["B"]).pk)
    ]
    data[f"authorships-{index}-author"] = str(people["C"].pk)
    save(client, publication, data)


def test_admin_save_records_inline_authors(editor_client, publication, people):
    """The history row of an admin save holds the authors its inline saved, in order."""
    replace_b_by_c(editor_client, publication, people)
    latest = publication.history.first()
    assert [(entry["name"], entry["corresponding"]) for entry in latest.related["authors"]] == [
        ("Ann Alpha", True),
        ("Cid Gamma", False),
    ]


def test_admin_save_makes_one_history_row(editor_client, publication, people):
    """One admin save with changed fields and inlines is one history entry, not several."""
    before = publication.history.count()
    data = form_data(editor_client, publication, title="New title")
    index = rows(data, "authorships")[
        str(Authorship.objects.get(publication=publication, author=people["B"]).pk)
    ]
    data[f"authorships-{index}-author"] = str(people["C"].pk)
    save(editor_client, publication, data)
    assert publication.history.count() == before + 1


def test_history_page_shows_author_change(editor_client, publication, people):
    """The history lists "Authors: A, B → A, C" for the save that replaced an author."""
    replace_b_by_c(editor_client, publication, people)
    response = editor_client.get(history_url(publication))
    latest = response.context["page_obj"][0]
    assert {
        "field": "Authors",
        "old": "Ann Alpha (corresponding), Ben Beta",
        "new": "Ann Alpha (corresponding), Cid Gamma",
        "note": "",
    } in latest.history_delta_changes
    assert "Ben Beta" in response.content.decode()


def test_history_page_shows_themes_and_tags_added_and_removed(editor_client, publication):
    """Themes and tags changed in the form show what was added and what was removed."""
    migration = ThemeFactory(name="Migration")
    data = form_data(editor_client, publication)
    data["themes"] = [str(publication.themes.get(name="Energy").pk), str(migration.pk)]
    data["tags"] = "oil, pipelines"
    save(editor_client, publication, data)
    latest = editor_client.get(history_url(publication)).context["page_obj"][0]
    changes = {change["field"]: change for change in latest.history_delta_changes}
    assert changes["Themes"]["note"] == "added Migration; removed Trade"
    assert changes["Tags"]["note"] == "added pipelines; removed gas"
    assert "Regions" not in changes


def test_history_page_shows_reordered_references(editor_client, publication):
    """Swapping two references shows as an order change."""
    data = form_data(editor_client, publication)
    first, second = publication.references.order_by("position")
    index = rows(data, "references")
    data[f"references-{index[str(first.pk)]}-position"] = "2"
    data[f"references-{index[str(second.pk)]}-position"] = "1"
    save(editor_client, publication, data)
    latest = editor_client.get(history_url(publication)).context["page_obj"][0]
    assert {"field": "References", "old": "2 references", "new": "2 references", "note": "order changed"} in (
        latest.history_delta_changes
    )


def test_compare_shows_related_differences(editor_client, publication, people):
    """The compare view lists authors, references and regions changed between two versions."""
    baseline = publication.history.first()
    replace_b_by_c(editor_client, publication, people)
    data = form_data(editor_client, publication)
    data[f"references-{rows(data, 'references')[str(publication.references.get(position=2).pk)]}-DELETE"] = (
        "on"
    )
    data["regions"] = []
    save(editor_client, publication, data)
    response = editor_client.get(compare_url(publication), {"from": baseline.history_id})
    changes = {change["label"]: change for change in response.context["changes"]}
    assert changes["Authors"]["old"] == "Ann Alpha (corresponding), Ben Beta"
    assert changes["Authors"]["new"] == "Ann Alpha (corresponding), Cid Gamma"
    assert changes["References"]["note"] == "1 removed"
    assert "-Second S. Other work. 2002. URL: https://example.org/" in changes["References"]["diff"]
    assert changes["Regions"]["note"] == "removed Caucasus"
    assert "Cid Gamma" in response.content.decode()


def test_compare_between_two_old_versions(editor_client, publication, people):
    """Any two versions can be compared, not only one with the latest."""
    baseline = publication.history.first()
    replace_b_by_c(editor_client, publication, people)
    middle = publication.history.first()
    save(editor_client, publication, form_data(editor_client, publication, title="Later"))
    response = editor_client.get(
        compare_url(publication), {"from": baseline.history_id, "to": middle.history_id}
    )
    labels = [change["label"] for change in response.context["changes"]]
    assert labels == ["Authors"]


def restore(client, publication, record):
    response = client.get(restore_url(publication, record))
    assert response.status_code == HTTPStatus.OK
    return client.post(restore_url(publication, record), changeform_data(response))


@pytest.fixture
def reshuffled(editor_client, publication, people):
    """The baseline version, then a save that changed every related list."""
    baseline = publication.history.first()
    data = form_data(editor_client, publication)
    index = rows(data, "authorships")
    a = Authorship.objects.get(publication=publication, author=people["A"])
    b = Authorship.objects.get(publication=publication, author=people["B"])
    data[f"authorships-{index[str(a.pk)]}-DELETE"] = "on"
    data[f"authorships-{index[str(b.pk)]}-is_corresponding"] = "on"
    total = int(data["authorships-TOTAL_FORMS"])
    data.update({f"authorships-{total}-author": str(people["C"].pk), f"authorships-{total}-position": "9"})
    data["authorships-TOTAL_FORMS"] = str(total + 1)
    refs = rows(data, "references")
    first = publication.references.get(position=1)
    data[f"references-{refs[str(first.pk)]}-text"] = "First F. One work, revised. 2001."
    data[f"references-{refs[str(first.pk)]}-position"] = "3"
    data["themes"] = [str(ThemeFactory(name="Migration").pk)]
    data["regions"] = [str(RegionFactory(name="Balkans").pk)]
    data["tags"] = "water"
    save(editor_client, publication, data)
    return baseline


def test_restore_brings_back_authors_in_order_with_flag(editor_client, publication, reshuffled):
    """Restoring the baseline gives back A then B, A for correspondence."""
    response = restore(editor_client, publication, reshuffled)
    assert response.status_code == HTTPStatus.FOUND
    byline = [
        (authorship.author.family_name, authorship.is_corresponding)
        for authorship in publication.authorships.order_by("position")
    ]
    assert byline == [("Alpha", True), ("Beta", False)]


def test_restore_brings_back_references(editor_client, publication, reshuffled):
    """The references come back in their order, with their DOI and URL."""
    restore(editor_client, publication, reshuffled)
    references = list(publication.references.order_by("position").values_list("text", "doi", "url"))
    assert references == [
        ("First F. One work. 2001.", "10.1234/one", ""),
        ("Second S. Other work. 2002.", "", "https://example.org/"),
    ]


def test_restore_brings_back_themes_regions_tags(editor_client, publication, reshuffled):
    """Themes, regions and tags are those of the restored version."""
    restore(editor_client, publication, reshuffled)
    assert sorted(publication.themes.values_list("name", flat=True)) == ["Energy", "Trade"]
    assert list(publication.regions.values_list("name", flat=True)) == ["Caucasus"]
    assert sorted(publication.tags.names()) == ["gas", "oil"]


def test_restore_is_one_new_history_entry(editor_client, publication, reshuffled):
    """A restore adds one history row, holding the restored related objects, and bumps the version."""
    before = publication.history.count()
    version = Publication.objects.get(pk=publication.pk).version
    restore(editor_client, publication, reshuffled)
    latest = publication.history.first()
    assert publication.history.count() == before + 1
    assert latest.version == version + 1
    assert latest.related == {**reshuffled.related, "authors": latest.related["authors"]}
    assert [entry["name"] for entry in latest.related["authors"]] == ["Ann Alpha", "Ben Beta"]


def test_restore_page_lists_related_objects(editor_client, publication, reshuffled):
    """The restore page says which authors and references come back."""
    content = editor_client.get(restore_url(publication, reshuffled)).content.decode()
    section = content.split('id="restore-related"', 1)[1]
    assert "Ben Beta" in section
    assert "Second S. Other work. 2002." in section


def test_restore_of_stale_copy_changes_nothing(editor_client, publication, reshuffled, people):
    """Optimistic locking holds for restores: a copy older than the stored version restores nothing."""
    page = editor_client.get(restore_url(publication, reshuffled))
    save(editor_client, publication, form_data(editor_client, publication, title="Saved meanwhile"))
    response = editor_client.post(restore_url(publication, reshuffled), changeform_data(page))
    assert response.status_code == HTTPStatus.OK
    assert "Someone else saved this publication" in response.content.decode()
    assert list(publication.authorships.values_list("author", flat=True)) == [people["B"].pk, people["C"].pk]


def test_restore_by_contributor_does_not_publish(contributor_client, contributor, people):
    """A contributor restoring an old published version of their own draft publishes nothing."""
    item = PublicationFactory(created_by=contributor, status=Publication.Status.DRAFT, published_at=None)
    save(contributor_client, item, form_data(contributor_client, item))
    data = form_data(contributor_client, item)
    data.update({"authorships-0-author": str(people["A"].pk), "authorships-0-position": "1"})
    data["authorships-TOTAL_FORMS"] = "1"
    save(contributor_client, item, data)
    with_author = item.history.first()
    Publication.history.filter(pk=with_author.pk).update(status=Publication.Status.PUBLISHED)
    Authorship.objects.filter(publication=item).delete()
    response = restore(contributor_client, item, item.history.get(pk=with_author.pk))
    assert response.status_code == HTTPStatus.OK
    item.refresh_from_db()
    assert item.status == Publication.Status.DRAFT
    assert not item.authorships.exists()


def test_restore_other_peoples_publication_refused(contributor, publication, reshuffled):
    """A contributor may not restore a version of a publication they may not change."""
    client = Client()
    client.force_login(contributor)
    response = client.post(restore_url(publication, reshuffled), {"title": "x"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert publication.authorships.count() == 2


def test_old_rows_without_snapshot_display_and_compare(editor_client, publication, people):
    """Rows saved before related objects were recorded show, compare and restore their own fields."""
    replace_b_by_c(editor_client, publication, people)
    Publication.history.filter(id=publication.pk).update(related=None)
    oldest = publication.history.last()
    assert editor_client.get(history_url(publication)).status_code == HTTPStatus.OK
    response = editor_client.get(compare_url(publication), {"from": oldest.history_id})
    assert response.status_code == HTTPStatus.OK
    assert response.context["related_unknown"] is True
    assert "Authors" not in [change["label"] for change in response.context["changes"]]
    assert restore(editor_client, publication, oldest).status_code == HTTPStatus.FOUND
    assert list(publication.authorships.values_list("author", flat=True)) == [people["A"].pk, people["C"].pk]


def test_bulk_publish_row_has_snapshot(editor_client, people):
    """A history row made outside the change form (a bulk action) holds the related objects too."""
    item = PublicationFactory(status=Publication.Status.DRAFT, published_at=None, authors=[people["A"]])
    editor_client.post(
        reverse("admin:publications_publication_changelist"),
        {"action": "publish", "_selected_action": [item.pk]},
    )
    latest = item.history.first()
    assert latest.status == Publication.Status.PUBLISHED
    assert [entry["name"] for entry in latest.related["authors"]] == ["Ann Alpha"]


def test_history_page_queries_bounded(editor_client, publication, people, django_assert_max_num_queries):
    """The history page costs the same few queries with 3 and with 40 versions of related changes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as context:
            assert editor_client.get(history_url(publication)).status_code == HTTPStatus.OK
        return len(context.captured_queries)

    replace_b_by_c(editor_client, publication, people)
    few = count()
    for n in range(38):
        data = form_data(editor_client, publication, title=f"Title {n}")
        data["tags"] = f"oil, tag-{n}"
        save(editor_client, publication, data)
    assert publication.history.count() >= 40
    with django_assert_max_num_queries(few):
        response = editor_client.get(history_url(publication))
    assert len(response.context["page_obj"]) >= 40


def test_bulk_add_tags_is_a_version(editor_client):
    """The "add tags" bulk action makes a history entry showing the added tag."""
    item = PublicationFactory(tags=["oil"])
    save(editor_client, item, form_data(editor_client, item))
    editor_client.post(
        reverse("admin:publications_publication_changelist"),
        {"action": "add_tags", "apply": "1", "tags": "pipelines", "_selected_action": [item.pk]},
    )
    latest = editor_client.get(history_url(item)).context["page_obj"][0]
    assert latest.history_change_reason == "Tags added: pipelines"
    assert {"field": "Tags", "old": "oil", "new": "oil, pipelines", "note": "added pipelines"} in (
        latest.history_delta_changes
    )


def test_import_history_row_has_imported_authors():
    """An imported publication's history row holds the authors the import added after saving it."""
    from publications.imports import publications_import

    text = (
        'key,kind,title,authors,date,themes\nk-1,report,Energy Outlook,"Smith, John; Doe, Jane",2019,Energy\n'
    )
    report = publications_import(file=text.encode(), format="csv")
    assert report.ok and report.committed
    latest = Publication.objects.get(source_key="k-1").history.first()
    assert [entry["name"] for entry in latest.related["authors"]] == ["John Smith", "Jane Doe"]
    assert [entry["name"] for entry in latest.related["themes"]] == ["Energy"]


def test_contributor_restores_own_draft_with_authors(contributor, people):
    """A contributor restoring an older version of their own draft gets its authors back."""
    client = Client()
    client.force_login(contributor)
    item = PublicationFactory(created_by=contributor, status=Publication.Status.DRAFT, published_at=None)
    data = form_data(client, item)
    data.update({"authorships-0-author": str(people["A"].pk), "authorships-0-position": "1"})
    data["authorships-TOTAL_FORMS"] = "1"
    save(client, item, data)
    with_author = item.history.first()
    data = form_data(client, item)
    data["authorships-0-DELETE"] = "on"
    save(client, item, data)
    assert not item.authorships.exists()
    assert restore(client, item, with_author).status_code == HTTPStatus.FOUND
    assert list(item.authorships.values_list("author", flat=True)) == [people["A"].pk]
