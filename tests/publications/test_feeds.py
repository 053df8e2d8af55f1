"""RSS 2.0 and Atom feeds: overall and per theme, region, tag, author and kind."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import feedparser
import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.syndication.views import Feed
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from lxml import etree, html

from publications import feeds
from publications.citations import ordered_authors
from publications.feeds import entry_id
from publications.models import Publication
from publications.related import Byline, Related
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


# Cached items ----------------------------------------------------------------------------------


@pytest.fixture
def rendered(monkeypatch):
    """The publications whose items were rendered, one list per rendering."""
    calls = []
    real = feeds.LatestPublicationsFeed.render_items

    def spy(self, obj, request, publications):
        calls.append(sorted(publication.pk for publication in publications.values()))
        return real(self, obj, request, publications)

    monkeypatch.setattr(feeds.LatestPublicationsFeed, "render_items", spy)
    return calls


def _reference(rf, url: str, fmt: str):
    """The feed as Django renders it with no item cache: its own loop over every item, with their
    authors, themes, regions and tags taken from the ORM's prefetched model instances (the site reads
    them as plain rows)."""
    match = resolve(url)

    class Reference(type(match.func)):
        feed_type = Rss201rev2Feed if fmt == "rss" else Atom1Feed

        def get_feed(self, obj, request):
            publications = list(
                obj.publications.for_listing()
                .prefetch_related("tags")
                .order_by("-published_at", "-pk")[: django_settings.FEED_ITEMS]
            )
            for publication in publications:
                publication.related = Related(
                    authors=[
                        Byline(author.given_name, author.family_name, author.slug)
                        for author in ordered_authors(publication)
                    ],
                    themes=[(theme.slug, theme.name) for theme in publication.themes.all()],
                    regions=[(region.slug, region.name) for region in publication.regions.all()],
                    tags=sorted(tag.name for tag in publication.tags.all()),
                )
            return Feed.get_feed(self, replace(obj, rendering=publications), request)

    return Reference()(rf.get(url), **match.kwargs)


@pytest.fixture
def varied(subjects):
    """Items of every shape: several authors, one, none; subtitles, paragraphs, markup, many tags."""
    theme, region = subjects["theme"], subjects["region"]
    PublicationFactory(
        title='<b>Bold</b> & "quoted" ]]>\x0c',
        subtitle="Ünïcödé: “quotes”",
        abstract="First paragraph.\n\nSecond & <third>.\nSame paragraph.",
        themes=[theme, ThemeFactory(name="Zeta")],
        regions=[region],
        tags=["trade", "b", "a", "Центральная Азия"],
        authors=[AuthorFactory(given_name="Анна", family_name="Петрова"), AuthorFactory()],
    )
    PublicationFactory(title="No author", themes=[theme], tags=["trade"], abstract="")
    PublicationFactory(title="Single author", themes=[theme], tags=["trade"], authors=[subjects["author"]])
    return subjects


@pytest.mark.usefixtures("page_cache_off", "varied")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["site", "theme", "region", "tag", "author", "kind"])
def test_cached_items_are_byte_identical_to_uncached(client, rf, settings, fmt, kind):
    """A feed reads the same, byte for byte, as Django's plain rendering: uncached, cold and warm."""
    url = reverse(f"publications:feed-{fmt}") if kind == "site" else _feed_urls(fmt)[kind]
    reference = _reference(rf, url, fmt)
    settings.VALUE_CACHE_SECONDS = 0
    uncached = client.get(url)
    settings.VALUE_CACHE_SECONDS = 3600
    cold = client.get(url)
    warm = client.get(url)
    for response in (uncached, cold, warm):
        assert response.content == reference.content
        assert response["Last-Modified"] == reference["Last-Modified"]
        assert response["Content-Type"] == reference["Content-Type"]
    assert reference.content.count(b"<item>" if fmt == "rss" else b"<entry>") >= 1


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("fmt", FORMATS)
def test_second_request_renders_no_item(
    client, rendered, django_assert_num_queries, django_assert_max_num_queries, fmt
):
    """Once rendered, a theme feed costs one query (the theme; its list is cached) and renders nothing."""
    theme = ThemeFactory(slug="energy")
    PublicationFactory.create_batch(3, themes=[theme], authors=[AuthorFactory()], tags=["x"])
    url = reverse(f"publications:theme-feed-{fmt}", kwargs={"slug": "energy"})
    with django_assert_max_num_queries(6):
        first = client.get(url)
    assert [len(pks) for pks in rendered] == [3]
    with django_assert_num_queries(1):
        second = client.get(url)
    assert [len(pks) for pks in rendered] == [3]
    assert second.content == first.content


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size", [2, 9])
def test_cached_feed_query_count_is_constant(client, django_assert_num_queries, fmt, size):
    """A feed whose list and items are cached costs no query, whatever its length."""
    for _ in range(size):
        PublicationFactory(
            authors=[AuthorFactory(), AuthorFactory()], themes=[ThemeFactory()], regions=[RegionFactory()]
        )
    client.get(reverse(f"publications:feed-{fmt}"))
    with django_assert_num_queries(0):
        response = client.get(reverse(f"publications:feed-{fmt}"))
    assert len(feedparser.parse(response.content).entries) == size


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("fmt", FORMATS)
def test_items_are_shared_between_feeds(client, subjects, rendered, fmt):
    """An item rendered for the theme feed is reused by the site feed, which renders only the others."""
    client.get(_feed_urls(fmt)["theme"])
    _, feed = _parse(client, reverse(f"publications:feed-{fmt}"))
    assert rendered == [[subjects["inside"].pk], [subjects["outside"].pk]]
    assert {entry.title for entry in feed.entries} == {"Inside everything", "Outside everything"}


