"""Readers' reactions (like / dislike) to blog posts: one vote per visitor."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from publications.models import Publication, Reaction


def visitor_key(visitor_id: str) -> str:
    """A keyed hash of the visitor's cookie id: what is stored, never the id itself."""
    secret = settings.SECRET_KEY.encode()
    return hmac.new(secret, f"reaction:{visitor_id}".encode(), hashlib.sha256).hexdigest()


def reaction_create(*, publication: Publication, visitor_id: str, value: int) -> bool:
    """Record one visitor's like or dislike; False when this visitor has already voted.

    The unique constraint (publication, visitor) decides, so two requests racing
    each other still count once; the counter moves in the same transaction with
    an ``F()`` update, never read-modify-write.
    """
    if value not in Reaction.Value.values:
        raise ValueError(f"Unknown reaction {value!r}")
    counter = "likes" if value == Reaction.Value.LIKE else "dislikes"
    try:
        with transaction.atomic():
            Reaction.objects.create(publication=publication, visitor=visitor_key(visitor_id), value=value)
            Publication.objects.filter(pk=publication.pk).update(**{counter: F(counter) + 1})
    except IntegrityError:
        return False
    return True


def reaction_of(*, publication: Publication, visitor_id: str) -> int | None:
    """The visitor's vote on this publication, if any."""
    if not visitor_id:
        return None
    return (
        Reaction.objects.filter(publication=publication, visitor=visitor_key(visitor_id))
        .values_list("value", flat=True)
        .first()
    )
