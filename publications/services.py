"""Writes on publications: saving with optimistic locking and the editorial workflow.

Every path that changes a publication's status goes through here (the admin change
form, the bulk actions, a history restore), so the rules live in one place:

- draft → in review: the publication's editor (a Contributor on their own draft) or an Editor;
- anything → published (or scheduled, with a future ``published_at``), published → draft
  (unpublish) and in review → draft (send back, with a comment): Editors only, i.e.
  users with ``publications.publish_publication``.

Services raise ``PermissionDenied`` when the user may not do something and
``ValidationError`` when the thing cannot be done (wrong status, stale copy).
"""

from __future__ import annotations

import functools

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from publications.models import Publication
from publications.sanitize import sanitize_html

PUBLISH_PERMISSION = "publications.publish_publication"
EDIT_ANY_PERMISSION = "publications.edit_any_publication"
Status = Publication.Status


class PublicationConflict(ValidationError):
    """Somebody else saved the publication after this copy was loaded."""


def publication_can_publish(*, user) -> bool:
    """Whether ``user`` may publish, schedule, unpublish and send back publications."""
    return user.is_active and user.has_perm(PUBLISH_PERMISSION)


def publication_can_edit(*, user, publication: Publication) -> bool:
    """Whether ``user`` may change ``publication``: Editors any, Contributors their own drafts."""
    if not (user.is_active and user.has_perm("publications.change_publication")):
        return False
    if user.has_perm(EDIT_ANY_PERMISSION):
        return True
    if publication.pk is None:
        return True
    return publication.created_by_id == user.pk and publication.status == Status.DRAFT


def publication_check_transition(*, user, publication: Publication, from_status: str, to_status: str) -> None:
    """Raise unless ``user`` may move ``publication`` from ``from_status`` to ``to_status``."""
    if from_status == to_status:
        return
    if from_status == Status.DRAFT and to_status == Status.REVIEW:
        if not (
            publication_can_edit(user=user, publication=publication) or publication_can_publish(user=user)
        ):
            raise PermissionDenied("You may only submit your own drafts for review.")
        return
    if not publication_can_publish(user=user):
        if to_status == Status.PUBLISHED:
            raise PermissionDenied("Only editors can publish or schedule a publication.")
        raise PermissionDenied("Only editors can move a publication back to draft.")


def publication_save(
    *, publication: Publication, user, expected_version: int | None = None, change_reason: str = ""
) -> Publication:
    """Save ``publication``, refusing if the stored copy changed since ``expected_version``.

    Sanitizes the rich-text body, bumps ``version``, records who changed it (history) and,
    when the PDF changed, queues its thumbnail.
    """
    from publications.tasks import generate_pdf_thumbnail

    publication.body = sanitize_html(publication.body)
    with transaction.atomic():
        if publication.pk is None:
            publication.version = 1
            if publication.created_by_id is None and user is not None and user.is_authenticated:
                publication.created_by = user
            stored_pdf = ""
        else:
            # The row stays locked (PostgreSQL) or the database is write-locked (SQLite,
            # IMMEDIATE transactions) until commit: nobody can slip in between.
            stored = (
                Publication.objects.select_for_update()
                .filter(pk=publication.pk)
                .values_list("version", "pdf")
                .first()
            )
            if stored is None:
                raise ValidationError("This publication was deleted meanwhile.", code="deleted")
            stored_version, stored_pdf = stored
            if expected_version is not None and stored_version != expected_version:
                raise PublicationConflict(
                    "Someone else saved this publication while you were editing it "
                    "(your copy is version %(mine)s, the saved one is version %(theirs)s). "
                    "Open it again to see their changes, then redo yours.",
                    code="conflict",
                    params={"mine": expected_version, "theirs": stored_version},
                )
            publication.version = stored_version + 1
        if publication.status == Status.PUBLISHED and publication.published_at is None:
            publication.published_at = timezone.now()
        publication._history_user = user
        publication._change_reason = change_reason or None
        publication.save()
        if publication.pdf and publication.pdf.name != stored_pdf:
            transaction.on_commit(functools.partial(generate_pdf_thumbnail.enqueue, publication.pk))
    return publication


def _transition(*, publication: Publication, user, to_status: str, change_reason: str = "") -> Publication:
    publication_check_transition(
        user=user, publication=publication, from_status=publication.status, to_status=to_status
    )
    publication.status = to_status
    return publication_save(
        publication=publication, user=user, expected_version=publication.version, change_reason=change_reason
    )


def publication_submit_for_review(*, publication: Publication, user) -> Publication:
    """Draft → in review."""
    if publication.status != Status.DRAFT:
        raise ValidationError("Only drafts can be submitted for review.", code="not_draft")
    return _transition(
        publication=publication, user=user, to_status=Status.REVIEW, change_reason="Submitted for review"
    )


def publication_publish(*, publication: Publication, user, published_at=None) -> Publication:
    """Publish now, or at ``published_at`` / the publication's own future date (scheduled)."""
    if published_at is not None:
        publication.published_at = published_at
    if publication.status == Status.PUBLISHED:
        raise ValidationError("This publication is already published.", code="already_published")
    if publication.published_at is None:
        publication.published_at = timezone.now()
    reason = "Scheduled" if publication.published_at > timezone.now() else "Published"
    return _transition(publication=publication, user=user, to_status=Status.PUBLISHED, change_reason=reason)


def publication_unpublish(*, publication: Publication, user) -> Publication:
    """Published (or scheduled) → draft."""
    if publication.status != Status.PUBLISHED:
        raise ValidationError("This publication is not published.", code="not_published")
    return _transition(
        publication=publication, user=user, to_status=Status.DRAFT, change_reason="Unpublished"
    )


def publication_send_back(*, publication: Publication, user, comment: str) -> Publication:
    """In review → draft, with the editor's comment for the author (kept in the history)."""
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError("Say what should change before sending it back.", code="comment_required")
    if publication.status != Status.REVIEW:
        raise ValidationError("Only publications in review can be sent back.", code="not_in_review")
    return _transition(
        publication=publication, user=user, to_status=Status.DRAFT, change_reason=f"Sent back: {comment}"
    )


def publication_add_tags(*, publication: Publication, user, tags: list[str]) -> Publication:
    """Add ``tags`` to a publication ``user`` may edit, as a new version (the history shows it)."""
    if not publication_can_edit(user=user, publication=publication):
        raise PermissionDenied("You may not change this publication.")
    with transaction.atomic():
        publication.tags.add(*tags)
        # Saved after the tags: the history row made by the save records them.
        return publication_save(
            publication=publication,
            user=user,
            expected_version=publication.version,
            change_reason=f"Tags added: {', '.join(tags)}",
        )
