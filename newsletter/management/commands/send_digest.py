"""Send the automatic digest of new publications (for a cron job)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from newsletter import selectors, services
from newsletter.models import Newsletter


class Command(BaseCommand):
    help = (
        "Send a digest of the publications that appeared since the last newsletter to every active "
        "subscriber (only the items matching their topics; nothing if nothing matches). Uses the same "
        "queued, idempotent machinery as newsletters sent from the admin; also resumes any newsletter "
        "whose sending was interrupted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--subject", default="", help="Subject line (default: site name and date).")
        parser.add_argument("--intro", default="", help="Introduction text.")
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be sent.")

    def handle(self, *args, subject: str, intro: str, dry_run: bool, **options):
        if not dry_run:
            resumed = services.newsletter_resume()
            if resumed:
                self.stdout.write(f"Resumed {resumed} newsletter(s) still sending.")
        since = selectors.newsletter_last_send_moment() or selectors.default_since()
        new = selectors.newsletter_new_publications(since=since, until=timezone.now())
        count = new.count()
        if not count:
            self.stdout.write(f"Nothing new since {since:%Y-%m-%d %H:%M}: no digest sent.")
            return
        if dry_run:
            self.stdout.write(
                f"Would send a digest of {count} publication(s) new since {since:%Y-%m-%d %H:%M}."
            )
            return
        subject = subject or f"{settings.SITE_NAME}: new publications, {timezone.localdate():%d %B %Y}"
        try:
            with transaction.atomic():
                newsletter = Newsletter.objects.create(
                    subject=subject, intro=intro, selection=Newsletter.Selection.NEW, is_digest=True
                )
                created = services.newsletter_send(newsletter=newsletter)
        except ValidationError as error:
            self.stdout.write(" ".join(error.messages))
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Digest “{subject}”: {count} publication(s), queued for {created} subscriber(s)."
            )
        )
