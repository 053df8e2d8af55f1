"""Signed links in the emails: confirm, manage preferences, unsubscribe.

Tokens are signed with the secret key (``TimestampSigner``), name the subscriber
by primary key plus a short hash of the address (never the address itself),
and, for confirmation, the subscription round. Confirmation links expire
(``NEWSLETTER_CONFIRM_MAX_AGE``); manage and unsubscribe links keep working, as
links in old emails must.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

CONFIRM = "confirm"
MANAGE = "manage"


class TokenError(Exception):
    """A link that cannot be used; ``expired`` tells an old but authentic link from a bad one."""

    def __init__(self, message: str, *, expired: bool = False, payload: TokenPayload | None = None):
        super().__init__(message)
        self.expired = expired
        self.payload = payload


@dataclass(frozen=True)
class TokenPayload:
    subscriber_id: int
    email_hash: str
    round: int


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def _signer(purpose: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"newsletter.{purpose}")


def make_token(subscriber, purpose: str) -> str:
    data = {"s": subscriber.pk, "h": email_hash(subscriber.email)}
    if purpose == CONFIRM:
        data["r"] = subscriber.round
    return _signer(purpose).sign_object(data, compress=True)


def _payload(data) -> TokenPayload:
    try:
        return TokenPayload(int(data["s"]), str(data["h"]), int(data.get("r", 0)))
    except (KeyError, TypeError, ValueError) as error:
        raise TokenError("This link is not valid.") from error


def read_token(token: str, purpose: str) -> TokenPayload:
    """The payload of an authentic token; :class:`TokenError` otherwise."""
    max_age = settings.NEWSLETTER_CONFIRM_MAX_AGE if purpose == CONFIRM else None
    signer = _signer(purpose)
    try:
        return _payload(signer.unsign_object(token, max_age=max_age))
    except signing.SignatureExpired as error:
        # Authentic but old: the payload still says who asked, so a new email can be offered.
        payload = _payload(signer.unsign_object(token))
        raise TokenError("This link has expired.", expired=True, payload=payload) from error
    except (signing.BadSignature, ValueError, UnicodeError) as error:
        raise TokenError("This link is not valid.") from error
