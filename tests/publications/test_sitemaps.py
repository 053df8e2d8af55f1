"""/sitemap.xml (an index of paginated sections) and /robots.txt."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from publications.models import Publication
from publications.sitemaps import _public_publications, _public_publications_from_database, latest_per_subject
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db

NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


def _xml(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    return etree.fromstring(response.content)


def _section_urls(client, index) -> list[str]:
    return index.xpath("//sm:sitemap/sm:loc/text()", namespaces=NS)


def _all_locations(client) -> dict[str, str | None]:
    """Every page listed in every section: location -> lastmod."""
    index = _xml(client, reverse("sitemap-index"))
    found = {}
    for section_url in _section_urls(client, index):
        parts = urlsplit(section_url)
        document = _xml(client, f"{parts.path}?{parts.query}" if parts.query else parts.path)
        for url in document.xpath("//sm:url", namespaces=NS):
            found[url.findtext("sm:loc", namespaces=NS)] = url.findtext("sm:lastmod", namespaces=NS)
    return found


@pytest.fixture
def site():
    theme = ThemeFactory(slug="economics")
    region = RegionFactory(slug="asia")
    author = AuthorFactory(slug="anna-petrova")
    public = PublicationFactory(themes=[theme], regions=[region], tags=["trade"], authors=[author])
    draft_author = AuthorFactory(slug="only-drafts")
    draft_theme = ThemeFactory(slug="empty-theme")
    draft = PublicationFactory(
        status=Publication.Status.DRAFT, authors=[draft_author], themes=[draft_theme], tags=["secret"]
    )
    return {"public": public, "draft": draft, "theme": theme, "region": region, "author": author}


def test_index_lists_sections_absolute(client, settings, site):
    """/sitemap.xml is a sitemap index of absolute section URLs, each with a lastmod."""
    index = _xml(client, reverse("sitemap-index"))
    assert etree.QName(index).localname == "sitemapindex"
    urls = _section_urls(client, index)
    assert urls
    assert all(url.startswith(f"{settings.SITE_URL}/sitemap-") for url in urls)
    assert len(index.xpath("//sm:sitemap/sm:lastmod", namespaces=NS)) == len(urls)


def test_every_public_page_is_listed(client, settings, site):
    """Public publication, author, theme, region, tag and index pages are listed, absolute."""
    locations = _all_locations(client)
    base = settings.SITE_URL
    for path in (
        site["public"].get_absolute_url(),
        site["author"].get_absolute_url(),
        site["theme"].get_absolute_url(),
        site["region"].get_absolute_url(),
        reverse("publications:tag", kwargs={"slug": "trade"}),
        reverse("home"),
        reverse("publications:index"),
    ):
        assert f"{base}{path}" in locations


def test_nothing_private_is_listed(client, site):
    """Drafts, and authors, themes and tags with only drafts, are not listed."""
    locations = " ".join(_all_locations(client))
    assert site["draft"].slug not in locations
    assert "only-drafts" not in locations
    assert "empty-theme" not in locations
    assert "secret" not in locations


def test_publication_lastmod_is_its_last_change(client, settings):
    """A publication's lastmod is its last edit, or its publication moment when that is later."""
    with time_machine.travel(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), tick=False):
        edited = PublicationFactory(published_at=dt.datetime(2023, 6, 1, tzinfo=dt.UTC))
        scheduled = PublicationFactory(published_at=dt.datetime(2024, 2, 1, 9, 0, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2024, 3, 1, tzinfo=dt.UTC), tick=False):
        locations = _all_locations(client)
    assert locations[f"{settings.SITE_URL}{edited.get_absolute_url()}"].startswith("2024-01-01")
    assert locations[f"{settings.SITE_URL}{scheduled.get_absolute_url()}"].startswith("2024-02-01")


