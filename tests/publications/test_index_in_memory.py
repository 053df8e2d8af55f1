"""The index's total and pages come from the facet index, and list what its SQL lists, on both databases.

With the value cache cold or off (``VALUE_CACHE_SECONDS=0``), a list page used to run a COUNT(*)
and an OFFSET scan that grow with the index; the facet index answers both from memory.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from publications import facet_index
from publications.filters import PublicationFilter, in_index_order
from publications.models import Language, Publication
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _every_cache_off(settings):
    settings.PAGE_CACHE_SECONDS = 0
    settings.VALUE_CACHE_SECONDS = 0


@pytest.fixture
def index():
    """Fifty publications over kinds, languages, years, themes, regions, tags and authors, with
    ties in their publication moment, a draft and a scheduled one."""
    rng = random.Random(5)
    themes = [ThemeFactory(name=f"Theme {n}") for n in range(3)]
    regions = [RegionFactory(name=f"Region {n}") for n in range(2)]
    authors = [AuthorFactory() for _ in range(4)]
    tags = ["energy", "trade", "water"]
    now = timezone.now()
    moments = [now - dt.timedelta(days=rng.randint(1, 2000)) for _ in range(35)]
    moments += rng.sample(moments, 15)  # ties: the order falls back to the id
    for number, moment in enumerate(moments):
        PublicationFactory(
            title=f"Study {number}",
            kind=rng.choice(Publication.Kind.values),
            language=rng.choice([Language.ENGLISH, Language.RUSSIAN]),
            published_at=moment,
            themes=rng.sample(themes, rng.randint(0, 2)),
            regions=rng.sample(regions, rng.randint(0, 1)),
            authors=rng.sample(authors, rng.randint(1, 2)),
            tags=rng.sample(tags, rng.randint(0, 2)),
        )
    PublicationFactory(title="Draft", status=Publication.Status.DRAFT, themes=themes[:1], tags=["energy"])
    PublicationFactory(title="Scheduled", published_at=now + dt.timedelta(days=2), themes=themes[:1])
    return themes, regions, authors


def filter_values(themes, regions, authors):
    years = sorted({moment.year for moment in Publication.objects.values_list("published_at", flat=True)})
    singles = [
        {},
        {"kind": Publication.Kind.REPORT},
        {"language": "ru"},
        {"theme": themes[0].slug},
        {"region": regions[1].slug},
        {"author": authors[2].slug},
        {"tag": ["energy"]},
        {"tag": ["energy", "trade"]},
        {"year": years[len(years) // 2]},
        {"year_from": years[1], "year_to": years[-2]},
        {"theme": "no-such-theme"},
        {"year": "abc", "theme": themes[1].slug},  # an invalid value is left out, as in SQL
        {"sort": "nonsense"},
    ]
    combined = [{**a, **b} for a, b in itertools.combinations(singles[1:10], 2)]
    return singles + combined


def test_every_filter_and_order_lists_what_sql_lists(index):
    themes, regions, authors = index
    for values, sort in itertools.product(filter_values(themes, regions, authors), ["", "newest", "oldest"]):
        data = {**values, **({"sort": sort} if sort else {})}
        filterset = PublicationFilter(data or None, queryset=Publication.objects.published())
        expected = list(filterset.qs.values_list("pk", flat=True))
        assert [int(pk) for pk in in_index_order(filterset)] == expected, data


def test_within_a_theme_or_region_page(index):
    themes, regions, _ = index
    for subject, lookup, values in [
        (themes[0], "themes", {}),
        (themes[1], "themes", {"theme": themes[2].slug, "sort": "oldest"}),
        (regions[0], "regions", {"tag": ["water"]}),
    ]:
        queryset = Publication.objects.published().filter(**{lookup: subject})
        filterset = PublicationFilter(values or None, queryset=queryset)
        expected = list(filterset.qs.values_list("pk", flat=True))
        assert [int(pk) for pk in in_index_order(filterset, subject=subject, lookup=lookup)] == expected


def test_title_order_and_a_search_within_the_index_are_left_to_sql(index):
    for values in ({"sort": "title"}, {"q": "study"}):
        filterset = PublicationFilter(values, queryset=Publication.objects.published())
        assert in_index_order(filterset) is None


def test_index_pages_run_no_count_and_show_the_sql_order(client, index):
    """Every page of the index, with the value cache off: no COUNT, and the cards SQL would list."""
    themes, _, _ = index
    url = reverse("publications:index")
    for params in ({}, {"sort": "oldest", "theme": themes[0].slug}):
        expected = list(PublicationFilter(params or None, queryset=Publication.objects.published()).qs)
        seen = []
        for number in range(1, -(-len(expected) // 20) + 1):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, {**params, "page": number})
            assert response.status_code == 200
            assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()], params
            assert response.context["paginator"].count == len(expected)
            seen += [publication.pk for publication in response.context["page_obj"].object_list]
        assert seen == [publication.pk for publication in expected]


def test_title_order_still_counts_in_sql(client, index):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("publications:index"), {"sort": "title", "page": 2})
    assert response.status_code == 200
    assert [q for q in queries if "COUNT(" in q["sql"].upper()]
    titles = [publication.title for publication in response.context["page_obj"].object_list]
    assert titles == sorted(titles)


def test_a_publication_published_now_is_listed_and_counted_at_once(client, index):
    themes, _, _ = index
    url = themes[0].get_absolute_url()
    before = client.get(url).context["paginator"].count
    new = PublicationFactory(title="Fresh", themes=[themes[0]])
    response = client.get(url)
    assert response.context["paginator"].count == before + 1
    assert response.context["page_obj"].object_list[0].pk == new.pk


def test_years_are_the_sites_years(settings):
    """In a time zone ahead of UTC, 31 December 12:00 UTC is already the next year: the facet
    index's year, its year facet and the year filter agree with the SQL filter."""
    settings.TIME_ZONE = "Pacific/Auckland"
    late = PublicationFactory(published_at=dt.datetime(2023, 12, 31, 12, 0, tzinfo=dt.UTC))
    early = PublicationFactory(published_at=dt.datetime(2023, 12, 31, 10, 59, 59, 999999, tzinfo=dt.UTC))
    index = facet_index.build()
    years = dict(zip(index.ids.tolist(), index.year.tolist(), strict=True))
    assert years == {late.pk: 2024, early.pk: 2023}  # Auckland is UTC+13 in summer
    for year, expected in ((2024, [late.pk]), (2023, [early.pk])):
        filterset = PublicationFilter({"year": year}, queryset=Publication.objects.published())
        assert list(filterset.qs.values_list("pk", flat=True)) == expected
        assert [int(pk) for pk in in_index_order(filterset)] == expected


def test_local_years_at_the_boundaries():
    zone = timezone.get_default_timezone()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    moments = [
        dt.datetime(2020, 1, 1, tzinfo=zone),
        dt.datetime(2020, 1, 1, tzinfo=zone) - dt.timedelta(microseconds=1),
        dt.datetime(1901, 6, 1, tzinfo=zone),
        dt.datetime(2099, 12, 31, 23, 59, tzinfo=zone),
    ]
    stamps = [(moment - epoch) // dt.timedelta(microseconds=1) for moment in moments]
    assert facet_index.local_years(np.array(stamps, dtype=np.int64)).tolist() == [2020, 2019, 1901, 2099]
    assert facet_index.local_years(np.zeros(0, dtype=np.int64)).tolist() == []


def test_home_total_from_the_facet_index_with_the_value_cache_off(client, index):
    """With nothing cached the home page reads the facet index's length (building it once per
    version), never a COUNT of every publication; a new publication counts at once."""
    expected = Publication.objects.published().count()
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").context["total_count"] == expected
        assert not [q for q in queries if "COUNT(" in q["sql"].upper()]
    PublicationFactory(title="Fresh")
    assert client.get("/").context["total_count"] == expected + 1
