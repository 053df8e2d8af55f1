"""Full-text search: the same behaviour on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
from http import HTTPStatus

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from publications import search
from publications.demo_pdf import build_pdf
from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    """Every request reaches the view."""
    settings.PAGE_CACHE_SECONDS = 0


def titles(query: str, **kwargs) -> list[str]:
    result = search.search(query, **kwargs)
    return [publication.title for publication in result[0:50]]


def publish_pdf(publication: Publication, content: bytes, django_capture_on_commit_callbacks) -> Publication:
    """Attach a PDF as an editor would, and run the extraction task queued on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        publication.pdf.save("paper.pdf", ContentFile(content), save=True)
    publication.refresh_from_db()
    return publication


# The query language -------------------------------------------------------------


def test_search_stemming_singular_finds_plural():
    """ "sanction" finds a title with "sanctions"."""
    PublicationFactory(title="Economic sanctions and trade")
    PublicationFactory(title="Monetary policy in Europe")
    assert titles("sanction") == ["Economic sanctions and trade"]


def test_search_case_and_accents_ignored():
    """Upper case and accents on either side do not matter."""
    PublicationFactory(title="Café exports of Côte d’Ivoire")
    assert titles("CAFE cote") == ["Café exports of Côte d’Ivoire"]


def test_search_all_words_must_match():
    """Two words find only publications with both."""
    PublicationFactory(title="Water security in Asia")
    PublicationFactory(title="Water prices in Europe")
    assert titles("water asia") == ["Water security in Asia"]


def test_search_phrase_matches_adjacent_words():
    """A quoted phrase needs its words next to each other, in order."""
    PublicationFactory(title="Energy security of Europe", abstract="")
    PublicationFactory(title="Security and energy", abstract="")
    assert titles('"energy security"') == ["Energy security of Europe"]


def test_search_exclusion_drops_matches():
    """-word leaves out publications containing it."""
    PublicationFactory(title="Oil markets in Russia", abstract="")
    PublicationFactory(title="Oil markets in Norway", abstract="")
    assert titles("oil -russia") == ["Oil markets in Norway"]


def test_search_excluded_phrase():
    """-"a phrase" leaves out publications containing the phrase."""
    PublicationFactory(title="Grain exports from Ukraine", abstract="")
    PublicationFactory(title="Grain exports and prices", abstract="")
    assert titles('grain -"from ukraine"') == ["Grain exports and prices"]


def test_search_or_matches_either():
    """OR between words finds publications with one or the other."""
    PublicationFactory(title="Nuclear deterrence", abstract="")
    PublicationFactory(title="Missile defence", abstract="")
    PublicationFactory(title="Fisheries policy", abstract="")
    assert sorted(titles("nuclear OR missile")) == ["Missile defence", "Nuclear deterrence"]


def test_search_or_joins_its_two_neighbours_only():
    """``trade sanctions OR tariffs`` is trade and (sanctions or tariffs), on both engines; the index's
    ?q= reads it the same way."""
    for title in ("Trade sanctions", "Trade tariffs", "Tariffs alone", "Sanctions alone", "Trade alone"):
        PublicationFactory(title=title, abstract="")
    assert sorted(titles("trade sanctions OR tariffs")) == ["Trade sanctions", "Trade tariffs"]
    assert sorted(titles("sanctions OR tariffs -trade")) == ["Sanctions alone", "Tariffs alone"]
    found = search.filter_by_query(Publication.objects.all(), "trade sanctions OR tariffs")
    assert sorted(found.values_list("title", flat=True)) == ["Trade sanctions", "Trade tariffs"]


def test_search_only_stop_words_finds_nothing():
    """A query of stop words alone searches nothing."""
    PublicationFactory(title="The state of the union")
    assert not search.parse_query("the of")
    assert titles("the of") == []


def test_parse_query_quotes_every_term_for_fts5():
    """Operators and quotes typed by the visitor never reach FTS5 unquoted."""
    parsed = search.parse_query('NEAR(a b) title:x "unclosed * ^col AND')
    assert parsed.fts5() == '"near a" AND "b" AND "title x" AND "unclosed col and"'


def test_parse_query_builds_or_groups_and_exclusions():
    """Words, OR groups and exclusions are read as people write them."""
    parsed = search.parse_query('trade sanctions OR tariffs -"free trade" -china')
    assert parsed.websearch() == 'trade sanctions OR tariffs -"free trade" -china'
    assert parsed.fts5() == '("trade" AND ("sanctions" OR "tariffs")) NOT ("free trade" OR "china")'


# Ranking and snippets -----------------------------------------------------------


