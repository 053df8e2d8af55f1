"""RSS 2.0 and Atom feeds: overall and per theme, region, tag, author and kind."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone
from lxml import etree, html

from publications.feeds import entry_id
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db

FORMATS = ["rss", "atom"]


def _parse(client, url: str):
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return response, feed


@pytest.fixture
def subjects():
    theme = ThemeFactory(slug="economics", name="Economics")
    region = RegionFactory(slug="asia", name="Asia")
    author = AuthorFactory(slug="anna-petrova", given_name="Anna", family_name="Petrova")
    inside = PublicationFactory(
        title="Inside everything",
        kind=Publication.Kind.ARTICLE,
        themes=[theme],
        regions=[region],
        tags=["trade"],
        authors=[author],
    )
    outside = PublicationFactory(title="Outside everything", kind=Publication.Kind.BLOG_POST)
    return {"theme": theme, "region": region, "author": author, "inside": inside, "outside": outside}


def _feed_urls(fmt: str) -> dict[str, str]:
    return {
        "theme": reverse(f"publications:theme-feed-{fmt}", kwargs={"slug": "economics"}),
        "region": reverse(f"publications:region-feed-{fmt}", kwargs={"slug": "asia"}),
        "tag": reverse(f"publications:tag-feed-{fmt}", kwargs={"slug": "trade"}),
        "author": reverse(f"authors:feed-{fmt}", kwargs={"slug": "anna-petrova"}),
        "kind": reverse(f"publications:kind-feed-{fmt}", kwargs={"kind": "article"}),
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_latest_feed_lists_newest_first(client, fmt):
    """The site feed lists public publications, newest first, and nothing else."""
    now = timezone.now()
    old = PublicationFactory(title="Old", published_at=now - dt.timedelta(days=10))
    new = PublicationFactory(title="New", published_at=now - dt.timedelta(days=1))
    PublicationFactory(title="Draft", status=Publication.Status.DRAFT)
    PublicationFactory(title="Scheduled", published_at=now + dt.timedelta(days=1))
    _, feed = _parse(client, reverse(f"publications:feed-{fmt}"))
    assert [entry.title for entry in feed.entries] == [new.title, old.title]


def test_rss_is_rss_2_and_atom_is_atom(client):
    """The two formats are what they say, with the right content types."""
    rss, rss_feed = _parse(client, reverse("publications:feed-rss"))
    atom, atom_feed = _parse(client, reverse("publications:feed-atom"))
    assert rss_feed.version == "rss20"
    assert atom_feed.version == "atom10"
    assert rss_feed.feed.language == "en-us"
    assert atom_feed.feed.language == "en-us"
    assert rss["Content-Type"].startswith("application/rss+xml")
    assert atom["Content-Type"].startswith("application/atom+xml")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["theme", "region", "tag", "author", "kind"])
def test_subject_feed_lists_only_its_publications(client, subjects, fmt, kind):
    """Each theme, region, tag, author and kind feed lists only its own publications."""
    _, feed = _parse(client, _feed_urls(fmt)[kind])
    assert [entry.title for entry in feed.entries] == ["Inside everything"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_subject_feed_links_to_its_page(client, settings, subjects, fmt):
    """A theme feed's link is the theme's page, absolute."""
    _, feed = _parse(client, _feed_urls(fmt)["theme"])
    assert feed.feed.link == f"{settings.SITE_URL}{subjects['theme'].get_absolute_url()}"
    assert "Economics" in feed.feed.title


@pytest.mark.parametrize(
    "url",
    [
        "/themes/nothing/feed/rss/",
        "/regions/nothing/feed/atom/",
        "/tags/nothing/feed/rss/",
        "/authors/nobody/feed/atom/",
        "/feeds/kinds/poem/rss/",
    ],
)
def test_unknown_subject_feed_is_404(client, url):
    """Feeds of things that do not exist are 404, not 500."""
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_entries_have_unique_stable_ids(client, fmt):
    """Entry ids are tag: URIs on the primary key: unique, and unchanged by editing the slug."""
    publications = PublicationFactory.create_batch(4)
    _, feed = _parse(client, reverse(f"publications:feed-{fmt}"))
    ids = [entry.id for entry in feed.entries]
    assert len(set(ids)) == 4
    assert all(value.startswith("tag:") for value in ids)
    target = publications[0]
    target.slug = "renamed"
    target.save()
    _, again = _parse(client, reverse(f"publications:feed-{fmt}"))
    assert entry_id(target) in [entry.id for entry in again.entries]
    assert sorted(entry.id for entry in again.entries) == sorted(ids)


@pytest.mark.parametrize("fmt", FORMATS)
def test_entries_have_absolute_links_and_dates(client, settings, fmt):
    """Links are absolute on SITE_URL; dates parse and match the publication moment."""
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(days=2)
    publication = PublicationFactory(
        published_at=moment, authors=[AuthorFactory(given_name="Jo", family_name="Li")]
    )
    _response, feed = _parse(client, reverse(f"publications:feed-{fmt}"))
    entry = feed.entries[0]
    assert entry.link == f"{settings.SITE_URL}{publication.get_absolute_url()}"
    assert feed.feed.link.startswith(settings.SITE_URL)
    assert dt.datetime(*entry.published_parsed[:6], tzinfo=dt.UTC) == moment
    assert entry.author == "Jo Li"


def test_atom_has_updated_dates_and_self_link(client, settings):
    """Atom entries carry <updated>; the feed links to itself, absolute."""
    PublicationFactory()
    _, feed = _parse(client, reverse("publications:feed-atom"))
    assert feed.entries[0].updated_parsed is not None
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert self_links == [f"{settings.SITE_URL}{reverse('publications:feed-atom')}"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_titles_and_abstracts_are_escaped(client, fmt):
    """Markup in titles and abstracts stays text: no element is injected, the XML stays valid."""
    PublicationFactory(
        title='<script>alert("x")</script> & Trade\x0c',
        abstract="<img src=x onerror=alert(1)> 5 < 6 & ]]> end",
    )
    response, feed = _parse(client, reverse(f"publications:feed-{fmt}"))
    document = etree.fromstring(response.content)
    assert not document.xpath("//*[local-name()='script' or local-name()='img']")
    entry = feed.entries[0]
    assert entry.title == '<script>alert("x")</script> & Trade'
    assert "<img" not in entry.summary
    assert "5 &lt; 6" in entry.summary


@pytest.mark.parametrize("fmt", FORMATS)
def test_feed_length_is_capped(client, settings, fmt):
    """Feeds list at most FEED_ITEMS entries."""
    settings.FEED_ITEMS = 3
    PublicationFactory.create_batch(5)
    _, feed = _parse(client, reverse(f"publications:feed-{fmt}"))
    assert len(feed.entries) == 3


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size", [2, 9])
def test_feed_query_count_is_constant(client, django_assert_max_num_queries, fmt, size):
    """A feed costs the same number of queries however many entries it has."""
    theme = ThemeFactory(slug="energy")
    for _ in range(size):
        PublicationFactory(
            authors=[AuthorFactory(), AuthorFactory()],
            themes=[theme],
            regions=[RegionFactory()],
            tags=["x", "y"],
        )
    with django_assert_max_num_queries(6):
        response = client.get(reverse(f"publications:theme-feed-{fmt}", kwargs={"slug": "energy"}))
    assert len(feedparser.parse(response.content).entries) == size


def _alternate_links(response) -> dict[str, str]:
    document = html.fromstring(response.content)
    return {link.get("href"): link.get("type") for link in document.xpath("//head/link[@rel='alternate']")}


def test_autodiscovery_on_every_page(client, settings):
    """Every page advertises the site's RSS and Atom feeds."""
    links = _alternate_links(client.get(reverse("home")))
    assert links[f"{settings.SITE_URL}{reverse('publications:feed-rss')}"] == "application/rss+xml"
    assert links[f"{settings.SITE_URL}{reverse('publications:feed-atom')}"] == "application/atom+xml"


