"""An editor uploads a figure, places it with the toolbar and sees it on the public page (real browser)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.factories import PublicationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def page(watched_page):
    return watched_page


def test_editor_places_uploaded_figure(live_server, page, tmp_path, settings):
    """Upload a figure in the form, place it with the toolbar's Figure button, see it on the page."""
    settings.PAGE_CACHE_SECONDS = 0
    UserFactory(username="fig.editor", password=PASSWORD, groups=["Editor"])
    publication = PublicationFactory(title="Gas Exports of the Caspian", body="<p>Exports grew.</p>")
    chart = tmp_path / "exports.png"
    buffer = io.BytesIO()
    Image.new("RGB", (900, 600), "#336699").save(buffer, format="PNG")
    chart.write_bytes(buffer.getvalue())

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "fig.editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    change = f"{live_server.url}/admin/publications/publication/{publication.pk}/change/"
    page.goto(change)
    page.locator("#figures-group .add-row a").click()
    page.fill("#id_figures-0-position", "1")
    page.set_input_files("#id_figures-0-image", str(chart))
    page.fill("#id_figures-0-alt_text", "Bar chart of gas exports by year")
    page.fill("#id_figures-0-caption", "Gas exports, 2010–2020.")
    # The toolbar asks for the figure's number and inserts its shortcode at the cursor.
    page.once("dialog", lambda dialog: dialog.accept("1"))
    page.locator("#id_body").evaluate("area => area.setSelectionRange(area.value.length, area.value.length)")
    page.locator(".richtext-toolbar button", has_text="Figure").click()
    assert page.input_value("#id_body") == "<p>Exports grew.</p>\n<p>[figure 1]</p>\n"
    page.click("input[name=_continue]")
    page.wait_for_url(change)
    assert "<code>[figure 1]</code>" in page.content()

    page.goto(f"{live_server.url}{publication.get_absolute_url()}")
    image = page.locator("figure.body-figure img")
    assert image.get_attribute("alt") == "Bar chart of gas exports by year"
    assert image.get_attribute("loading") == "lazy"
    image.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('figure.body-figure img').complete")
    assert image.evaluate("img => img.naturalWidth") == 900
    assert "Gas exports, 2010–2020." in page.locator("figure.body-figure figcaption").inner_text()
    assert page.console_errors == []  # the image is same-origin: the CSP lets it through
