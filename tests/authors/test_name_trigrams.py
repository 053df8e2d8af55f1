"""PostgreSQL: the search page's author matches (``icontains`` on the names) can use the trigram
indexes, so they do not read every author."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q

from authors.models import Author
from publications import search
from tests.factories import AuthorFactory

pytestmark = pytest.mark.django_db


@pytest.mark.postgresql
def test_name_matches_use_the_trigram_indexes():
    AuthorFactory(given_name="Leila", family_name="Tradescant")
    AuthorFactory.create_batch(5)
    author_filter = Q(given_name__icontains="trade") | Q(family_name__icontains="trade")
    sql, params = Author.objects.filter(author_filter).order_by("family_name")[:6].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table of six rows would be read whole
        # ... or walked in (family_name, given_name) order through its btree, to skip the sort: on
        # a table this small the planner may take either, so only bitmap scans are left to it.
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "author_given_name_trigrams" in plan and "author_family_name_trigrams" in plan, plan


def test_people_are_still_found_by_part_of_a_name():
    author = AuthorFactory(given_name="Leila", family_name="Tradescant")
    authors, _, _ = search.matching_people_and_subjects(search.parse_query("trade"))
    assert authors == [author]


@pytest.mark.postgresql
def test_names_added_in_bulk_are_in_the_trigram_trees_at_once():
    """The trigram indexes keep no pending list (which every search would read from start to end
    until a VACUUM): names written, even many at once, are in the indexes' trees straight away."""
    AuthorFactory.create_batch(40)
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        cursor.execute(
            "SELECT pending_tuples FROM pgstatginindex('author_given_name_trigrams'::regclass) "
            "UNION ALL SELECT pending_tuples FROM pgstatginindex('author_family_name_trigrams'::regclass)"
        )
        assert [row[0] for row in cursor.fetchall()] == [0, 0]
