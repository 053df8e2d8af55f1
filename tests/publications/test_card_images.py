"""Publication cards show the cover image, else the PDF's first page, else no image at all."""

from __future__ import annotations

import html5lib
import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from center import caching
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory
from tests.html_checks import assert_valid_page

pytestmark = pytest.mark.django_db

INDEX = "/publications/"
COVER = "publications/covers/cover.jpg"
THUMB = "publications/thumbs/first-page.png"


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def with_images(publication: Publication, *, cover: str = "", thumbnail: str = "") -> Publication:
    """Set the image fields as the upload and the thumbnail task leave them (a plain update)."""
    Publication.objects.filter(pk=publication.pk).update(cover_image=cover, pdf_thumbnail=thumbnail)
    return publication


def card_images(content: bytes) -> list[dict[str, str]]:
    """The attributes of every card image on the page."""
    document = html5lib.HTMLParser(namespaceHTMLElements=False).parse(content)
    return [dict(image.attrib) for image in document.iter("img") if "card-image" in image.get("class", "")]


def test_card_shows_cover_image(client, settings):
    """A cover image is shown, decorative (alt=""), lazy-loaded, with a fixed size."""
    with_images(PublicationFactory(), cover=COVER)
    [image] = card_images(client.get(INDEX).content)
    assert image["src"] == settings.MEDIA_URL + COVER
    assert image["alt"] == ""
    assert image["loading"] == "lazy"
    assert (image["width"], image["height"]) == ("96", "136")


def test_card_prefers_cover_over_pdf_thumbnail(client, settings):
    """With both, the cover is shown, not the PDF's first page."""
    with_images(PublicationFactory(), cover=COVER, thumbnail=THUMB)
    [image] = card_images(client.get(INDEX).content)
    assert image["src"] == settings.MEDIA_URL + COVER


def test_card_falls_back_to_pdf_thumbnail(client, settings):
    """Without a cover, the PDF thumbnail made by the background task is shown."""
    with_images(PublicationFactory(), thumbnail=THUMB)
    [image] = card_images(client.get(INDEX).content)
    assert image["src"] == settings.MEDIA_URL + THUMB
    assert image["alt"] == ""


def test_card_without_images_has_no_img(client):
    """Neither cover nor thumbnail: no image element at all (no broken picture, no empty src)."""
    PublicationFactory(title="Plain text only")
    response = client.get(INDEX)
    assert card_images(response.content) == []
    assert '<img class="card-image" src=""' not in response.content.decode()
    assert_valid_page(response.content)


def test_card_image_page_stays_valid(client):
    """A page of cards with images is still valid HTML with alt on every image."""
    with_images(PublicationFactory(), cover=COVER)
    with_images(PublicationFactory(), thumbnail=THUMB)
    PublicationFactory()
    response = client.get(INDEX)
    assert len(card_images(response.content)) == 2
    assert_valid_page(response.content)


def test_card_image_on_home_and_author_page(client):
    """The home page's and an author's lists use the same card, with the image."""
    author = AuthorFactory()
    with_images(PublicationFactory(authors=[author], featured=True), cover=COVER)
    assert card_images(client.get(reverse("home")).content)
    assert card_images(client.get(author.get_absolute_url()).content)


def index_queries(client) -> tuple[int, bytes]:
    """Queries of one index request with every cache cold, and the page."""
    cache.clear()
    caching.reset()
    with CaptureQueriesContext(connection) as context:
        content = client.get(INDEX).content
    return len(context.captured_queries), content


def test_card_images_add_no_queries(client):
    """20 cards with images cost exactly the queries of 20 cards without (no per-card lookup)."""
    publications = PublicationFactory.create_batch(20)
    without, _ = index_queries(client)
    for n, publication in enumerate(publications):
        with_images(publication, cover=COVER if n % 2 else "", thumbnail=THUMB)
    with_pictures, content = index_queries(client)
    assert len(card_images(content)) == 20
    assert with_pictures == without
