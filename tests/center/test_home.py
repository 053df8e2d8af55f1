"""The home page, the cookie page and the error pages."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone

from publications.models import Publication
from tests.factories import PublicationFactory, RegionFactory, ThemeFactory
from tests.html_checks import assert_valid_page

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def test_home_total_index_counts_published(client):
    """ "Total Index: N publications" counts what the public can see."""
    PublicationFactory.create_batch(3)
    PublicationFactory(status=Publication.Status.DRAFT)
    PublicationFactory(published_at=timezone.now() + dt.timedelta(days=1))
    content = client.get(reverse("home")).content.decode()
    assert f"Total Index: {Publication.objects.published().count()} publications" in content
    assert "Total Index: 3 publications" in content


def test_home_total_index_thousands_separator(client, monkeypatch):
    """Large totals are grouped: 5,821."""
    from center import caching

    monkeypatch.setattr(caching, "published_count", lambda: 5821)
    assert "Total Index: 5,821 publications" in client.get(reverse("home")).content.decode()


def test_home_sections(client):
    """Search box, featured, latest, blog posts, themes, regions and the subscribe box."""
    PublicationFactory(title="Featured report", featured=True)
    PublicationFactory(title="Plain report")
    PublicationFactory(title="A blog post", kind=Publication.Kind.BLOG_POST)
    ThemeFactory(name="Economics")
    RegionFactory(name="Central Asia")
    response = client.get(reverse("home"))
    content = response.content.decode()
    for text in (
        "Search All Site Content",
        "Featured report",
        "Plain report",
        "A blog post",
        "Economics",
        "Central Asia",
        "Subscribe to our Mailing List!",
    ):
        assert text in content, text
    assert [p.title for p in response.context["featured"]] == ["Featured report"]
    assert [p.title for p in response.context["blog_posts"]] == ["A blog post"]
    assert_valid_page(response.content)


def test_home_hides_drafts(client):
    """No draft reaches the home page."""
    PublicationFactory(title="Secret draft", status=Publication.Status.DRAFT, featured=True)
    assert "Secret draft" not in client.get(reverse("home")).content.decode()


def test_every_page_has_skip_link_landmarks_and_footer_form(client):
    """The base layout: skip link, main landmark, navigation, footer subscribe form."""
    content = client.get(reverse("home")).content.decode()
    assert '<a class="skip-link" href="#main">' in content
    assert '<main id="main"' in content
    assert '<nav class="main-nav" aria-label="Main">' in content
    assert "subscribe-form" in content


def test_cookie_notice_lists_cookies(client):
    """The cookie notice names every cookie the site sets."""
    content = client.get(reverse("home")).content.decode()
    for name in ("csrftoken", "visitor", "sessionid"):
        assert f"<strong>{name}</strong>" in content


def test_anonymous_visit_sets_no_cookie(client):
    """Browsing sets no cookie at all (nothing before consent)."""
    PublicationFactory()
    for url in (reverse("home"), reverse("publications:index"), Publication.objects.get().get_absolute_url()):
        assert not client.get(url).cookies, url


def test_cookie_page(client):
    """/cookies/ explains each cookie."""
    response = client.get(reverse("cookies"))
    assert "visitor" in response.content.decode()
    assert_valid_page(response.content)


def test_404_page_in_site_design(client):
    """A missing page answers 404 with search and helpful links."""
    response = client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    content = response.content.decode()
    assert "We could not find that page" in content
    assert reverse("publications:index") in content
    assert_valid_page(response.content)


def test_500_page_in_site_design(rf):
    """Django's server error handler renders the site's own 500 page (without a request context)."""
    from django.views.defaults import server_error

    response = server_error(rf.get("/"))
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert "Something went wrong on our side" in response.content.decode()
    assert_valid_page(response.content)
