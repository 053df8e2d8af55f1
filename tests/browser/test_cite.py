"""The "Cite item" block in a real Chromium: pick a style, copy it."""

from __future__ import annotations

import pytest

from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def article():
    return PublicationFactory(
        title="Pipelines and Power in the Caspian",
        kind=Publication.Kind.ARTICLE,
        container_title="Journal of Eurasian Policy",
        authors=[AuthorFactory(given_name="Анна", family_name="Петрова")],
    )


def test_cite_style_picker_shows_one_style(live_server, browser_page, article):
    """With JavaScript the picker shows one style at a time, switching on selection."""
    page = browser_page
    page.goto(live_server.url + article.get_absolute_url())
    select = page.locator("[data-cite-select]")
    assert select.is_visible()
    assert page.locator('[data-cite-style="apa"]').is_visible()
    assert not page.locator('[data-cite-style="gost"]').is_visible()
    select.select_option("gost")
    assert page.locator('[data-cite-style="gost"]').is_visible()
    assert not page.locator('[data-cite-style="apa"]').is_visible()
    assert "// Journal of Eurasian Policy" in page.locator('[data-cite-style="gost"] .cite-text').inner_text()


def test_cite_copy_button_copies_the_shown_style(live_server, browser_page, article):
    """The copy button puts the shown citation's text on the clipboard and says so."""
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + article.get_absolute_url())
    page.locator("[data-cite-select]").select_option("mla")
    page.locator("[data-cite-copy]").click()
    page.locator("[data-cite-status]").filter(has_text="Citation copied.").wait_for()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Петрова, Анна. “Pipelines and Power in the Caspian.”")
    assert "Pipelines and Power in the Caspian" in copied


def test_cite_without_javascript_lists_every_style(live_server, new_browser_page, article):
    """Without JavaScript every style is listed and the picker stays hidden."""
    page = new_browser_page(java_script_enabled=False)
    page.goto(live_server.url + article.get_absolute_url())
    assert page.locator("[data-cite-style]").count() == 5
    assert all(item.is_visible() for item in page.locator("[data-cite-style]").all())
    assert not page.locator("[data-cite-select]").is_visible()
