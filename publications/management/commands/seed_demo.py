"""Fill an empty database with the deterministic demo index."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.core.management import BaseCommand, CommandError, call_command, get_commands
from django.db import connection

from center import caching
from publications.demo import (
    DEFAULT_PUBLICATIONS,
    DemoIndexBuilder,
    existing_editorial_content,
    reset_demo_content,
)


class Command(BaseCommand):
    help = (
        "Fill an empty database with a deterministic demo index of research publications "
        f"({DEFAULT_PUBLICATIONS:,} published by default), with authors, organizations, themes, "
        "regions, tags, references and demo PDFs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--publications", type=int, default=DEFAULT_PUBLICATIONS, help="How many published publications."
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed, the same index.")
        parser.add_argument("--reset", action="store_true", help="Delete existing content first.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing (successfully) when content exists."
        )

    def handle(self, *args, publications, seed, reset, if_empty, **options):
        if publications < 0:
            raise CommandError("--publications must be zero or more.")
        # Any editorial row (even one theme) would collide with the demo's slugs: refuse before writing.
        existing = existing_editorial_content()
        if existing:
            found = ", ".join(existing)
            if if_empty:
                self.stdout.write(f"The database already has content ({found}); leaving it as it is.")
                return
            if not reset:
                raise CommandError(
                    f"The database already has content ({found}). Nothing was written. "
                    "Use --reset to delete it and load the demo index."
                )
            self.stdout.write("Deleting existing content...")
            reset_demo_content()
        started = time.monotonic()
        builder = DemoIndexBuilder(
            publications=publications, seed=seed, progress=lambda line: self.stdout.write(f"  {line}")
        )
        counts = builder.build()
        # Bulk inserts send no signals: rebuild what is derived from the content.
        if "rebuild_search_index" in get_commands():
            call_command("rebuild_search_index", stdout=self.stdout)
        # Fresh planner statistics: without them PostgreSQL and SQLite guess badly on big tables. On
        # PostgreSQL (outside a transaction) a VACUUM too, as autovacuum would do in a while: it marks
        # the new rows visible to all, so index-only scans need not visit the table.
        with connection.cursor() as cursor:
            vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
            cursor.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
        cache.clear()
        caching.content_changed(exact=True)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo index ready in {time.monotonic() - started:.1f} s: {counts.publications:,} published "
                f"publications (+{counts.unpublished} drafts, in review or scheduled), "
                f"{counts.authors:,} authors, "
                f"{counts.organizations} organizations, {counts.themes} themes, {counts.regions} regions, "
                f"{counts.tags} tags, {counts.references:,} references, {counts.pdfs} PDFs."
            )
        )
