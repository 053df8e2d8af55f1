"""PDF and cover image uploads through the publication form, and PDF thumbnails."""

from __future__ import annotations

import io
from http import HTTPStatus

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfWriter

from publications.demo_pdf import build_pdf
from publications.models import Publication
from publications.tasks import generate_pdf_thumbnail
from tests.factories import PublicationFactory
from tests.publications.admin_post import changeform_data

pytestmark = pytest.mark.django_db


def valid_pdf() -> bytes:
    return build_pdf("Energy Corridors of the Caspian", ["Pipelines and politics around the Caspian Sea."])


def encrypted_pdf() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(valid_pdf()))
    writer.encrypt(user_password="secret", owner_password="owner")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def image_bytes(size=(2400, 1200), image_format="JPEG") -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, "#336699").save(output, format=image_format)
    return output.getvalue()


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def upload(client, publication, **files):
    url = reverse("admin:publications_publication_change", args=[publication.pk])
    data = changeform_data(client.get(url), **files)
    return client.post(url, data)


def form_error(response, field: str) -> str:
    return " ".join(response.context["adminform"].form.errors.get(field, []))


def test_valid_pdf_stored_and_thumbnailed(staff_client, settings, django_capture_on_commit_callbacks):
    """A real PDF is stored and its first page becomes the thumbnail."""
    publication = PublicationFactory()
    pdf = SimpleUploadedFile("caspian.pdf", valid_pdf(), content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(staff_client, publication, pdf=pdf)
    assert response.status_code == HTTPStatus.FOUND
    publication.refresh_from_db()
    assert publication.pdf.name.endswith(".pdf")
    assert publication.pdf_thumbnail.name.endswith(".png")
    with publication.pdf_thumbnail.open("rb") as thumb, Image.open(thumb) as image:
        assert image.width == 400
        assert image.height > image.width


@pytest.mark.parametrize(
    ("name", "content", "content_type", "message"),
    [
        ("report.pdf", b"Just some text pretending to be a PDF", "application/pdf", "not a PDF"),
        ("report.docx", None, "application/pdf", ".pdf extension"),
        ("report.pdf", None, "text/plain", "not as a PDF"),
        ("photo.pdf", "jpeg", "application/pdf", "not a PDF"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj garbage without structure", "application/pdf", "damaged"),
        ("locked.pdf", "encrypted", "application/pdf", "encrypted"),
    ],
    ids=["fake", "renamed-extension", "wrong-content-type", "renamed-image", "broken", "encrypted"],
)
def test_bad_pdf_refused_and_not_stored(staff_client, settings, name, content, content_type, message):
    """A fake, renamed, broken or encrypted PDF gets a clear form error and nothing is stored."""
    if content is None:
        content = valid_pdf()
    elif content == "jpeg":
        content = image_bytes((50, 50))
    elif content == "encrypted":
        content = encrypted_pdf()
    publication = PublicationFactory()
    response = upload(
        staff_client, publication, pdf=SimpleUploadedFile(name, content, content_type=content_type)
    )
    assert response.status_code == HTTPStatus.OK
    assert message in form_error(response, "pdf")
    publication.refresh_from_db()
    assert not publication.pdf
    assert stored_files(settings) == []


def test_oversized_pdf_refused(staff_client, settings):
    """A PDF above PDF_MAX_UPLOAD_SIZE is refused with the limit in the message."""
    settings.PDF_MAX_UPLOAD_SIZE = 1024
    publication = PublicationFactory()
    pdf = SimpleUploadedFile("big.pdf", valid_pdf() + b"%" * 2048, content_type="application/pdf")
    response = upload(staff_client, publication, pdf=pdf)
    assert "too large" in form_error(response, "pdf")
    assert "1.0\xa0KB" in form_error(response, "pdf")
    assert stored_files(settings) == []


def test_cover_image_resized(staff_client, settings):
    """A large cover image is scaled down to COVER_MAX_DIMENSION."""
    settings.COVER_MAX_DIMENSION = 800
    publication = PublicationFactory()
    cover = SimpleUploadedFile("cover.jpg", image_bytes((2400, 1200)), content_type="image/jpeg")
    assert upload(staff_client, publication, cover_image=cover).status_code == HTTPStatus.FOUND
    publication.refresh_from_db()
    with publication.cover_image.open("rb") as stored, Image.open(stored) as image:
        assert image.size == (800, 400)


def test_cover_fake_image_refused(staff_client, settings):
    """A file named .jpg that is not an image is refused and not stored."""
    publication = PublicationFactory()
    cover = SimpleUploadedFile("cover.jpg", b"<html>not an image</html>", content_type="image/jpeg")
    response = upload(staff_client, publication, cover_image=cover)
    assert response.status_code == HTTPStatus.OK
    assert form_error(response, "cover_image")
    assert stored_files(settings) == []


def test_cover_too_many_pixels_refused(staff_client, settings):
    """An image above COVER_MAX_PIXELS is refused."""
    settings.COVER_MAX_PIXELS = 100 * 100
    publication = PublicationFactory()
    cover = SimpleUploadedFile("cover.png", image_bytes((200, 200), "PNG"), content_type="image/png")
    response = upload(staff_client, publication, cover_image=cover)
    assert "too large" in form_error(response, "cover_image")


def test_thumbnail_of_broken_pdf_is_placeholder(settings):
    """A stored PDF that cannot be rendered gets a placeholder thumbnail, not an error."""
    publication = PublicationFactory()
    publication.pdf.save("broken.pdf", ContentFile(b"%PDF-1.4 not really"), save=True)
    generate_pdf_thumbnail.call(publication.pk)
    publication.refresh_from_db()
    assert publication.pdf_thumbnail
    with publication.pdf_thumbnail.open("rb") as thumb, Image.open(thumb) as image:
        assert image.width == 400


def test_thumbnail_without_pdf_does_nothing():
    """The task leaves a publication without PDF alone."""
    publication = PublicationFactory()
    assert generate_pdf_thumbnail.call(publication.pk) == ""
    assert not Publication.objects.get(pk=publication.pk).pdf_thumbnail


def test_thumbnail_shown_in_changelist(staff_client):
    """The change list shows the PDF thumbnail."""
    publication = PublicationFactory()
    publication.pdf.save("caspian.pdf", ContentFile(valid_pdf()), save=True)
    generate_pdf_thumbnail.call(publication.pk)
    publication.refresh_from_db()
    response = staff_client.get(reverse("admin:publications_publication_changelist"))
    assert publication.pdf_thumbnail.url in response.content.decode()


@pytest.mark.parametrize(
    ("environment", "backend"),
    [
        ({}, "center.storage.MediaStorage"),
        (
            {"AWS_STORAGE_BUCKET_NAME": "center-media", "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000"},
            "storages.backends.s3.S3Storage",
        ),
    ],
    ids=["local", "s3"],
)
def test_storage_backend_from_environment(environment, backend):
    """Uploads go to MEDIA_ROOT by default and to S3-compatible storage when a bucket is set."""
    import os
    import subprocess
    import sys

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(environment, DJANGO_DEBUG="1", DJANGO_SETTINGS_MODULE="center.settings")
    code = (
        "import django; django.setup();"
        "from django.conf import settings; from django.core.files.storage import storages;"
        "default_storage = storages['default'];"
        "print(settings.STORAGES['default']['BACKEND']);"
        "print(type(default_storage).__module__ + '.' + type(default_storage).__name__);"
        "print(getattr(default_storage, 'endpoint_url', ''))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=settings_dir()
    )
    configured, instance, endpoint = result.stdout.splitlines()
    assert configured == backend
    assert instance.rsplit(".", 1)[1] == backend.rsplit(".", 1)[1]
    assert endpoint == environment.get("AWS_S3_ENDPOINT_URL", "")


def settings_dir() -> str:
    from django.conf import settings

    return str(settings.BASE_DIR)
