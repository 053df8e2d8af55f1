"""The PDF view may be framed by the site's own publication page, and nothing else may be framed."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.factories import PublicationFactory, small_pdf

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings, tmp_path):
    settings.PAGE_CACHE_SECONDS = 0
    settings.MEDIA_ROOT = tmp_path / "media"


def csp_directives(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def publication_with_pdf():
    publication = PublicationFactory()
    publication.pdf.save("paper.pdf", ContentFile(small_pdf()))
    return publication


def test_pdf_view_frameable_by_same_origin(client, publication_with_pdf):
    """The inline PDF answers X-Frame-Options SAMEORIGIN and CSP frame-ancestors 'self' only."""
    response = client.get(reverse("publications:pdf", kwargs={"slug": publication_with_pdf.slug}))
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert csp_directives(response)["frame-ancestors"] == ["'self'"]


def test_pdf_view_other_directives_unchanged(client, publication_with_pdf):
    """Only frame-ancestors is relaxed on the PDF: the rest of the policy stays the site's."""
    pdf = client.get(reverse("publications:pdf", kwargs={"slug": publication_with_pdf.slug}))
    page = client.get(publication_with_pdf.get_absolute_url())
    pdf_directives, page_directives = csp_directives(pdf), csp_directives(page)
    pdf_directives.pop("frame-ancestors")
    page_directives.pop("frame-ancestors")
    # The script nonce differs per response; the names and all other sources are the same.
    assert pdf_directives.keys() == page_directives.keys()
    assert pdf_directives["default-src"] == page_directives["default-src"] == ["'self'"]


def test_publication_page_not_frameable(client, publication_with_pdf):
    """The publication page itself, which embeds the PDF, keeps DENY and frame-ancestors 'none'."""
    response = client.get(publication_with_pdf.get_absolute_url())
    assert response["X-Frame-Options"] == "DENY"
    assert csp_directives(response)["frame-ancestors"] == ["'none'"]


def test_index_not_frameable(client):
    """Pages other than the PDF keep DENY and frame-ancestors 'none'."""
    response = client.get(reverse("publications:index"))
    assert response["X-Frame-Options"] == "DENY"
    assert csp_directives(response)["frame-ancestors"] == ["'none'"]
