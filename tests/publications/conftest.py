"""Fixtures for the citation, export and import tests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from publications.models import Publication
from tests.factories import AuthorFactory, OrganizationFactory, PublicationFactory, ReferenceFactory


@pytest.fixture
def article(db):
    """A journal article with two authors (Cyrillic and diacritics) and special characters."""
    organization = OrganizationFactory(name="Институт экономики РАН", city="Москва", country="Россия")
    first = AuthorFactory(
        given_name="Анна", family_name="Петрова", organization=organization, orcid="0000-0002-1825-0097"
    )
    second = AuthorFactory(given_name="Jörg", family_name="Müller-Lüdenscheidt")
    publication = PublicationFactory(
        title="Trade & Security {Revisited}: 50% of Café Exports",
        slug="trade-security-revisited",
        kind=Publication.Kind.ARTICLE,
        published_at=timezone.make_aware(dt.datetime(2021, 5, 3, 12, 0)),
        abstract="Торговля и безопасность в Центральной Азии: a study of 100% tariffs & {quotas}.",
        container_title="Journal of Eurasian Policy",
        volume="12",
        issue="3",
        pages="45-67",
        doi="10.1234/jep.2021.12",
        language="ru",
        authors=[first, second],
        tags=["trade", "security", "Центральная Азия"],
    )
    ReferenceFactory(publication=publication, position=1, doi="10.5555/ref.1")
    ReferenceFactory(publication=publication, position=2, text="Иванов И. И. Экономика. М., 2010.")
    return publication


@pytest.fixture
def page_cache_off(settings):
    """For tests of the caches below the page cache (cards, feed items, OAI records)."""
    settings.PAGE_CACHE_SECONDS = 0