def test_search_ranks_title_hit_first():
    """A publication with the word in its title comes before ones with it only in the text."""
    PublicationFactory(title="Regional report", abstract="Pipelines and pipelines, pipelines everywhere.")
    PublicationFactory(title="Pipelines of the Caspian", abstract="A short note.")
    PublicationFactory(title="Another report", body="<p>One pipeline.</p>", abstract="")
    assert titles("pipelines")[0] == "Pipelines of the Caspian"


def test_search_ranks_author_above_body():
    """A match in an author's name ranks above a match in the body."""
    PublicationFactory(title="Survey one", abstract="", body="<p>Kowalski wrote about this.</p>")
    PublicationFactory(title="Survey two", abstract="", authors=[AuthorFactory(family_name="Kowalski")])
    assert titles("kowalski") == ["Survey two", "Survey one"]


def test_search_ranks_body_above_pdf(django_capture_on_commit_callbacks):
    """A match in the abstract ranks above a match only in the PDF."""
    in_pdf = PublicationFactory(title="First paper", abstract="")
    publish_pdf(
        in_pdf, build_pdf("Appendix", ["Hydropower in the Mekong basin."]), django_capture_on_commit_callbacks
    )
    PublicationFactory(title="Second paper", abstract="Hydropower dams.")
    assert titles("hydropower") == ["Second paper", "First paper"]


def test_search_snippet_highlights_matched_words():
    """The snippet marks the matched words, stemmed."""
    PublicationFactory(title="A report", abstract="New sanctions were imposed on the banking sector.")
    [hit] = search.search("sanction")[0:20]
    assert "<mark>sanctions</mark>" in hit.search_snippet


def test_search_snippet_escapes_html():
    """Markup in the text is shown as text, never injected."""
    PublicationFactory(
        title="A report", abstract='Sanctions <script>alert("x")</script> <b>cost</b> AT&T < 5%'
    )
    [hit] = search.search("sanctions")[0:20]
    assert "<script>" not in hit.search_snippet
    assert "<b>" not in hit.search_snippet
    assert "AT&amp;T &lt; 5%" in hit.search_snippet
    assert "<mark>Sanctions</mark>" in hit.search_snippet


def test_search_snippet_from_body_html_is_plain_text():
    """The body's tags are dropped and its entities decoded before the snippet is made."""
    PublicationFactory(
        title="A post", abstract="", body="<h2>Tariffs</h2><p>Steel &amp; aluminium tariffs.</p>"
    )
    [hit] = search.search("aluminium")[0:20]
    assert "<h2>" not in hit.search_snippet
    assert "Steel &amp; <mark>aluminium</mark>" in hit.search_snippet


def test_search_title_match_highlighted_in_title():
    """A match in the title alone marks the title's words, stemmed, and leaves the snippet unmarked."""
    PublicationFactory(title="Economic sanctions and trade", abstract="A short note.", body="")
    [hit] = search.search("sanction")[0:20]
    assert hit.search_title == "Economic <mark>sanctions</mark> and trade"
    assert "<mark>" not in hit.search_snippet


def test_search_title_highlight_ignores_case_and_accents():
    """An unaccented, lower-case query marks the accented title words as written."""
    PublicationFactory(title="Café exports of Côte d’Ivoire", abstract="")
    [hit] = search.search("CAFE cote")[0:20]
    assert hit.search_title == "<mark>Café</mark> exports of <mark>Côte</mark> d’Ivoire"


def test_search_title_highlight_escapes_hostile_title():
    """A title with markup is shown escaped, with only the engine's <mark> added."""
    PublicationFactory(title='<script>alert("x")</script> Sanctions & <b>tariffs</b>', abstract="")
    [hit] = search.search("sanctions")[0:20]
    assert "<script>" not in hit.search_title
    assert "<b>" not in hit.search_title
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in hit.search_title
    assert "<mark>Sanctions</mark> &amp; &lt;b&gt;tariffs&lt;/b&gt;" in hit.search_title


def test_search_title_unmatched_shown_plain():
    """A hit found by its text shows its title escaped and unmarked."""
    PublicationFactory(title="Annual <report>", abstract="Tungsten supply chains.")
    [hit] = search.search("tungsten")[0:20]
    assert hit.search_title == "Annual &lt;report&gt;"
    assert "<mark>Tungsten</mark>" in hit.search_snippet


def test_search_subtitle_is_searched():
    """Words only in the subtitle find the publication."""
    PublicationFactory(title="Annual report", subtitle="Fisheries of the Baltic", abstract="")
    PublicationFactory(title="Other report", subtitle="Forests", abstract="")
    assert titles("fisheries") == ["Annual report"]