def test_theme_lastmod_follows_its_latest_publication(client, settings):
    """A theme page changes when its latest publication does."""
    theme = ThemeFactory()
    with time_machine.travel(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), tick=False):
        PublicationFactory(themes=[theme], published_at=dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2024, 5, 5, tzinfo=dt.UTC), tick=False):
        PublicationFactory(themes=[theme], published_at=dt.datetime(2024, 5, 4, tzinfo=dt.UTC))
    locations = _all_locations(client)
    assert locations[f"{settings.SITE_URL}{theme.get_absolute_url()}"].startswith("2024-05-05")


def test_large_sections_are_paginated(client, settings):
    """A section larger than SITEMAP_PAGE_SIZE is split into pages, all in the index."""
    settings.SITEMAP_PAGE_SIZE = 2
    publications = PublicationFactory.create_batch(5)
    index = _xml(client, reverse("sitemap-index"))
    pages = [url for url in _section_urls(client, index) if "sitemap-publications" in url]
    assert len(pages) == 3
    locations = _all_locations(client)
    for publication in publications:
        assert f"{settings.SITE_URL}{publication.get_absolute_url()}" in locations


def test_index_xml_is_made_once_per_content_version(client, settings, monkeypatch):
    """The index's XML grows with the index (an entry per page of each section): it is written
    once, and again when the content changes."""
    from center import sitemaps

    made = []
    write = sitemaps._index_xml
    monkeypatch.setattr(sitemaps, "_index_xml", lambda: made.append(1) or write())
    settings.PAGE_CACHE_SECONDS = 0
    settings.SITEMAP_PAGE_SIZE = 2
    PublicationFactory.create_batch(3)
    first = client.get(reverse("sitemap-index"))
    assert len(made) == 1
    again = client.get(reverse("sitemap-index"))
    assert len(made) == 1
    assert again.content == first.content and again["Last-Modified"] == first["Last-Modified"]
    PublicationFactory.create_batch(2)
    changed = client.get(reverse("sitemap-index"))
    assert len(made) == 2
    pages = [url for url in _section_urls(client, etree.fromstring(changed.content)) if "publications" in url]
    assert len(pages) == 3  # 5 publications, 2 a page


@pytest.mark.parametrize("query", ["?p=99", "?p=abc", "?p=-1"])
def test_bad_page_is_404(client, query):
    """Pages that do not exist are 404, not 500."""
    PublicationFactory()
    assert (
        client.get(reverse("sitemap-section", kwargs={"section": "publications"}) + query).status_code == 404
    )


def test_unknown_section_is_404(client):
    """An unknown section is 404."""
    assert client.get("/sitemap-nothing.xml").status_code == 404


