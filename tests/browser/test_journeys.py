"""Journeys in a real Chromium: search, download a PDF, newsletter preferences, a contributor's limits."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.files.base import ContentFile

from newsletter.models import Subscriber
from publications.demo_pdf import build_pdf
from publications.models import Publication
from tests.browser.conftest import ARTIFACTS, email_link, screenshot_if_failed, subscribe_in_footer
from tests.factories import AuthorFactory, PublicationFactory, ThemeFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


@pytest.fixture
def caspian(settings, tmp_path):
    """A published report with a PDF, among two others."""
    settings.MEDIA_ROOT = tmp_path / "media"
    publication = PublicationFactory(
        title="Pipelines and Power in the Caspian",
        abstract="How new pipelines reshape the politics of the littoral states.",
        authors=[AuthorFactory(given_name="Anna", family_name="Petrova")],
    )
    publication.pdf.save("caspian.pdf", ContentFile(build_pdf("Pipelines", ["Gas and oil."])))
    PublicationFactory(title="Grain Corridors of the Black Sea", abstract="Ports and wheat.")
    PublicationFactory(title="Migration Along the Silk Road", abstract="People on the move.")
    return publication


def test_search_box_finds_and_opens_publication(live_server, browser_page, caspian):
    """Type in the header's search box, see the matching publication in the results, open it."""
    page = browser_page
    page.goto(live_server.url + "/")
    box = page.locator("form.header-search").get_by_role("searchbox", name="Search All Site Content")
    box.fill("pipelines caspian")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=pipelines\+caspian"))
    results = page.locator(".search-results")
    assert results.get_by_role("heading", name=re.compile(r"^1 result for")).is_visible()
    assert "Grain Corridors" not in results.inner_text()
    results.get_by_role("link", name="Pipelines and Power in the Caspian").click()
    page.wait_for_url(re.compile(re.escape(caspian.get_absolute_url()) + "$"))
    assert page.locator("h1").inner_text() == "Pipelines and Power in the Caspian"


def test_download_pdf_button_downloads_pdf(live_server, browser_page, caspian):
    """A click on "Download PDF" downloads the publication's PDF file."""
    page = browser_page
    page.goto(live_server.url + caspian.get_absolute_url())
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").first.click()
    download = download_info.value
    assert download.suggested_filename == f"{caspian.slug}.pdf"
    with open(download.path(), "rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF")
    assert content == caspian.pdf.open("rb").read()


@pytest.fixture
def mailing(settings, live_server):
    settings.SITE_URL = live_server.url  # links in the emails point at the test server
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NEWSLETTER_FORM_MIN_SECONDS = 0
    return [ThemeFactory(name="Energy"), ThemeFactory(name="Security"), ThemeFactory(name="Trade")]


def test_newsletter_preferences_changed_and_kept(live_server, browser_page, mailing):
    """Subscribe, confirm, open "Manage preferences" from the email, change the topics: they are kept."""
    page = browser_page
    subscribe_in_footer(page, live_server.url, "reader@example.org")
    [confirmation] = mail.outbox
    page.goto(email_link(confirmation, "confirm"))
    assert page.get_by_role("heading", name="Your subscription is confirmed").is_visible()

    manage_url = email_link(confirmation, "manage")
    page.goto(manage_url)
    form = page.locator("main form[action*='/newsletter/manage/']")
    form.get_by_label("Energy").check()
    form.get_by_label("Trade").check()
    form.get_by_role("button", name="Save preferences").click()
    page.wait_for_load_state()

    page.goto(manage_url)  # a fresh load: what is shown comes from the database
    form = page.locator("main form[action*='/newsletter/manage/']")
    assert form.get_by_label("Energy").is_checked()
    assert form.get_by_label("Trade").is_checked()
    assert not form.get_by_label("Security").is_checked()
    subscriber = Subscriber.objects.get(email="reader@example.org")
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert sorted(theme.name for theme in subscriber.themes.all()) == ["Energy", "Trade"]


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def test_contributor_cannot_publish_in_admin(live_server, browser_page, settings):
    """A contributor gets no "published" status nor publish action; a crafted publish is refused."""
    settings.PAGE_CACHE_SECONDS = 0
    contributor = UserFactory(username="carl.contributor", password=PASSWORD, groups=["Contributor"])
    PublicationFactory(
        title="Carl's Draft", status=Publication.Status.DRAFT, published_at=None, created_by=contributor
    )
    page = browser_page
    log_in(page, live_server.url, "carl.contributor")

    page.goto(f"{live_server.url}/admin/publications/publication/")
    actions = page.locator("select[name=action] option").evaluate_all("options => options.map(o => o.value)")
    assert "submit_for_review" in actions
    assert "publish" not in actions

    page.goto(f"{live_server.url}/admin/publications/publication/add/")
    statuses = page.locator("#id_status option").evaluate_all("options => options.map(o => o.value)")
    assert "draft" in statuses
    assert "published" not in statuses

    # Crafted: put the missing option back into the form and submit it.
    page.fill("#id_title", "Sneaky Early Release")
    page.fill("#id_slug", "sneaky-early-release")
    page.select_option("#id_kind", "report")
    page.evaluate(
        "() => { const s = document.querySelector('#id_status');"
        " s.add(new Option('Published', 'published', true, true)); s.value = 'published'; }"
    )
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert "/add/" in page.url
    assert page.locator(".errornote, .errorlist").first.is_visible()
    assert not Publication.objects.filter(slug="sneaky-early-release").exists()
    assert not Publication.objects.filter(status=Publication.Status.PUBLISHED).exists()


def test_screenshot_saved_when_own_context_test_fails(live_server, new_browser_page):
    """Pages opened with their own options (JavaScript off) are screenshotted on failure, not otherwise."""
    page = new_browser_page(java_script_enabled=False)
    page.goto(live_server.url + "/")
    passed = SimpleNamespace(
        nodeid="tests/browser/fake.py::passed", report_call=SimpleNamespace(failed=False)
    )
    failed = SimpleNamespace(nodeid="tests/browser/fake.py::failed", report_call=SimpleNamespace(failed=True))
    assert screenshot_if_failed(passed, [page]) == []
    [path] = screenshot_if_failed(failed, [page])
    try:
        assert path.parent == ARTIFACTS
        assert path.read_bytes().startswith(b"\x89PNG")
    finally:
        path.unlink(missing_ok=True)
