"""Cached cards and page fragments: rendered once per content version, never stale."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from center import caching
from publications.cards import render_cards
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, ReferenceFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db

INDEX = reverse("publications:index")
STAMP = re.compile(r'name="stamp" value="[^"]*"')


@pytest.fixture(autouse=True)
def page_cache_off(settings):
    """What is tested here is the cache below the page cache."""
    settings.PAGE_CACHE_SECONDS = 0


def cards_html(response) -> list[str]:
    return re.findall(r'<article class="card.*?</article>', response.content.decode(), re.DOTALL)


def test_cards_come_from_the_cache_on_the_second_request(client, django_assert_num_queries):
    """Once rendered, a list's cards cost no query: not even their authors, themes and regions."""
    PublicationFactory.create_batch(5, authors=[AuthorFactory()], themes=[ThemeFactory()])
    first = client.get(INDEX)
    with django_assert_num_queries(0):  # the page's ids and its count are cached too
        second = client.get(INDEX)
    assert len(cards_html(second)) == 5
    assert cards_html(second) == cards_html(first)


def test_card_shared_between_pages(client, django_assert_max_num_queries):
    """A card rendered for the index is the one the author page and home page show."""
    author = AuthorFactory(given_name="Amara", family_name="Okafor")
    PublicationFactory(title="Grain corridors", authors=[author])
    index_card = cards_html(client.get(INDEX))[0]
    assert cards_html(client.get(author.get_absolute_url())) == [index_card]
    assert index_card in cards_html(client.get(reverse("home")))


def test_card_shows_an_edit_at_once(client):
    """Editing a publication re-renders its card on every list."""
    publication = PublicationFactory(title="Old title", abstract="Old abstract text.")
    author = AuthorFactory()
    publication.authorships.create(author=author, position=1)
    assert "Old title" in cards_html(client.get(INDEX))[0]
    publication.title = "New title"
    publication.save()
    for url in (INDEX, reverse("home"), author.get_absolute_url()):
        cards = "".join(cards_html(client.get(url)))
        assert "New title" in cards
        assert "Old title" not in cards


