"""Actions and scripts in a PDF, found by reading its objects here: PDFium does not show them.

PDFium (through pypdfium2) counts the JavaScript of the document's Names tree and nothing else:
it offers no way to read an /OpenAction, a page's /AA, an annotation's /A or /AA, an outline
item's or a form field's action. So this small reader looks at the objects themselves, and errs
towards seeing too much rather than too little:

- It parses the object after *every* `obj` keyword in the file, wherever it sits (inside stream
  data and strings too): the cross-reference table can point anywhere, and when it is damaged
  PDFium searches the whole file for objects. Stream data itself is not tokenized (compressed
  bytes would match anything by chance).
- It decompresses every object stream (`/Type /ObjStm`, or a stream with /N and /First), parses
  the objects in it, and also searches its whole text for names, so an object that starts inside
  another's string is seen as well. An object stream packed any other way than FlateDecode
  without a predictor cannot be read here, and is refused; what it decompresses to counts
  against the check's decoded-bytes budget.

Refused, wherever it is (a key or a value, in any object): the names in `FORBIDDEN` — JavaScript
in any action or the Names tree, programs launched, forms submitted or data imported, other
files opened, media renditions, XFA forms — /S given as a string naming one of those, and a /URI
that is not an http, https or mailto address (or a relative one). Names are compared after
decoding `#xx` escapes (`/Java#53cript`). Every string (decoded) and each object stream's text
goes to the caller's web-markup rule as well.

Imports only the standard library: it runs in the checking process (see checker.py).
"""

import re
import zlib
from collections.abc import Callable

FORBIDDEN = {
    "JavaScript": "JavaScript",
    "JS": "JavaScript",
    "Launch": "an action that starts a program (/Launch)",
    "SubmitForm": "an action that sends form data away (/SubmitForm)",
    "ImportData": "an action that loads data from another file (/ImportData)",
    "GoToR": "an action that opens another file (/GoToR)",
    "GoToE": "an action that opens an embedded file (/GoToE)",
    "Rendition": "an action that plays or scripts media (/Rendition)",
    "RichMediaExecute": "an action that runs embedded media (/RichMediaExecute)",
    "XFA": "an XFA form (they carry scripts)",
}
LINK_SCHEMES = ("http", "https", "mailto")

# PDFium stops parsing deeper than this too; a legitimate file never comes near it.
MAX_DEPTH = 64

_WHITE = b"\x00\t\n\x0c\r "
_SKIP = re.compile(rb"(?:[\x00\t\n\x0c\r ]+|%[^\r\n]*)*")
_REGULAR = re.compile(rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]*")
# "obj" as a word of its own. Found as a bare literal and checked around it: a lookbehind in the
# pattern would cost the search its fast literal scan (300 ms instead of 10 ms for 24 MB).
_OBJ = re.compile(rb"obj")
_BOUNDARY = frozenset(b"\x00\t\n\x0c\r ()<>[]{}/%")
_ANY_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STRING_STOP = re.compile(rb"[()\\]")
_NOT_HEX = re.compile(rb"[^0-9A-Fa-f]")
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
# Keywords that end an object: a tolerant parse of a damaged one stops there.
_ENDS = {b"obj", b"endobj", b"stream", b"endstream", b"xref", b"trailer", b"startxref"}
_INFLATE_CHUNK = 64 * 1024


class Unacceptable(Exception):
    """The PDF holds something a floor plan or MOU must not (a 415, with this detail)."""


class TooMuchToDecode(Exception):
    """The PDF's object streams decompress to more than the budget allows."""


class Name(str):
    """A PDF name, its #xx escapes decoded."""


class Keyword(bytes):
    """A bare word that is not a number: true, false, null, R, obj, stream …"""


class Ref(tuple):
    """An indirect reference: (number, generation)."""


_END = object()


def _name(raw: bytes) -> Name:
    decoded = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return Name(decoded.decode("latin-1"))


def _refuse_name(name: str) -> None:
    if name in FORBIDDEN:
        raise Unacceptable(f"The PDF contains {FORBIDDEN[name]}; a floor plan or MOU needs none.")


def _check_link(value: bytes) -> None:
    if value.startswith(b"\xfe\xff"):
        text = value[2:].decode("utf-16-be", "replace")
    else:
        text = value.decode("latin-1")
    # Browsers and viewers ignore spaces, tabs and control characters inside a URL's scheme.
    text = "".join(c for c in text if c > " ")
    scheme = _SCHEME.match(text)
    if scheme and scheme.group(1).lower() not in LINK_SCHEMES:
        raise Unacceptable(
            f"The PDF links to a {scheme.group(1).lower()[:20]}: address; only web and "
            "mail links are accepted."
        )


