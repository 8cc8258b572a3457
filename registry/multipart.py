"""Reading a multipart/form-data upload, and saying which of its limits a refused one broke.

Werkzeug answers each of its three form limits with the same bare 413: the body's bytes
(`request.max_content_length`), the number of parts, and the size of one text field held in
memory (`request.max_form_memory_size`). A client that sent thousands of tiny parts was told its
upload was too many bytes. Parts are therefore counted here, by a parser that raises its own
error, and the other two are told apart by the body's declared length.
"""

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser
from werkzeug.sansio.multipart import File

from . import errors

# An upload is one file and a handful of fields; Werkzeug's own default (1,000) would let a body
# of a few kilobytes cost thousands of parsed parts.
MAX_FORM_PARTS = 50


class TooManyParts(RequestEntityTooLarge):
    """More parts than MAX_FORM_PARTS."""


class _PartCountingParser(MultiPartParser):
    """Werkzeug's multipart parser, counting each file part as it starts and each text part as
    it ends (the two places the parser hands a part over)."""

    def parse(self, stream, boundary, content_length):
        self.parts_seen = 0
        return super().parse(stream, boundary, content_length)

    def _count_part(self) -> None:
        self.parts_seen += 1
        if self.parts_seen > MAX_FORM_PARTS:
            raise TooManyParts()

    def start_file_streaming(self, event: File, total_content_length):
        self._count_part()
        return super().start_file_streaming(event, total_content_length)

    def get_part_charset(self, headers):
        self._count_part()  # called once per text field, when its value is complete
        return super().get_part_charset(headers)


class UploadFormParser(FormDataParser):
    """FormDataParser with the part-counting multipart parser (as Werkzeug builds its own)."""

    def _parse_multipart(self, stream, mimetype, content_length, options):
        parser = _PartCountingParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=self.max_form_memory_size,
            max_form_parts=None,  # counted by the parser itself
            cls=self.cls,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


def limit_upload(max_bytes: int) -> None:
    """Apply the upload limits to this request, before anything reads its body."""
    request.max_content_length = max_bytes  # above the app-wide cap for JSON bodies
    request.form_data_parser_class = UploadFormParser


def read_upload():
    """(request.form, request.files), parsed once under limit_upload's limits; a body over
    any of them is a 413 that names the limit it broke."""
    try:
        return request.form, request.files
    except TooManyParts:
        raise errors.ContentTooLarge(
            f"The upload has more than {MAX_FORM_PARTS} parts; send the file and its fields only."
        ) from None
    except RequestEntityTooLarge:
        limit, length = request.max_content_length, request.content_length
        if length is not None and length <= limit:
            # Within the byte cap, so it was one text field outgrowing what is held in memory.
            raise errors.ContentTooLarge(
                f"A form field is larger than {request.max_form_memory_size:,} bytes."
            ) from None
        raise errors.ContentTooLarge(
            f"The upload is larger than the limit of {limit:,} bytes."
        ) from None
