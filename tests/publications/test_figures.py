"""Figures of the rich-text body: upload in the admin, placement with [figure N], the public page."""

from __future__ import annotations

import io
import json
from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from center import caching
from center.backup import site_export
from publications.body import render_body
from publications.models import Figure, Publication
from publications.sanitize import sanitize_html
from tests.factories import PublicationFactory
from tests.publications.admin_post import changeform_data

pytestmark = pytest.mark.django_db


def image_bytes(size=(400, 300), image_format="PNG") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, "#336699").save(output, format=image_format)
    return output.getvalue()


def make_figure(publication, position: int, size=(400, 300)) -> Figure:
    figure = Figure(
        publication=publication,
        position=position,
        alt_text=f"Chart {position} of gas exports",
        caption=f"Exports by year, part {position}.",
        width=size[0],
        height=size[1],
    )
    figure.image.save(f"chart-{position}.png", ContentFile(image_bytes(size)), save=False)
    figure.save()
    return figure


def change_url(publication) -> str:
    return reverse("admin:publications_publication_change", args=[publication.pk])


def post_figure(client, publication, upload, **fields):
    """The change form posted with one new figure row."""
    data = changeform_data(client.get(change_url(publication)))
    row = int(data["figures-TOTAL_FORMS"])
    data.update(
        {
            "figures-TOTAL_FORMS": str(row + 1),
            f"figures-{row}-position": fields.get("position", "1"),
            f"figures-{row}-image": upload,
            f"figures-{row}-alt_text": fields.get("alt_text", "A bar chart of gas exports"),
            f"figures-{row}-caption": fields.get("caption", "Gas exports, 2010–2020."),
        }
    )
    return client.post(change_url(publication), data)


def figure_errors(response) -> str:
    formsets = response.context["inline_admin_formsets"]
    inline = next(formset for formset in formsets if formset.formset.prefix == "figures")
    return " ".join(
        [str(error) for form in inline.formset.forms for error in form.errors.values()]
        + [str(error) for error in inline.formset.non_form_errors()]
    )


def stored_figures(settings) -> list:
    root = settings.MEDIA_ROOT / "publications" / "figures"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# Upload --------------------------------------------------------------------------------------


def test_upload_figure_stored_and_scaled(editor_client, settings):
    """A real image is stored through the storage API, scaled down to COVER_MAX_DIMENSION, sized."""
    publication = PublicationFactory()
    upload = SimpleUploadedFile("exports.jpg", image_bytes((2400, 1200), "JPEG"), content_type="image/jpeg")
    response = post_figure(editor_client, publication, upload)
    assert response.status_code == HTTPStatus.FOUND
    figure = publication.figures.get()
    assert (figure.width, figure.height) == (1600, 800)
    assert figure.alt_text == "A bar chart of gas exports"
    with Image.open(figure.image.path) as stored:
        assert stored.size == (1600, 800)
    assert len(stored_figures(settings)) == 1


def test_upload_fake_image_refused(editor_client, settings):
    """Text bytes in a file named .png are refused and nothing is stored."""
    publication = PublicationFactory()
    upload = SimpleUploadedFile("chart.png", b"not an image at all", content_type="image/png")
    response = post_figure(editor_client, publication, upload)
    assert response.status_code == HTTPStatus.OK
    assert "image" in figure_errors(response).lower()
    assert not publication.figures.exists()
    assert stored_figures(settings) == []


def test_upload_renamed_pdf_refused(editor_client, settings):
    """A PDF renamed to .jpg is not an image."""
    from tests.factories import small_pdf

    publication = PublicationFactory()
    upload = SimpleUploadedFile("chart.jpg", small_pdf(), content_type="image/jpeg")
    response = post_figure(editor_client, publication, upload)
    assert "image" in figure_errors(response).lower()
    assert not publication.figures.exists()


def test_upload_oversized_file_refused(editor_client, settings):
    """A file over COVER_MAX_UPLOAD_SIZE is refused."""
    settings.COVER_MAX_UPLOAD_SIZE = 1000
    publication = PublicationFactory()
    upload = SimpleUploadedFile("big.png", image_bytes((600, 600)) + b"\0" * 2000, content_type="image/png")
    response = post_figure(editor_client, publication, upload)
    assert "too large" in figure_errors(response)
    assert not publication.figures.exists()


