"""The public publication pages: index with filters, publication page, PDF, reactions."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from publications.models import Publication, Reaction
from tests.factories import (
    AuthorFactory,
    OrganizationFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    ThemeFactory,
    small_pdf,
)
from tests.html_checks import assert_valid_page

pytestmark = pytest.mark.django_db

INDEX = "/publications/"


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


def at(year: int, month: int = 6, day: int = 1) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, 12, 0))


def titles(response) -> list[str]:
    return [publication.title for publication in response.context["publications"]]


# The index --------------------------------------------------------------------


def test_index_lists_only_published(client):
    """Drafts, items in review and scheduled items stay out of the index."""
    PublicationFactory(title="Public one")
    PublicationFactory(title="A draft", status=Publication.Status.DRAFT)
    PublicationFactory(title="In review", status=Publication.Status.REVIEW)
    PublicationFactory(title="Scheduled", published_at=timezone.now() + dt.timedelta(days=2))
    response = client.get(INDEX)
    assert titles(response) == ["Public one"]


def test_index_staff_also_sees_only_published(staff_client):
    """The index shows what the public sees, also to staff (preview is per page)."""
    PublicationFactory(title="Public one")
    PublicationFactory(title="A draft", status=Publication.Status.DRAFT)
    assert titles(staff_client.get(INDEX)) == ["Public one"]


def test_index_page_is_valid_html(client):
    """The index is valid HTML5 with one h1 and labelled controls."""
    PublicationFactory(themes=[ThemeFactory()], tags=["energy"], authors=[AuthorFactory()])
    assert_valid_page(client.get(INDEX).content)


def test_index_filter_kind(client):
    """?kind= keeps one kind."""
    PublicationFactory(title="Report", kind=Publication.Kind.REPORT)
    PublicationFactory(title="Post", kind=Publication.Kind.BLOG_POST)
    assert titles(client.get(INDEX, {"kind": "blog"})) == ["Post"]


def test_index_filter_theme(client):
    """?theme=<slug> keeps that theme's publications."""
    economics = ThemeFactory(slug="economics")
    PublicationFactory(title="Econ", themes=[economics])
    PublicationFactory(title="Other", themes=[ThemeFactory()])
    assert titles(client.get(INDEX, {"theme": "economics"})) == ["Econ"]


def test_index_filter_region(client):
    """?region=<slug> keeps that region's publications."""
    asia = RegionFactory(slug="asia")
    PublicationFactory(title="Asian", regions=[asia])
    PublicationFactory(title="Elsewhere", regions=[RegionFactory()])
    assert titles(client.get(INDEX, {"region": "asia"})) == ["Asian"]


def test_index_filter_tags_all_must_match(client):
    """Several ?tag= values: only publications carrying all of them."""
    PublicationFactory(title="Both", tags=["energy", "oil"])
    PublicationFactory(title="Energy only", tags=["energy"])
    PublicationFactory(title="Oil only", tags=["oil"])
    assert titles(client.get(INDEX + "?tag=energy&tag=oil")) == ["Both"]


def test_index_filter_author(client):
    """?author=<slug> keeps that author's publications."""
    author = AuthorFactory(slug="anna-petrova")
    PublicationFactory(title="Hers", authors=[author])
    PublicationFactory(title="Someone else's", authors=[AuthorFactory()])
    assert titles(client.get(INDEX, {"author": "anna-petrova"})) == ["Hers"]


def test_index_filter_year_range(client):
    """?year_from and ?year_to bound the publication year, both ends included."""
    for year in (2010, 2015, 2020):
        PublicationFactory(title=str(year), published_at=at(year))
    assert titles(client.get(INDEX, {"year_from": 2012, "year_to": 2020})) == ["2020", "2015"]


def test_index_filter_single_year(client):
    """?year= keeps one year."""
    PublicationFactory(title="Old", published_at=at(2010, 12, 31))
    PublicationFactory(title="Wanted", published_at=at(2011, 1, 1))
    assert titles(client.get(INDEX, {"year": 2011})) == ["Wanted"]


