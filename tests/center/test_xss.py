"""XSS: hostile titles, abstracts, names, references, tags and search terms are inert everywhere."""

from __future__ import annotations

import json
from http import HTTPStatus

import lxml.etree
import lxml.html
import pytest
from django.urls import reverse

from newsletter import tokens
from publications.models import Publication
from tests.center.public_urls import argument_value, public_routes
from tests.factories import (
    AuthorFactory,
    OrganizationFactory,
    PublicationFactory,
    ReferenceFactory,
    RegionFactory,
    SubscriberFactory,
    ThemeFactory,
)

pytestmark = pytest.mark.django_db

MARKER = "<script>x</script>"
# Closes a <script> (breaks out of JSON-LD), an attribute, a comment, and opens live markup.
HOSTILE = f"</script><!--\"'><img src=x onerror=alert(1)>{MARKER}"


@pytest.fixture
def hostile(db):
    """One published item whose every text field, relation and name is hostile."""
    theme = ThemeFactory(name=f"Theme {HOSTILE}")
    region = RegionFactory(name=f"Region {HOSTILE}")
    organization = OrganizationFactory(name=f"Org {HOSTILE}", city=HOSTILE, country=HOSTILE)
    author = AuthorFactory(
        given_name=f"Eve {HOSTILE}",
        family_name=f"Mallory {HOSTILE}",
        organization=organization,
        degree=HOSTILE,
        position=HOSTILE,
        department=HOSTILE,
        bio=HOSTILE,
    )
    publication = PublicationFactory(
        title=f"Title {HOSTILE}",
        subtitle=f"Subtitle {HOSTILE}",
        abstract=f"Abstract {HOSTILE}",
        kind=Publication.Kind.ARTICLE,
        container_title=f"Journal {HOSTILE}",
        copyright_holder=HOSTILE,
        authors=[author],
        themes=[theme],
        regions=[region],
        tags=[f"tag {HOSTILE}"],
    )
    ReferenceFactory(publication=publication, text=f"Reference {HOSTILE}")
    subscriber = SubscriberFactory(name=HOSTILE)
    return {
        "publication": publication.slug,
        "theme": theme.slug,
        "region": region.slug,
        "tag": publication.tags.first().slug,
        "author": author.slug,
        "kind": Publication.Kind.ARTICLE.value,
        "section": "publications",
        "confirm_token": tokens.make_token(subscriber, tokens.CONFIRM),
        "manage_token": tokens.make_token(subscriber, tokens.MANAGE),
        "object": publication,
        "author_object": author,
    }


def assert_html_inert(content: str) -> None:
    """No live marker; every script is a same-origin file, or JSON-LD that parses as JSON."""
    assert MARKER not in content
    assert "<img src=x onerror" not in content
    if not content.strip():
        return
    document = lxml.html.fromstring(content)
    for script in document.iter("script"):
        if script.get("src"):
            continue
        assert script.get("type") == "application/ld+json", lxml.html.tostring(script)[:200]
        json.loads(script.text)


def assert_fragment_inert(markup: str) -> None:
    """HTML a reader will render has no script element and no event-handler attribute."""
    for element in lxml.html.fragment_fromstring(markup, create_parent="div").iter():
        assert element.tag != "script", markup[:200]
        assert not any(name.lower().startswith("on") for name in element.attrib), markup[:200]


def assert_feed_inert(content: bytes) -> None:
    """Feed fields that readers render as HTML (item descriptions, Atom type="html") stay inert."""
    assert MARKER.encode() not in content
    root = lxml.etree.fromstring(content)
    for element in root.iter():
        if not isinstance(element.tag, str) or not element.text:
            continue
        local = lxml.etree.QName(element).localname
        parent = element.getparent()
        in_item = parent is not None and lxml.etree.QName(parent).localname == "item"
        if (local == "description" and in_item) or element.get("type") in ("html", "xhtml"):
            assert_fragment_inert(element.text)


ROUTES = public_routes()


@pytest.mark.parametrize(("route", "name", "arguments"), ROUTES, ids=[name for _, name, _ in ROUTES])
def test_hostile_content_inert_on_public_url(route, name, arguments, hostile, client):
    """Every public URL showing the hostile item renders it inert (HTML, XML and feeds)."""
    url = reverse(name, kwargs={arg: argument_value(route, name, arg, hostile) for arg in arguments})
    response = client.get(url)
    assert response.status_code < 500
    content_type = response.get("Content-Type", "")
    if response.streaming:
        return
    if content_type.startswith("text/html"):
        assert_html_inert(response.content.decode())
    elif "rss" in content_type or "atom" in content_type:
        assert_feed_inert(response.content)
    elif "xml" in content_type:
        assert MARKER.encode() not in response.content


def test_hostile_detail_page_shows_title_escaped(hostile, client):
    """The detail page shows the hostile title as text (escaped), not as markup."""
    response = client.get(hostile["object"].get_absolute_url())
    assert response.status_code == HTTPStatus.OK
    assert "Title &lt;/script&gt;" in response.content.decode()


def test_hostile_search_term_escaped(hostile, client):
    """A hostile search term is echoed escaped on the search page."""
    response = client.get(reverse("search"), {"q": HOSTILE})
    assert response.status_code == HTTPStatus.OK
    assert_html_inert(response.content.decode())


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:publications_publication_changelist",
        "admin:publications_publication_change",
        "admin:authors_author_changelist",
        "admin:authors_author_change",
        "admin:authors_organization_changelist",
        "admin:publications_theme_changelist",
        "admin:newsletter_subscriber_changelist",
        "admin:taggit_tag_changelist",
    ],
)
def test_hostile_content_inert_in_admin(url_name, hostile, staff_client):
    """The admin's lists and forms show hostile content escaped."""
    args = []
    if url_name.endswith("publication_change"):
        args = [hostile["object"].pk]
    elif url_name.endswith("author_change"):
        args = [hostile["author_object"].pk]
    response = staff_client.get(reverse(url_name, args=args))
    assert response.status_code == HTTPStatus.OK
    content = response.content.decode()
    assert MARKER not in content
    assert "<img src=x onerror" not in content


def test_hostile_content_inert_in_newsletter_email(hostile, settings):
    """A newsletter listing the hostile item (and a hostile intro) renders it inert in the HTML part."""
    from django.core import mail

    from newsletter.models import Newsletter
    from newsletter.services import newsletter_send

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    SubscriberFactory(email="reader@example.org")
    newsletter = Newsletter.objects.create(subject=f"Issue {HOSTILE}", intro=f"Intro {HOSTILE}")
    newsletter.publications.set([hostile["object"]])
    newsletter_send(newsletter=newsletter)
    assert mail.outbox
    for message in mail.outbox:
        html = next(content for content, kind in message.alternatives if kind == "text/html")
        assert "Title &lt;/script&gt;" in html
        assert_html_inert(html)