def test_search_subtitle_match_highlighted():
    """A subtitle that matched is given marked; one that did not is left out."""
    PublicationFactory(title="Annual report", subtitle="Fisheries of the Baltic", abstract="")
    PublicationFactory(title="Fisheries outlook", subtitle="Second edition", abstract="")
    hits = {hit.title: hit for hit in search.search("fisheries")[0:20]}
    assert hits["Annual report"].search_subtitle == "<mark>Fisheries</mark> of the Baltic"
    assert hits["Fisheries outlook"].search_subtitle == ""


def test_search_author_match_highlighted_in_byline():
    """A match in an author's name alone marks that name in the byline, and only that name."""
    kowalski = AuthorFactory(given_name="Jan", family_name="Kowalski")
    other = AuthorFactory(given_name="Anna", family_name="Nowak")
    PublicationFactory(title="Survey", abstract="", body="", authors=[other, kowalski])
    [hit] = search.search("kowalski")[0:20]
    assert hit.search_authors == [(other, "Anna Nowak"), (kowalski, "Jan <mark>Kowalski</mark>")]
    assert "<mark>" not in hit.search_title


def test_search_author_highlight_escapes_hostile_name():
    """An author's name with markup is escaped in the byline."""
    author = AuthorFactory(given_name="<img src=x onerror=alert(1)>", family_name="Kowalski")
    PublicationFactory(title="Survey", abstract="", authors=[author])
    [hit] = search.search("kowalski")[0:20]
    [(_, name)] = hit.search_authors
    assert name == "&lt;img src=x onerror=alert(1)&gt; <mark>Kowalski</mark>"


def test_search_subject_match_listed():
    """A match in a theme, region or tag alone lists the matching ones, marked."""
    publication = PublicationFactory(
        title="Survey",
        abstract="",
        themes=[ThemeFactory(name="Demography"), ThemeFactory(name="Energy")],
        regions=[RegionFactory(name="Caucasus")],
        tags=["remittances", "labour"],
    )
    [hit] = search.search("caucasus OR remittances")[0:20]
    assert hit.pk == publication.pk
    assert hit.search_subjects == ["<mark>Caucasus</mark>", "<mark>remittances</mark>"]


def test_search_subjects_empty_when_text_matched():
    """Without a match in themes, regions or tags no subject is listed."""
    PublicationFactory(
        title="Survey", abstract="Tungsten.", themes=[ThemeFactory(name="Energy")], tags=["x1"]
    )
    [hit] = search.search("tungsten")[0:20]
    assert hit.search_subjects == []


# PDF text ------------------------------------------------------------------------


def test_search_finds_pdf_text(django_capture_on_commit_callbacks):
    """Words only inside the uploaded PDF are found, with a snippet from the PDF."""
    publication = PublicationFactory(title="Annual report", abstract="")
    publication = publish_pdf(
        publication,
        build_pdf("Hello sanctions", ["Tungsten supply chains."]),
        django_capture_on_commit_callbacks,
    )
    assert publication.pdf_text_status == Publication.PdfTextStatus.EXTRACTED
    [hit] = search.search("tungsten")[0:20]
    assert hit.pk == publication.pk
    assert "<mark>Tungsten</mark>" in hit.search_snippet


def test_snippet_comes_from_where_the_words_are(django_capture_on_commit_callbacks):
    """The snippet shows the words where the text or the PDF holds them, and the start of the
    text when only the title does."""
    in_pdf = publish_pdf(
        PublicationFactory(title="Annual report", abstract="Mining overview.", body=""),
        build_pdf("Minerals", ["Tungsten supply chains."]),
        django_capture_on_commit_callbacks,
    )
    in_title = publish_pdf(
        PublicationFactory(title="Tungsten markets", abstract="Prices of rare metals rose.", body=""),
        build_pdf("Minerals", ["Copper exports."]),
        django_capture_on_commit_callbacks,
    )
    hits = {hit.pk: hit for hit in search.search("tungsten")[0:20]}
    assert "<mark>Tungsten</mark> supply chains" in hits[in_pdf.pk].search_snippet
    assert hits[in_title.pk].search_snippet == "Prices of rare metals rose."
    assert "<mark>Tungsten</mark> markets" in hits[in_title.pk].search_title


def test_pdf_replaced_forgets_old_text(django_capture_on_commit_callbacks):
    """Replacing the PDF replaces the text searched."""
    publication = PublicationFactory(title="Annual report", abstract="")
    publish_pdf(publication, build_pdf("Old", ["Vanadium."]), django_capture_on_commit_callbacks)
    publish_pdf(publication, build_pdf("New", ["Molybdenum."]), django_capture_on_commit_callbacks)
    assert titles("vanadium") == []
    assert titles("molybdenum") == ["Annual report"]


