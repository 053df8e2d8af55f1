"""Reads of the mailing list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from newsletter.models import Newsletter, Subscriber
from publications.models import Publication


def subscribe_topics() -> dict[str, list[tuple[int, str]]]:
    """Themes and regions for the footer form of every page, as (id, name) pairs, by name.

    Computed once per content version (``center.caching.cached``): the footer
    costs no query on a warm cache, and one (a UNION of both lists, written as
    SQL: the ORM took longer to put it together than the database to run it) on
    a cold one.
    """
    from center import caching
    from publications.models import Region, Theme

    def compute() -> dict[str, list[tuple[int, str]]]:
        topics: dict[str, list[tuple[int, str]]] = {"themes": [], "regions": []}
        sql = " UNION ALL ".join(
            f"SELECT '{kind}', id, name FROM {model._meta.db_table}"  # noqa: S608 - names from the models
            for kind, model in (("themes", Theme), ("regions", Region))
        )
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} ORDER BY 1, 3")
            for kind, pk, name in cursor.fetchall():
                topics[kind].append((pk, name))
        return topics

    return caching.cached("newsletter:subscribe-topics", compute)


def subscriber_export(*, subscriber: Subscriber) -> dict:
    """Everything we hold about a subscriber, as JSON-ready data (their GDPR access request)."""
    deliveries = subscriber.deliveries.select_related("newsletter").order_by("pk")
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "status": subscriber.status,
        "themes": [theme.name for theme in subscriber.themes.all()],
        "regions": [region.name for region in subscriber.regions.all()],
        "subscribed_at": _iso(subscriber.created_at),
        "confirmed_at": _iso(subscriber.confirmed_at),
        "unsubscribed_at": _iso(subscriber.unsubscribed_at),
        "consent": {
            "given_at": _iso(subscriber.consent_at),
            "form": subscriber.consent_form,
            "wording_version": subscriber.consent_text_version,
            "ip_address": subscriber.consent_ip,
        },
        "permanent_delivery_failures": subscriber.permanent_failures,
        "emails": [
            {
                "kind": record.get_kind_display(),
                "created_at": _iso(record.created_at),
                "sent_at": _iso(record.sent_at),
            }
            for record in subscriber.confirmation_emails.order_by("pk")
        ],
        "newsletters": [
            {
                "subject": delivery.newsletter.subject,
                "status": delivery.status,
                "sent_at": _iso(delivery.sent_at),
            }
            for delivery in deliveries
        ],
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def newsletter_new_publications(*, since: dt.datetime | None, until: dt.datetime):
    """What the public could see first between ``since`` and ``until``: the "new since" selection."""
    published = Publication.objects.published().filter(published_at__lte=until)
    if since is not None:
        published = published.filter(published_at__gt=since)
    return published.order_by("-published_at", "-pk")


def newsletter_last_send_moment(*, exclude_pk: int | None = None) -> dt.datetime | None:
    """When the latest newsletter started going out (the "since" of the next one)."""
    started = Newsletter.objects.filter(send_started_at__isnull=False).exclude(pk=exclude_pk)
    return started.aggregate(last=Max("send_started_at"))["last"]


def newsletter_items(*, newsletter: Newsletter) -> list[NewsletterItem]:
    """The newsletter's publications that the public may see, newest first, ready for the email.

    For a draft with "new since the last newsletter" these are computed now (the
    preview); once sending starts they are frozen in ``newsletter.publications``.
    """
    if newsletter.selection == Newsletter.Selection.NEW and newsletter.status == Newsletter.Status.DRAFT:
        since = newsletter_last_send_moment(exclude_pk=newsletter.pk) or default_since()
        queryset = newsletter_new_publications(since=since, until=timezone.now())
    else:
        queryset = (
            Publication.objects.published()
            .filter(pk__in=newsletter.publications.values("pk"))
            .order_by("-published_at", "-pk")
        )
    return [NewsletterItem.from_publication(publication) for publication in queryset.for_listing()]


def default_since() -> dt.datetime:
    """The first "new since" newsletter covers this many recent days."""
    return timezone.now() - dt.timedelta(days=settings.NEWSLETTER_FIRST_SINCE_DAYS)


@dataclass(frozen=True)
class NewsletterItem:
    """One publication as an email shows it, with the topic ids it matches on."""

    pk: int
    title: str
    kind: str
    date: dt.datetime
    authors: str
    abstract: str
    url: str
    theme_ids: frozenset[int]
    region_ids: frozenset[int]

    @classmethod
    def from_publication(cls, publication: Publication) -> NewsletterItem:
        return cls(
            pk=publication.pk,
            title=publication.title,
            kind=publication.get_kind_display(),
            date=publication.published_at,
            authors=", ".join(authorship.author.full_name for authorship in publication.authorships.all()),
            abstract=publication.abstract,
            url=f"{settings.SITE_URL}{publication.get_absolute_url()}",
            theme_ids=frozenset(theme.pk for theme in publication.themes.all()),
            region_ids=frozenset(region.pk for region in publication.regions.all()),
        )


def items_for_subscriber(
    items: list[NewsletterItem], *, theme_ids: set[int], region_ids: set[int]
) -> list[NewsletterItem]:
    """Topic matching: no theme and no region chosen gets everything; otherwise any chosen theme or region."""
    if not theme_ids and not region_ids:
        return list(items)
    return [item for item in items if item.theme_ids & theme_ids or item.region_ids & region_ids]
