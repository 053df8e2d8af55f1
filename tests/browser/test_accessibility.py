"""axe-core on every public page type: no serious or critical accessibility violation.

The pages are every HTML route of the URLconf (``tests/center/public_urls.py``),
filled with a realistic small index. axe-core is vendored (test-only, never
served) in ``tests/browser/vendor/axe.min.js`` (npm ``axe-core`` 4.14.1, MPL-2.0)
and injected with the CSP bypassed: the site's CSP rightly blocks inline scripts.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from newsletter import tokens
from publications.models import Publication
from tests.browser.conftest import ARTIFACTS
from tests.center.public_urls import argument_value, public_routes
from tests.factories import (
    AuthorFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    SubscriberFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
BLOCKING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def axe_page(browser, request):
    """A page whose context bypasses the CSP (to inject axe); screenshot on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def site_objects():
    theme, region = ThemeFactory(name="Energy"), RegionFactory(name="Central Asia")
    authors = AuthorFactory.create_batch(2)
    article = PublicationFactory(
        title="Pipelines and Power in the Caspian",
        kind=Publication.Kind.ARTICLE,
        authors=authors,
        themes=[theme],
        regions=[region],
        tags=["pipelines", "gas"],
        container_title="Journal of Eurasian Studies",
        volume="12",
        issue="3",
        pages="45-67",
        doi="10.1234/jes.2024.003",
    )
    ReferenceFactory.create_batch(3, publication=article)
    PublicationFactory(kind=Publication.Kind.BLOG_POST, themes=[theme], tags=["pipelines"])
    PublicationFactory(kind=Publication.Kind.REPORT, regions=[region])
    subscriber = SubscriberFactory()
    return {
        "publication": article.slug,
        "theme": theme.slug,
        "region": region.slug,
        "tag": article.tags.order_by("name").first().slug,
        "author": authors[0].slug,
        "kind": Publication.Kind.ARTICLE.value,
        "section": "publications",
        "confirm_token": tokens.make_token(subscriber, tokens.CONFIRM),
        "manage_token": tokens.make_token(subscriber, tokens.MANAGE),
    }


def axe_violations(page) -> list[dict]:
    page.add_script_tag(content=AXE)
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"][:5]],
        }
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


@pytest.mark.django_db(transaction=True)
def test_public_pages_accessible(live_server, axe_page, site_objects):
    """Every HTML page type of the public site has no serious or critical axe-core violation."""
    problems, checked = {}, []
    urls = [
        reverse(name, kwargs={arg: argument_value(route, name, arg, site_objects) for arg in arguments})
        for route, name, arguments in public_routes()
    ]
    urls.append(reverse("search") + "?q=pipelines")
    urls.append("/no-such-page/")  # the 404 page
    for url in urls:
        # Feeds, sitemaps, downloads, JSON and POST-only endpoints are not pages.
        probe = axe_page.request.get(live_server.url + url)
        is_page = probe.status in (200, 404) and probe.headers.get("content-type", "").startswith("text/html")
        if not is_page:
            continue
        axe_page.goto(live_server.url + url)
        checked.append(url)
        violations = axe_violations(axe_page)
        if violations:
            problems[url] = violations
    assert len(checked) >= 10, checked
    assert not problems, json.dumps(problems, indent=1)


def test_axe_reports_critical_violation(axe_page):
    """The check works: an image without alternative text is reported (critical)."""
    axe_page.set_content('<!doctype html><html lang="en"><title>t</title><main><img src="x.png"></main>')
    assert "image-alt" in {violation["id"] for violation in axe_violations(axe_page)}
