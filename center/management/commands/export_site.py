"""``manage.py export_site TARGET``: back up the database content and media files."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from center.backup import site_export


class Command(BaseCommand):
    help = (
        "Write a complete backup (database content as JSON plus media files) to TARGET: "
        "a new directory, or a file ending in .tar.gz. Restore it with import_site."
    )

    def add_arguments(self, parser):
        parser.add_argument("target", type=Path, help="An empty/new directory or a .tar.gz file name.")

    def handle(self, *args, target: Path, **options):
        try:
            manifest = site_export(target=target)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        total = sum(manifest["objects"].values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported {total} objects and {len(manifest['media'])} media files to {target}."
            )
        )
