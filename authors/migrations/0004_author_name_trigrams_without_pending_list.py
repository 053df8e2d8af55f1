"""PostgreSQL: the trigram indexes on authors' names take each new name into their tree at once.

A GIN index first puts new rows in a pending list, which every search reads
from start to end, and merges the list into its tree only at a VACUUM or when
it reaches ``gin_pending_list_limit`` (4 MB). Authors loaded in bulk (an import,
the demo index) stayed there: the 20,615 authors of the 100,000-publication
benchmark database were all in the lists (699 pages), and a search's name match
took 8 ms, reading every author, where the tree answers in a fraction of a
millisecond. Authors are written rarely, so each write paying its index update
costs nothing that matters. The lists already there are merged now.
"""

import importlib

from django.db import migrations

RunSQLOn = importlib.import_module("publications.migrations.0004_search_document").RunSQLOn
INDEXES = importlib.import_module("authors.migrations.0002_author_name_trigrams").INDEXES


class Migration(migrations.Migration):
    dependencies = [("authors", "0003_author_updated_at_index")]

    operations = [
        RunSQLOn(
            "postgresql",
            [
                f"ALTER INDEX {name} SET (fastupdate = off)",
                f"SELECT gin_clean_pending_list('{name}'::regclass)",
            ],
            [f"ALTER INDEX {name} RESET (fastupdate)"],
        )
        for name in INDEXES
    ]
