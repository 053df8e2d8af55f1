"""PostgreSQL: which transaction last wrote each search document.

``written_by`` (``xid8``, set on every insert and update by
``publications.search``) lets the term index (``publications.term_index``)
find the documents written since the moment it was read, whatever order their
transactions committed in: those not visible in the snapshot it was read in.
The btree index makes that a range scan over the recent writes.
"""

import importlib

from django.db import migrations

RunSQLOn = importlib.import_module("publications.migrations.0004_search_document").RunSQLOn

ADD = (
    "ALTER TABLE publications_searchdocument "
    "ADD COLUMN written_by xid8 NOT NULL DEFAULT pg_current_xact_id()"
)
INDEX = "CREATE INDEX search_document_written_by ON publications_searchdocument (written_by)"


class Migration(migrations.Migration):
    dependencies = [
        ("publications", "0010_figures_and_related_history"),
    ]

    operations = [
        RunSQLOn("postgresql", ADD, "ALTER TABLE publications_searchdocument DROP COLUMN written_by"),
        RunSQLOn("postgresql", INDEX, "DROP INDEX IF EXISTS search_document_written_by"),
    ]
