"""The benchmark's URLs (bench/targets.py): every page type gets some, and the filtered index is
never an empty page."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from publications.models import Publication
from tests.factories import AuthorFactory, PublicationFactory, ThemeFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).parents[2]
spec = importlib.util.spec_from_file_location("bench_targets", ROOT / "bench" / "targets.py")
targets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(targets)


def at(year: int) -> dt.datetime:
    return dt.datetime(year, 6, 15, 12, tzinfo=timezone.get_default_timezone())


def test_filters_are_those_with_the_most_matches_and_each_shows_them(client, settings):
    """Theme + tag + year filters are chosen by how many publications they match, most first,
    among the three latest years; a filter that matches nothing is never chosen."""
    settings.PAGE_CACHE_SECONDS = 0
    energy, water, unused = (ThemeFactory(name=name) for name in ("Energy", "Water", "Unused"))
    this_year = timezone.localtime(timezone.now()).year
    for _ in range(3):
        PublicationFactory(themes=[energy], tags=["gas"], published_at=at(this_year - 1))
    PublicationFactory(themes=[water], tags=["gas", "dams"], published_at=at(this_year - 2))
    PublicationFactory(themes=[water], tags=["dams"], published_at=at(this_year - 5))  # too old
    PublicationFactory(themes=[unused], tags=["gas"], status=Publication.Status.DRAFT)
    PublicationFactory(themes=[energy], tags=["dams"], published_at=timezone.now())
    themes = [energy.slug, water.slug, unused.slug]

    chosen = targets.fullest_filters(Publication.objects.published(), themes)

    assert chosen[0] == (energy.slug, "gas", this_year - 1)
    assert set(chosen[1:]) == {
        (water.slug, "gas", this_year - 2),
        (water.slug, "dams", this_year - 2),
        (energy.slug, "dams", this_year),
    }
    shown = [
        client.get(reverse("publications:index"), {"theme": theme, "tag": tag, "year": year})
        .context["page_obj"]
        .paginator.count
        for theme, tag, year in chosen
    ]
    assert shown == [3, 1, 1, 1]


def test_no_filters_without_publications():
    ThemeFactory()
    assert targets.fullest_filters(Publication.objects.published(), ["energy"]) == []


def test_every_page_type_the_harness_measures_has_urls_that_answer(client, capsys, settings):
    """Each page type in ``bench/run.py``'s list gets URLs from ``targets.main()``, and the first
    URL of each answers 200; the frame's row is the cookie policy, a page without publications."""
    settings.PAGE_CACHE_SECONDS, settings.SITEMAP_PAGE_SIZE = 0, 1  # a second sitemap page exists
    theme = ThemeFactory(name="Energy")
    for year in (2024, 2025):
        PublicationFactory(themes=[theme], tags=["gas"], authors=[AuthorFactory()], published_at=at(year))
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)

    targets.main()
    found = json.loads(capsys.readouterr().out)["targets"]

    assert set(run.PAGES) <= set(found)
    for page in run.PAGES:
        assert found[page], page
        assert client.get(found[page][0][0]).status_code == 200, page
    assert found["frame (cookies page)"] == [[reverse("cookies")]]
