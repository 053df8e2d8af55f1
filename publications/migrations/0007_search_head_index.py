"""PostgreSQL: a GIN index on the title/authors/subjects part of the search vector, narrow rows.

``ts_filter(vector, '{a,b}')`` keeps the lexemes of weights A (title) and B
(authors, tags, themes, regions): large searches use it to put publications
matching there first (``publications.search._ranked_in_tiers``). A
``toast_tuple_target`` of 128 moves the long vector and text out of the table's
rows, so that collecting the ids of 90,000 matches reads a few megabytes of
narrow rows rather than every vector. SQLite needs neither: FTS5 filters by
column itself.
"""

import importlib

from django.db import migrations

RunSQLOn = importlib.import_module("publications.migrations.0004_search_document").RunSQLOn

HEAD_INDEX = (
    "CREATE INDEX search_document_head ON publications_searchdocument "
    "USING gin (ts_filter(vector, '{a,b}'))"
)
NARROW_ROWS = "ALTER TABLE publications_searchdocument SET (toast_tuple_target = 128)"
WIDE_ROWS = "ALTER TABLE publications_searchdocument RESET (toast_tuple_target)"


class Migration(migrations.Migration):
    dependencies = [
        ("publications", "0006_publication_source_key"),
    ]

    operations = [
        RunSQLOn("postgresql", HEAD_INDEX, "DROP INDEX IF EXISTS search_document_head"),
        RunSQLOn("postgresql", NARROW_ROWS, WIDE_ROWS),
    ]