@pytest.mark.parametrize("kind", ["theme", "region", "tag", "author"])
def test_autodiscovery_on_subject_pages(client, settings, subjects, kind):
    """Theme, region, tag and author pages advertise their own feeds."""
    pages = {
        "theme": subjects["theme"].get_absolute_url(),
        "region": subjects["region"].get_absolute_url(),
        "tag": reverse("publications:tag", kwargs={"slug": "trade"}),
        "author": subjects["author"].get_absolute_url(),
    }
    response = client.get(pages[kind])
    assert response.status_code == 200
    links = _alternate_links(response)
    for fmt in FORMATS:
        assert f"{settings.SITE_URL}{_feed_urls(fmt)[kind]}" in links


def test_autodiscovery_on_kind_filtered_index(client, settings):
    """The index filtered by one kind advertises that kind's feeds."""
    links = _alternate_links(client.get(reverse("publications:index"), {"kind": "blog"}))
    assert f"{settings.SITE_URL}{reverse('publications:kind-feed-rss', kwargs={'kind': 'blog'})}" in links


def test_atom_entries_without_authors_fall_back_to_the_site(client, settings):
    """Atom needs an author for every entry: the feed's author is the center."""
    PublicationFactory()
    response, feed = _parse(client, reverse("publications:feed-atom"))
    assert feed.feed.author == settings.SITE_NAME
    namespaces = {"atom": "http://www.w3.org/2005/Atom"}
    document = etree.fromstring(response.content)
    assert document.xpath("atom:author/atom:name/text()", namespaces=namespaces) == [settings.SITE_NAME]
    assert document.xpath("atom:entry/atom:author", namespaces=namespaces) == []


def test_tag_feed_with_a_cyrillic_slug(client):
    """Tags in other scripts get Unicode slugs; their feeds and pages resolve."""
    publication = PublicationFactory(tags=["Центральная Азия"])
    tag = publication.tags.get()
    _, feed = _parse(client, reverse("publications:tag-feed-atom", kwargs={"slug": tag.slug}))
    assert [entry.title for entry in feed.entries] == [publication.title]
    assert client.get(reverse("publications:tag", kwargs={"slug": tag.slug})).status_code == 200