def test_upload_too_many_pixels_refused(editor_client, settings):
    """An image over COVER_MAX_PIXELS is refused, however small the file."""
    settings.COVER_MAX_PIXELS = 100 * 100
    publication = PublicationFactory()
    upload = SimpleUploadedFile("wide.png", image_bytes((300, 300)), content_type="image/png")
    response = post_figure(editor_client, publication, upload)
    assert "300 × 300 pixels" in figure_errors(response)
    assert not publication.figures.exists()


def test_upload_without_alt_text_refused(editor_client):
    """Alternative text is required."""
    publication = PublicationFactory()
    upload = SimpleUploadedFile("chart.png", image_bytes(), content_type="image/png")
    response = post_figure(editor_client, publication, upload, alt_text="  ")
    assert response.status_code == HTTPStatus.OK
    assert not publication.figures.exists()


def test_two_figures_with_one_number_refused(editor_client):
    """Two figures cannot share a number: [figure N] must name one."""
    publication = PublicationFactory()
    make_figure(publication, 1)
    upload = SimpleUploadedFile("chart.png", image_bytes(), content_type="image/png")
    response = post_figure(editor_client, publication, upload, position="1")
    assert "Two figures have the number 1" in figure_errors(response)
    assert publication.figures.count() == 1


def test_change_form_shows_shortcode(editor_client):
    """The admin shows each saved figure's thumbnail and the code that places it."""
    publication = PublicationFactory()
    make_figure(publication, 2)
    content = editor_client.get(change_url(publication)).content.decode()
    assert "<code>[figure 2]</code>" in content


def test_contributor_adds_figure_to_own_draft(contributor):
    """Contributors may add figures to their own drafts (the role has the figure permissions)."""
    publication = PublicationFactory(
        created_by=contributor, status=Publication.Status.DRAFT, published_at=None
    )
    client = Client()
    client.force_login(contributor)
    upload = SimpleUploadedFile("chart.png", image_bytes(), content_type="image/png")
    response = post_figure(client, publication, upload)
    assert response.status_code == HTTPStatus.FOUND
    assert publication.figures.count() == 1


def test_figure_admin_is_read_only(editor_client):
    """The figure list finds figures; changing them happens in their publication's form."""
    figure = make_figure(PublicationFactory(), 1)
    response = editor_client.get(reverse("admin:publications_figure_changelist"))
    assert response.status_code == HTTPStatus.OK
    assert "Chart 1 of gas exports" in response.content.decode()
    change = editor_client.post(
        reverse("admin:publications_figure_change", args=[figure.pk]), {"alt_text": "Changed"}
    )
    assert change.status_code == HTTPStatus.FORBIDDEN
    figure.refresh_from_db()
    assert figure.alt_text == "Chart 1 of gas exports"


# The public page ---------------------------------------------------------------------------


def test_figure_on_public_page(client):
    """[figure 1] becomes a figure with its image, alt text, size, lazy loading and caption."""
    publication = PublicationFactory(body="<p>Before.</p>\n<p>[figure 1]</p>\n<p>After.</p>")
    figure = make_figure(publication, 1)
    content = client.get(publication.get_absolute_url()).content.decode()
    assert (
        f'<figure class="body-figure" id="figure-1"><img src="{figure.image.url}"'
        ' alt="Chart 1 of gas exports" width="400" height="300" loading="lazy" decoding="async">'
    ) in content
    assert '<span class="figure-label">Figure 1.</span> Exports by year, part 1.</figcaption>' in content
    assert "[figure 1]" not in content


def test_unknown_figure_shortcode_dropped(client):
    """A shortcode naming no figure of this publication shows nothing."""
    other = PublicationFactory()
    make_figure(other, 3)
    publication = PublicationFactory(body="<p>Text.</p><p>[figure 3]</p>")
    content = client.get(publication.get_absolute_url()).content.decode()
    assert "[figure 3]" not in content
    assert "<figure" not in content


def test_figure_alt_text_escaped(client):
    """Alt text and caption are text: markup in them is shown escaped."""
    publication = PublicationFactory(body="[figure 1]")
    figure = make_figure(publication, 1)
    Figure.objects.filter(pk=figure.pk).update(alt_text='x" onerror="alert(1)', caption="<script>x</script>")
    content = client.get(publication.get_absolute_url()).content.decode()
    assert 'onerror="alert(1)"' not in content
    assert "&lt;script&gt;x&lt;/script&gt;" in content


