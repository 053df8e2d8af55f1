"""An editor publishes through the admin in a real browser (Playwright + Debian Chromium)."""

from __future__ import annotations

import pytest

from publications.demo_pdf import build_pdf
from publications.models import Publication
from tests.factories import AuthorFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
REFERENCES = (
    "1. Smith J. Regional integration in Eurasia. Journal of Policy. 2019; 12(3): 45-67. "
    "https://doi.org/10.1234/jp.2019.12\n"
    "2. Иванов А.А. Энергетическая безопасность Центральной Азии. Москва: Наука; 2018. 312 с.\n"
    "3. World Bank. Global Economic Prospects. URL: https://www.worldbank.org/gep (accessed 12.03.2021).\n"
)


@pytest.fixture
def page(watched_page):
    return watched_page


def choose_author(page, row: int, name: str) -> None:
    """Pick an author in the inline row's autocomplete (select2)."""
    page.locator(f"#authorships-{row} .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill(name)
    page.locator(".select2-results__option", has_text=name).first.click()


def test_editor_publishes_with_two_authors_pdf_and_references(live_server, page, tmp_path, settings):
    """Log in, create a publication with two authors, a PDF and pasted references, publish, see it public."""
    settings.PAGE_CACHE_SECONDS = 0
    UserFactory(username="anna.editor", password=PASSWORD, groups=["Editor"])
    AuthorFactory(given_name="Elena", family_name="Sokolova", slug="elena-sokolova")
    AuthorFactory(given_name="Marcus", family_name="Lindqvist", slug="marcus-lindqvist")
    pdf = tmp_path / "caspian-energy.pdf"
    pdf.write_bytes(build_pdf("Caspian Energy Corridors", ["Pipelines and politics around the Caspian Sea."]))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "anna.editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/publications/publication/add/")
    page.fill("#id_title", "Caspian Energy Corridors after 2025")
    page.dispatch_event("#id_title", "change")  # the admin fills the slug on change/keyup
    assert page.input_value("#id_slug") == "caspian-energy-corridors-after-2025"
    page.select_option("#id_kind", "report")
    page.select_option("#id_status", "published")
    page.fill("#id_abstract", "How new pipelines reshape politics around the Caspian Sea.")
    page.fill("#id_body", "Pipelines matter.")
    page.locator("#id_body").select_text()
    page.locator(".richtext-toolbar button", has_text="H2").click()
    page.set_input_files("#id_pdf", str(pdf))
    page.fill("#id_references_paste", REFERENCES)
    add_author = page.locator("#authorships-group .add-row a")
    add_author.click()
    add_author.click()
    choose_author(page, 0, "Sokolova")
    choose_author(page, 1, "Lindqvist")
    page.fill("#id_authorships-0-position", "1")
    page.fill("#id_authorships-1-position", "2")
    page.check("#id_authorships-0-is_corresponding")
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/publications/publication/")
    assert "was added successfully" in page.content()
    # The PDF's first page, rendered by the background task, shows in the list.
    assert page.locator("img.publication-thumb").evaluate("image => image.naturalWidth") == 400

    publication = Publication.objects.get(slug="caspian-energy-corridors-after-2025")
    assert publication.is_public
    assert [a.author.family_name for a in publication.authorships.order_by("position")] == [
        "Sokolova",
        "Lindqvist",
    ]
    assert publication.references.count() == 3
    assert publication.pdf.name.endswith(".pdf")
    assert publication.pdf_thumbnail.name.endswith(".png")
    assert publication.body == "<h2>Pipelines matter.</h2>"
    assert page.console_errors == []  # no script or style blocked by the CSP, no JS error

    page.goto(f"{live_server.url}/publications/")
    assert "Caspian Energy Corridors after 2025" in page.content()