def test_index_filter_language(client):
    """?language= keeps one language."""
    PublicationFactory(title="Russian", language="ru")
    PublicationFactory(title="English", language="en")
    assert titles(client.get(INDEX, {"language": "ru"})) == ["Russian"]


def test_index_text_box(client):
    """?q= goes through the search interface."""
    PublicationFactory(title="Pipelines and power")
    PublicationFactory(title="Fisheries")
    assert titles(client.get(INDEX, {"q": "pipelines"})) == ["Pipelines and power"]


def test_index_sort_title_and_oldest(client):
    """?sort=title orders A–Z, ?sort=oldest oldest first."""
    PublicationFactory(title="Beta", published_at=at(2020))
    PublicationFactory(title="Alpha", published_at=at(2021))
    assert titles(client.get(INDEX, {"sort": "title"})) == ["Alpha", "Beta"]
    assert titles(client.get(INDEX, {"sort": "oldest"})) == ["Beta", "Alpha"]


def test_index_combined_filters(client):
    """Theme, tag, kind and year together: every one must match."""
    theme = ThemeFactory(slug="energy-policy")
    PublicationFactory(title="Match", themes=[theme], tags=["gas"], kind="report", published_at=at(2019))
    PublicationFactory(title="Wrong year", themes=[theme], tags=["gas"], kind="report", published_at=at(2018))
    PublicationFactory(title="Wrong kind", themes=[theme], tags=["gas"], kind="book", published_at=at(2019))
    PublicationFactory(title="No tag", themes=[theme], kind="report", published_at=at(2019))
    response = client.get(INDEX, {"theme": "energy-policy", "tag": "gas", "kind": "report", "year": 2019})
    assert titles(response) == ["Match"]


def test_index_bad_values_answer_clearly(client):
    """?year=abc&page=9999&tag=<script>: a 200 page that says what was left out, nothing unescaped."""
    PublicationFactory(title="Still listed")
    response = client.get(INDEX + "?year=abc&page=9999&tag=<script>")
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert "<script>" not in content.replace('<script src="', "")
    assert "&lt;script&gt;" in content
    assert "Enter a number." in content
    assert "There is no page 9999" in content
    assert titles(response) == ["Still listed"]


def test_index_unknown_choice_answers_clearly(client):
    """An unknown kind is reported, not a server error."""
    response = client.get(INDEX, {"kind": "poem", "sort": "random"})
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in response.content.decode()


def test_index_page_not_a_number_shows_first_page(client):
    """?page=abc shows page 1 with a notice."""
    PublicationFactory.create_batch(21)
    response = client.get(INDEX, {"page": "abc"})
    assert response.context["page_obj"].number == 1
    assert "not a number" in response.content.decode()


def test_index_paginates_by_twenty_with_numbers(client):
    """20 per page; page 2 holds the rest, numbered links keep the filters."""
    PublicationFactory.create_batch(25, kind="report")
    response = client.get(INDEX, {"kind": "report", "page": 2})
    assert len(response.context["publications"]) == 5
    assert "?kind=report&amp;page=1" in response.content.decode()


def test_index_facet_counts(client):
    """Each filter value shows how many publications match it."""
    economics = ThemeFactory(name="Economics", slug="economics")
    PublicationFactory.create_batch(2, themes=[economics], tags=["energy"])
    PublicationFactory(themes=[ThemeFactory()], tags=["energy"], kind="book")
    facets = client.get(INDEX).context["facets"]
    assert {"value": "economics", "label": "Economics", "count": 2, "selected": False} in facets["theme"]
    assert [item["count"] for item in facets["tag"] if item["value"] == "energy"] == [3]
    assert {item["value"]: item["count"] for item in facets["kind"]} == {"report": 2, "book": 1}
    assert "Economics (2)" in client.get(INDEX).content.decode()


