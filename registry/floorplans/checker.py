"""The checking process: decodes one upload and draws its preview, within a budget.

inspection.py starts it for every upload that looks acceptable, as
`python -E -s checker.py '<request JSON>'` with the file on its standard input. It answers on
standard output with one JSON line — `{"preview": N}` followed by the N bytes of the PNG
preview, or `{"status": 413 or 415, "detail": "…"}` — and exits. A process of its own, so that a
file built to exhaust the decoder (a PDF of huge blank images, a decompression bomb) costs at
most its budget and never the service's memory or a CAD worker's time:

- before reading anything it limits its own address space (RLIMIT_AS) and CPU seconds
  (RLIMIT_CPU, hard limits too), turns off core files and lowers its priority (nice 10), so
  lookups come first when CPUs are short; the parent kills it when the wall-clock budget is
  spent;
- a PDF's objects are read for actions and scripts (pdf_actions.py); its first page's images
  are counted and their decoded size added up (from their dictionaries, without decoding)
  before PDFium draws anything;
- images keep the pixel cap: a 413, whatever Python's warning filters say.

Imports only the standard library, Pillow, pypdfium2 and its two siblings: importing the
`registry` package would load the whole service (half a second per upload). Run as a script,
this directory comes first on sys.path, so no module here may take a standard library name.
"""

import io
import json
import math
import os
import resource
import sys
import warnings
from dataclasses import dataclass

if __package__:  # imported by the service as registry.floorplans.checker
    from . import markup, pdf_actions
else:  # run as the checking process
    import markup
    import pdf_actions

PREVIEW_SIZE = 640
PILLOW_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WebP": "WEBP"}
# PDFium gives up on forms nested deeper than this when it draws, so deeper images never cost.
MAX_FORM_DEPTH = 64


@dataclass(frozen=True)
class Budget:
    """What checking one upload may cost (from configuration; see config.py)."""

    max_pixels: int  # an image's width x height
    decoded_bytes: int  # a PDF's page-1 images decoded, plus its object streams inflated
    max_images: int  # image draws on a PDF's first page
    seconds: float  # CPU and wall-clock time of the checking process
    memory_bytes: int  # its address space