def test_pdf_broken_is_recorded_and_publication_stays_public(django_capture_on_commit_callbacks):
    """A damaged PDF is marked broken; the publication is still published and found."""
    publication = PublicationFactory(title="Cobalt markets")
    publication = publish_pdf(publication, b"%PDF-1.4 this is not a pdf", django_capture_on_commit_callbacks)
    assert publication.pdf_text_status == Publication.PdfTextStatus.BROKEN
    assert publication.is_public
    assert titles("cobalt") == ["Cobalt markets"]


def test_pdf_without_text_is_recorded(django_capture_on_commit_callbacks):
    """A PDF with no text (a scan) is marked as such."""
    publication = PublicationFactory(title="Scanned volume")
    publication = publish_pdf(publication, build_pdf("", []), django_capture_on_commit_callbacks)
    assert publication.pdf_text_status == Publication.PdfTextStatus.NO_TEXT


# Keeping the index current ---------------------------------------------------------


def test_search_reflects_edit():
    """A changed title is found by its new words, not its old ones."""
    publication = PublicationFactory(title="Arctic shipping routes")
    publication.title = "Antarctic fisheries"
    publication.save()
    assert titles("arctic shipping") == []
    assert titles("antarctic") == ["Antarctic fisheries"]


def test_search_hides_unpublished():
    """An unpublished publication disappears from the results."""
    publication = PublicationFactory(title="Lithium diplomacy")
    publication.status = Publication.Status.DRAFT
    publication.save()
    assert titles("lithium") == []


def test_search_hides_unpublished_by_bulk_update():
    """The admin's bulk unpublish (a queryset update) hides it too."""
    publication = PublicationFactory(title="Lithium diplomacy")
    Publication.objects.filter(pk=publication.pk).update(status=Publication.Status.REVIEW)
    assert titles("lithium") == []


def test_search_hides_scheduled():
    """A scheduled publication is not found before its moment."""
    PublicationFactory(title="Lithium diplomacy", published_at=timezone.now() + dt.timedelta(days=2))
    assert titles("lithium") == []


def test_search_forgets_deleted():
    """A deleted publication disappears from the results."""
    publication = PublicationFactory(title="Graphite exports")
    publication.delete()
    assert titles("graphite") == []


def test_search_reflects_author_rename():
    """Renaming an author reindexes their publications."""
    author = AuthorFactory(given_name="Olga", family_name="Sidorova")
    PublicationFactory(title="Survey", authors=[author])
    author.family_name = "Lebedeva"
    author.save()
    assert titles("sidorova") == []
    assert titles("lebedeva") == ["Survey"]


def test_search_reflects_themes_regions_and_tags():
    """Themes, regions and tags added later are searchable."""
    publication = PublicationFactory(title="Survey")
    publication.themes.add(ThemeFactory(name="Demography"))
    publication.regions.add(RegionFactory(name="Caucasus"))
    publication.tags.add("remittances")
    assert titles("demography caucasus remittances") == ["Survey"]


def test_search_reflects_theme_removed_from_theme_side():
    """Clearing a theme's publications (from the theme's side) reindexes them."""
    theme = ThemeFactory(name="Demography")
    PublicationFactory(title="Survey", themes=[theme])
    theme.publications.clear()
    assert titles("demography") == []


def test_rebuild_search_index_command(capsys):
    """The command rebuilds everything and reports its progress."""
    PublicationFactory(title="Copper prices")
    search.rebuild()  # start from an index that will be rebuilt again below
    call_command("rebuild_search_index")
    output = capsys.readouterr().out
    assert "indexed 1 / 1 publications" in output
    assert titles("copper") == ["Copper prices"]


def test_index_box_uses_engine():
    """filter_by_query (the index's ?q=) stems like the search page."""
    PublicationFactory(title="Economic sanctions")
    PublicationFactory(title="Monetary policy")
    found = search.filter_by_query(Publication.objects.published(), "sanction")
    assert [publication.title for publication in found] == ["Economic sanctions"]


# Facets -----------------------------------------------------------------------