class _Reader:
    """PDF object syntax from `pos`: names checked as they are read, strings handed on."""

    def __init__(self, data: bytes, pos: int, on_string: Callable[[bytes], None]):
        self.data, self.pos, self.on_string = data, pos, on_string

    def skip(self) -> None:
        self.pos = _SKIP.match(self.data, self.pos).end()

    def value(self, depth: int = 0):
        if depth > MAX_DEPTH:
            raise Unacceptable("The PDF nests its objects too deeply to be checked.")
        self.skip()
        data, pos = self.data, self.pos
        if pos >= len(data):
            return _END
        first = data[pos]
        if data.startswith(b"<<", pos):
            self.pos += 2
            return self.dictionary(depth + 1)
        if first == ord("["):
            self.pos += 1
            return self.array(depth + 1)
        if first == ord("("):
            return self.literal_string()
        if first == ord("<"):
            return self.hex_string()
        if first == ord("/"):
            word = _REGULAR.match(data, pos + 1)
            self.pos = word.end()
            name = _name(word.group())
            _refuse_name(name)
            return name
        word = _REGULAR.match(data, pos)
        if word.end() == pos:  # a stray delimiter: ) > ] { }
            self.pos += 1
            return Keyword(data[pos : pos + 1])
        self.pos = word.end()
        token = word.group()
        if not _NUMBER.fullmatch(token):
            return Keyword(token)
        if token.isdigit():
            return self.maybe_reference(int(token))
        return 0  # a real number: its value never matters here

    def maybe_reference(self, number: int):
        # "12 0 R" is one value; anything else leaves the reader after the first number.
        after = self.pos
        self.skip()
        generation = _REGULAR.match(self.data, self.pos)
        if generation.group().isdigit():
            self.pos = generation.end()
            self.skip()
            keyword = _REGULAR.match(self.data, self.pos)
            if keyword.group() == b"R":
                self.pos = keyword.end()
                return Ref((number, int(generation.group())))
        self.pos = after
        return number

    def dictionary(self, depth: int) -> dict:
        entries = {}
        while True:
            self.skip()
            if self.data.startswith(b">>", self.pos):
                self.pos += 2
                return entries
            key = self.value(depth)
            if key is _END or (isinstance(key, Keyword) and key in _ENDS):
                return entries
            if not isinstance(key, Name):
                continue  # damaged; keep reading, so nothing after it goes unseen
            value = self.value(depth)
            if value is _END:
                return entries
            self.check_entry(key, value)
            entries[key] = value

    def array(self, depth: int) -> list:
        items = []
        while True:
            self.skip()
            if self.data.startswith(b"]", self.pos):
                self.pos += 1
                return items
            item = self.value(depth)
            if item is _END or (isinstance(item, Keyword) and item in _ENDS):
                return items
            items.append(item)

    @staticmethod
    def check_entry(key: Name, value) -> None:
        if key == "S" and isinstance(value, bytes) and not isinstance(value, Keyword):
            _refuse_name(value.decode("latin-1"))  # an action type written as a string
        if key == "URI" and isinstance(value, bytes) and not isinstance(value, Keyword):
            _check_link(value)

    def literal_string(self) -> bytes:
        data, pos, depth, out = self.data, self.pos + 1, 1, bytearray()
        while True:
            stop = _STRING_STOP.search(data, pos)
            if stop is None:  # unterminated: the rest of the data
                out += data[pos:]
                pos = len(data)
                break
            out += data[pos : stop.start()]
            pos = stop.end()
            char = data[stop.start()]
            if char == ord("\\"):
                pos = self._escape(pos, out)
            elif char == ord("("):
                depth += 1
                out.append(char)
            else:
                depth -= 1
                if depth == 0:
                    break
                out.append(char)
        self.pos = pos
        string = bytes(out)
        self.on_string(string)
        return string

    def _escape(self, pos: int, out: bytearray) -> int:
        data = self.data
        if pos >= len(data):
            return pos
        char = data[pos]
        if char in _ESCAPES:
            out += _ESCAPES[char]
            return pos + 1
        if ord("0") <= char <= ord("7"):
            digits = re.match(rb"[0-7]{1,3}", data[pos : pos + 3]).group()
            out.append(int(digits, 8) & 0xFF)
            return pos + len(digits)
        if char == ord("\r"):  # a line continuation
            return pos + (2 if data.startswith(b"\r\n", pos) else 1)
        if char == ord("\n"):
            return pos + 1
        out.append(char)
        return pos + 1

    def hex_string(self) -> bytes:
        end = self.data.find(b">", self.pos + 1)
        end = len(self.data) if end < 0 else end
        digits = _NOT_HEX.sub(b"", self.data[self.pos + 1 : end])
        self.pos = end + 1
        string = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
        self.on_string(string)
        return string


