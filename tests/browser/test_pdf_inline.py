"""The publication page's embedded PDF really loads in Chromium (not blocked by framing rules)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.factories import PublicationFactory, small_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def publication(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PAGE_CACHE_SECONDS = 0
    publication = PublicationFactory(title="Pipelines and Power in the Caspian")
    publication.pdf.save("caspian.pdf", ContentFile(small_pdf()))
    return publication


def test_embedded_pdf_loads_without_csp_violation(live_server, browser_page, publication):
    """The <object> on the publication page fetches the PDF as application/pdf, with no framing error."""
    page = browser_page
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    pdf_path = reverse("publications:pdf", kwargs={"slug": publication.slug})
    pdf_url = live_server.url + pdf_path
    with page.expect_response(lambda response: response.url == pdf_url) as pdf_response:
        page.goto(live_server.url + publication.get_absolute_url())
    response = pdf_response.value
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    page.wait_for_load_state("load")
    blocked = [m for m in messages if "frame-ancestors" in m or "X-Frame-Options" in m or "Refused" in m]
    assert not blocked, blocked
    assert pdf_url in [frame.url for frame in page.frames]
