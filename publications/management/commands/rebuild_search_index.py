"""Rebuild the full-text search index of every publication."""

from __future__ import annotations

import time

from django.core.management import BaseCommand
from django.db import connection, transaction

from publications import search


class Command(BaseCommand):
    help = (
        "Rebuild the search index (PostgreSQL tsvector table or SQLite FTS5 table) of every "
        "publication from the database, with progress output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, help="Publications per batch.")

    def handle(self, *args, batch_size, **options):
        started = time.monotonic()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if done == total or now - last[0] >= 1:
                last[0] = now
                self.stdout.write(f"  indexed {done:,} / {total:,} publications")

        self.stdout.write(f"Rebuilding the search index ({connection.vendor})...")
        with transaction.atomic():
            total = search.rebuild(batch_size=max(1, batch_size), progress=progress)
        search.optimize()  # once committed: PostgreSQL reclaims the replaced rows (VACUUM)
        self.stdout.write(
            self.style.SUCCESS(
                f"Search index rebuilt: {total:,} publications in {time.monotonic() - started:.1f} s."
            )
        )
