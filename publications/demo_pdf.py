"""Small, valid, text-bearing PDF documents for the demo index and the tests.

A hand-assembled PDF 1.4 file with one Helvetica text page per chunk of lines:
enough for viewers to show it, for pypdf/pypdfium2 to extract its text, and
for thumbnails to render, without shipping binary fixtures.
"""

from __future__ import annotations

import textwrap


def _escape(text: str) -> str:
    # PDF literal strings: escape the delimiters; Helvetica's standard encoding
    # covers Latin-1, so anything else is replaced.
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build_pdf(title: str, paragraphs: list[str], *, lines_per_page: int = 46) -> bytes:
    """Return the bytes of a PDF showing ``title`` and ``paragraphs`` on A4 pages."""
    lines = [title, ""]
    for paragraph in paragraphs:
        lines.extend(textwrap.wrap(paragraph, width=88) or [""])
        lines.append("")
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[title]]

    objects: list[bytes] = []
    # 1: catalog, 2: page tree, 3: font; pages and their content streams follow.
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for index, page_lines in enumerate(pages):
        operations = ["BT", "/F1 11 Tf", "14 TL", "56 790 Td"]
        for number, line in enumerate(page_lines):
            size = "16" if index == 0 and number == 0 else "11"
            operations.append(f"/F1 {size} Tf ({_escape(line)}) Tj T*")
        operations.append("ET")
        stream = "\n".join(operations).encode("latin-1")
        content_id = page_ids[index] + 1
        objects.append(
            (
                f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            ).encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")

    output = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        output += b"%010d 00000 n \n" % offset
    output += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(output)