def test_search_facets_count_matches():
    """Facet counts describe the matched set only."""
    asia, europe = RegionFactory(name="Asia"), RegionFactory(name="Europe")
    energy = ThemeFactory(name="Energy")
    PublicationFactory(title="Gas one", regions=[asia], themes=[energy], kind=Publication.Kind.REPORT)
    PublicationFactory(title="Gas two", regions=[asia], kind=Publication.Kind.BLOG_POST)
    PublicationFactory(title="Gas three", regions=[europe], kind=Publication.Kind.REPORT)
    PublicationFactory(title="Coal", regions=[europe], kind=Publication.Kind.REPORT)
    result = search.search("gas")
    assert result.total == 3
    assert {(value.label, value.count) for value in result.facets["region"]} == {("Asia", 2), ("Europe", 1)}
    assert {(value.key, value.count) for value in result.facets["kind"]} == {("report", 2), ("blog", 1)}
    assert [(value.label, value.count) for value in result.facets["theme"]] == [("Energy", 1)]


def test_search_filters_narrow_results():
    """Kind, theme, region and year filters narrow the matches."""
    asia = RegionFactory(slug="asia")
    old = timezone.now().replace(year=2001, month=6, day=1)
    PublicationFactory(title="Gas one", regions=[asia], published_at=old)
    PublicationFactory(title="Gas two", regions=[asia])
    PublicationFactory(title="Gas three")
    assert titles("gas", filters=search.Filters(region="asia")) == ["Gas two", "Gas one"]
    assert titles("gas", filters=search.Filters(region="asia", year=2001)) == ["Gas one"]


def at(year: int, month: int = 6) -> dt.datetime:
    return dt.datetime(year, month, 15, 12, tzinfo=dt.UTC)


@pytest.fixture
def faceted():
    """Four "gas" hits and one miss, spread over kinds, themes, regions and years."""
    energy = ThemeFactory(name="Energy", slug="energy")
    water = ThemeFactory(name="Water", slug="water")
    asia = RegionFactory(name="Asia", slug="asia")
    europe = RegionFactory(name="Europe", slug="europe")
    report, blog, article = Publication.Kind.REPORT, Publication.Kind.BLOG_POST, Publication.Kind.ARTICLE
    PublicationFactory(title="Gas A", kind=report, themes=[energy], regions=[asia], published_at=at(2020))
    PublicationFactory(title="Gas B", kind=blog, themes=[energy], regions=[europe], published_at=at(2021))
    PublicationFactory(title="Gas C", kind=report, themes=[water], regions=[asia], published_at=at(2021, 3))
    PublicationFactory(title="Gas D", kind=article, regions=[europe], published_at=at(2022))
    PublicationFactory(title="Coal E", kind=report, themes=[energy], regions=[asia], published_at=at(2020))


def facet_counts(result, name: str) -> set[tuple[str, int, bool]]:
    return {(value.key, value.count, value.selected) for value in result.facets[name]}


def test_search_narrow_by_kind_counts(faceted):
    """kind= keeps that kind's hits; every facet counts the narrowed set, the kind shown selected."""
    result = search.search("gas", filters=search.Filters(kind="report"))
    assert sorted(titles("gas", filters=search.Filters(kind="report"))) == ["Gas A", "Gas C"]
    assert result.total == 2
    assert facet_counts(result, "kind") == {("report", 2, True)}
    assert facet_counts(result, "theme") == {("energy", 1, False), ("water", 1, False)}
    assert facet_counts(result, "region") == {("asia", 2, False)}
    assert facet_counts(result, "year") == {("2020", 1, False), ("2021", 1, False)}


def test_search_narrow_by_theme_counts(faceted):
    """theme= keeps the hits on that theme; every facet counts the narrowed set."""
    result = search.search("gas", filters=search.Filters(theme="energy"))
    assert sorted(titles("gas", filters=search.Filters(theme="energy"))) == ["Gas A", "Gas B"]
    assert result.total == 2
    assert facet_counts(result, "kind") == {("report", 1, False), ("blog", 1, False)}
    assert facet_counts(result, "theme") == {("energy", 2, True)}
    assert facet_counts(result, "region") == {("asia", 1, False), ("europe", 1, False)}
    assert facet_counts(result, "year") == {("2020", 1, False), ("2021", 1, False)}


def test_search_narrow_by_region_counts(faceted):
    """region= keeps the hits about that region; every facet counts the narrowed set."""
    result = search.search("gas", filters=search.Filters(region="europe"))
    assert sorted(titles("gas", filters=search.Filters(region="europe"))) == ["Gas B", "Gas D"]
    assert result.total == 2
    assert facet_counts(result, "kind") == {("blog", 1, False), ("article", 1, False)}
    assert facet_counts(result, "theme") == {("energy", 1, False)}
    assert facet_counts(result, "region") == {("europe", 2, True)}
    assert facet_counts(result, "year") == {("2021", 1, False), ("2022", 1, False)}