def test_index_facets_follow_filters(client):
    """Facet counts describe the filtered list."""
    PublicationFactory(tags=["energy", "oil"])
    PublicationFactory(tags=["energy"])
    facets = client.get(INDEX, {"tag": "oil"}).context["facets"]
    assert {item["value"]: item["count"] for item in facets["tag"]} == {"energy": 1, "oil": 1}


def test_index_empty_result_explains_and_offers_clear(client):
    """No match: the page says so and links to the unfiltered index."""
    PublicationFactory(kind="report")
    content = client.get(INDEX, {"kind": "book"}).content.decode()
    assert "No publications match these filters" in content
    assert f'href="{INDEX}">Clear all filters' in content


def test_index_active_filter_chip_removes_one_tag(client):
    """Each active tag has a chip whose link drops only that tag."""
    PublicationFactory(tags=["energy", "oil"])
    chips = client.get(INDEX + "?tag=energy&tag=oil").context["chips"]
    assert [chip["url"] for chip in chips] == ["?tag=oil", "?tag=energy"]


def test_index_htmx_gets_results_fragment(client):
    """An htmx request from the filter form gets only the results fragment."""
    PublicationFactory(title="Found")
    response = client.get(INDEX, headers={"HX-Request": "true", "HX-Target": "index-results"})
    content = response.content.decode()
    assert "Found" in content
    assert "<html" not in content
    assert 'id="index-filters"' in content
    assert "HX-Request" in response["Vary"]


def test_index_without_htmx_gets_full_page(client):
    """Without the HX-Request header (JavaScript off) the same URL gives the whole page."""
    PublicationFactory(title="Found")
    content = client.get(INDEX).content.decode()
    assert content.startswith("<!doctype html>")
    assert 'method="get" action="/publications/"' in content


def test_index_htmx_history_restore_gets_full_page(client):
    """htmx restoring history asks for the whole page, and gets it."""
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true", "HX-Target": "index-results"}
    assert "<html" in client.get(INDEX, headers=headers).content.decode()


# Themes, regions, tags ------------------------------------------------------------


def test_theme_page_lists_its_publications_with_description(client):
    """/themes/<slug>/ shows the description and only that theme's publications."""
    theme = ThemeFactory(name="Energy", description="Oil, gas and the energy transition.")
    PublicationFactory(title="Energy paper", themes=[theme])
    PublicationFactory(title="Other paper")
    response = client.get(theme.get_absolute_url())
    assert titles(response) == ["Energy paper"]
    assert "Oil, gas and the energy transition." in response.content.decode()
    assert_valid_page(response.content)


def test_theme_page_accepts_further_filters(client):
    """A theme's index can be narrowed like the main index."""
    theme = ThemeFactory()
    PublicationFactory(title="Report", themes=[theme], kind="report")
    PublicationFactory(title="Book", themes=[theme], kind="book")
    assert titles(client.get(theme.get_absolute_url(), {"kind": "book"})) == ["Book"]


def test_region_page_lists_its_publications(client):
    """/regions/<slug>/ lists that region's publications."""
    region = RegionFactory()
    PublicationFactory(title="Regional", regions=[region])
    PublicationFactory(title="Elsewhere")
    assert titles(client.get(region.get_absolute_url())) == ["Regional"]


def test_tag_page_lists_its_publications(client):
    """/tags/<slug>/ lists the tagged publications."""
    PublicationFactory(title="Tagged", tags=["energy"])
    PublicationFactory(title="Untagged")
    response = client.get(reverse("publications:tag", kwargs={"slug": "energy"}))
    assert titles(response) == ["Tagged"]


def test_tag_page_describes_itself(client):
    """A tag has no description of its own: the page says what it lists."""
    PublicationFactory(title="Tagged", tags=["Energy <b>security</b>"])
    slug = Publication.objects.get(title="Tagged").tags.get().slug
    content = client.get(reverse("publications:tag", kwargs={"slug": slug})).content.decode()
    assert "Everything we have published under the tag “Energy &lt;b&gt;security&lt;/b&gt;”" in content