@pytest.mark.usefixtures("page_cache_off")
def test_formats_are_cached_apart(client, rendered):
    """The RSS and the Atom item of one publication are two cached pieces."""
    PublicationFactory()
    client.get(reverse("publications:feed-rss"))
    _, atom = _parse(client, reverse("publications:feed-atom"))
    assert len(rendered) == 2
    assert atom.version == "atom10"


@pytest.mark.usefixtures("page_cache_off")
def test_items_render_on_every_request_without_the_value_cache(client, settings, rendered):
    """With VALUE_CACHE_SECONDS=0 every request renders its items."""
    settings.VALUE_CACHE_SECONDS = 0
    publication = PublicationFactory()
    for _ in range(2):
        client.get(reverse("publications:feed-rss"))
    assert rendered == [[publication.pk], [publication.pk]]


# Every content change shows at once, in both formats.


def _rename_author(publication):
    author = publication.authorships.get().author
    author.family_name = "Sokolova"
    author.save()
    return ["Irina Sokolova"], ["Volkova"]


def _rename_theme(publication):
    theme = publication.themes.get()
    theme.name = "Hydrocarbons"
    theme.save()
    return ["Hydrocarbons"], ["Energy"]


def _edit(publication):
    publication.title = "A new title"
    publication.abstract = "A new abstract."
    publication.save()
    return ["A new title", "A new abstract."], ["An old title"]


def _unpublish(publication):
    publication.status = Publication.Status.DRAFT
    publication.save()
    return [], [f"{entry_id(publication)}<"]


def _delete(publication):
    gone = f"{entry_id(publication)}<"
    publication.delete()
    return [], [gone]


CHANGES = {
    "edit": _edit,
    "unpublish": _unpublish,
    "author-rename": _rename_author,
    "theme-rename": _rename_theme,
    "delete": _delete,
}


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("change", list(CHANGES))
def test_feed_shows_every_change_at_once(client, fmt, change):
    """Edits, unpublishing, deletion, author and theme renames reach the cached items at once."""
    PublicationFactory(title="A neighbour", published_at=timezone.now() - dt.timedelta(days=3))
    watched = PublicationFactory(
        title="An old title",
        authors=[AuthorFactory(given_name="Irina", family_name="Volkova")],
        themes=[ThemeFactory(name="Energy")],
    )
    url = reverse(f"publications:feed-{fmt}")
    before = client.get(url).content.decode()
    assert "An old title" in before and "Irina Volkova" in before and "Energy" in before
    shown, gone = CHANGES[change](watched)
    after = client.get(url).content.decode()
    for text in shown:
        assert text in after
    for text in gone:
        assert text not in after
    assert "A neighbour" in after


@pytest.mark.usefixtures("page_cache_off")
@pytest.mark.parametrize("fmt", FORMATS)
def test_scheduled_item_appears_when_due(client, fmt):
    """A scheduled publication gets its item the moment it is due."""
    now = timezone.now()
    url = reverse(f"publications:feed-{fmt}")
    with time_machine.travel(now, tick=False):
        PublicationFactory(title="Already out")
        PublicationFactory(title="Brief on Lithium", published_at=now + dt.timedelta(hours=2))
        assert "Brief on Lithium" not in client.get(url).content.decode()
    with time_machine.travel(now + dt.timedelta(hours=2, seconds=1), tick=False):
        _, feed = _parse(client, url)
    assert [entry.title for entry in feed.entries] == ["Brief on Lithium", "Already out"]


def test_autodiscovery_titles_follow_a_renamed_subject_and_the_site_url(client, settings, subjects):
    """The feed links are cached per subject and content version: a renamed theme's page names it
    at once, and another ``SITE_URL`` gets its own links."""
    settings.PAGE_CACHE_SECONDS = 0
    theme = subjects["theme"]

    def titles() -> list[str]:
        document = html.fromstring(client.get(theme.get_absolute_url()).content)
        return document.xpath("//head/link[@rel='alternate']/@title")

    assert f"{settings.SITE_NAME}: Latest publications: Economics (RSS)" in titles()
    theme.name = "Economics and Trade"
    theme.save()
    assert f"{settings.SITE_NAME}: Latest publications: Economics and Trade (RSS)" in titles()
    assert not any(title.endswith("publications: Economics (RSS)") for title in titles())

    settings.SITE_URL = "https://research.example.org"
    links = _alternate_links(client.get(theme.get_absolute_url()))
    assert f"https://research.example.org{_feed_urls('rss')['theme']}" in links
    assert all(href.startswith("https://research.example.org/") for href in links)


def test_autodiscovery_of_kinds_keeps_each_kind_apart(client, settings):
    """The index's feed links depend on its ``kind``: each kind gets its own, an unknown kind the site's."""
    settings.PAGE_CACHE_SECONDS = 0
    index = reverse("publications:index")
    for kind in ["blog", "report", "blog"]:
        links = _alternate_links(client.get(index, {"kind": kind}))
        assert f"{settings.SITE_URL}{reverse('publications:kind-feed-rss', kwargs={'kind': kind})}" in links
        other = "report" if kind == "blog" else "blog"
        assert (
            f"{settings.SITE_URL}{reverse('publications:kind-feed-rss', kwargs={'kind': other})}" not in links
        )
    links = _alternate_links(client.get(index, {"kind": "<script>"}))
    assert set(links) == {
        f"{settings.SITE_URL}{reverse('publications:feed-rss')}",
        f"{settings.SITE_URL}{reverse('publications:feed-atom')}",
    }