class Refusal(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MiB"


def out_of_memory(budget: Budget) -> str:
    return (
        f"Checking the file needed more than the {_mib(budget.memory_bytes)} of memory allowed "
        "(or the file crashed its decoder). Send a smaller or simpler file."
    )


def check(label: str, data: bytes, budget: Budget) -> bytes:
    """The preview of an acceptable file; Refusal otherwise."""
    if label == "PDF":
        return _check_pdf(data, budget)
    return _check_image(data, label, budget)


# ---------------------------------------------------------------------------------------------
# Images


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> Refusal:
    stated = f"{size[0]} x {size[1]} pixels" if size else "too many pixels"
    return Refusal(
        413,
        f"The image is {stated}; the limit is {max_pixels:,} pixels. Send a smaller image or a PDF.",
    )


def _stated_size(data: bytes) -> tuple[int, int] | None:
    """The size a PNG states in its header (for the message; never decoded)."""
    if data.startswith(b"\x89PNG") and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _check_image(data: bytes, label: str, budget: Budget) -> bytes:
    from PIL import Image, UnidentifiedImageError

    formats = [PILLOW_FORMATS[label]]
    # Pillow only *warns* about a possible decompression bomb below twice its limit, and the
    # process's warning filters decide what a warning does; here it is always a refusal.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=formats) as image:
                if image.width * image.height > budget.max_pixels:
                    raise _too_many_pixels(image.size, budget.max_pixels)
                image.verify()  # structure and checksums, without decoding
            with Image.open(io.BytesIO(data), formats=formats) as image:
                # JPEGs decode at a reduced scale for the preview (still reading every byte).
                image.draft("RGB", (PREVIEW_SIZE, PREVIEW_SIZE))
                image.load()  # a full decode: truncated or corrupt data fails here
                _refuse_markup_in_text(image, label)
                return _png_preview(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(_stated_size(data), budget.max_pixels) from None
        except UnidentifiedImageError:
            raise Refusal(415, f"The file starts like a {label} but is not one.") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
            # Pillow reports damaged data with any of these.
            raise Refusal(
                415, f"The {label} image is damaged or truncated ({type(exc).__name__})."
            ) from None


def _refuse_markup_in_text(image, label: str) -> None:
    # A PNG's text chunks, decompressed (zTXt, compressed iTXt): the raw scan cannot see those.
    for key, value in getattr(image, "text", {}).items():
        found = markup.find_markup(f"{key}\n{value}".encode("utf-8", "replace"))
        if found is not None:
            raise Refusal(
                415,
                f"The {label} holds web markup in its text ({markup.describe(found)}); files "
                "that are also web pages are refused.",
            )


_PREVIEW_MODES = {"1": "L", "I": "L", "I;16": "L", "F": "L", "P": "RGBA", "PA": "RGBA"}


def _png_preview(image) -> bytes:
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image) or image
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert(_PREVIEW_MODES.get(image.mode, "RGB"))
    image.thumbnail((PREVIEW_SIZE, PREVIEW_SIZE), reducing_gap=2.0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# PDFs

_ENCRYPTED = "The PDF is encrypted; send a copy without encryption or password."


def _check_pdf(data: bytes, budget: Budget) -> bytes:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Refusal(415, _ENCRYPTED) from None
        raise Refusal(415, "The file starts like a PDF but PDFium cannot read it.") from None
    try:
        # Encrypted with an empty password opens without one, but its objects stay unreadable.
        if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) != -1:
            raise Refusal(415, _ENCRYPTED)
        if len(document) == 0:
            raise Refusal(415, "The PDF has no pages.")
        try:
            inflated = pdf_actions.scan(data, budget.decoded_bytes, markup.find_markup)
        except pdf_actions.Unacceptable as exc:
            raise Refusal(415, str(exc)) from None
        except pdf_actions.TooMuchToDecode:
            raise Refusal(413, _too_much_to_decode(budget, "its object streams")) from None
        if pdfium_c.FPDFDoc_GetJavaScriptActionCount(document.raw) > 0:
            raise Refusal(415, "The PDF contains JavaScript; a floor plan or MOU needs none.")
        return _render_first_page(document, budget, budget.decoded_bytes - inflated)
    except pdfium.PdfiumError:
        raise Refusal(415, "The PDF is damaged: its first page cannot be drawn.") from None
    finally:
        document.close()


def _too_much_to_decode(budget: Budget, what: str) -> str:
    return (
        f"Checking the PDF would decode more than {_mib(budget.decoded_bytes)} ({what}), the "
        "limit. Send a smaller or lower-resolution file."
    )


def _render_first_page(document, budget: Budget, decoded_left: int) -> bytes:
    page = document[0]
    try:
        width, height = page.get_size()
        if not (width > 0 and height > 0):
            raise Refusal(415, "The PDF's first page has no size.")
        _count_images(page, budget, decoded_left)
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


def _count_images(page, budget: Budget, decoded_left: int) -> None:
    """Refuse a first page that draws too many images, or images too large once decoded, before
    PDFium decodes any: sizes come from the images' dictionaries."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    metadata = pdfium_c.FPDF_IMAGEOBJ_METADATA()
    images = decoded = 0
    containers = [(None, 0)]  # the page itself, then the form XObjects it draws
    while containers:
        form, depth = containers.pop()
        if form is None:
            count = pdfium_c.FPDFPage_CountObjects(page.raw)
        else:
            count = pdfium_c.FPDFFormObj_CountObjects(form)
        for index in range(max(count, 0)):
            if form is None:
                obj = pdfium_c.FPDFPage_GetObject(page.raw, index)
            else:
                obj = pdfium_c.FPDFFormObj_GetObject(form, index)
            kind = pdfium_c.FPDFPageObj_GetType(obj)
            if kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < MAX_FORM_DEPTH:
                containers.append((obj, depth + 1))
            if kind != pdfium_c.FPDF_PAGEOBJ_IMAGE:
                continue
            images += 1
            if images > budget.max_images:
                raise Refusal(
                    413,
                    f"The PDF's first page draws more than {budget.max_images:,} images, the "
                    "limit. Send a simpler file.",
                )
            if pdfium_c.FPDFImageObj_GetImageMetadata(obj, page.raw, ctypes.byref(metadata)):
                bits = metadata.bits_per_pixel or 32  # unknown: as many as PDFium ever uses
                decoded += metadata.width * metadata.height * bits // 8
            if decoded > decoded_left:
                raise Refusal(413, _too_much_to_decode(budget, "the images on its first page"))


# ---------------------------------------------------------------------------------------------
# The process


def _limit_this_process(budget: Budget) -> None:
    seconds = math.ceil(budget.seconds)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Over the soft limit comes SIGXCPU, over the hard one SIGKILL; neither can be raised again.
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (budget.memory_bytes, budget.memory_bytes))
    os.nice(10)


def main() -> None:
    request = json.loads(sys.argv[1])
    budget = Budget(**request["budget"])
    _limit_this_process(budget)
    data = sys.stdin.buffer.read()
    preview = b""
    try:
        preview = check(request["label"], data, budget)
        answer = {"preview": len(preview)}
    except Refusal as refusal:
        answer = {"status": refusal.status, "detail": refusal.detail}
    except MemoryError:
        answer = {"status": 413, "detail": out_of_memory(budget)}
    sys.stdout.buffer.write(json.dumps(answer).encode() + b"\n" + preview)


if __name__ == "__main__":
    main()
