"""htmx reads the conforming data-hx-* attributes: a blog post's reaction updates in place."""

from __future__ import annotations

import pytest

from publications.models import Publication
from tests.factories import PublicationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reaction_swaps_in_place(live_server, browser_page, settings):
    """Clicking Like on a blog post swaps the reactions block (no page load) with the new count."""
    settings.PAGE_CACHE_SECONDS = 0
    post = PublicationFactory(kind=Publication.Kind.BLOG_POST, title="Notes from the Field")
    page = browser_page
    loads: list[str] = []
    page.goto(live_server.url + post.get_absolute_url())
    page.on("load", lambda: loads.append(page.url))
    page.locator(".reaction-like").click()
    page.get_by_role("status").filter(has_text="you liked this post").wait_for()
    assert page.locator(".reaction-like .reaction-count").inner_text() == "1"
    assert loads == []
    post.refresh_from_db()
    assert post.likes == 1
