"""Building the mailing list's emails: HTML and plain text, with the list headers.

Every email to a subscriber carries signed links to manage preferences and to
unsubscribe, and the RFC 8058 headers ``List-Unsubscribe`` (an https URL from
``SITE_URL``) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.
"""

from __future__ import annotations

from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from newsletter import tokens


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def subscriber_links(subscriber) -> dict[str, str]:
    manage = tokens.make_token(subscriber, tokens.MANAGE)
    return {
        "manage_url": absolute_url(reverse("newsletter:manage", kwargs={"token": manage})),
        "unsubscribe_url": absolute_url(reverse("newsletter:unsubscribe", kwargs={"token": manage})),
    }


def build_message(
    *,
    subscriber,
    subject: str,
    template: str,
    context: dict,
    to: str | None = None,
    message_id: str | None = None,
    connection=None,
) -> EmailMultiAlternatives:
    """``templates/newsletter/email/<template>.txt`` and ``.html`` as one multipart/alternative message."""
    links = subscriber_links(subscriber)
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_URL": settings.SITE_URL,
        "subscriber": subscriber,
        "subject": subject,
        **links,
        **context,
    }
    text = render_to_string(f"newsletter/email/{template}.txt", context)
    html = render_to_string(f"newsletter/email/{template}.html", context)
    headers = {
        "List-Unsubscribe": f"<{links['unsubscribe_url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{settings.SITE_NAME} <newsletter.{domain()}>",
        # A stable id per delivery: a message re-sent after a crash is recognisable as the same.
        "Message-ID": message_id or make_msgid(domain=domain()),
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to or subscriber.email],
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    return message


def domain() -> str:
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    return host.split(":", 1)[0] or "localhost"
