"""A visitor clicks through the public site in a real Chromium."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile

from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory, small_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def index(settings, tmp_path):
    """A small index: the wanted article (theme Energy, tag pipelines) among near misses."""
    settings.MEDIA_ROOT = tmp_path / "media"
    energy = ThemeFactory(name="Energy", slug="energy")
    other = ThemeFactory(name="Migration", slug="migration")
    region = RegionFactory(name="Central Asia", slug="central-asia")
    author = AuthorFactory(given_name="Anna", family_name="Petrova")
    wanted = PublicationFactory(
        title="Pipelines and Power in the Caspian",
        kind=Publication.Kind.ARTICLE,
        themes=[energy],
        regions=[region],
        tags=["pipelines", "gas"],
        authors=[author],
    )
    wanted.pdf.save("caspian.pdf", ContentFile(small_pdf()))
    PublicationFactory(title="Pipelines of People", themes=[other], tags=["pipelines"])
    PublicationFactory(title="Energy Without Pipelines", themes=[energy], tags=["solar"])
    return wanted


def test_home_to_index_filter_open_pdf(live_server, browser_page, index):
    """Home → index → filter by a tag and a theme → open the publication → its PDF link gives a PDF."""
    page = browser_page
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Publications").click()
    page.wait_for_url(re.compile(r"/publications/$"))
    assert page.locator(".card").count() == 3

    # Changing a filter swaps the results in place (htmx) and puts the filter in the URL.
    tag_box = page.get_by_role("checkbox", name=re.compile(r"^pipelines"))
    tag_box.check()
    page.wait_for_url(re.compile(r"tag=pipelines"))
    page.wait_for_function("document.querySelectorAll('.card').length === 2")
    page.get_by_label("Theme").select_option("energy")
    page.wait_for_url(re.compile(r"theme=energy"))
    page.wait_for_function("document.querySelectorAll('.card').length === 1")
    assert "tag=pipelines" in page.url
    assert tag_box.is_checked()

    page.get_by_role("link", name="Pipelines and Power in the Caspian").click()
    page.wait_for_url(re.compile(index.slug))
    assert page.locator("h1").inner_text() == "Pipelines and Power in the Caspian"
    assert page.locator("object.pdf-frame").count() == 1

    href = page.get_by_role("link", name="Download PDF").first.get_attribute("href")
    response = page.request.get(live_server.url + href)
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")


def test_index_filters_work_without_javascript(live_server, new_browser_page, index):
    """With JavaScript off the filter form submits as a plain GET and the URL carries the filters."""
    page = new_browser_page(java_script_enabled=False)
    page.goto(live_server.url + "/publications/")
    page.get_by_label("Theme").select_option("energy")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"theme=energy"))
    assert page.locator(".card").count() == 2


def test_cookie_notice_dismissal_remembered(live_server, browser_page, index):
    """The cookie notice shows once; after "OK" it stays hidden on the next page, and no cookie is set."""
    page = browser_page
    page.goto(live_server.url + "/")
    notice = page.get_by_role("region", name="Cookies on this site")
    notice.get_by_role("button", name="OK, got it").click()
    assert not notice.is_visible()
    page.goto(live_server.url + "/publications/")
    assert not page.locator("[data-cookie-notice]").is_visible()
    assert page.context.cookies() == []
