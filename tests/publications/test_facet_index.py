"""The facet index: the visible publications as columns, read as strings of numbers and parsed by numpy."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pytest
import time_machine
from django.db import OperationalError, connection

from publications import facet_index
from publications.models import Publication
from tests.center.app_server import ROOT, database_url, production_env
from tests.factories import PublicationFactory, ThemeFactory

pytestmark = pytest.mark.django_db

MOMENT = dt.datetime(2024, 3, 1, 12, 0, 0, 654321, tzinfo=dt.UTC)


def microseconds(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def test_columns_in_date_order_with_ties_by_id():
    """Newest first; equal moments by id, highest first; drafts and scheduled items left out."""
    day = dt.datetime(2023, 5, 1, tzinfo=dt.UTC)
    with time_machine.travel(MOMENT, tick=False):
        older = PublicationFactory(published_at=day, kind=Publication.Kind.BLOG_POST, language="ru")
        first_tie = PublicationFactory(published_at=day + dt.timedelta(days=1), kind=Publication.Kind.ARTICLE)
        second_tie = PublicationFactory(published_at=day + dt.timedelta(days=1))
        PublicationFactory(status=Publication.Status.DRAFT)
        PublicationFactory(published_at=MOMENT + dt.timedelta(days=3))  # scheduled
        index = facet_index.build()
    assert index.ids.tolist() == [second_tie.pk, first_tie.pk, older.pk]
    assert [index.kinds[code] for code in index.kind] == ["report", "article", "blog"]
    assert index.languages[index.language[2]] == "ru"
    assert index.year.tolist() == [2023, 2023, 2023]
    # Last change: the edit (MOMENT) is later than each publication moment, to the microsecond.
    assert index.datestamp.tolist() == [microseconds(MOMENT)] * 3
    assert index.position_of[older.pk] == 2


def test_scheduled_publication_stamp_is_its_publication_moment():
    """A publication scheduled after its last edit changed (for crawlers) when it became visible."""
    with time_machine.travel(MOMENT, tick=False):
        scheduled = PublicationFactory(published_at=MOMENT + dt.timedelta(hours=5, microseconds=17))
    with time_machine.travel(MOMENT + dt.timedelta(days=1), tick=False):
        index = facet_index.build()
    assert index.ids.tolist() == [scheduled.pk]
    assert index.datestamp.tolist() == [microseconds(MOMENT + dt.timedelta(hours=5, microseconds=17))]


def test_empty_index():
    index = facet_index.build()
    assert len(index) == 0
    assert index.datestamp.tolist() == []


def test_a_new_version_builds_a_new_index_and_frees_the_old(monkeypatch):
    """Each build is followed by handing freed memory back to the system (glibc's malloc_trim)."""
    trims = []
    real = facet_index.index_replaced
    monkeypatch.setattr(facet_index, "index_replaced", lambda: (trims.append(1), real())[1])
    PublicationFactory()
    first = facet_index.current()
    assert facet_index.current() is first
    PublicationFactory()
    second = facet_index.current()
    assert second is not first and len(second) == len(first) + 1
    assert trims == [1, 1]


def test_read_in_chunks_as_in_one(monkeypatch):
    """PostgreSQL reads the columns in rows of ``ROWS_PER_CHUNK`` publications: the same index
    whatever the chunk size."""
    PublicationFactory.create_batch(7, themes=[ThemeFactory()], tags=["x"])
    whole = facet_index.build()
    monkeypatch.setattr(facet_index, "ROWS_PER_CHUNK", 2)
    chunked = facet_index.build()
    for column in ("ids", "position_of", "kind", "language", "year", "datestamp"):
        assert getattr(chunked, column).tolist() == getattr(whole, column).tolist(), column
    assert chunked.themes.positions.tolist() == whole.themes.positions.tolist()
    assert len(whole.ids) == 7


@pytest.mark.parametrize("microsecond", [0, 1, 499999, 999499, 999500, 999963, 999999])
def test_stamps_keep_every_microsecond(microsecond):
    """A moment just below a whole second stays in its second (SQLite's strftime() would round it up)."""
    moment = MOMENT.replace(microsecond=microsecond)
    with time_machine.travel(moment, tick=False):
        PublicationFactory(published_at=moment)
        index = facet_index.build()
    assert index.datestamp.tolist() == [microseconds(moment)]


@pytest.fixture
def linked_index():
    """Twelve publications with zero to three themes and tags each, a theme only a draft carries."""
    themes = ThemeFactory.create_batch(4)
    draft_only = ThemeFactory()
    PublicationFactory(status=Publication.Status.DRAFT, themes=[draft_only, themes[0]])
    for number in range(12):
        PublicationFactory(
            themes=themes[number % 4 : number % 4 + number % 3],
            tags=[f"tag-{tag}" for tag in range(number % 4)],
        )
    return facet_index.build()


def naive_counts(index, facet: str, mask) -> dict[str, int]:
    """Count each value over the database's own links: the reference the index must agree with."""
    selected = set(index.ids[mask].tolist())
    links = getattr(index, facet)
    found = dict.fromkeys(links.keys, 0)
    for publication in Publication.objects.filter(pk__in=selected):
        for slug in getattr(publication, facet).values_list("slug", flat=True):
            found[slug] += 1
    return found


@pytest.mark.parametrize("dense_share", [0, 10**6], ids=["sparse", "dense"])
@pytest.mark.parametrize("chosen", [[], [0], [3, 4, 11], list(range(6)), list(range(12))])
def test_counts_follow_the_database_either_way(linked_index, monkeypatch, dense_share, chosen):
    """A few publications are counted from their own links, many from every link: the same counts,
    including publications without links and a value no visible publication carries."""
    monkeypatch.setattr(facet_index, "DENSE_SHARE", dense_share)
    mask = np.zeros(len(linked_index), dtype=bool)
    mask[chosen] = True
    for facet in ("themes", "tags"):
        links = getattr(linked_index, facet)
        counts = dict(zip(links.keys, links.counts(mask).tolist(), strict=True))
        assert counts == naive_counts(linked_index, facet, mask), facet


def test_members_and_latest_per_value(linked_index):
    themes = linked_index.themes
    for slug in themes.keys:
        expected = set(Publication.objects.published().filter(themes__slug=slug).values_list("pk", flat=True))
        assert set(linked_index.ids[themes.members(slug)].tolist()) == expected, slug
    assert themes.members("no-such-theme").tolist() == []
    stamps = np.arange(len(linked_index), dtype=np.int64)[::-1].copy()  # the newest has the largest
    latest = themes.latest(stamps)
    pks = themes.pks.tolist()
    carried = {pk for pk, slug in zip(pks, themes.keys, strict=True) if len(themes.members(slug))}
    assert set(latest) == carried and len(carried) == 4  # the draft's own theme has no entry
    for pk, stamp in latest.items():
        members = themes.members(themes.keys[pks.index(pk)])
        assert stamp == stamps[members].max()


def test_latest_of_an_index_without_links():
    PublicationFactory()
    index = facet_index.build()
    assert index.themes.latest(index.datestamp) == {}
    assert index.themes.counts(np.ones(1, dtype=bool)).tolist() == []


@pytest.mark.django_db(transaction=True)
def test_built_at_start_before_any_request():
    """The index of the current content is ready before the first request."""
    PublicationFactory.create_batch(2)
    assert facet_index.built() is None
    facet_index.build_at_start()
    assert len(facet_index.built()) == 2


@pytest.mark.postgresql  # SQLite's in-memory test database stays open whatever is asked
@pytest.mark.django_db(transaction=True)
def test_the_connection_that_built_at_start_is_closed():
    """A process forked after the build (gunicorn ``--preload``) shares no connection with it."""
    PublicationFactory()
    facet_index.build_at_start()
    assert facet_index.built() is not None
    assert connection.connection is None


def test_not_built_at_start_when_turned_off(settings):
    settings.FACET_INDEX_AT_START = False
    PublicationFactory()
    facet_index.build_at_start()
    assert facet_index.built() is None


@pytest.mark.parametrize(
    "failure", [OperationalError("connection refused"), ConnectionError("redis at 127.0.0.1:6379 down")]
)
@pytest.mark.django_db(transaction=True)
def test_a_service_down_at_start_leaves_the_build_to_the_first_request(monkeypatch, caplog, failure):
    """The database or Redis not answering yet: the process starts all the same."""

    def unreachable():
        raise failure

    PublicationFactory()
    monkeypatch.setattr(facet_index, "build", unreachable)
    facet_index.build_at_start()  # no exception: the process starts and serves
    assert facet_index.built() is None
    assert "not built at start" in caplog.text
    monkeypatch.undo()
    assert len(facet_index.current()) == 1


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_the_wsgi_application_starts_with_the_index_built(tmp_path):
    """What gunicorn imports in each worker (``center.wsgi``) builds the index before serving."""
    PublicationFactory.create_batch(3)
    script = (
        "import center.wsgi; from publications import facet_index; "
        "index = facet_index.built(); print(len(index) if index else 'none')"
    )
    env = production_env(tmp_path, DATABASE_URL=database_url())
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "3"
