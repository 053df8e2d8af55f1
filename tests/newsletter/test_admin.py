"""The newsletter admin: compose, preview, test, send, progress; GDPR erasure of subscribers."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core import mail
from django.urls import reverse

from newsletter.models import ConfirmationEmail, Delivery, Newsletter, Subscriber
from tests.factories import PublicationFactory, SubscriberFactory
from tests.newsletter.test_sending import make_newsletter

pytestmark = pytest.mark.django_db


def test_admin_compose_newsletter(staff_client):
    """Staff create a newsletter with subject, introduction and hand-picked publications."""
    publication = PublicationFactory()
    response = staff_client.post(
        reverse("admin:newsletter_newsletter_add"),
        {
            "subject": "Spring issue",
            "intro": "Hello",
            "selection": "manual",
            "publications": [publication.pk],
        },
    )
    assert response.status_code == HTTPStatus.FOUND
    newsletter = Newsletter.objects.get()
    assert list(newsletter.publications.all()) == [publication]
    assert newsletter.status == Newsletter.Status.DRAFT


def test_admin_preview_shows_email(staff_client):
    """The preview renders the HTML email with the items."""
    newsletter = make_newsletter(PublicationFactory(title="Arctic Shipping Routes"))
    response = staff_client.get(reverse("admin:newsletter_newsletter_preview", args=[newsletter.pk]))
    assert response.status_code == HTTPStatus.OK
    assert "Arctic Shipping Routes" in response.text
    assert "Dear reader," in response.text


def test_admin_preview_of_new_since_lists_recent_items(staff_client):
    """For "new since the last newsletter", the preview shows what would be picked now."""
    PublicationFactory(title="Fresh analysis")
    newsletter = make_newsletter(selection=Newsletter.Selection.NEW)
    response = staff_client.get(reverse("admin:newsletter_newsletter_preview", args=[newsletter.pk]))
    assert "Fresh analysis" in response.text


def test_admin_send_test_to_self(staff_client, staff_user):
    """ "Send a test" mails the staff member only and creates no deliveries."""
    SubscriberFactory()
    newsletter = make_newsletter(PublicationFactory())
    staff_client.post(reverse("admin:newsletter_newsletter_send", args=[newsletter.pk]), {"test": "1"})
    assert [message.to for message in mail.outbox] == [[staff_user.email]]
    assert mail.outbox[0].subject.startswith("[Test]")
    assert not Delivery.objects.exists()


def test_admin_send_then_progress(staff_client):
    """Sending from the admin reaches the subscribers; the list shows the progress."""
    SubscriberFactory.create_batch(2)
    newsletter = make_newsletter(PublicationFactory())
    url = reverse("admin:newsletter_newsletter_send", args=[newsletter.pk])
    assert staff_client.get(url).status_code == HTTPStatus.OK
    staff_client.post(url, {"send": "1"})
    staff_client.post(url, {"send": "1"})  # a second click
    assert len(mail.outbox) == 2
    changelist = staff_client.get(reverse("admin:newsletter_newsletter_changelist"))
    assert "2 sent, 0 failed, 0 pending" in changelist.text


def test_admin_send_nothing_published_explains(staff_client):
    """Sending a newsletter with nothing public shows an error instead of sending."""
    newsletter = make_newsletter()
    url = reverse("admin:newsletter_newsletter_send", args=[newsletter.pk])
    response = staff_client.post(url, {"send": "1"}, follow=True)
    assert "nothing to send" in response.text
    newsletter.refresh_from_db()
    assert newsletter.status == Newsletter.Status.DRAFT


@pytest.mark.parametrize("count", [1, 8])
def test_admin_changelist_constant_queries(staff_client, django_assert_max_num_queries, count):
    """The newsletter list with progress columns costs the same however many newsletters exist."""
    for _ in range(count):
        make_newsletter(PublicationFactory())
    with django_assert_max_num_queries(12):
        assert (
            staff_client.get(reverse("admin:newsletter_newsletter_changelist")).status_code == HTTPStatus.OK
        )


def test_admin_erase_subscriber(staff_client):
    """The GDPR action erases the subscriber with consent record, emails and deliveries."""
    subscriber = SubscriberFactory()
    ConfirmationEmail.objects.create(subscriber=subscriber, kind="confirm", key="k")
    response = staff_client.post(
        reverse("admin:newsletter_subscriber_changelist"),
        {"action": "erase", "_selected_action": [subscriber.pk]},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert not Subscriber.objects.exists()
    assert not ConfirmationEmail.objects.exists()


@pytest.mark.parametrize("name", ["newsletter_subscriber", "newsletter_newsletter", "newsletter_delivery"])
def test_admin_changelists_render(staff_client, name):
    """Every newsletter model's list renders for staff."""
    SubscriberFactory()
    assert staff_client.get(reverse(f"admin:{name}_changelist")).status_code == HTTPStatus.OK


def test_admin_change_pages_render(staff_client):
    """The change pages of a subscriber and a sent newsletter render."""
    subscriber = SubscriberFactory()
    newsletter = make_newsletter(PublicationFactory(), status=Newsletter.Status.SENT)
    assert (
        staff_client.get(reverse("admin:newsletter_subscriber_change", args=[subscriber.pk])).status_code
        == 200
    )
    assert (
        staff_client.get(reverse("admin:newsletter_newsletter_change", args=[newsletter.pk])).status_code
        == 200
    )
