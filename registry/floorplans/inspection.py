"""What an uploaded file really is, decided from its bytes; and its preview.

Accepted: PDF, PNG, JPEG and WebP. The type comes from the content (never the name or the
client's Content-Type), then the whole file must decode with the decoder of that type alone:
Pillow opened with `formats=[...]` for images, PDFium (pypdfium2) for PDFs. Refused, with a
415 that says why: an empty file, anything else (HTML, SVG, scripts, archives …), files that
carry web markup anywhere (polyglots a browser could run as a page), damaged or truncated files,
encrypted PDFs, PDFs with document JavaScript, and a name whose extension says another type.
Images larger than the configured pixel cap are a 413, whatever Python's warning filters say.

The preview is a PNG of at most PREVIEW_SIZE pixels a side: the image scaled down, or the
first page of a PDF rendered by PDFium.
"""

import hashlib
import io
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageOps, UnidentifiedImageError
from werkzeug.utils import secure_filename

from .. import errors

PREVIEW_SIZE = 640
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileType:
    media_type: str
    extension: str  # the canonical one, given to download names
    extensions: frozenset[str]  # names that agree with this type
    label: str
    pillow_format: str | None = None


PDF = FileType("application/pdf", ".pdf", frozenset({".pdf"}), "PDF")
PNG = FileType("image/png", ".png", frozenset({".png"}), "PNG", "PNG")
JPEG = FileType("image/jpeg", ".jpg", frozenset({".jpg", ".jpeg", ".jpe", ".jfif"}), "JPEG", "JPEG")
WEBP = FileType("image/webp", ".webp", frozenset({".webp"}), "WebP", "WEBP")
TYPES = (PDF, PNG, JPEG, WEBP)
MEDIA_TYPES = tuple(t.media_type for t in TYPES)
ACCEPTED = "PDF, PNG, JPEG or WebP"

# Markup a browser would run if it ever rendered the file as a page. PDF's own syntax never
# produces these (its hex strings hold only hex digits) and a chance match in compressed image
# data is vanishingly unlikely (< 1e-7 per 25 MB file), so finding one anywhere means the file
# was made to be two things at once. Matched against lower-cased bytes: a pattern that starts
# with a literal is several times faster than a case-insensitive one (~50 ms for 24 MB).
_MARKUP_TAG = re.compile(rb"<(?:script|html|!doctype\s+html|iframe|svg|body|object|embed)[\s>/]")
_MARKUP_URL = b"javascript:"
_OVERLAP = 32


def _find_markup(window: bytes) -> bytes | None:
    lowered = window.lower()
    found = _MARKUP_TAG.search(lowered)
    if found:
        return found.group()
    return _MARKUP_URL if _MARKUP_URL in lowered else None


# One PDFium call at a time per process: PDFium is not thread-safe.
_pdfium_lock = threading.Lock()


@dataclass(frozen=True)
class Inspected:
    """An accepted upload: what it is, its content address and its preview."""

    file_type: FileType
    sha256: str
    size: int
    preview: bytes

    @property
    def media_type(self) -> str:
        return self.file_type.media_type


def refuse(detail: str):
    return errors.UnsupportedMediaType(detail)


def _sniff(head: bytes) -> FileType | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return None


