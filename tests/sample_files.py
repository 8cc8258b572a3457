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


def pdf(
    catalog_extra: bytes = b"",
    extra_objects: tuple[bytes, ...] = (),
    page_extra: bytes = b"",
    content: bytes = b"0 0 1 rg 10 10 180 80 re f",
) -> bytes:
    """A one-page PDF (a blue rectangle), written object by object with a correct xref.
    Objects 1-4 are the catalog, the page tree, the page and its content; `extra_objects`
    are numbered from 5."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
        + page_extra
        + b" >>",
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


# --- hostile files for the upload budget and the action checks (tests/files/test_upload_*.py) -----


def blank_zlib(size: int) -> bytes:
    """A valid zlib stream of `size` zero bytes, made in milliseconds whatever the size: one
    compressed MiB, fully flushed (so the next MiB compresses to the same bytes), repeated."""
    mib = 1024 * 1024
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflate.compress(bytes(mib)) + deflate.flush(zlib.Z_FULL_FLUSH)
    rest = deflate.compress(bytes(size % mib)) + deflate.flush()
    # Adler-32 of zeros: A stays 1, B grows by 1 per byte.
    adler = ((size % 65521) << 16) | 1
    return b"\x78\xda" + piece * (size // mib) + rest + struct.pack(">I", adler)


def blank_image(width: int, height: int) -> bytes:
    """An image XObject: width x height grey pixels, all black, FlateDecode."""
    data = blank_zlib(width * height)
    return (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % (width, height, len(data))
        + data
        + b"\nendstream"
    )


def pdf_of_blank_images(count: int, width: int, height: int, draws: int = 1) -> bytes:
    """The tester's PDF (issue 15): page 1 draws `count` large blank FlateDecode images,
    each `draws` times. Each 1 GiB of pixels costs about 1 MB of file."""
    images = tuple(blank_image(width, height) for _ in range(count))
    names = b" ".join(b"/Im%d %d 0 R" % (i, 5 + i) for i in range(count))
    content = b"".join(b"q 200 0 0 100 0 0 cm /Im%d Do Q\n" % i for i in range(count)) * draws
    return pdf(
        extra_objects=images,
        page_extra=b"/Resources << /XObject << " + names + b" >> >>",
        content=content,
    )


def pdf_with_objects_in_a_stream(catalog_extra: bytes, hidden: tuple[bytes, ...]) -> bytes:
    """A PDF 1.5 whose catalog, pages and the `hidden` objects (numbered from 5) sit in a
    compressed object stream, found through a cross-reference stream: nothing in them is
    visible in the file's raw bytes."""
    content = b"0 0 1 rg 10 10 180 80 re f"
    packed = {
        1: b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        **{5 + i: body for i, body in enumerate(hidden)},
    }
    header, bodies = b"", b""
    for number, body in packed.items():
        header += b"%d %d " % (number, len(bodies))
        bodies += body + b"\n"
    stream_number = 5 + len(hidden)
    xref_number = stream_number + 1
    compressed = zlib.compress(header + bodies)
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {4: len(out)}
    out += b"4 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        len(content),
        content,
    )
    offsets[stream_number] = len(out)
    out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n" % (
        stream_number,
        len(packed),
        len(header),
        len(compressed),
    )
    out += b"stream\n" + compressed + b"\nendstream\nendobj\n"
    offsets[xref_number] = len(out)
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for number in range(1, xref_number + 1):
        if number in packed:
            rows.append(struct.pack(">BIH", 2, stream_number, list(packed).index(number)))
        else:
            rows.append(struct.pack(">BIH", 1, offsets[number], 0))
    table = b"".join(rows)
    out += (
        b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % (xref_number, xref_number + 1, len(table))
        + table
        + b"\nendstream\nendobj\n"
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


def png_with_text(key: str, value: str, compressed: bool, international: bool = False) -> bytes:
    """A valid PNG with one text chunk: tEXt, zTXt (compressed) or iTXt."""
    info = PngInfo()
    if international:
        info.add_itxt(key, value, zip=compressed)
    else:
        info.add_text(key, value, zip=compressed)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def blank_png(width: int, height: int) -> bytes:
    """A width x height RGBA PNG, all zeros: 4 bytes a pixel once decoded, tiny as a file."""
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", blank_zlib(height * (1 + 4 * width)))
        + _chunk(b"IEND", b"")
    )
