"""What reaches the database from rich-text and plain-text fields is safe."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse

from publications.sanitize import sanitize_html
from publications.services import publication_save
from tests.factories import PublicationFactory
from tests.publications.admin_post import changeform_data

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<p style="background:url(javascript:alert(1))" onmouseover="alert(1)">x</p>',
    '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="x">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<object data=\"javascript:alert(1)\"></object><embed src='javascript:alert(1)'>",
    '<a href="vbscript:msgbox(1)">v</a>',
    '"><script>alert(document.cookie)</script>',
]
FORBIDDEN = [
    "<script",
    "onerror",
    "onload",
    "onmouseover",
    "javascript:",
    "vbscript:",
    "<iframe",
    "<svg",
    "style=",
    "data:",
    "<form",
    "<object",
    "<embed",
]


def assert_safe(html: str) -> None:
    lowered = html.lower()
    for marker in FORBIDDEN:
        assert marker not in lowered, (marker, html)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_sanitize_html_removes_payload(payload):
    """Each XSS payload loses every executable part."""
    assert_safe(sanitize_html(payload))


def test_sanitize_html_keeps_whitelisted_markup():
    """Headings, lists, links, emphasis, quotes, tables and figures survive."""
    html = (
        "<h2>Findings</h2><h3>Trade</h3><h4>Ports</h4><p><strong>Bold</strong> and <em>italic</em></p>"
        "<ul><li>One</li></ul><ol><li>Two</li></ol><blockquote><p>Quote</p></blockquote>"
        '<p><a href="https://example.org/">web</a> <a href="mailto:a@example.org">mail</a></p>'
        "<table><thead><tr><th>Year</th></tr></thead><tbody><tr><td>2024</td></tr></tbody></table>"
        '<figure><img src="/media/publications/figures/chart.png" alt="Chart">'
        "<figcaption>Chart</figcaption></figure>"
    )
    cleaned = sanitize_html(html)
    for fragment in (
        "<h2>",
        "<h3>",
        "<h4>",
        "<strong>",
        "<em>",
        "<ul>",
        "<ol>",
        "<blockquote>",
        "<table>",
        "<th>",
        "<td>",
        "<figure>",
        "<figcaption>",
        'href="https://example.org/"',
        'href="mailto:a@example.org"',
        'src="/media/publications/figures/chart.png"',
        'alt="Chart"',
    ):
        assert fragment in cleaned, fragment


def test_sanitize_html_drops_h1_tag():
    """Headings are limited to h2-h4 (the page title is the h1)."""
    assert "<h1>" not in sanitize_html("<h1>Title</h1>")


@pytest.mark.django_db
def test_service_sanitizes_body(staff_user):
    """A body saved through the service is sanitized, whatever the caller."""
    publication = PublicationFactory()
    publication.body = '<p onclick="x()">Hi</p><script>alert(1)</script>'
    publication_save(publication=publication, user=staff_user, expected_version=1)
    publication.refresh_from_db()
    assert publication.body == "<p>Hi</p>"


@pytest.mark.django_db
@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_admin_body_payload_stored_safe(staff_client, payload):
    """An XSS payload typed into the body through the admin is stored harmless."""
    publication = PublicationFactory()
    url = reverse("admin:publications_publication_change", args=[publication.pk])
    data = changeform_data(staff_client.get(url), body=f"<p>Intro</p>{payload}")
    assert staff_client.post(url, data).status_code == HTTPStatus.FOUND
    publication.refresh_from_db()
    assert_safe(publication.body)
    assert "<p>Intro</p>" in publication.body


@pytest.mark.django_db
@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_admin_abstract_payload_stored_as_text(staff_client, payload):
    """The abstract is plain text: no markup from a payload is stored."""
    publication = PublicationFactory()
    url = reverse("admin:publications_publication_change", args=[publication.pk])
    data = changeform_data(staff_client.get(url), abstract=f"Summary. {payload}")
    assert staff_client.post(url, data).status_code == HTTPStatus.FOUND
    publication.refresh_from_db()
    assert "<" not in publication.abstract.replace("<3", "")
    assert publication.abstract.startswith("Summary.")


@pytest.mark.django_db
@pytest.mark.parametrize("payload", XSS_PAYLOADS[:4])
def test_admin_author_bio_payload_stored_as_text(staff_client, payload):
    """An author's bio keeps no markup."""
    from tests.factories import AuthorFactory

    author = AuthorFactory()
    url = reverse("admin:authors_author_change", args=[author.pk])
    data = changeform_data(staff_client.get(url), bio=f"Economist. {payload}")
    assert staff_client.post(url, data).status_code == HTTPStatus.FOUND
    author.refresh_from_db()
    assert "<" not in author.bio