def count_queries(client, url: str) -> int:
    cache.clear()
    caching.reset()
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == HTTPStatus.OK
    return len(context.captured_queries)


def test_publication_page_queries_constant_with_figures(client, settings):
    """One figure or six: the page runs the same number of queries."""
    settings.PAGE_CACHE_SECONDS = 0
    few = PublicationFactory(body="[figure 1]")
    make_figure(few, 1)
    many = PublicationFactory(body="".join(f"<p>[figure {n}]</p>" for n in range(1, 7)))
    for n in range(1, 7):
        make_figure(many, n)
    assert count_queries(client, many.get_absolute_url()) == count_queries(client, few.get_absolute_url())
    assert client.get(many.get_absolute_url()).content.decode().count('loading="lazy"') >= 6


# The sanitizer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "https://evil.example/tracker.png",
        "//evil.example/media/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "/static/../media/x.png",
        "/admin/logout/",
        "media/relative.png",
    ],
)
def test_sanitizer_strips_foreign_images(source):
    """Images from anywhere but our media files are removed before saving."""
    cleaned = sanitize_html(
        f'<p>Text</p><figure><img src="{source}" alt="x"><figcaption>c</figcaption></figure>'
    )
    assert "<img" not in cleaned
    assert "<p>Text</p>" in cleaned


def test_sanitizer_keeps_own_media_images(settings):
    """An image from MEDIA_URL stays, as a path, also when written with the site's own origin."""
    settings.SITE_URL = "https://policy.example.org"
    cleaned = sanitize_html(
        '<img src="/media/publications/figures/2026/a.png" alt="A">'
        '<img src="https://policy.example.org/media/publications/figures/2026/b.png" alt="B">'
    )
    assert cleaned == (
        '<img src="/media/publications/figures/2026/a.png" alt="A">'
        '<img src="/media/publications/figures/2026/b.png" alt="B">'
    )


def test_render_body_drops_foreign_images_stored_earlier():
    """A body saved before the rule (or imported) still shows no foreign image."""
    html, _ = render_body('<p>x</p><img src="https://evil.example/a.png"><img src="/media/a.png" alt="A">')
    assert "evil.example" not in html
    assert '<img src="/media/a.png" alt="A" loading="lazy">' in html


def test_admin_save_strips_foreign_image(editor_client):
    """Through the admin, a pasted external image never reaches the database."""
    publication = PublicationFactory()
    data = changeform_data(
        editor_client.get(change_url(publication)),
        body='<p>Chart:</p><img src="https://evil.example/chart.png" alt="chart">',
    )
    editor_client.post(change_url(publication), data)
    publication.refresh_from_db()
    assert publication.body == "<p>Chart:</p>"


# History and backups -------------------------------------------------------------------------


def test_figures_in_history_and_restored(editor_client):
    """A deleted figure shows in the history and comes back (same file) when an old version is restored."""
    publication = PublicationFactory(body="[figure 1]")
    figure = make_figure(publication, 1)
    editor_client.post(change_url(publication), changeform_data(editor_client.get(change_url(publication))))
    with_figure = publication.history.first()
    data = changeform_data(editor_client.get(change_url(publication)))
    data["figures-0-DELETE"] = "on"
    editor_client.post(change_url(publication), data)
    assert not publication.figures.exists()
    latest = editor_client.get(
        reverse("admin:publications_publication_history", args=[publication.pk])
    ).context["page_obj"][0]
    assert {change["field"] for change in latest.history_delta_changes} == {"Figures"}
    url = reverse(
        "admin:publications_publication_simple_history", args=[publication.pk, with_figure.history_id]
    )
    response = editor_client.post(url, changeform_data(editor_client.get(url)))
    assert response.status_code == HTTPStatus.FOUND
    restored = publication.figures.get()
    assert (restored.position, restored.image.name) == (1, figure.image.name)
    assert restored.alt_text == figure.alt_text


def test_backup_includes_figures(tmp_path):
    """export_site keeps the figure rows and their image files."""
    figure = make_figure(PublicationFactory(), 1)
    site_export(target=tmp_path / "backup")
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["objects"]["publications.figure"] == 1
    assert figure.image.name in manifest["media"]
    assert (tmp_path / "backup" / "media" / figure.image.name).read_bytes() == figure.image.read()
