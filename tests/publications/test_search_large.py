"""Large result sets: facet counts from the in-memory facet index, and tiered order.

A search matching more than ``SEARCH_EXACT_RANK_LIMIT`` publications is not
scored match by match; these tests lower the limit so that a handful of
publications take that path, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from django.utils import timezone

from publications import facet_index, search
from publications.models import Publication
from tests.factories import PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def order(query: str, **kwargs) -> list[str]:
    return [publication.title for publication in search.search(query, **kwargs)[0:50]]


@pytest.fixture
def large(settings):
    """Every search with more than two matches takes the large-set path."""
    settings.SEARCH_EXACT_RANK_LIMIT = 2


@pytest.fixture
def mixed_index():
    """Forty publications of every kind, year, theme and region, plus drafts and scheduled ones."""
    rng = random.Random(7)
    themes = [ThemeFactory(name=f"Theme {n}") for n in range(5)]
    regions = [RegionFactory(name=f"Region {n}") for n in range(4)]
    for number in range(40):
        PublicationFactory(
            title=f"Water policy study {number}",
            kind=rng.choice(Publication.Kind.values),
            published_at=days_ago(rng.randint(1, 3000)),
            themes=rng.sample(themes, rng.randint(0, 3)),
            regions=rng.sample(regions, rng.randint(0, 2)),
        )
    PublicationFactory(title="Water policy draft", status=Publication.Status.DRAFT, themes=themes[:1])
    PublicationFactory(title="Water policy to come", published_at=timezone.now() + dt.timedelta(days=3))
    search.flush_pending()
    return themes, regions


def expected_facets(publications) -> dict[str, Counter]:
    """The facet counts of ``publications``, counted one by one through the ORM."""
    counts = {"kind": Counter(), "year": Counter(), "theme": Counter(), "region": Counter()}
    for publication in publications:
        counts["kind"][publication.kind] += 1
        counts["year"][str(publication.published_at.astimezone(dt.UTC).year)] += 1
        counts["theme"].update(theme.slug for theme in publication.themes.all())
        counts["region"].update(region.slug for region in publication.regions.all())
    return counts


def shown_facets(result) -> dict[str, Counter]:
    facets = result.facets.items()
    return {name: Counter({value.key: value.count for value in values}) for name, values in facets}


def test_facet_counts_equal_counts_of_the_visible_matches(mixed_index):
    """Total and every facet count agree with the published matches counted one by one."""
    result = search.search("water policy")
    visible = Publication.objects.published().filter(title__startswith="Water policy")
    assert result.total == 40
    assert shown_facets(result) == expected_facets(visible)


def test_facet_counts_narrowed_by_theme_and_kind(mixed_index):
    """With a theme and a kind chosen, the counts are those of the narrowed set."""
    themes, _ = mixed_index
    kind = Publication.objects.published().filter(themes=themes[0]).values_list("kind", flat=True).first()
    filters = search.Filters(theme=themes[0].slug, kind=kind)
    result = search.search("water", filters=filters)
    narrowed = Publication.objects.published().filter(themes=themes[0], kind=kind, title__startswith="Water")
    assert result.total == narrowed.count() > 0
    assert shown_facets(result) == expected_facets(narrowed)
    assert [value.key for value in result.facets["theme"] if value.selected] == [themes[0].slug]


def test_facet_counts_narrowed_by_year_and_region(mixed_index):
    """A year and a region narrow the counts too."""
    _, regions = mixed_index
    first = Publication.objects.published().filter(regions=regions[1]).first()
    year = first.published_at.astimezone(dt.UTC).year
    result = search.search("policy", filters=search.Filters(region=regions[1].slug, year=year))
    narrowed = [
        publication
        for publication in Publication.objects.published().filter(regions=regions[1])
        if publication.published_at.astimezone(dt.UTC).year == year
    ]
    assert result.total == len(narrowed) > 0
    assert shown_facets(result) == expected_facets(narrowed)


def test_facets_follow_content_changes(mixed_index):
    """Publishing a draft counts it at once (the facet index is rebuilt for the new content)."""
    assert search.search("water policy").total == 40
    draft = Publication.objects.get(title="Water policy draft")
    draft.status = Publication.Status.PUBLISHED
    draft.published_at = days_ago(1)
    draft.save()
    search.flush_pending()
    assert search.search("water policy").total == 41


def test_large_result_puts_title_matches_first(large):
    """Every word in the title, then some words there, then the rest; newest first in each tier."""
    PublicationFactory(title="Energy security in Asia", published_at=days_ago(30))
    PublicationFactory(title="Energy security in Africa", published_at=days_ago(10))
    PublicationFactory(title="Energy prices", abstract="Security of supply.", published_at=days_ago(5))
    PublicationFactory(title="Gas markets", abstract="Energy and security policy.", published_at=days_ago(1))
    PublicationFactory(title="Coal", abstract="Nothing on the subject.", published_at=days_ago(2))
    search.flush_pending()
    assert order("energy security") == [
        "Energy security in Africa",
        "Energy security in Asia",
        "Energy prices",
        "Gas markets",
    ]


def test_large_result_by_date(large):
    """``sort=date`` lists a large result newest first."""
    for days in (9, 3, 6):
        PublicationFactory(title=f"Energy report {days}", published_at=days_ago(days))
    search.flush_pending()
    assert order("energy", sort="date") == ["Energy report 3", "Energy report 6", "Energy report 9"]


def test_large_result_keeps_visibility_and_exclusions(large):
    """Drafts, scheduled items and excluded words stay out of a large result."""
    for number in range(4):
        PublicationFactory(title=f"Energy outlook {number}")
    PublicationFactory(title="Energy outlook coal")
    PublicationFactory(title="Energy outlook draft", status=Publication.Status.DRAFT)
    PublicationFactory(title="Energy outlook scheduled", published_at=timezone.now() + dt.timedelta(days=1))
    search.flush_pending()
    titles = order("energy outlook -coal")
    assert sorted(titles) == [f"Energy outlook {number}" for number in range(4)]


def test_large_result_pages_do_not_overlap(large, client, settings):
    """Page 2 of a large result continues page 1, and every match appears once."""
    settings.PAGE_CACHE_SECONDS = 0
    for number in range(25):
        PublicationFactory(title=f"Trade note {number}", published_at=days_ago(number + 1))
    search.flush_pending()
    result = search.search("trade")
    first, second = result[0:20], result[20:40]
    seen = [publication.pk for publication in [*first, *second]]
    assert len(seen) == len(set(seen)) == 25


def test_facet_index_mask_ignores_unknown_ids(mixed_index):
    """Ids of deleted, draft or never-existing publications are not counted."""
    index = facet_index.current()
    draft = Publication.objects.get(title="Water policy draft")
    ids = facet_index.parse_ids(f"{index.ids[0]},{draft.pk},999999999,-4")
    assert index.mask(ids).sum() == 1
