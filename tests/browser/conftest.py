"""Shared fixtures for browser tests (Playwright driving Debian's Chromium).

``browser_page`` is a fresh Playwright page (own context: no cookies carried
over) for a test marked ``@pytest.mark.browser``; point it at pytest-django's
``live_server`` and mark the test ``@pytest.mark.django_db(transaction=True)``
(the server thread must see the test's data).

When Chromium is missing the tests are skipped with the reason, except in CI
(env ``CI`` set), where they fail. A failing test leaves a full-page
screenshot in ``test-artifacts/<test name>.png``; a test that needs its own
context options (JavaScript off...) opens its page with ``new_browser_page``
and gets the same.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls
# there unless told that this thread is synchronous code (it is: the tests themselves).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str | None:
    """Debian's Chromium (``apt-get install chromium``), or CHROMIUM_PATH."""
    candidates = [os.environ.get("CHROMIUM_PATH", ""), *CHROMIUM_CANDIDATES, shutil.which("chromium") or ""]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: browser tests must run)")
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session."""
    executable = chromium_path()
    if executable is None:
        _unavailable("Chromium is not installed: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("The playwright package is not installed (requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def screenshot_if_failed(node, pages) -> list[Path]:
    """Full-page screenshots of ``pages`` in ``test-artifacts/`` when ``node``'s test failed."""
    report = getattr(node, "report_call", None)
    if report is None or not report.failed:
        return []
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", node.nodeid)[-150:]
    saved = []
    for number, page in enumerate(pages):
        path = ARTIFACTS / (f"{name}.png" if number == 0 else f"{name}-{number + 1}.png")
        # A broken page must not hide the test's own failure.
        with contextlib.suppress(Exception):
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
    return saved


@pytest.fixture
def new_browser_page(browser, request):
    """``new_page(**options)``: a page in a fresh context (``java_script_enabled=False``...).

    Every page opened this way is screenshotted if the test fails.
    """
    contexts = []

    def new_page(**options):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield new_page
    screenshot_if_failed(request.node, [page for context in contexts for page in context.pages])
    for context in contexts:
        context.close()


@pytest.fixture
def browser_page(new_browser_page):
    """A page in a fresh browser context, 1280 px wide; screenshot on failure."""
    return new_browser_page()


def email_link(message, name: str) -> str:
    """The ``/newsletter/<name>/<token>/`` link in an email's plain-text part."""
    match = re.search(rf"(https?://\S+/newsletter/{name}/[^/\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


def subscribe_in_footer(page, base_url: str, email: str) -> None:
    """Fill and send the footer's subscribe form on the home page, as a visitor would."""
    page.goto(base_url + "/")
    footer = page.locator("footer form.subscribe-form")
    footer.get_by_label("Email address").fill(email)
    footer.locator("input[name=consent]").check()
    footer.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(re.compile(r"/newsletter/thanks/$"))


@pytest.fixture
def watched_page(browser_page):
    """``browser_page`` recording what goes wrong on it in ``console_errors``: console errors
    (CSP violations, script errors) and failed responses. The browser's own favicon request is
    not the page's and shows only as a console line."""
    errors = []
    browser_page.on(
        "console",
        lambda message: (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and errors.append(message.text)
        ),
    )
    browser_page.on("response", lambda response: response.status >= 400 and errors.append(response.url))
    browser_page.console_errors = errors
    return browser_page
