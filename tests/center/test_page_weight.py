"""The publication page stays light: under 100 KB before its PDF."""

from __future__ import annotations

import gzip
import re
from http import HTTPStatus

import pytest
from django.contrib.staticfiles import finders

from publications.models import Publication
from tests.factories import (
    AuthorFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

PAGE_BUDGET = 100 * 1024
BODY = "".join(
    f"<h2>Section {n}</h2><p>{'Trade corridors across the Caspian reshape regional security. ' * 12}</p>"
    for n in range(1, 9)
)


@pytest.fixture
def heavy_publication():
    """A long journal article: eight authors, sixty references, a body of about 8,000 words of HTML."""
    publication = PublicationFactory(
        kind=Publication.Kind.ARTICLE,
        title="Energy Interdependence and Security Cooperation in the Caspian Region",
        abstract="How pipelines and ports bind the littoral states. " * 20,
        body=BODY,
        doi="10.1234/caspian.2024.017",
        container_title="Journal of Eurasian Policy",
        volume="12",
        issue="3",
        pages="45-67",
        authors=AuthorFactory.create_batch(8),
        themes=ThemeFactory.create_batch(3),
        regions=RegionFactory.create_batch(2),
        tags=["energy", "caspian", "pipelines", "ports", "security"],
    )
    ReferenceFactory.create_batch(
        60, publication=publication, doi="10.5555/ref.2019.1", url="https://example.org/r"
    )
    return publication


def linked_assets_size(html: str, *, compressed: bool = False) -> int:
    """Bytes of the page's own stylesheets and scripts (served from /static/).

    ``compressed``: as WhiteNoise serves them, gzipped at its level (9).
    """
    total = 0
    for path in re.findall(r'(?:href|src)="/static/([^"?#]+)"', html):
        found = finders.find(path)
        if found:
            with open(found, "rb") as handle:
                data = handle.read()
            total += len(gzip.compress(data, compresslevel=9)) if compressed else len(data)
    return total


def test_publication_page_under_100_kb(client, heavy_publication):
    """HTML plus its stylesheets and scripts weigh under 100 KB (uncompressed) for a long article."""
    response = client.get(heavy_publication.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert len(response.content) + linked_assets_size(html) < PAGE_BUDGET


@pytest.fixture
def long_blog_post():
    """A long blog post: the publication type that also loads htmx (for the reactions)."""
    return PublicationFactory(
        kind=Publication.Kind.BLOG_POST,
        title="What the Caspian Pipeline Deal Means for the Region",
        abstract="A first reading of the new pipeline agreement. " * 10,
        body=BODY * 2,
        authors=AuthorFactory.create_batch(3),
        themes=ThemeFactory.create_batch(2),
        regions=RegionFactory.create_batch(1),
        tags=["energy", "caspian", "pipelines"],
    )


def test_blog_post_page_under_100_kb_with_htmx(client, long_blog_post):
    """A long blog post, htmx included, weighs under 100 KB as sent: HTML uncompressed, CSS + JS gzipped.

    The app sends HTML uncompressed; WhiteNoise serves the static files with their
    gzip (or smaller brotli) variants, which is what a browser downloads. Counted
    uncompressed the page is heavier (htmx alone is about 52 KB), so the budget
    is about bytes on the wire.
    """
    response = client.get(long_blog_post.get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert re.search(r'src="/static/js/vendor/htmx[^"]*\.js"', html), "the reactions' htmx is counted"
    assets = linked_assets_size(html, compressed=True)
    assert len(response.content) + assets < PAGE_BUDGET, (len(response.content), assets)