def test_search_narrow_by_year_counts(faceted):
    """year= keeps that year's hits; every facet counts the narrowed set."""
    result = search.search("gas", filters=search.Filters(year=2021))
    assert sorted(titles("gas", filters=search.Filters(year=2021))) == ["Gas B", "Gas C"]
    assert result.total == 2
    assert facet_counts(result, "kind") == {("report", 1, False), ("blog", 1, False)}
    assert facet_counts(result, "theme") == {("energy", 1, False), ("water", 1, False)}
    assert facet_counts(result, "region") == {("asia", 1, False), ("europe", 1, False)}
    assert facet_counts(result, "year") == {("2021", 2, True)}


def test_search_unnarrowed_facet_counts(faceted):
    """Without filters the facets count all hits, newest year first, and leave out the miss."""
    result = search.search("gas")
    assert result.total == 4
    assert facet_counts(result, "kind") == {("report", 2, False), ("blog", 1, False), ("article", 1, False)}
    assert facet_counts(result, "theme") == {("energy", 2, False), ("water", 1, False)}
    assert facet_counts(result, "region") == {("asia", 2, False), ("europe", 2, False)}
    assert [(value.key, value.count) for value in result.facets["year"]] == [
        ("2022", 1),
        ("2021", 2),
        ("2020", 1),
    ]


def test_search_page_facet_counts_shown(client, faceted):
    """The page shows each facet value with its count, narrowed by the selected filter."""
    content = client.get(reverse("search"), {"q": "gas", "region": "asia"}).content.decode()
    assert 'Report <span class="facet-count">(2)</span>' in content
    assert 'Water <span class="facet-count">(1)</span>' in content
    assert "Gas D" not in content
    assert "2 results for" in content


# The page ----------------------------------------------------------------------


def test_search_page_shows_hits(client):
    """Results show title, kind, date, authors (linked) and a highlighted snippet."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    publication = PublicationFactory(
        title="Migration report", abstract="Labour migration trends.", authors=[author]
    )
    response = client.get(reverse("search"), {"q": "migration"})
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert publication.get_absolute_url() in content
    assert author.get_absolute_url() in content
    assert "<mark>migration</mark>" in content
    assert "Report" in content
    assert "1 result for" in content


def test_search_page_highlights_title_and_author(client):
    """The card marks the matched words in its title link and in the author's link."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    publication = PublicationFactory(title="Migration report", abstract="", body="", authors=[author])
    content = client.get(reverse("search"), {"q": "migration volkova"}).content.decode()
    assert f'<a href="{publication.get_absolute_url()}"><mark>Migration</mark> report</a>' in content
    assert f'<a href="{author.get_absolute_url()}">Irina <mark>Volkova</mark></a>' in content


def test_search_page_hostile_title_escaped(client):
    """A hostile title is escaped on the results page, with the matched word marked."""
    PublicationFactory(title='<script>alert("x")</script> Sanctions', abstract="")
    content = client.get(reverse("search"), {"q": "sanctions"}).content.decode()
    assert "<script>alert" not in content
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>Sanctions</mark>" in content


def test_search_page_lists_matching_subjects(client):
    """A hit found by its tag says so on its card."""
    PublicationFactory(title="Survey", abstract="", tags=["remittances"])
    content = client.get(reverse("search"), {"q": "remittances"}).content.decode()
    assert '<p class="search-subjects">Filed under <mark>remittances</mark></p>' in content


def test_search_page_hit_shows_kind_and_date(client):
    """A hit's card shows its kind's label and its date, machine-readable too."""
    PublicationFactory(
        title="Migration report", kind=Publication.Kind.WORKING_PAPER, published_at=at(2024, 3)
    )
    content = client.get(reverse("search"), {"q": "migration"}).content.decode()
    assert '<span class="kind-label">Working paper</span>' in content
    assert '<time datetime="2024-03-15">March 15, 2024</time>' in content


def test_search_page_matches_authors_themes_regions(client):
    """Authors, themes and regions named like the query are listed with links."""
    author = AuthorFactory(given_name="Irina", family_name="Volkova")
    theme = ThemeFactory(name="Volkova studies")
    response = client.get(reverse("search"), {"q": "volkova"})
    content = response.content.decode()
    assert author.get_absolute_url() in content
    assert theme.get_absolute_url() in content


def test_search_page_lists_matching_regions(client):
    """A region named like the query is listed at the top with a link, like authors and themes."""
    region = RegionFactory(name="Central Asia", slug="central-asia")
    RegionFactory(name="Europe", slug="europe")
    content = client.get(reverse("search"), {"q": "central asia"}).content.decode()
    matches = content[content.index('id="search-matches-heading"') : content.index('class="search-layout"')]
    link = f'<a href="{region.get_absolute_url()}">Central Asia</a>'
    assert f'{link} <span class="search-match-note">Region</span>' in matches
    assert "Europe" not in matches