def test_card_shows_an_author_rename_at_once(client):
    """Renaming an author changes the byline of their cards, which belong to the publication."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    PublicationFactory(authors=[author])
    assert "Irina Volkova" in cards_html(client.get(INDEX))[0]
    author.family_name = "Sokolova"
    author.save()
    card = cards_html(client.get(INDEX))[0]
    assert "Irina Sokolova" in card
    assert "Irina Volkova" not in card


def test_card_shows_a_theme_rename_and_a_new_theme_at_once(client):
    theme = ThemeFactory(name="Energy")
    publication = PublicationFactory(themes=[theme])
    assert '<span class="topic">Energy</span>' in cards_html(client.get(INDEX))[0]
    theme.name = "Energy security"
    theme.save()
    publication.themes.add(ThemeFactory(name="Trade"))
    card = cards_html(client.get(INDEX))[0]
    assert '<span class="topic">Energy security</span>' in card
    assert '<span class="topic">Trade</span>' in card


def test_unpublished_publication_leaves_the_lists_at_once(client):
    keep = PublicationFactory(title="Stays listed")
    gone = PublicationFactory(title="Goes back to draft")
    assert len(cards_html(client.get(INDEX))) == 2
    gone.status = Publication.Status.DRAFT
    gone.save()
    cards = cards_html(client.get(INDEX))
    assert len(cards) == 1
    assert keep.title in cards[0]


def test_compact_and_full_cards_are_kept_apart():
    """The home page's compact blog cards have no abstract; the same post's full card has one."""
    post = PublicationFactory(kind=Publication.Kind.BLOG_POST, abstract="A distinctive abstract.")
    [full] = render_cards([post])
    [compact] = render_cards([post], compact=True)
    assert "A distinctive abstract." in full
    assert "A distinctive abstract." not in compact
    assert render_cards([post]) == [full]  # from the cache, still the full one


def test_cards_keep_order_and_repeats():
    first, second = PublicationFactory.create_batch(2)
    cards = render_cards([second, first, second])
    assert [first.title in card for card in cards] == [False, True, False]
    assert cards[0] == cards[2]


def test_cards_render_without_the_value_cache(client, settings, django_assert_max_num_queries):
    """With every cache off (the benchmark's cold mode) the cards are rendered on each request."""
    settings.VALUE_CACHE_SECONDS = 0
    publication = PublicationFactory(title="Always fresh", authors=[AuthorFactory()])
    assert "Always fresh" in cards_html(client.get(INDEX))[0]
    Publication.objects.filter(pk=publication.pk).update(title="Changed quietly")
    assert "Changed quietly" in cards_html(client.get(INDEX))[0]


def test_header_fragment_varies_with_the_section(client):
    """The cached header marks the current section: Publications on the index, Themes on the themes page."""
    PublicationFactory()
    for _ in range(2):  # the second round comes from the fragment cache
        index = client.get(INDEX).content.decode()
        themes = client.get(reverse("publications:themes")).content.decode()
        assert re.search(r'href="/publications/" aria-current="page">Publications', index)
        assert 'aria-current="page">Themes' not in index
        assert 'aria-current="page">Themes' in themes


def test_footer_form_stamp_is_fresh_on_every_page(client, settings):
    """The subscribe form's fields are cached, its "shown at" stamp is not."""
    PublicationFactory()
    stamps = set()
    # A stamp holds the time to the hundredth of a second: the pages are a second apart.
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for _ in range(3):
            html = client.get(INDEX).content.decode()
            stamps.add(re.search(r'name="stamp" value="([^"]+)"', html).group(1))
            assert 'name="consent"' in html
            traveller.shift(dt.timedelta(seconds=1))
    assert len(stamps) == 3


def test_html_timeout_never_outlives_signed_file_urls(settings):
    settings.VALUE_CACHE_SECONDS = 86400
    settings.SIGNED_FILE_URL_SECONDS = 0
    assert caching.html_timeout() == 86400
    assert caching.html_timeout(600) == 600
    settings.SIGNED_FILE_URL_SECONDS = 3600
    assert caching.html_timeout() == 1800
    assert caching.html_timeout(600) == 600


def test_page_cache_entry_expires_with_signed_file_urls(client, settings, monkeypatch):
    """A page holding signed file URLs is stored for at most half their life."""
    settings.PAGE_CACHE_SECONDS = 600
    settings.SIGNED_FILE_URL_SECONDS = 60
    PublicationFactory()
    timeouts = []
    real_set = caching.cache.set
    monkeypatch.setattr(
        caching.cache,
        "set",
        lambda key, value, timeout=None, **kw: (
            timeouts.append((key, timeout)),
            real_set(key, value, timeout),
        )[1],
    )
    assert client.get(INDEX)["X-Cache"] == "miss"
    assert [timeout for key, timeout in timeouts if key.startswith("page:")] == [30]


# The publication page ------------------------------------------------------------------------


def rich_publication(**kwargs) -> Publication:
    theme = ThemeFactory(name="Energy")
    publication = PublicationFactory(
        title="Pipelines and power",
        authors=[AuthorFactory(given_name="Irina", family_name="Volkova")],
        themes=[theme],
        tags=["gas"],
        body="<h2>First part</h2><p>One.</p><h2>Second part</h2><p>Two.</p>",
        **kwargs,
    )
    ReferenceFactory(publication=publication, text="Smith J. A first reference.")
    PublicationFactory(title="A neighbour on the same theme", themes=[theme])
    return publication


def test_publication_page_parts_come_from_the_cache(client, django_assert_num_queries):
    """Once rendered, the page's publication, authors, references, tags, citations and related items
    cost no query."""
    publication = rich_publication()
    first = client.get(publication.get_absolute_url()).content.decode()
    with django_assert_num_queries(0):
        second = client.get(publication.get_absolute_url()).content.decode()
    assert STAMP.sub("", second) == STAMP.sub("", first)  # only the form's "shown at" stamp differs
    for shown in (
        "Irina Volkova",
        "Smith J. A first reference.",
        ">gas<",
        "Energy",
        "citation_title",
        "A neighbour on the same theme",
        'href="#',
        "Cite item",
    ):
        assert shown in second


def test_publication_page_shows_every_change_at_once(client):
    publication = rich_publication()
    url = publication.get_absolute_url()
    client.get(url)
    author = publication.authorships.get().author
    author.family_name = "Sokolova"
    author.save()
    ReferenceFactory(publication=publication, text="Jones K. A second reference.")
    publication.tags.add("oil")
    publication.abstract = "A new abstract."
    publication.save()
    page = client.get(url).content.decode()
    assert "Irina Sokolova" in page
    assert "Volkova" not in page  # neither in the byline, the citations nor the head's metadata
    assert "Sokolova" in page.split("</head>")[0]
    assert "Jones K. A second reference." in page
    assert ">oil<" in page
    assert "A new abstract." in page


def test_publication_page_without_the_value_cache_renders_everything(
    client, settings, django_assert_max_num_queries
):
    settings.VALUE_CACHE_SECONDS = 0
    publication = rich_publication()
    for _ in range(2):
        with django_assert_max_num_queries(11):
            page = client.get(publication.get_absolute_url()).content.decode()
        assert "Smith J. A first reference." in page and "Irina Volkova" in page


def test_scheduled_item_gets_its_card_when_due(client):
    """With the page cache off the lists are made of cached cards: a scheduled item still appears on time."""
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        PublicationFactory(title="Already out")
        PublicationFactory(title="Scheduled Brief on Lithium", published_at=now + dt.timedelta(hours=2))
        for url in (INDEX, reverse("home")):
            assert "Scheduled Brief" not in "".join(cards_html(client.get(url)))
    with time_machine.travel(now + dt.timedelta(hours=2, seconds=1), tick=False):
        for url in (INDEX, reverse("home")):
            assert "Scheduled Brief" in "".join(cards_html(client.get(url)))


# What a card shows ----------------------------------------------------------------


def test_card_shows_each_part_in_order(settings):
    """Kind and date in the site's time zone, the linked title, subtitle, byline in byline order,
    the abstract, themes then regions (each by name)."""
    settings.TIME_ZONE = "Pacific/Auckland"  # 23:30 UTC on 31 December is 1 January there
    first, second = (
        AuthorFactory(given_name="Zoe", family_name="Adams"),
        AuthorFactory(given_name="Ali", family_name=""),
    )
    publication = PublicationFactory(
        kind=Publication.Kind.WORKING_PAPER,
        title="Ports",
        subtitle="A second look",
        published_at=dt.datetime(2024, 12, 31, 23, 30, tzinfo=dt.UTC),
        authors=[first, second],
        themes=[ThemeFactory(name="Trade"), ThemeFactory(name="Energy")],
        regions=[RegionFactory(name="Pacific")],
    )
    [card] = render_cards([publication.pk], level=2)
    assert '<span class="kind-label">Working paper</span>' in card
    assert '<time datetime="2025-01-01">January 1, 2025</time>' in card
    assert f'<h2 class="card-title"><a href="{publication.get_absolute_url()}">Ports</a></h2>' in card
    assert '<p class="card-subtitle">A second look</p>' in card
    assert '<p class="card-authors">Zoe Adams, Ali</p>' in card
    assert (
        '<p class="card-topics"><span class="topic">Energy</span><span class="topic">Trade</span>'
        '<span class="topic topic-region">Pacific</span></p>'
    ) in card
    assert (
        card.index("card-meta")
        < card.index("card-title")
        < card.index("card-authors")
        < card.index("card-abstract")
    )


def test_card_escapes_what_staff_typed():
    author = AuthorFactory(given_name="<b>Eve</b>", family_name="O'Neil & Co")
    publication = PublicationFactory(
        title='<script>alert("t")</script>',
        subtitle="<img src=x onerror=alert(1)>",
        abstract="<i>Abstract</i> & more",
        authors=[author],
        themes=[ThemeFactory(name="<u>Theme</u>")],
    )
    [card] = render_cards([publication])
    for raw in ("<script>", "<img src=x", "<i>", "<b>", "<u>"):
        assert raw not in card
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in card
    assert "&lt;b&gt;Eve&lt;/b&gt; O&#x27;Neil &amp; Co" in card
    assert "&lt;i&gt;Abstract&lt;/i&gt; &amp; more" in card


def test_card_abstract_cut_after_36_words_and_left_out_of_compact_cards():
    words = [f"word{n}" for n in range(1, 41)]
    publication = PublicationFactory(abstract=" ".join(words), subtitle="")
    [full] = render_cards([publication])
    [compact] = render_cards([publication], compact=True)
    assert f'<p class="card-abstract">{" ".join(words[:36])} …</p>' in full
    assert "word37" not in full
    assert "card-abstract" not in compact
    assert "card-subtitle" not in full  # no empty paragraphs: no subtitle, authors or topics here
    assert "card-authors" not in full
    assert "card-topics" not in full


def test_cards_of_deleted_publications_are_left_out():
    """A list read just before a publication was deleted shows the others, without an error."""
    kept, gone = PublicationFactory.create_batch(2)
    gone_pk = gone.pk
    gone.delete()
    cards = render_cards([gone_pk, kept.pk])
    assert len(cards) == 1
    assert kept.title in cards[0]