def scan(data: bytes, max_decoded: int, find_markup: Callable[[bytes], bytes | None]) -> int:
    """Raise Unacceptable for an action or script (or web markup, as `find_markup` sees it)
    anywhere in the PDF, TooMuchToDecode when its object streams decompress past
    `max_decoded` bytes. Returns the bytes decompressed."""

    def on_string(string: bytes) -> None:
        found = find_markup(string)
        if found is not None:
            raise Unacceptable(_markup_detail(found))

    decoded = 0
    for keyword in _OBJ.finditer(data):
        start, end = keyword.span()
        if (start > 0 and data[start - 1] not in _BOUNDARY) or (
            end < len(data) and data[end] not in _BOUNDARY
        ):
            continue  # part of a longer word: endobj, objective …
        reader = _Reader(data, end, on_string)
        value = reader.value()
        if not isinstance(value, dict) or not _is_object_stream(value):
            continue
        reader.skip()
        if not data.startswith(b"stream", reader.pos):
            continue
        text = _object_stream_text(data, reader.pos + len(b"stream"), value, max_decoded - decoded)
        decoded += len(text)
        _scan_object_stream(text, on_string, find_markup)
    return decoded


def _markup_detail(found: bytes) -> str:
    quoted = found.decode("ascii", "replace").strip()[:40]
    return f"The PDF holds web markup ({quoted!r}); files that are also web pages are refused."


def _is_object_stream(dictionary: dict) -> bool:
    return dictionary.get("Type") == "ObjStm" or ("N" in dictionary and "First" in dictionary)


def _object_stream_text(data: bytes, start: int, dictionary: dict, budget: int) -> bytes:
    if data.startswith(b"\r\n", start):
        start += 2
    elif data.startswith((b"\n", b"\r"), start):
        start += 1
    filters = dictionary.get("Filter")
    if isinstance(filters, list) and len(filters) == 1:
        filters = filters[0]
    if filters is None:
        # Not compressed: the larger of what /Length says and what runs up to "endstream".
        length = dictionary.get("Length")
        end = data.find(b"endstream", start)
        end = len(data) if end < 0 else end
        if isinstance(length, int):
            end = max(end, min(len(data), start + length))
        if end - start > budget:
            raise TooMuchToDecode
        return data[start:end]
    parameters = dictionary.get("DecodeParms", dictionary.get("DP"))
    if isinstance(parameters, list) and len(parameters) == 1:
        parameters = parameters[0]
    # A predictor (or parameters behind a reference) would change the bytes PDFium reads.
    plain = parameters in (None, b"null") or (
        isinstance(parameters, dict) and parameters.get("Predictor", 1) == 1
    )
    if filters not in ("FlateDecode", "Fl") or not plain:
        raise Unacceptable(
            "The PDF packs objects in a way this check cannot read (an object stream that is "
            "not plainly FlateDecode-compressed); save it again with ordinary settings."
        )
    text = _inflate(data, start, budget)
    if not text and start < len(data) and data[start] in _WHITE:
        text = _inflate(data, _SKIP.match(data, start).end(), budget)
    if not text:
        raise Unacceptable("The PDF has an object stream that cannot be read.")
    return text


def _inflate(data: bytes, start: int, budget: int) -> bytes:
    """Inflate from `start` to the end of the zlib stream (or of the data, or to where it is
    damaged: what came out so far is what a reader gets); more than `budget` bytes is too many."""
    inflater, out, view = zlib.decompressobj(), bytearray(), memoryview(data)
    try:
        for offset in range(start, len(data), _INFLATE_CHUNK):
            chunk = view[offset : offset + _INFLATE_CHUNK]
            while chunk and not inflater.eof:
                # max_length 0 would mean "no limit": it is always at least 1 here.
                out += inflater.decompress(chunk, budget + 1 - len(out))
                if len(out) > budget:
                    raise TooMuchToDecode
                chunk = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error:
        pass
    return bytes(out)


def _scan_object_stream(
    text: bytes, on_string: Callable[[bytes], None], find_markup: Callable[[bytes], bytes | None]
) -> None:
    # Names anywhere in the text, strings included: an offset in the stream's header could
    # start an object inside what reads as a string from the top.
    for raw in _ANY_NAME.finditer(text):
        _refuse_name(_name(raw.group(1)))
    found = find_markup(text)
    if found is not None:
        raise Unacceptable(_markup_detail(found))
    reader = _Reader(text, 0, on_string)
    while reader.value() is not _END:
        pass
