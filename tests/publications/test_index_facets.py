"""The index's facet counts (counted in memory) agree with the filtered publications, on both databases."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from publications import search
from publications.models import Language, Publication
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_page_cache(settings):
    settings.PAGE_CACHE_SECONDS = 0


@pytest.fixture
def varied():
    """Sixty publications over kinds, languages, years, themes, regions, tags and authors."""
    rng = random.Random(11)
    themes = [ThemeFactory(name=f"Theme {n}") for n in range(4)]
    regions = [RegionFactory(name=f"Region {n}") for n in range(3)]
    authors = [AuthorFactory() for _ in range(5)]
    tags = ["energy", "trade", "water", "security"]
    for number in range(60):
        PublicationFactory(
            title=f"Study {number} of gas" if number % 2 else f"Study {number}",
            kind=rng.choice(Publication.Kind.values),
            language=rng.choice([Language.ENGLISH, Language.RUSSIAN, Language.FRENCH]),
            published_at=timezone.now() - dt.timedelta(days=rng.randint(1, 2500)),
            themes=rng.sample(themes, rng.randint(0, 2)),
            regions=rng.sample(regions, rng.randint(0, 2)),
            authors=rng.sample(authors, rng.randint(1, 3)),
            tags=rng.sample(tags, rng.randint(0, 3)),
        )
    PublicationFactory(
        title="Study draft", status=Publication.Status.DRAFT, themes=themes[:1], tags=["energy"]
    )
    search.flush_pending()
    return themes, regions, authors


def expected(publications) -> dict[str, Counter]:
    counts = {name: Counter() for name in ("kind", "language", "theme", "region", "tag", "author")}
    for publication in publications:
        counts["kind"][publication.kind] += 1
        counts["language"][publication.language] += 1
        counts["theme"].update(theme.slug for theme in publication.themes.all())
        counts["region"].update(region.slug for region in publication.regions.all())
        counts["tag"].update(tag.slug for tag in publication.tags.all())
        counts["author"].update(author.slug for author in publication.authors.all())
    return counts


def shown(response) -> dict[str, Counter]:
    facets = response.context["facets"]
    return {
        name: Counter({item["value"]: item["count"] for item in items if item["count"]})
        for name, items in facets.items()
    }


def check(client, url: str, params: dict) -> None:
    response = client.get(url, params)
    publications = response.context["filter"].qs.order_by()
    assert publications.exists(), params
    assert shown(response) == expected(publications.distinct())


def test_index_facets_unfiltered(client, varied):
    """Without filters, every facet counts the published publications (the draft is left out)."""
    check(client, reverse("publications:index"), {})


def test_index_facets_combined_filters(client, varied):
    """A theme, two tags, a language and a year range together."""
    themes, _, _ = varied
    params = {"theme": themes[0].slug, "tag": ["energy"], "year_from": 2019, "year_to": 2026}
    check(client, reverse("publications:index"), params)
    check(client, reverse("publications:index"), {"tag": ["energy", "trade"], "language": "ru"})


def test_index_facets_author_kind_and_text(client, varied):
    """An author, a kind and a text query narrow the counts."""
    _, _, authors = varied
    check(client, reverse("publications:index"), {"author": authors[0].slug, "q": "gas"})
    kind = Publication.objects.published().filter(authors=authors[1]).values_list("kind", flat=True)[0]
    check(client, reverse("publications:index"), {"author": authors[1].slug, "kind": kind})


def test_theme_page_facets_restricted_to_the_theme(client, varied):
    """On a theme page the counts are those of the theme's publications."""
    themes, regions, _ = varied
    check(client, themes[1].get_absolute_url(), {})
    check(client, regions[0].get_absolute_url(), {"year_from": 2020})


def test_index_facets_follow_a_new_publication(client, varied):
    """A publication published now is counted on the next request."""
    themes, _, _ = varied
    url = reverse("publications:index")
    before = shown(client.get(url, {"theme": themes[2].slug}))["theme"][themes[2].slug]
    PublicationFactory(title="New study", themes=[themes[2]])
    after = shown(client.get(url, {"theme": themes[2].slug}))["theme"][themes[2].slug]
    assert after == before + 1


def test_index_long_facet_shows_the_most_frequent_and_the_selected(client):
    """With more tags than the facet shows, the most frequent ones are listed, plus a selected rare one."""
    common = [f"common-{n:02d}" for n in range(32)]
    for number in range(3):
        PublicationFactory(title=f"Common {number}", tags=common[: 30 + number])  # the first 30 on all three
    PublicationFactory(title="Rare", tags=["rare"])
    response = client.get(reverse("publications:index"), {"tag": ["rare"]})
    assert shown(response)["tag"] == Counter({"rare": 1})
    response = client.get(reverse("publications:index"))
    tags = {item["value"]: item["count"] for item in response.context["facets"]["tag"]}
    assert len(tags) == 30
    assert set(tags) == set(common[:30])
    assert all(count == 3 for count in tags.values())
    response = client.get(reverse("publications:index"), {"tag": ["common-31"]})
    tags = {item["value"]: item for item in response.context["facets"]["tag"]}
    assert tags["common-31"]["count"] == 1 and tags["common-31"]["selected"]


def test_filter_form_shows_each_value_with_its_count_and_keeps_markup_as_text(client):
    """The filters, as the page shows them: every value with its count in a select or a checkbox,
    the selected ones marked, and a name with markup in it shown as text (never as markup)."""
    import html5lib
    from taggit.models import Tag

    hostile = ThemeFactory(name='R&D <b onclick="x()">policy</b>')
    plain = ThemeFactory(name="Energy")
    PublicationFactory(title="One", themes=[hostile, plain], tags=["<i>quoted</i> & co", "water"])
    PublicationFactory(title="Two", themes=[plain], tags=["water"])
    response = client.get(reverse("publications:index"), {"theme": plain.slug, "tag": ["water"]})
    document = html5lib.HTMLParser(namespaceHTMLElements=False).parse(response.content)
    [form] = [form for form in document.iter("form") if form.get("id") == "index-filters"]
    [select] = [select for select in form.iter("select") if select.get("name") == "theme"]
    options = [(o.get("value"), o.text, o.get("selected") is not None) for o in select.iter("option")]
    assert options == [
        ("", "All themes", False),
        (plain.slug, "Energy (2)", True),
        (hostile.slug, 'R&D <b onclick="x()">policy</b> (1)', False),
    ]
    labels = {label.get("for"): label for label in form.iter("label")}
    boxes = [
        (box.get("value"), labels[box.get("id")].text.strip(), box.get("checked") is not None)
        for box in form.iter("input")
        if box.get("name") == "tag"
    ]
    quoted = Tag.objects.get(name="<i>quoted</i> & co").slug
    assert sorted(boxes) == sorted([(quoted, "<i>quoted</i> & co", False), ("water", "water", True)])
    counts = {box[0]: labels[f"filter-tag-{box[0]}"].find("span").text for box in boxes}
    assert counts == {quoted: "1", "water": "2"}
    assert form.find(".//b") is None and form.find(".//i") is None
