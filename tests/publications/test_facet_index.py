"""The facet index: the visible publications as columns, read as strings of numbers and parsed by numpy."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from publications import facet_index
from publications.models import Publication
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
