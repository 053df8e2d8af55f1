"""Tags in other scripts: django-taggit keeps the script in the slug ("центральная-азия")."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

import pytest
from django.urls import reverse
from taggit.models import Tag

from tests.factories import PublicationFactory

pytestmark = pytest.mark.django_db

INDEX = "/publications/"
SLUG = "центральная-азия"


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def cyrillic_tagged():
    """One publication tagged "Центральная Азия", one without it."""
    PublicationFactory(title="Untagged")
    return PublicationFactory(title="Tagged in Cyrillic", tags=["Центральная Азия"])


def titles(response) -> list[str]:
    return [publication.title for publication in response.context["publications"]]


def test_cyrillic_tag_slug_keeps_its_script(cyrillic_tagged):
    """The premise: taggit slugifies the Cyrillic name to a Cyrillic slug."""
    assert Tag.objects.get(name="Центральная Азия").slug == SLUG


def test_index_filter_cyrillic_tag_accepted(client, cyrillic_tagged):
    """?tag=центральная-азия filters the index, with no form error."""
    response = client.get(INDEX, {"tag": SLUG})
    assert response.status_code == HTTPStatus.OK
    assert response.context["errors"] == []
    assert titles(response) == ["Tagged in Cyrillic"]
    assert response.context["active"] == {"tag": [SLUG]}


def test_index_filter_cyrillic_tag_percent_encoded(client, cyrillic_tagged):
    """The percent-encoded form a browser sends works the same."""
    response = client.get(f"{INDEX}?tag={quote(SLUG)}")
    assert titles(response) == ["Tagged in Cyrillic"]


def test_index_filter_cyrillic_tag_chip_removes_it(client):
    """The active Cyrillic tag shows as a chip, labelled with its name, whose link drops only it."""
    PublicationFactory(tags=["Центральная Азия", "energy"])
    chips = client.get(INDEX, {"tag": [SLUG, "energy"]}).context["chips"]
    assert [(chip["label"], chip["url"]) for chip in chips] == [
        ("Центральная Азия", "?tag=energy"),
        ("energy", f"?tag={quote(SLUG)}"),
    ]


def test_index_filter_tag_still_rejects_markup(client, cyrillic_tagged):
    """Unicode letters are accepted, punctuation and markup still are not."""
    response = client.get(INDEX, {"tag": "<script>"})
    assert response.context["errors"]
    assert len(titles(response)) == 2


def test_tag_page_cyrillic_slug_lists_its_publications(client, cyrillic_tagged):
    """/tags/центральная-азия/ answers with the tagged publication only."""
    url = reverse("publications:tag", kwargs={"slug": SLUG})
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert titles(response) == ["Tagged in Cyrillic"]
    assert "Центральная Азия" in response.content.decode()


def test_tag_page_cyrillic_slug_filter_by_tag_again(client, cyrillic_tagged):
    """On the Cyrillic tag's page, filtering by the same tag is valid too (no form error)."""
    url = reverse("publications:tag", kwargs={"slug": SLUG})
    response = client.get(url, {"tag": SLUG})
    assert response.context["errors"] == []
    assert titles(response) == ["Tagged in Cyrillic"]
