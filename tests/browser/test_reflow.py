"""WCAG 2.2 reflow (1.4.10): at 320 CSS pixels wide, no public page scrolls sideways."""

from __future__ import annotations

import pytest
from django.urls import reverse

from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, ReferenceFactory, ThemeFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDEST_LINE = """() => {
  const width = document.documentElement.clientWidth;
  const over = [...document.querySelectorAll('body *')]
    .filter((element) => element.getBoundingClientRect().right > width + 1
      && !element.closest('[data-scrolls]') && getComputedStyle(element).position !== 'fixed')
    .map((element) => element.tagName.toLowerCase() + (element.className ? '.' + element.className : ''));
  return {scroll: document.documentElement.scrollWidth, width, over: over.slice(0, 5)};
}"""


def test_public_pages_fit_a_320_pixel_window(live_server, new_browser_page):
    theme = ThemeFactory(name="International Political Economy")
    author = AuthorFactory(given_name="Anna-Margarethe", family_name="Vandenberghe-Kowalczyk")
    article = PublicationFactory(
        title="Counter-Hegemonic Infrastructure Diplomacy in Post-Soviet Eurasia",
        kind=Publication.Kind.ARTICLE,
        themes=[theme],
        tags=["infrastructure", "eurasia"],
        authors=[author],
        doi="10.1234/an-unusually-long-doi-suffix-without-any-breaks-2026",
    )
    ReferenceFactory(publication=article, doi="10.5555/another-long-identifier-for-a-reference-2025")
    page = new_browser_page(viewport={"width": 320, "height": 800})
    paths = [
        reverse("home"),
        reverse("publications:index"),
        article.get_absolute_url(),
        author.get_absolute_url(),
        theme.get_absolute_url(),
        reverse("publications:themes"),
        f"{reverse('search')}?q=infrastructure",
        reverse("newsletter:index"),
        reverse("cookies"),
    ]
    for path in paths:
        page.goto(live_server.url + path)
        found = page.evaluate(WIDEST_LINE)
        assert found["scroll"] <= found["width"], (path, found)
