"""Migrations run backward to zero and forward again, and match the models."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def local_apps_with_migrations() -> list[str]:
    labels = [apps.get_app_config(name.rsplit(".", 1)[-1]).label for name in settings.LOCAL_APPS]
    loader = MigrationExecutor(connection).loader
    return [label for label in labels if label in loader.migrated_apps]


def leaf_targets(executor: MigrationExecutor, labels: list[str]) -> list[tuple[str, str]]:
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] in labels]


# PostgreSQL only: on SQLite, Django 5.2's CreateExtension (publications 0004, UnaccentExtension)
# queries pg_extension when unapplied, so that migration cannot run backward there.
@pytest.mark.postgresql
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_migrations_backward_and_forward():
    """Every local app migrates back to zero and forward to its latest migration cleanly."""
    labels = local_apps_with_migrations()
    assert {"authors", "publications", "newsletter"} <= set(labels)
    executor = MigrationExecutor(connection)
    leaves = leaf_targets(executor, labels)
    executor.migrate([(label, None) for label in labels])
    executor.loader.build_graph()
    tables = set(connection.introspection.table_names())
    assert "publications_publication" not in tables
    assert "newsletter_subscriber" not in tables
    executor = MigrationExecutor(connection)
    executor.migrate(leaves)
    executor.loader.build_graph()
    assert "publications_publication" in connection.introspection.table_names()
    assert not executor.migration_plan(leaves)


@pytest.mark.django_db
def test_models_match_migrations():
    """No model change lacks its migration (makemigrations --check)."""
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