def test_search_page_facet_links_narrow(client):
    """A facet link narrows the results and can be removed again."""
    asia = RegionFactory(name="Asia", slug="asia")
    one = PublicationFactory(title="Gas one", regions=[asia])
    two = PublicationFactory(title="Gas two")
    response = client.get(reverse("search"), {"q": "gas", "region": "asia"})
    content = response.content.decode()
    assert "<mark>Gas</mark> one" in content
    assert one.get_absolute_url() in content
    assert "<mark>Gas</mark> two" not in content
    assert two.get_absolute_url() not in content
    assert 'href="?q=gas" class="facet-selected"' in content


def test_search_page_facet_links_keep_each_pages_query_string(client):
    """The facets' block is cached per query string: each page's links keep its own words, order and
    filters, and never the page number."""
    asia = RegionFactory(name="Asia", slug="asia")
    PublicationFactory(title="Gas one", regions=[asia])
    PublicationFactory(title="Coal one", regions=[asia])
    url = reverse("search")
    gas = client.get(url, {"q": "gas", "page": "2"}).content.decode()
    gas_by_date = client.get(url, {"q": "gas", "sort": "date"}).content.decode()
    coal = client.get(url, {"q": "coal"}).content.decode()
    assert 'href="?q=gas&amp;region=asia"' in gas
    assert 'href="?q=gas&amp;sort=date&amp;region=asia"' in gas_by_date
    assert 'href="?q=coal&amp;region=asia"' in coal
    assert "page=" not in gas.split('class="search-facets"')[1].split("</aside>")[0]


def test_search_hit_cards_are_shared_by_orders_and_filters(client, django_assert_max_num_queries):
    """A hit's card is made once per query and content version: the same search narrowed by a
    facet or sorted by date shows the same cards without making them again."""
    asia = RegionFactory(name="Asia", slug="asia")
    PublicationFactory(title="Gas one", regions=[asia])
    PublicationFactory(title="Gas two", regions=[asia])
    search.flush_pending()
    url = reverse("search")
    first = client.get(url, {"q": "gas"}).content.decode()
    with django_assert_max_num_queries(1):  # the matches' ids for the new order; no hit is made
        by_date = client.get(url, {"q": "gas", "sort": "date"}).content.decode()
    hit = first[first.index('<li class="card search-hit">') :].split("</li>")[0]
    assert "<mark>Gas</mark>" in hit
    assert hit in by_date


def test_search_page_sorts_by_date(client):
    """sort=date lists the newest first whatever the rank."""
    PublicationFactory(title="Tariffs", published_at=timezone.now() - dt.timedelta(days=30))
    PublicationFactory(
        title="Quarterly review", abstract="On tariffs.", published_at=timezone.now() - dt.timedelta(days=1)
    )
    by_rank = client.get(reverse("search"), {"q": "tariffs"}).content.decode()
    by_date = client.get(reverse("search"), {"q": "tariffs", "sort": "date"}).content.decode()
    assert by_rank.index(">Tariffs<") < by_rank.index(">Quarterly review<")
    assert by_date.index(">Quarterly review<") < by_date.index(">Tariffs<")


def test_search_page_paginates(client):
    """Twenty results a page; the second page holds the rest."""
    for number in range(23):
        PublicationFactory(title=f"Drought study {number}")
    first = client.get(reverse("search"), {"q": "drought"})
    second = client.get(reverse("search"), {"q": "drought", "page": "2"})
    assert len(first.context["publications"]) == 20
    assert len(second.context["publications"]) == 3


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999", "1e9", "２"])
def test_search_page_bad_page_number(client, page):
    """Any page number gives a page of results, not an error."""
    PublicationFactory(title="Drought study")
    response = client.get(reverse("search"), {"q": "drought", "page": page})
    assert response.status_code == HTTPStatus.OK
    assert "<mark>Drought</mark> study" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "a",
        "x" * 10_000,
        "!!! ??? ...",
        "'; DROP TABLE publications_publication; --",
        "1' OR '1'='1",
        '<script>alert("x")</script>',
        '"unclosed phrase',
        "-only -exclusions",
        "OR OR OR",
        "NEAR(a b) * ^x:y",
        "\x00\x01 control",
    ],
)
def test_search_page_bad_queries(client, query):
    """Odd queries give a sensible page with the query echoed escaped."""
    PublicationFactory(title="Script and alert handling")
    response = client.get(reverse("search"), {"q": query, "kind": "<b>", "year": "x", "theme": "'"})
    content = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "<script>alert" not in content
    if query.startswith("<script>"):
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content


