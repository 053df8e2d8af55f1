"""Full-text search: PostgreSQL tsvector table with a GIN index, or an SQLite FTS5 table.

Each database gets only its own half: the PostgreSQL operations do nothing on
SQLite and the FTS5 table is created only on SQLite.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations, models

# English stemming without accents: "Café" and "cafe", "sanctions" and "sanction" meet.
POSTGRESQL_CONFIGURATION = """
CREATE TEXT SEARCH CONFIGURATION center_search (COPY = english);
ALTER TEXT SEARCH CONFIGURATION center_search
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;
"""
POSTGRESQL_CONFIGURATION_DROP = "DROP TEXT SEARCH CONFIGURATION IF EXISTS center_search;"

# rowid is the publication's id. Columns in weight order: title, people and subjects, text, PDF.
SQLITE_FTS = """
CREATE VIRTUAL TABLE publications_search_fts USING fts5(
    title, people, body, pdf,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
SQLITE_FTS_DROP = "DROP TABLE IF EXISTS publications_search_fts;"


class RunSQLOn(migrations.RunSQL):
    """RunSQL for one database vendor only."""

    def __init__(self, vendor, *args, **kwargs):
        self.vendor = vendor
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, [self.vendor, *args], kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """A GIN index exists on PostgreSQL only; the model state has it everywhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("publications", "0003_editorial_roles"),
    ]

    operations = [
        UnaccentExtension(),
        RunSQLOn("postgresql", POSTGRESQL_CONFIGURATION, POSTGRESQL_CONFIGURATION_DROP),
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                (
                    "publication",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="publications.publication",
                    ),
                ),
                ("vector", django.contrib.postgres.search.SearchVectorField(null=True)),
                ("text", models.TextField(blank=True)),
            ],
        ),
        AddIndexOnPostgreSQL(
            model_name="searchdocument",
            index=django.contrib.postgres.indexes.GinIndex(fields=["vector"], name="search_document_vector"),
        ),
        RunSQLOn("sqlite", SQLITE_FTS, SQLITE_FTS_DROP),
    ]
