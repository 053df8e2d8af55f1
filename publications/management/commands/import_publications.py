"""``python manage.py import_publications FILE``: import CSV, BibTeX, RIS or CSL-JSON."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from publications.imports import FORMATS, detect_format, publications_import


class Command(BaseCommand):
    help = (
        "Import publications from a CSV, BibTeX, RIS or CSL-JSON file. Records with the same DOI "
        "(or source key) update the existing publication. A file with invalid rows is rejected "
        "whole unless --skip-invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the file to import.")
        parser.add_argument("--format", choices=FORMATS, help="File format (default: from the extension).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would happen; write nothing.")
        parser.add_argument(
            "--skip-invalid", action="store_true", help="Import the valid rows and report the invalid ones."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            file_format = options["format"] or detect_format(path.name)
        except ValueError as error:
            raise CommandError(str(error)) from error
        with path.open("rb") as file:
            report = publications_import(
                file=file,
                format=file_format,
                dry_run=options["dry_run"],
                skip_invalid=options["skip_invalid"],
            )
        for row in report.rows:
            line = f"row {row.number}: {row.action:8} {row.title[:70]}"
            if row.errors:
                line += f"  [{row.error_text}]"
            if row.warnings:
                line += f"  (warning: {row.warning_text})"
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(report.summary())
        prefix = "Dry run: " if options["dry_run"] else ""
        self.stdout.write(self.style.SUCCESS(prefix + report.summary()))
