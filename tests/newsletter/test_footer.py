"""The subscribe form in the footer of every page: email, optional name and topics, consent."""

from __future__ import annotations

from http import HTTPStatus

import html5lib
import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from newsletter.models import Subscriber
from tests.factories import RegionFactory, ThemeFactory
from tests.html_checks import assert_valid_page
from tests.newsletter.conftest import subscribe

pytestmark = pytest.mark.django_db


def footer_form(content: bytes):
    """The footer's subscribe form element of a page."""
    document = html5lib.HTMLParser(namespaceHTMLElements=False).parse(content)
    [form] = [form for form in document.iter("form") if form.get("data-newsletter-form") is not None]
    return form


def test_footer_offers_name_and_folded_topics(client):
    """The footer has an optional name, and themes and regions in a closed <details>, one fieldset each."""
    ThemeFactory(name="Energy")
    RegionFactory(name="Central Asia")
    response = client.get(reverse("home"))
    form = footer_form(response.content)
    assert form.find(".//input[@name='name']") is not None
    details = form.find(".//details")
    assert details.get("open") is None
    assert "Choose topics" in details.find("summary").text
    legends = [fieldset.find("legend").text for fieldset in details.iter("fieldset")]
    assert legends == ["Themes", "Regions"]
    labels = {label.get("for"): label.text for label in form.iter("label")}
    boxes = {box.get("name"): labels[box.get("id")] for box in details.iter("input")}
    assert boxes == {"themes": "Energy", "regions": "Central Asia"}


def test_footer_page_stays_valid_and_labelled(client):
    """With topics in the footer the page is still valid HTML, every control labelled, ids unique."""
    ThemeFactory.create_batch(3)
    RegionFactory.create_batch(2)
    assert_valid_page(client.get(reverse("home")).content)


def test_footer_topics_posted_are_stored(client):
    """Ticking topics in the footer form subscribes with those topics and the name."""
    energy, _ = ThemeFactory(name="Energy"), ThemeFactory(name="Security")
    asia = RegionFactory(name="Central Asia")
    form = footer_form(client.get(reverse("home")).content)
    labels = {label.get("for"): label.text for label in form.iter("label")}
    chosen = {"themes": [], "regions": []}
    for box in form.find(".//details").iter("input"):
        if labels[box.get("id")] in ("Energy", "Central Asia"):
            chosen[box.get("name")].append(box.get("value"))
    response = subscribe(client, form="footer", name="Maria", **chosen)
    assert response.status_code == HTTPStatus.FOUND
    subscriber = Subscriber.objects.get()
    assert subscriber.name == "Maria"
    assert list(subscriber.themes.all()) == [energy]
    assert list(subscriber.regions.all()) == [asia]
    assert subscriber.consent_form == "footer"


def test_footer_without_topics_chosen_means_everything(client):
    """Leaving the topics folded subscribes to everything (no themes, no regions)."""
    ThemeFactory()
    subscribe(client, form="footer")
    subscriber = Subscriber.objects.get()
    assert not subscriber.themes.exists() and not subscriber.regions.exists()


@pytest.mark.parametrize("count", [1, 15])
def test_footer_topics_constant_queries_when_cold(rf, django_assert_max_num_queries, count):
    """With a cold cache the footer costs two queries (version, lists) however many topics exist."""
    ThemeFactory.create_batch(count)
    RegionFactory.create_batch(count)
    from django.core.cache import cache

    cache.clear()
    with django_assert_max_num_queries(2):
        html = render_to_string("newsletter/includes/subscribe_form.html", request=rf.get("/"))
    assert html.count('name="themes"') == count


def test_footer_topics_follow_content_changes(rf):
    """A theme added after the lists were cached appears in the footer at once."""
    ThemeFactory(name="Energy")
    render_to_string("newsletter/includes/subscribe_form.html", request=rf.get("/"))
    ThemeFactory(name="Water")
    html = render_to_string("newsletter/includes/subscribe_form.html", request=rf.get("/"))
    assert "Water" in html


def test_subscribe_page_footer_leaves_topics_to_the_page(client):
    """On /newsletter/ the topics appear once, in the page's form; the footer keeps email and name."""
    ThemeFactory.create_batch(2)
    response = client.get(reverse("newsletter:index"))
    form = footer_form(response.content)
    assert form.find(".//details") is None
    assert form.find(".//input[@name='name']") is not None
    assert response.text.count('name="themes"') == 2


def test_no_csrf_retry_keeps_name_and_topics():
    """A footer post without CSRF token (no JavaScript) re-shows the form with name and topics kept."""
    theme = ThemeFactory()
    client = Client(enforce_csrf_checks=True)
    response = subscribe(client, "reader@example.org", form="footer", name="Maria", themes=[theme.pk])
    assert response.status_code == HTTPStatus.OK
    assert 'value="Maria"' in response.text
    document = html5lib.HTMLParser(namespaceHTMLElements=False).parse(response.content)
    checked = [box.get("value") for box in document.iter("input") if box.get("checked") is not None]
    assert str(theme.pk) in checked
    assert not Subscriber.objects.exists()


def test_manage_page_footer_leaves_topics_to_the_page(client):
    """The preferences page has its own topic choices; the footer does not repeat them."""
    from tests.factories import SubscriberFactory
    from tests.newsletter.test_links import manage_path

    ThemeFactory.create_batch(2)
    response = client.get(manage_path(SubscriberFactory()))
    assert footer_form(response.content).find(".//details") is None
    assert response.text.count('name="themes"') == 2


def test_footer_topic_names_are_escaped(client):
    """A theme or region name with markup in it is shown as text in the footer, never as markup."""
    ThemeFactory(name='<b onclick="x()">R&D</b>')
    RegionFactory(name="Asia & <i>Pacific</i>")
    form = footer_form(client.get(reverse("home")).content)
    labels = [label.text for label in form.find(".//details").iter("label")]
    assert labels == ['<b onclick="x()">R&D</b>', "Asia & <i>Pacific</i>"]
    assert form.find(".//details").find(".//b") is None and form.find(".//details").find(".//i") is None
