"""Checks on uploaded files, run by the publication form before anything is stored.

A PDF must have the .pdf extension and a PDF content type, start with the PDF magic
bytes, open with pypdf, not be encrypted and fit ``settings.PDF_MAX_UPLOAD_SIZE``.
A cover image must really be an image Pillow can read (JPEG, PNG or WebP) within
``COVER_MAX_UPLOAD_SIZE`` and ``COVER_MAX_PIXELS``; it is then scaled down to fit
``COVER_MAX_DIMENSION``. Figures of the body get the same checks.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.template.defaultfilters import filesizeformat

PDF_CONTENT_TYPES = {"application/pdf", "application/x-pdf", "application/acrobat"}
PDF_MAGIC = b"%PDF-"
COVER_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
COVER_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}


def _size_error(limit: int) -> ValidationError:
    return ValidationError(
        "The file is too large: at most %(limit)s is allowed.",
        code="file_too_large",
        params={"limit": filesizeformat(limit)},
    )


def validate_pdf_upload(upload: UploadedFile) -> None:
    """Raise ``ValidationError`` unless ``upload`` is a readable, unencrypted PDF within the size limit."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if Path(upload.name or "").suffix.lower() != ".pdf":
        raise ValidationError("Upload a file with the .pdf extension.", code="pdf_extension")
    content_type = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if content_type not in PDF_CONTENT_TYPES:
        raise ValidationError(
            "This file was sent as %(type)s, not as a PDF (application/pdf).",
            code="pdf_content_type",
            params={"type": content_type or "an unknown type"},
        )
    if upload.size > settings.PDF_MAX_UPLOAD_SIZE:
        raise _size_error(settings.PDF_MAX_UPLOAD_SIZE)
    upload.seek(0)
    head = upload.read(1024)
    upload.seek(0)
    if not head.startswith(PDF_MAGIC):
        raise ValidationError("This file is not a PDF (it does not start like one).", code="pdf_magic")
    try:
        reader = PdfReader(upload, strict=False)
        if reader.is_encrypted:
            raise ValidationError(
                "This PDF is encrypted or password-protected; upload an unprotected copy.",
                code="pdf_encrypted",
            )
        if len(reader.pages) == 0:
            raise ValidationError("This PDF has no pages.", code="pdf_empty")
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as error:
        raise ValidationError("This PDF is damaged and cannot be opened.", code="pdf_broken") from error
    finally:
        upload.seek(0)


def process_cover_image(upload: UploadedFile) -> UploadedFile:
    """Validate a cover image and return it scaled down to ``COVER_MAX_DIMENSION`` (same format)."""
    from PIL import Image, UnidentifiedImageError

    if upload.size > settings.COVER_MAX_UPLOAD_SIZE:
        raise _size_error(settings.COVER_MAX_UPLOAD_SIZE)
    upload.seek(0)
    data = upload.read()
    invalid = ValidationError("Upload a JPEG, PNG or WebP image.", code="invalid_image")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            probe.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise invalid from error
    if image_format not in COVER_FORMATS:
        raise invalid
    if width * height > settings.COVER_MAX_PIXELS:
        raise ValidationError(
            "The image is too large (%(width)s × %(height)s pixels).",
            code="image_too_large",
            params={"width": width, "height": height},
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            limit = settings.COVER_MAX_DIMENSION
            if max(image.size) > limit:
                image.thumbnail((limit, limit))
            if image_format == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            output = io.BytesIO()
            options = (
                {"quality": 85, "optimize": True} if image_format in ("JPEG", "WEBP") else {"optimize": True}
            )
            image.save(output, format=image_format, **options)
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise invalid from error
    name = Path(upload.name or "cover").stem + COVER_EXTENSIONS[image_format]
    return SimpleUploadedFile(name, output.getvalue(), content_type=COVER_FORMATS[image_format])


def process_figure_image(upload: UploadedFile) -> tuple[UploadedFile, int, int]:
    """Check and scale down a body figure like a cover image; return it with its width and height."""
    from PIL import Image

    processed = process_cover_image(upload)
    with Image.open(io.BytesIO(processed.read())) as image:
        width, height = image.size
    processed.seek(0)
    return processed, width, height