@pytest.mark.parametrize("size", [2, 9])
def test_sitemap_query_count_is_constant(client, django_assert_max_num_queries, size):
    """The index and a section page cost the same number of queries whatever the index size."""
    for _ in range(size):
        PublicationFactory(authors=[AuthorFactory()], themes=[ThemeFactory()], tags=["x"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("sitemap-index")).status_code == 200
    for section in ("publications", "authors", "themes", "tags"):
        with django_assert_max_num_queries(2):
            assert client.get(reverse("sitemap-section", kwargs={"section": section})).status_code == 200


def test_robots_txt_points_to_the_sitemap(client, settings):
    """/robots.txt is plain text naming the sitemap index's absolute URL and hiding the admin."""
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in lines
    assert "Disallow: /admin/" in lines


def test_sitemap_lastmod_is_w3c_datetime(client):
    """lastmod values are W3C datetimes (the sitemap protocol's format)."""
    PublicationFactory(published_at=timezone.now() - dt.timedelta(days=3))
    for lastmod in _all_locations(client).values():
        assert lastmod is not None
        dt.datetime.fromisoformat(lastmod)


def test_unicode_tag_slugs_are_percent_encoded(client, settings):
    """Sitemap URLs are URIs: a Cyrillic tag slug is percent-encoded UTF-8, and it resolves."""
    publication = PublicationFactory(tags=["Центральная Азия"])
    tag = publication.tags.get()
    locations = [url for url in _all_locations(client) if "/tags/" in url]
    assert locations == [f"{settings.SITE_URL}{reverse('publications:tag', kwargs={'slug': tag.slug})}"]
    assert locations[0].isascii()
    assert client.get(urlsplit(locations[0]).path).status_code == 200


def test_pages_split_the_public_publications_exactly(client, settings):
    """Pages by id range list every public publication once, in id order, with drafts in between left out."""
    settings.SITEMAP_PAGE_SIZE = 2
    public = []
    for number in range(7):
        public.append(PublicationFactory())
        if number % 2:
            PublicationFactory(status=Publication.Status.DRAFT)
    url = reverse("sitemap-section", kwargs={"section": "publications"})
    listed = []
    for page in (1, 2, 3, 4):
        document = _xml(client, f"{url}?p={page}")
        listed += document.xpath("//sm:url/sm:loc/text()", namespaces=NS)
    assert listed == [f"{settings.SITE_URL}{publication.get_absolute_url()}" for publication in public]
    assert client.get(f"{url}?p=5").status_code == 404


def test_deep_sitemap_page_costs_what_the_first_does(client, settings, django_assert_max_num_queries):
    """The last page of a section is one range query, like the first (no growing OFFSET)."""
    settings.SITEMAP_PAGE_SIZE = 3
    PublicationFactory.create_batch(12)
    url = reverse("sitemap-section", kwargs={"section": "publications"})
    client.get(url)  # the facet index of this content version
    with django_assert_max_num_queries(1):
        assert client.get(f"{url}?p=4").status_code == 200


def test_subject_lastmod_ignores_drafts_and_keeps_microseconds(client, settings):
    """A theme's lastmod is its latest public change; a later draft of the theme does not count."""
    theme = ThemeFactory()
    with time_machine.travel(dt.datetime(2024, 5, 5, 10, 30, 15, 250000, tzinfo=dt.UTC), tick=False):
        PublicationFactory(themes=[theme], published_at=dt.datetime(2024, 5, 4, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2024, 6, 1, tzinfo=dt.UTC), tick=False):
        PublicationFactory(themes=[theme], status=Publication.Status.DRAFT)
    edited = dt.datetime(2024, 5, 5, 10, 30, 15, 250000, tzinfo=dt.UTC)
    assert latest_per_subject("themes")[theme.pk] == edited
    locations = _all_locations(client)
    assert locations[f"{settings.SITE_URL}{theme.get_absolute_url()}"] == "2024-05-05T10:30:15Z"


def test_author_pages_list_only_authors_with_public_work(client, settings):
    """Author pages by id range: every author with public work once, in id order, no one else."""
    settings.SITEMAP_PAGE_SIZE = 2
    listed_authors = []
    for number in range(5):
        author = AuthorFactory()
        if number % 2:
            PublicationFactory(authors=[author], status=Publication.Status.DRAFT)
        else:
            PublicationFactory(authors=[author])
            listed_authors.append(author)
    url = reverse("sitemap-section", kwargs={"section": "authors"})
    listed = []
    for page in (1, 2):
        listed += _xml(client, f"{url}?p={page}").xpath("//sm:url/sm:loc/text()", namespaces=NS)
    assert listed == [f"{settings.SITE_URL}{author.get_absolute_url()}" for author in listed_authors]
    assert client.get(f"{url}?p=3").status_code == 404


def test_publication_entries_from_the_facet_index_match_the_database():
    """A page's lastmods come from the facet index, formatted at once; they equal the database's."""
    now = timezone.now().replace(microsecond=987654)
    made = [
        PublicationFactory(published_at=now - dt.timedelta(days=days, seconds=days)) for days in (1, 40, 400)
    ]
    first, last = min(p.pk for p in made), max(p.pk for p in made)
    fast = _public_publications(first, last)
    slow = _public_publications_from_database(first, last)
    assert [(entry.slug, entry.lastmod) for entry in fast] == [(entry.slug, entry.lastmod) for entry in slow]
    assert [entry.w3c for entry in fast] == [
        entry.lastmod.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for entry in slow
    ]


def test_section_page_is_made_once_per_content_version(client, settings, django_assert_num_queries):
    """With the page cache off, a section page read again costs no query; a publication published,
    renamed or unpublished since shows in it at once."""
    settings.PAGE_CACHE_SECONDS = 0
    url = reverse("sitemap-section", kwargs={"section": "publications"})
    first = PublicationFactory(slug="first-paper")
    assert "/first-paper/" in client.get(url).content.decode()
    with django_assert_num_queries(0):
        assert "/first-paper/" in client.get(url).content.decode()
    PublicationFactory(slug="second-paper")
    first.slug = "first-paper-renamed"
    first.save()
    content = client.get(url).content.decode()
    assert "/second-paper/" in content and "/first-paper-renamed/" in content
    assert "/first-paper/" not in content
    first.status = Publication.Status.DRAFT
    first.save()
    assert "first-paper" not in client.get(url).content.decode()


def test_index_is_made_once_per_content_version(client, settings, django_assert_num_queries):
    """With the page cache off, the sitemap index read again costs no query; a section that grows a
    page, a later lastmod and another SITE_URL show in it at once."""
    settings.PAGE_CACHE_SECONDS = 0
    settings.SITEMAP_PAGE_SIZE = 2
    PublicationFactory.create_batch(2)
    url = reverse("sitemap-index")

    def publication_pages() -> list[str]:
        return [loc for loc in _section_urls(client, _xml(client, url)) if "sitemap-publications" in loc]

    assert len(publication_pages()) == 1
    with django_assert_num_queries(0):
        client.get(url)
    PublicationFactory()
    assert len(publication_pages()) == 2
    edited = Publication.objects.first()
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False):
        edited.title = "Edited an hour later"
        edited.save()
    lastmods = _xml(client, url).xpath(
        "//sm:sitemap[contains(sm:loc, 'sitemap-publications')]/sm:lastmod/text()", namespaces=NS
    )
    assert lastmods and all(dt.datetime.fromisoformat(mod) == edited.updated_at for mod in lastmods), lastmods
    settings.SITE_URL = "https://research.example.org"
    assert all(
        loc.startswith("https://research.example.org/") for loc in _section_urls(client, _xml(client, url))
    )