def test_unknown_theme_is_404(client):
    """A theme that does not exist answers 404 in the site's design."""
    response = client.get("/themes/no-such-theme/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "We could not find that page" in response.content.decode()


def test_theme_list_shows_counts_of_published(client):
    """/themes/ lists every theme with its number of published publications."""
    theme = ThemeFactory(name="Security")
    PublicationFactory(themes=[theme])
    PublicationFactory(themes=[theme], status=Publication.Status.DRAFT)
    response = client.get(reverse("publications:themes"))
    assert "Security" in response.content.decode()
    assert [item.publication_count for item in response.context["items"]] == [1]
    assert_valid_page(response.content)


def test_region_list_is_valid(client):
    """/regions/ lists regions and is valid HTML."""
    RegionFactory(name="Central Asia")
    response = client.get(reverse("publications:regions"))
    assert "Central Asia" in response.content.decode()
    assert_valid_page(response.content)


# The publication page ---------------------------------------------------------------


@pytest.fixture
def journal_article(db):
    organization = OrganizationFactory(name="Institute of Economics", city="Moscow", country="Russia")
    first = AuthorFactory(
        given_name="Anna",
        family_name="Petrova",
        organization=organization,
        department="Department of Trade",
        degree="PhD in History",
        position="Leading Researcher",
        email="a.petrova@example.org",
    )
    second = AuthorFactory(given_name="John", family_name="Smith")
    publication = PublicationFactory(
        title="Trade and Security",
        subtitle="A regional view",
        kind=Publication.Kind.ARTICLE,
        published_at=at(2016, 10, 6),
        abstract="What trade does to security.",
        body="<h2>Introduction</h2><p>Text.</p><h2>Findings</h2><p>More <script>alert(1)</script>.</p>",
        container_title="Journal of Eurasian Policy",
        volume="12",
        issue="3",
        pages="45-67",
        doi="10.1234/jep.2016.12",
        license="CC-BY-NC-4.0",
        copyright_holder="Institute of Economics",
        copyright_year=2016,
        authors=[first, second],
        themes=[ThemeFactory(name="Economics")],
        regions=[RegionFactory(name="Central Asia")],
        tags=["trade"],
    )
    publication.authorships.filter(author=first).update(is_corresponding=True)
    ReferenceFactory(publication=publication, position=1, text="Ivanov I. Economics.", language="ru")
    ReferenceFactory(
        publication=publication,
        position=2,
        text="World Bank. Trade data.",
        doi="10.5555/wb.1",
        url="https://data.example.org/trade",
        accessed_on=dt.date(2016, 5, 1),
    )
    return publication


def test_detail_shows_article_fields(client, journal_article):
    """Kind, title, subtitle, date, authors, journal data, DOI, references and license are shown."""
    response = client.get(journal_article.get_absolute_url())
    content = response.content.decode()
    for text in (
        "Journal article",
        "Trade and Security",
        "A regional view",
        "Published <time",
        "October 6, 2016",
        "Anna Petrova",
        "Journal of Eurasian Policy",
        "45-67",
        'href="https://doi.org/10.1234/jep.2016.12"',
        "Author for correspondence",
        "PhD in History",
        "Leading Researcher",
        "Department of Trade",
        "Moscow, Russia",
        "(In Russian)",
        'href="https://doi.org/10.5555/wb.1"',
        "accessed May 1, 2016",
        "CC BY-NC 4.0",
        'href="https://creativecommons.org/licenses/by-nc/4.0/"',
        "© 2016 Institute of Economics",
        "Cite item",
        "About the authors",
    ):
        assert text in content, text
    assert_valid_page(response.content)


def test_detail_links_themes_regions_authors_tags(client, journal_article):
    """Themes, regions, authors and tags link to their pages."""
    content = client.get(journal_article.get_absolute_url()).content.decode()
    assert journal_article.themes.get().get_absolute_url() in content
    assert journal_article.regions.get().get_absolute_url() in content
    assert journal_article.authors.first().get_absolute_url() in content
    assert reverse("publications:tag", kwargs={"slug": "trade"}) in content


def test_detail_protects_author_email(client, journal_article):
    """The email is never in the source as an address or a mailto link."""
    content = client.get(journal_article.get_absolute_url()).content.decode()
    assert "a.petrova@example.org" not in content
    assert "mailto:" not in content
    assert "a.petrova [at] example [dot] org" in content


def test_detail_body_sanitized_with_table_of_contents(client, journal_article):
    """Body headings get anchors and a table of contents; scripts are removed."""
    content = client.get(journal_article.get_absolute_url()).content.decode()
    assert '<h2 id="section-introduction">Introduction</h2>' in content
    assert 'href="#section-findings"' in content
    assert "alert(1)" not in content


def test_blog_post_says_posted_on(client):
    """Blog posts show "Posted on"."""
    post = PublicationFactory(kind=Publication.Kind.BLOG_POST, published_at=at(2016, 10, 6))
    assert "Posted on <time" in client.get(post.get_absolute_url()).content.decode()


def test_detail_related_publications(client):
    """Related: published items sharing a theme or a tag, not drafts."""
    theme = ThemeFactory()
    publication = PublicationFactory(themes=[theme], tags=["gas"])
    PublicationFactory(title="Same theme", themes=[theme])
    PublicationFactory(title="Same tag", tags=["gas"])
    PublicationFactory(title="Unrelated")
    PublicationFactory(title="Draft sibling", themes=[theme], status=Publication.Status.DRAFT)
    related = client.get(publication.get_absolute_url()).context["page"].related
    assert sorted(item.title for item in related) == ["Same tag", "Same theme"]


def test_detail_related_most_shared_first_then_newest(client):
    """Two shared subjects come before one; among equals the newer first; at most four."""
    energy, water = ThemeFactory(), ThemeFactory()
    publication = PublicationFactory(themes=[energy, water], tags=["gas"])
    now = timezone.now()
    PublicationFactory(title="One, old", themes=[energy], published_at=now - dt.timedelta(days=30))
    PublicationFactory(title="One, new", themes=[water], published_at=now - dt.timedelta(days=2))
    three = {"themes": [energy, water], "tags": ["gas"]}
    PublicationFactory(title="Three", **three, published_at=now - dt.timedelta(days=90))
    PublicationFactory(title="Two", themes=[energy], tags=["gas"], published_at=now - dt.timedelta(days=60))
    PublicationFactory(title="One, older", tags=["gas"], published_at=now - dt.timedelta(days=40))
    related = client.get(publication.get_absolute_url()).context["page"].related
    assert [item.title for item in related] == ["Three", "Two", "One, new", "One, old"]


@pytest.mark.parametrize(
    "changes",
    [
        {"status": Publication.Status.DRAFT},
        {"status": Publication.Status.REVIEW},
        {"published_at": timezone.now() + dt.timedelta(days=3)},
    ],
    ids=["draft", "review", "scheduled"],
)
def test_detail_hidden_from_public(client, changes):
    """Drafts, items in review and scheduled items answer 404 to the public."""
    publication = PublicationFactory(**changes)
    assert client.get(publication.get_absolute_url()).status_code == HTTPStatus.NOT_FOUND


def test_detail_staff_preview_is_marked(staff_client):
    """Staff see a draft with a preview banner and noindex."""
    publication = PublicationFactory(status=Publication.Status.DRAFT)
    response = staff_client.get(publication.get_absolute_url())
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "<strong>Preview.</strong>" in content
    assert '<meta name="robots" content="noindex">' in content


def test_detail_public_page_has_no_preview_marks(client):
    """A published page carries neither the banner nor noindex."""
    content = client.get(PublicationFactory().get_absolute_url()).content.decode()
    assert "Preview." not in content
    assert "noindex" not in content


# PDF ------------------------------------------------------------------------------


def test_pdf_inline_and_download(client):
    """The PDF is embedded with a fallback, and its URL answers with the PDF."""
    publication = PublicationFactory()
    publication.pdf.save("paper.pdf", ContentFile(small_pdf()))
    content = client.get(publication.get_absolute_url()).content.decode()
    pdf_url = reverse("publications:pdf", kwargs={"slug": publication.slug})
    assert f'<object class="pdf-frame" data="{pdf_url}" type="application/pdf"' in content
    assert "Your browser cannot show the PDF" in content
    assert "Download PDF" in content
    response = client.get(pdf_url)
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert "attachment" in client.get(pdf_url, {"download": "1"})["Content-Disposition"]


def test_pdf_of_draft_is_404(client):
    """A draft's PDF is not public either."""
    publication = PublicationFactory(status=Publication.Status.DRAFT)
    publication.pdf.save("paper.pdf", ContentFile(small_pdf()))
    response = client.get(reverse("publications:pdf", kwargs={"slug": publication.slug}))
    assert response.status_code == HTTPStatus.NOT_FOUND


# Reactions ------------------------------------------------------------------------


@pytest.fixture
def post(db):
    return PublicationFactory(kind=Publication.Kind.BLOG_POST)


@pytest.fixture
def csrf_client():
    """A client that sends a valid CSRF token, as the page's JavaScript does (checks enforced)."""
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("newsletter:csrf"))
    client.defaults["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client


def react_url(publication) -> str:
    return reverse("publications:react", kwargs={"slug": publication.slug})


def test_reaction_like_counts_and_redirects(csrf_client, post):
    """A like without JavaScript: counted, then back to the post."""
    response = csrf_client.post(react_url(post), {"value": Reaction.Value.LIKE})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == post.get_absolute_url() + "#reactions"
    post.refresh_from_db()
    assert (post.likes, post.dislikes) == (1, 0)
    content = csrf_client.get(post.get_absolute_url()).content.decode()
    assert "you liked this post" in content


def test_reaction_double_vote_counts_once(csrf_client, post):
    """The same visitor voting again (like, then dislike) changes nothing."""
    csrf_client.post(react_url(post), {"value": Reaction.Value.LIKE})
    csrf_client.post(react_url(post), {"value": Reaction.Value.LIKE})
    csrf_client.post(react_url(post), {"value": Reaction.Value.DISLIKE})
    post.refresh_from_db()
    assert (post.likes, post.dislikes) == (1, 0)
    assert Reaction.objects.count() == 1


def test_reaction_two_visitors_count_twice(post):
    """Two visitors (two cookie ids) give two votes."""
    for _ in range(2):
        visitor = Client(enforce_csrf_checks=True)
        visitor.get(reverse("newsletter:csrf"))
        visitor.post(
            react_url(post),
            {"value": Reaction.Value.DISLIKE},
            headers={"X-CSRFToken": visitor.cookies["csrftoken"].value},
        )
    post.refresh_from_db()
    assert post.dislikes == 2


def test_reaction_forged_cookie_is_a_new_visitor(csrf_client, post):
    """A tampered visitor cookie is ignored (its signature fails)."""
    csrf_client.post(react_url(post), {"value": Reaction.Value.LIKE})
    csrf_client.cookies["visitor"] = "someone-else:forged"
    csrf_client.post(react_url(post), {"value": Reaction.Value.LIKE})
    assert Reaction.objects.count() == 2
    assert not Reaction.objects.filter(visitor__contains="someone-else").exists()


def test_reaction_htmx_gets_fragment(csrf_client, post):
    """With htmx the answer is the reactions fragment with the new count."""
    response = csrf_client.post(
        react_url(post),
        {"value": Reaction.Value.LIKE},
        headers={"HX-Request": "true", "HX-Target": "reactions"},
    )
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert content.lstrip().startswith('<section class="reactions" id="reactions"')
    assert '<span class="reaction-count">1</span>' in content


def test_reaction_without_token_asks_to_confirm(post):
    """No CSRF token (cached page, no JavaScript): nothing counted, a confirm form with a token."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(react_url(post), {"value": Reaction.Value.LIKE})
    assert response.status_code == HTTPStatus.OK
    assert "Confirm your vote" in response.content.decode()
    assert "csrfmiddlewaretoken" in response.content.decode()
    assert Reaction.objects.count() == 0


def test_reaction_confirm_form_counts_the_vote(post):
    """Sending the confirm page's form (it carries a token) counts the vote."""
    client = Client(enforce_csrf_checks=True)
    client.post(react_url(post), {"value": Reaction.Value.LIKE})
    token = client.cookies["csrftoken"].value
    response = client.post(react_url(post), {"value": Reaction.Value.LIKE, "csrfmiddlewaretoken": token})
    assert response.status_code == HTTPStatus.FOUND
    post.refresh_from_db()
    assert post.likes == 1


def test_reaction_cross_site_refused(csrf_client, post):
    """A post from another site is refused."""
    response = csrf_client.post(
        react_url(post), {"value": Reaction.Value.LIKE}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Reaction.objects.count() == 0


def test_reaction_bad_value(csrf_client, post):
    """A value other than like/dislike is a 400 with a message."""
    response = csrf_client.post(react_url(post), {"value": "7"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Choose like or dislike" in response.content.decode()


def test_reaction_rate_limited(csrf_client, post, settings):
    """Past the limit the answer is 429."""
    settings.REACTION_RATE_LIMIT = 2
    for _ in range(2):
        csrf_client.post(react_url(post), {"value": Reaction.Value.LIKE})
    response = csrf_client.post(react_url(post), {"value": Reaction.Value.LIKE})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_reaction_only_on_blog_posts(csrf_client):
    """Reports take no reactions: 404, and no form on the page."""
    report = PublicationFactory(kind=Publication.Kind.REPORT)
    assert csrf_client.post(react_url(report), {"value": 1}).status_code == HTTPStatus.NOT_FOUND
    assert 'id="reactions"' not in csrf_client.get(report.get_absolute_url()).content.decode()


def test_reaction_get_not_allowed(client, post):
    """Votes are POST only."""
    assert client.get(react_url(post)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


# Query counts ---------------------------------------------------------------------


def populate(count: int, theme, region, author) -> None:
    for n in range(count):
        publication = PublicationFactory(
            authors=[author, AuthorFactory()],
            themes=[theme, ThemeFactory()],
            regions=[region],
            tags=["energy", f"tag-{n}"],
            kind=Publication.Kind.BLOG_POST if n % 3 == 0 else Publication.Kind.REPORT,
            featured=n % 5 == 0,
        )
        ReferenceFactory.create_batch(2, publication=publication)


@pytest.mark.parametrize("size", [3, 30])
def test_public_pages_query_bounds(client, django_assert_max_num_queries, size):
    """Each page type stays within a fixed number of queries with 3 and with 30 publications."""
    theme, region, author = ThemeFactory(), RegionFactory(), AuthorFactory()
    populate(size, theme, region, author)
    publication = Publication.objects.filter(kind=Publication.Kind.BLOG_POST).first()
    urls = [
        "/",
        INDEX,
        f"{INDEX}?theme={theme.slug}&tag=energy&region={region.slug}&sort=title&year_from=2000",
        publication.get_absolute_url(),
        theme.get_absolute_url(),
        region.get_absolute_url(),
        reverse("publications:tag", kwargs={"slug": "energy"}),
        reverse("publications:themes"),
        reverse("publications:regions"),
        reverse("authors:index"),
        author.get_absolute_url(),
    ]
    for url in urls:
        with django_assert_max_num_queries(10):
            assert client.get(url).status_code == HTTPStatus.OK
