"""``manage.py import_site SOURCE``: restore an export_site backup into an empty database."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from center.backup import site_import


class Command(BaseCommand):
    help = (
        "Restore a backup written by export_site (directory or .tar.gz) into an empty, migrated "
        "database, media files included. Refuses a database that already has content."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", type=Path, help="The backup directory or .tar.gz file.")

    def handle(self, *args, source: Path, **options):
        if not source.exists():
            raise CommandError(f"{source} does not exist.")
        try:
            manifest = site_import(source=source)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        total = sum(manifest["objects"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {total} objects and {len(manifest['media'])} media files from {source}."
            )
        )
