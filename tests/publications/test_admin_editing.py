"""The publication change list filters and the reference inline (reorder, edit) as staff use them."""

from __future__ import annotations

import datetime as dt
import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from publications.models import Publication
from tests.factories import PublicationFactory, ReferenceFactory, RegionFactory, ThemeFactory
from tests.publications.admin_post import changeform_data

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:publications_publication_changelist"


def listed(client, **params) -> list[str]:
    """Titles the change list shows for these query parameters."""
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == HTTPStatus.OK
    return sorted(publication.title for publication in response.context["cl"].result_list)


def test_changelist_year_filter(staff_client):
    """The year filter keeps the publications of that year only."""
    PublicationFactory(title="In 2024", published_at=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    PublicationFactory(title="In 2022", published_at=dt.datetime(2022, 3, 1, tzinfo=dt.UTC))
    assert listed(staff_client) == ["In 2022", "In 2024"]
    assert listed(staff_client, year="2022") == ["In 2022"]


def test_changelist_year_filter_lists_years(staff_client):
    """The year filter offers the years that have publications."""
    PublicationFactory(published_at=dt.datetime(2021, 6, 1, tzinfo=dt.UTC))
    response = staff_client.get(reverse(CHANGELIST))
    assert "?year=2021" in response.text


def test_changelist_kind_filter(staff_client):
    """The kind filter keeps one kind of publication."""
    PublicationFactory(title="A report", kind=Publication.Kind.REPORT)
    PublicationFactory(title="A blog post", kind=Publication.Kind.BLOG_POST)
    assert listed(staff_client, kind__exact=Publication.Kind.BLOG_POST) == ["A blog post"]


def test_changelist_theme_filter(staff_client):
    """The theme filter keeps the publications of that theme."""
    energy, security = ThemeFactory(name="Energy"), ThemeFactory(name="Security")
    PublicationFactory(title="On energy", themes=[energy])
    PublicationFactory(title="On security", themes=[security])
    PublicationFactory(title="On both", themes=[energy, security])
    assert listed(staff_client, themes__id__exact=energy.pk) == ["On both", "On energy"]


def test_changelist_region_filter(staff_client):
    """The region filter keeps the publications of that region."""
    asia, europe = RegionFactory(name="Asia"), RegionFactory(name="Europe")
    PublicationFactory(title="Asian", regions=[asia])
    PublicationFactory(title="European", regions=[europe])
    assert listed(staff_client, regions__id__exact=europe.pk) == ["European"]


def test_changelist_filters_combine(staff_client):
    """Filters narrow together: kind and theme and year at once."""
    energy = ThemeFactory()
    in_2024, in_2023 = dt.datetime(2024, 6, 1, tzinfo=dt.UTC), dt.datetime(2023, 6, 1, tzinfo=dt.UTC)
    report = Publication.Kind.REPORT
    PublicationFactory(title="Match", kind=report, themes=[energy], published_at=in_2024)
    PublicationFactory(title="Wrong year", kind=report, themes=[energy], published_at=in_2023)
    PublicationFactory(
        title="Wrong kind", kind=Publication.Kind.BLOG_POST, themes=[energy], published_at=in_2024
    )
    PublicationFactory(title="No theme", kind=report, published_at=in_2024)
    params = {"kind__exact": report, "themes__id__exact": energy.pk, "year": "2024"}
    assert listed(staff_client, **params) == ["Match"]


def reference_texts(html: str) -> list[str]:
    section = html.split('id="references-heading"', 1)[1].split("</section>", 1)[0]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", section, re.S)]


def test_references_reordered_and_edited_inline(editor_client, client):
    """Swapping positions and editing a text in the inline changes the order on the public page."""
    publication = PublicationFactory()
    first = ReferenceFactory(publication=publication, position=1, text="Alpha A. First work. 2001.")
    second = ReferenceFactory(publication=publication, position=2, text="Beta B. Second work. 2002.")
    url = reverse("admin:publications_publication_change", args=[publication.pk])
    data = changeform_data(editor_client.get(url))
    rows = {data[f"references-{n}-id"]: n for n in range(int(data["references-TOTAL_FORMS"]))}
    data[f"references-{rows[str(first.pk)]}-position"] = "2"
    data[f"references-{rows[str(second.pk)]}-position"] = "1"
    data[f"references-{rows[str(second.pk)]}-text"] = "Beta B. Second work, revised. 2003."
    response = editor_client.post(url, data)
    assert response.status_code == HTTPStatus.FOUND
    assert list(publication.references.order_by("position").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]
    page = client.get(publication.get_absolute_url())
    assert reference_texts(page.text) == ["Beta B. Second work, revised. 2003.", "Alpha A. First work. 2001."]


def test_reference_deleted_inline(editor_client, client):
    """Ticking "delete" on a reference row removes it from the public page."""
    publication = PublicationFactory()
    kept = ReferenceFactory(publication=publication, position=1, text="Kept K. A work. 2001.")
    gone = ReferenceFactory(publication=publication, position=2, text="Gone G. Another. 2002.")
    url = reverse("admin:publications_publication_change", args=[publication.pk])
    data = changeform_data(editor_client.get(url))
    rows = {data[f"references-{n}-id"]: n for n in range(int(data["references-TOTAL_FORMS"]))}
    data[f"references-{rows[str(gone.pk)]}-DELETE"] = "on"
    assert editor_client.post(url, data).status_code == HTTPStatus.FOUND
    assert list(publication.references.values_list("pk", flat=True)) == [kept.pk]
    assert reference_texts(client.get(publication.get_absolute_url()).text) == ["Kept K. A work. 2001."]
