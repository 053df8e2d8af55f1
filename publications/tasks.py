"""Background work on publications (django-tasks)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from django.core.files.base import ContentFile
from django_tasks import task

from publications import search
from publications.models import Publication

logger = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 400
MAX_PDF_PAGES = 2000
MAX_PDF_TEXT = 2_000_000


def render_pdf_first_page(data: bytes, *, width: int = THUMBNAIL_WIDTH) -> bytes:
    """The first page of a PDF as a PNG ``width`` pixels wide (pypdfium2)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        page = document[0]
        scale = width / page.get_width()
        image = page.render(scale=scale).to_pil()
        page.close()
    finally:
        document.close()
    if image.width != width:  # rendering rounds the page size
        image = image.resize((width, round(image.height * width / image.width)))
    output = io.BytesIO()
    image.convert("RGB").save(output, format="PNG", optimize=True)
    return output.getvalue()


def placeholder_thumbnail(*, width: int = THUMBNAIL_WIDTH) -> bytes:
    """A plain page-shaped picture for PDFs that cannot be rendered."""
    from PIL import Image, ImageDraw

    height = round(width * 1.414)
    image = Image.new("RGB", (width, height), "#eef0f3")
    draw = ImageDraw.Draw(image)
    draw.rectangle([(0, 0), (width - 1, height - 1)], outline="#b8bec7", width=3)
    for line in range(8):
        top = height // 4 + line * height // 16
        draw.rectangle([(width // 8, top), (width * 7 // 8, top + height // 60)], fill="#d3d7dd")
    draw.text((width // 8, height // 8), "PDF", fill="#6b7380")
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


@task()
def generate_pdf_thumbnail(publication_id: int) -> str:
    """Render the first page of a publication's PDF into ``pdf_thumbnail``.

    A PDF that cannot be read gets a placeholder picture; this task never fails on
    a bad file. Files are read and written through the storage API (local or S3).
    """
    publication = (
        Publication.objects.filter(pk=publication_id).only("pk", "slug", "pdf", "pdf_thumbnail").first()
    )
    if publication is None or not publication.pdf:
        return ""
    try:
        with publication.pdf.open("rb") as pdf:
            png = render_pdf_first_page(pdf.read())
    except Exception:  # noqa: BLE001 - any broken or unreadable PDF gets the placeholder
        logger.warning("PDF thumbnail failed for publication %s; using a placeholder", publication_id)
        png = placeholder_thumbnail()
    old_name = publication.pdf_thumbnail.name
    publication.pdf_thumbnail.save(f"{Path(publication.pdf.name).stem}.png", ContentFile(png), save=False)
    # A plain update: no new version, no history entry for a derived file.
    Publication.objects.filter(pk=publication_id).update(pdf_thumbnail=publication.pdf_thumbnail.name)
    if old_name and old_name != publication.pdf_thumbnail.name:
        publication.pdf_thumbnail.storage.delete(old_name)
    return publication.pdf_thumbnail.name


def read_pdf_text(file) -> tuple[str, str]:
    """The text of a PDF file and the resulting ``PdfTextStatus``; never raises on a bad file."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(file)
        parts, size = [], 0
        for page in reader.pages[:MAX_PDF_PAGES]:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size > MAX_PDF_TEXT:
                break
    except Exception:
        logger.warning("Could not read PDF %s", getattr(file, "name", file), exc_info=True)
        return "", Publication.PdfTextStatus.BROKEN
    text = search.clean_text("\n".join(parts))[:MAX_PDF_TEXT]
    if not text.strip():
        return "", Publication.PdfTextStatus.NO_TEXT
    return text, Publication.PdfTextStatus.EXTRACTED


@task()
def extract_pdf_text(publication_id: int) -> str:
    """Extract a publication's PDF text for search; a broken or image-only PDF is recorded as such."""
    publication = Publication.objects.filter(pk=publication_id).only("pk", "pdf").first()
    if publication is None or not publication.pdf:
        return "gone"
    try:
        with publication.pdf.open("rb") as handle:
            text, status = read_pdf_text(handle)
    except OSError:
        logger.warning("PDF file of publication %s is missing", publication_id, exc_info=True)
        text, status = "", Publication.PdfTextStatus.BROKEN
    # Only if the PDF was not replaced meanwhile (its own task will run).
    updated = Publication.objects.filter(pk=publication_id, pdf=publication.pdf.name).update(
        pdf_text=text, pdf_text_status=status
    )
    if updated:
        search.index_publications([publication_id])
    return str(status)