def test_search_page_long_query_truncated(client):
    """A 10,000-character query is cut, and the visitor is told."""
    response = client.get(reverse("search"), {"q": "water " * 2000})
    assert response.status_code == HTTPStatus.OK
    assert "only its first" in response.content.decode()


def test_search_page_rate_limited(client, settings):
    """Past the limit the visitor gets a friendly 429 page."""
    settings.SEARCH_RATE_LIMIT = 2
    settings.SEARCH_RATE_WINDOW = 3600  # no window boundary falls within the test
    for _ in range(2):
        assert client.get(reverse("search"), {"q": "water"}).status_code == HTTPStatus.OK
    response = client.get(reverse("search"), {"q": "water"})
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Retry-After"] == str(settings.SEARCH_RATE_WINDOW)
    assert "Too many searches" in response.content.decode()


@pytest.mark.parametrize("size", [3, 25])
def test_search_page_query_count_constant(client, django_assert_max_num_queries, size):
    """The page runs a constant number of queries whatever the number of results."""
    theme, region = ThemeFactory(name="Energy"), RegionFactory(name="Asia")
    for number in range(size):
        PublicationFactory(
            title=f"Gas study {number}",
            authors=[AuthorFactory(), AuthorFactory()],
            themes=[theme, ThemeFactory()],
            regions=[region],
            tags=["gas"],
        )
    search.flush_pending()
    # PostgreSQL turns sequential scans off around the id lookups (two SET statements).
    bound = 10 + (2 if connection.vendor == "postgresql" else 0)
    # The first search of a content version also reads the facet index (three queries).
    with django_assert_max_num_queries(bound + 3):
        response = client.get(reverse("search"), {"q": "gas study", "theme": theme.slug})
    assert len(response.context["publications"]) == min(size, 20)
    # Another query: every count and ranking is computed again; the facet index is kept.
    with django_assert_max_num_queries(bound):
        response = client.get(reverse("search"), {"q": "study gas", "theme": theme.slug})
    assert len(response.context["publications"]) == min(size, 20)


def test_search_hits_are_made_once_per_query(
    client, settings, django_assert_num_queries, django_assert_max_num_queries
):
    """With the page cache off, the same search again reads nothing: its counts, order, hits with
    their highlights, and matching authors and subjects are cached for the content version. Other
    filters or another order reuse the hits; an edit shows at once."""
    settings.PAGE_CACHE_SECONDS = 0
    theme = ThemeFactory(name="Energy")
    first = PublicationFactory(title="Gas pipelines", abstract="Gas and power.", themes=[theme])
    PublicationFactory(
        title="Gas storage", abstract="Gas reserves.", authors=[AuthorFactory(family_name="Gasparyan")]
    )
    search.flush_pending()
    url = reverse("search")
    before = client.get(url, {"q": "gas"}).content.decode()
    with django_assert_num_queries(0):
        again = client.get(url, {"q": "gas"}).content.decode()
    assert again.count("<mark>") == before.count("<mark>") > 0
    assert "Gasparyan" in again
    # Another order: the matches' ids once more (one query); the hits of "gas" are the same.
    with django_assert_max_num_queries(1):
        by_date = client.get(url, {"q": "gas", "sort": "date"})
    assert {hit.pk for hit in by_date.context["publications"]} == {
        hit.pk for hit in client.get(url, {"q": "gas"}).context["publications"]
    }
    first.title = "Gas corridors"
    first.save()
    search.flush_pending()
    changed = client.get(url, {"q": "gas"}).content.decode()
    assert "<mark>Gas</mark> corridors" in changed and "pipelines" not in changed


def test_bench_search_command_reports_latency(capsys):
    """bench_search prints median and p95 of its searches."""
    PublicationFactory(title="Copper prices in Chile", abstract="Copper mining and exports.")
    call_command("bench_search", queries=5, warmup=1)
    output = capsys.readouterr().out
    assert "5 searches on 1 published publications" in output
    assert "median" in output
    assert "p95" in output


def test_index_page_query_uses_engine(client):
    """The index's search box (/publications/?q=) stems like the search page."""
    PublicationFactory(title="Economic sanctions")
    PublicationFactory(title="Monetary policy")
    content = client.get(reverse("publications:index"), {"q": "sanction"}).content.decode()
    assert "Economic sanctions" in content
    assert "Monetary policy" not in content