def test_index_xml_says_what_djangos_sitemap_index_template_says(client, settings):
    """The index is written out directly; its entries and lastmods are those Django's own
    ``sitemap_index.xml`` template gives for the same sections (in the site's time zone, to the
    microsecond), and it is well-formed XML even when the site's address needs escaping."""
    from django.template.loader import render_to_string

    from center.sitemaps import _index_entries

    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 0
    settings.TIME_ZONE = "Pacific/Auckland"
    settings.SITEMAP_PAGE_SIZE = 1
    settings.SITE_URL = "https://example.org/research&policy"
    with time_machine.travel(dt.datetime(2024, 12, 31, 20, 15, 30, 123456, tzinfo=dt.UTC), tick=False):
        PublicationFactory.create_batch(3, themes=[ThemeFactory()], authors=[AuthorFactory()])

    def entries(document) -> list[tuple[str, str | None]]:
        return [
            (entry.findtext("sm:loc", namespaces=NS), entry.findtext("sm:lastmod", namespaces=NS))
            for entry in document.xpath("//sm:sitemap", namespaces=NS)
        ]

    written = entries(_xml(client, reverse("sitemap-index")))
    reference = entries(
        etree.fromstring(render_to_string("sitemap_index.xml", {"sitemaps": _index_entries()[0]}).encode())
    )
    assert written == reference
    assert len([loc for loc, _ in written if "sitemap-publications" in loc]) == 3
    assert all(loc.startswith("https://example.org/research&policy/") for loc, _ in written)
    assert (
        "https://example.org/research&policy/sitemap-themes.xml",
        "2025-01-01T09:15:30.123456+13:00",
    ) in written
