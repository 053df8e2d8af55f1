"""Every model's admin pages render for a staff user."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.contrib import admin
from django.urls import reverse

from newsletter.models import ConfirmationEmail, Delivery, Newsletter
from publications.models import Reaction
from tests.factories import (
    AuthorFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    SubscriberFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def content():
    author = AuthorFactory()
    publication = PublicationFactory(authors=[author], themes=[ThemeFactory()], regions=[RegionFactory()])
    ReferenceFactory(publication=publication)
    subscriber = SubscriberFactory()
    Reaction.objects.create(publication=publication, visitor="a" * 64, value=Reaction.Value.LIKE)
    newsletter = Newsletter.objects.create(subject="Monthly")
    Delivery.objects.create(newsletter=newsletter, subscriber=subscriber)
    ConfirmationEmail.objects.create(subscriber=subscriber, kind=ConfirmationEmail.Kind.CONFIRM, key="k1")
    return publication


def _registered():
    return [
        model
        for model in admin.site._registry
        if model._meta.app_label in {"publications", "authors", "newsletter"}
    ]


@pytest.mark.parametrize("model", _registered(), ids=lambda model: model._meta.label)
def test_admin_changelist_and_add_render(staff_client, content, model):
    """The change list and the add form of each model answer 200."""
    opts = model._meta
    for view in ("changelist", "add"):
        response = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}"))
        assert response.status_code in (HTTPStatus.OK, HTTPStatus.FORBIDDEN), (opts.label, view)
        if view == "changelist":
            assert response.status_code == HTTPStatus.OK


def test_admin_change_form_renders(staff_client, content):
    """The change form of an existing object of each model answers 200."""
    checked = set()
    for model in _registered():
        instance = model._default_manager.first()
        if instance is None:
            continue
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[instance.pk])
        assert staff_client.get(url).status_code == HTTPStatus.OK, opts.label
        checked.add(opts.label)
    assert {
        "publications.Publication",
        "publications.Theme",
        "publications.Region",
        "publications.Reaction",
        "authors.Author",
        "authors.Organization",
        "newsletter.Subscriber",
        "newsletter.Newsletter",
        "newsletter.Delivery",
        "newsletter.ConfirmationEmail",
    } <= checked


def test_admin_publication_view_on_site(staff_client, content):
    """The publication form links to its public page."""
    response = staff_client.get(reverse("admin:publications_publication_change", args=[content.pk]))
    assert reverse("admin:view_on_site", args=[response.context["content_type_id"], content.pk]).encode() in (
        response.content
    )


def test_admin_bulk_publish(staff_client):
    """The bulk action publishes drafts and dates them."""
    draft = PublicationFactory(status="draft", published_at=None)
    response = staff_client.post(
        reverse("admin:publications_publication_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    draft.refresh_from_db()
    assert draft.is_public