def _describe_unknown(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in head.lower():
        return "SVG files are not accepted (they can carry scripts); send a PDF or PNG instead."
    if text.startswith(b"<"):
        return f"This is HTML or XML, not a {ACCEPTED} file."
    return f"Only {ACCEPTED} files are accepted; the content of this file is none of them."


def _digest_and_scan(stream: BinaryIO) -> tuple[str, int, bytes, bytes | None]:
    """SHA-256, size, first bytes and the first web markup found anywhere, in one pass."""
    digest, size, head, tail, markup = hashlib.sha256(), 0, b"", b"", None
    stream.seek(0)
    while chunk := stream.read(_CHUNK):
        if not head:
            head = chunk[:1024]
        digest.update(chunk)
        size += len(chunk)
        if markup is None:
            window = tail + chunk
            markup = _find_markup(window)
            tail = window[-_OVERLAP:]
    stream.seek(0)
    return digest.hexdigest(), size, head, markup


def declared_extension(file_name: str | None) -> str:
    """The extension the client's file name claims (lower case, '' for none)."""
    base = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return PurePosixPath(base).suffix.lower() if "." in base.strip(".") else ""


def download_name(file_name: str | None, file_type: FileType, default: str) -> str:
    """A safe name to store and to offer for download: no path, ASCII, the right extension."""
    base = (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    claimed = declared_extension(base)
    stem = secure_filename(base[: -len(claimed)] if claimed else base)[:100].strip("._")
    extension = claimed if claimed in file_type.extensions else file_type.extension
    return (stem or default) + extension


def inspect(stream: BinaryIO, file_name: str | None, max_pixels: int) -> Inspected:
    """Decide what the upload is and check it all; raise UnsupportedMediaType or
    ContentTooLarge when it is not acceptable."""
    sha256, size, head, markup = _digest_and_scan(stream)
    if size == 0:
        raise refuse("The file is empty.")
    file_type = _sniff(head)
    if file_type is None:
        raise refuse(_describe_unknown(head))
    if markup is not None:
        raise refuse(
            f"The file is a {file_type.label} but also holds web markup "
            f"({markup.decode('ascii', 'replace').strip()!r}); files that are also web pages "
            "are refused."
        )
    claimed = declared_extension(file_name)
    if claimed and claimed not in file_type.extensions:
        raise refuse(
            f"The file name ends in {claimed} but the content is {file_type.label}; "
            "rename the file or send the right one."
        )
    if file_type is PDF:
        preview = _inspect_pdf(stream)
    else:
        preview = _inspect_image(stream, file_type, max_pixels)
    stream.seek(0)
    return Inspected(file_type, sha256, size, preview)


# ---------------------------------------------------------------------------------------------
# Images


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int):
    stated = f"{size[0]} x {size[1]} pixels" if size else "too many pixels"
    return errors.ContentTooLarge(
        f"The image is {stated}; the limit is {max_pixels:,} pixels. Send a smaller image or a PDF."
    )


def _inspect_image(stream: BinaryIO, file_type: FileType, max_pixels: int) -> bytes:
    formats = [file_type.pillow_format]
    # Pillow only *warns* about a possible decompression bomb below twice its limit, and the
    # process's warning filters decide what a warning does; here it is always a refusal.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(stream, formats=formats) as image:
                if image.width * image.height > max_pixels:
                    raise _too_many_pixels(image.size, max_pixels)
                image.verify()  # structure and checksums, without decoding
            stream.seek(0)
            with Image.open(stream, formats=formats) as image:
                # JPEGs decode at a reduced scale for the preview (still reading every byte).
                image.draft("RGB", (PREVIEW_SIZE, PREVIEW_SIZE))
                image.load()  # a full decode: truncated or corrupt data fails here
                return _png_preview(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(_stated_size(stream), max_pixels) from None
        except UnidentifiedImageError:
            raise refuse(f"The file starts like a {file_type.label} but is not one.") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
            # Pillow reports damaged data with any of these.
            raise refuse(
                f"The {file_type.label} image is damaged or truncated ({type(exc).__name__})."
            ) from None


def _stated_size(stream: BinaryIO) -> tuple[int, int] | None:
    """The size a PNG states in its header (for the message; never decoded)."""
    stream.seek(0)
    head = stream.read(24)
    stream.seek(0)
    if head.startswith(b"\x89PNG") and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return None


_PREVIEW_MODES = {"1": "L", "I": "L", "I;16": "L", "F": "L", "P": "RGBA", "PA": "RGBA"}


def _png_preview(image: Image.Image) -> bytes:
    image = ImageOps.exif_transpose(image) or image
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert(_PREVIEW_MODES.get(image.mode, "RGB"))
    image.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE), reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# PDFs


def _inspect_pdf(stream: BinaryIO) -> bytes:
    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(stream, autoclose=False)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise refuse("The PDF is encrypted; send it without a password.") from None
            raise refuse("The file starts like a PDF but PDFium cannot read it.") from None
        try:
            if len(document) == 0:
                raise refuse("The PDF has no pages.")
            if pdfium_c.FPDFDoc_GetJavaScriptActionCount(document.raw) > 0:
                raise refuse("The PDF contains JavaScript; a floor plan or MOU needs none.")
            return _render_first_page(document)
        except pdfium.PdfiumError:
            raise refuse("The PDF is damaged: its first page cannot be drawn.") from None
        finally:
            document.close()
            stream.seek(0)


def _render_first_page(document) -> bytes:
    page = document[0]
    try:
        width, height = page.get_size()
        if not (width > 0 and height > 0):
            raise refuse("The PDF's first page has no size.")
        # Render straight at preview size: the bitmap's memory is bounded whatever the page size.
        scale = min(PREVIEW_SIZE / max(width, height), 4.0)
        bitmap = page.render(scale=scale)
        try:
            image = bitmap.to_pil()
            out = io.BytesIO()
            image.save(out, "PNG")
            return out.getvalue()
        finally:
            bitmap.close()
    finally:
        page.close()
