"""Admin forms store nothing partial: one bad inline row and nothing of the whole form is saved."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from publications.models import Authorship, Publication, Reference
from tests.factories import AuthorFactory
from tests.publications.admin_post import changeform_data

pytestmark = pytest.mark.django_db
ADD = "admin:publications_publication_add"


def _inline_prefixes(response) -> dict[str, str]:
    return {
        inline.formset.model.__name__: inline.formset.prefix
        for inline in response.context["inline_admin_formsets"]
    }


def _rows(prefix: str, rows: list[dict]) -> dict:
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{name}": value for name, value in row.items()})
    return data


def _add_form(client, *, authors: list[dict], references: list[dict]) -> dict:
    response = client.get(reverse(ADD))
    prefixes = _inline_prefixes(response)
    data = changeform_data(
        response,
        title="Grain Corridors of the Black Sea",
        slug="grain-corridors",
        kind="report",
        status="draft",
    )
    data.update(_rows(prefixes["Authorship"], authors))
    data.update(_rows(prefixes["Reference"], references))
    return data


def _good_reference(position: int) -> dict:
    return {"position": str(position), "text": f"Smith J. Grain and ports. 2019. Part {position}.", "doi": ""}


@pytest.fixture
def authors():
    return AuthorFactory(), AuthorFactory()


def _good_authors(authors) -> list[dict]:
    return [{"position": str(i), "author": str(author.pk)} for i, author in enumerate(authors, start=1)]


def _nothing_stored() -> bool:
    return not (Publication.objects.exists() or Authorship.objects.exists() or Reference.objects.exists())


def test_admin_add_with_valid_inlines_saves_all(editor_client, authors):
    """The control case: the same form with every row valid saves the publication and its rows."""
    data = _add_form(
        editor_client, authors=_good_authors(authors), references=[_good_reference(1), _good_reference(2)]
    )
    response = editor_client.post(reverse(ADD), data)
    assert response.status_code == HTTPStatus.FOUND
    publication = Publication.objects.get(slug="grain-corridors")
    assert publication.authorships.count() == 2
    assert publication.references.count() == 2


def test_admin_add_bad_reference_row_stores_nothing(editor_client, authors):
    """One reference with an invalid DOI: the form comes back with the error; no row of any kind exists."""
    bad = {**_good_reference(2), "doi": "not a doi at all"}
    data = _add_form(editor_client, authors=_good_authors(authors), references=[_good_reference(1), bad])
    response = editor_client.post(reverse(ADD), data)
    assert response.status_code == HTTPStatus.OK
    reference_formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Reference
    )
    assert reference_formset.errors[1]["doi"]
    assert _nothing_stored()


def test_admin_add_bad_author_row_stores_nothing(editor_client, authors):
    """One author row pointing at no author: the form comes back with the error, nothing is stored."""
    rows = [*_good_authors(authors), {"position": "3", "author": "999999"}]
    data = _add_form(editor_client, authors=rows, references=[_good_reference(1)])
    response = editor_client.post(reverse(ADD), data)
    assert response.status_code == HTTPStatus.OK
    authorship_formset = next(
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Authorship
    )
    assert authorship_formset.errors[2]["author"]
    assert _nothing_stored()
