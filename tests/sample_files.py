"""Real files made in the tests: tiny PDFs, PNGs, JPEGs and WebPs, and the bad ones."""

import io
import struct
import zlib

from PIL import Image
from PIL.PngImagePlugin import PngInfo


def _image(kind: str, size=(40, 30), color="steelblue", **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, kind, **save)
    return out.getvalue()


def png(size=(40, 30), color="steelblue") -> bytes:
    return _image("PNG", size, color)


def jpeg(size=(40, 30), color="darkred") -> bytes:
    return _image("JPEG", size, color)


def webp(size=(40, 30), color="olive") -> bytes:
    return _image("WEBP", size, color)


def pdf(catalog_extra: bytes = b"", extra_objects: tuple[bytes, ...] = ()) -> bytes:
    """A one-page PDF (a blue rectangle), written object by object with a correct xref."""
    content = b"0 0 1 rg 10 10 180 80 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        *extra_objects,
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_with_javascript() -> bytes:
    return pdf(
        b"/Names << /JavaScript 5 0 R >>",
        (b"<< /Names [(hello) 6 0 R] >>", b"<< /S /JavaScript /JS (app.alert(1);) >>"),
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_claiming(width: int, height: int) -> bytes:
    """A small, well-formed PNG whose header claims `width` x `height` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def png_with_markup() -> bytes:
    """A valid PNG that is also a web page: a text chunk holding HTML and a script."""
    info = PngInfo()
    info.add_text("Comment", "<html><body><script>alert(document.cookie)</script></body></html>")
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def pdf_with_markup() -> bytes:
    return pdf().replace(b"%\xe2\xe3\xcf\xd3\n", b"%<html><script>alert(1)</script>\n", 1)


def truncated_png() -> bytes:
    whole = png((400, 300))
    return whole[: len(whole) // 2]


HTML = b"<!DOCTYPE html><html><head><title>plan</title></head><body><script>alert(1)</script>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
