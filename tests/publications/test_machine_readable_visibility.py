"""Drafts, items in review and scheduled items appear in no feed, sitemap or OAI-PMH response."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from publications.models import Publication
from publications.oai import record_identifier
from tests.factories import AuthorFactory, PublicationFactory, RegionFactory, ThemeFactory

pytestmark = pytest.mark.django_db


def test_unpublished_items_are_nowhere(client):
    """Walk every feed, sitemap section and OAI-PMH list: only the public item shows up."""
    theme, region, author = (
        ThemeFactory(slug="energy"),
        RegionFactory(slug="arctic"),
        AuthorFactory(slug="ann"),
    )
    shared = {"themes": [theme], "regions": [region], "tags": ["oil"], "kind": Publication.Kind.REPORT}
    PublicationFactory(title="Visible report", slug="visible-report", authors=[author], **shared)
    hidden = [
        PublicationFactory(
            title="Secret draft", slug="secret-draft", status=Publication.Status.DRAFT, **shared
        ),
        PublicationFactory(
            title="Secret review", slug="secret-review", status=Publication.Status.REVIEW, **shared
        ),
        PublicationFactory(
            title="Secret scheduled",
            slug="secret-scheduled",
            published_at=timezone.now() + dt.timedelta(days=1),
            **shared,
        ),
    ]
    for publication in hidden:
        publication.authorships.create(author=author, position=1)
    urls = [reverse("publications:feed-rss"), reverse("publications:feed-atom")]
    for fmt in ("rss", "atom"):
        urls += [
            reverse(f"publications:theme-feed-{fmt}", kwargs={"slug": "energy"}),
            reverse(f"publications:region-feed-{fmt}", kwargs={"slug": "arctic"}),
            reverse(f"publications:tag-feed-{fmt}", kwargs={"slug": "oil"}),
            reverse(f"publications:kind-feed-{fmt}", kwargs={"kind": "report"}),
            reverse(f"authors:feed-{fmt}", kwargs={"slug": "ann"}),
        ]
    urls.append(reverse("sitemap-index"))
    urls += [reverse("sitemap-section", kwargs={"section": section}) for section in ("publications", "pages")]
    oai = reverse("oai")
    urls += [
        f"{oai}?verb=ListRecords&metadataPrefix=oai_dc",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        assert "Secret" not in content and "secret-" not in content, url
        assert "Visible report" in content or "visible-report" in content or "sitemap" in url, url
    identifiers = client.get(oai, {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}).content.decode()
    assert all(record_identifier(publication) not in identifiers for publication in hidden)
    assert identifiers.count("<identifier>") == 1
