"""Web markup inside an uploaded file: the one rule for "this file is also a web page".

A floor plan or MOU that holds HTML a browser would run — in its raw bytes, in a PNG's text
chunks (compressed or not), in a PDF's object streams or strings — was made to be two things at
once, and is refused. Applied by inspection.py to the raw bytes and by checker.py (in the
checking process) to the text it decodes. This module imports only the standard library: the
checking process loads it without the rest of the service.

What counts: tags that run or load something, or change where the page goes (`<script`,
`<iframe`, `<svg`, `<meta`, `<base` …), any tag with an event-handler attribute (`<img src=x
onerror=…>`), and script URLs (`javascript:`, `vbscript:`, `data:text/html`, also with the tabs
and newlines and `&colon;` a browser ignores or decodes). A chance match in compressed data
is rare but not impossible: about 1 in 550 for a 25 MB file of random-looking bytes (1 in 7,000
for 2 MB), nearly all of it `<svg ` (the shortest pattern, there from the start). Matched
against lower-cased bytes: a pattern that starts with a literal is several times faster than a
case-insensitive one.
"""

import re

# Tags that run a script, load another document, or restyle or redirect the page.
_TAGS = (
    rb"script|html|!doctype\s+html|iframe|frameset|frame|svg|math|body|object|embed|applet"
    rb"|meta|base|link|style|form|template|noscript|plaintext|marquee|isindex"
)
# A tag, then (within the tag) an attribute named on<event>: `<img src=x onerror=alert(1)>`,
# `<details open ontoggle=…>`, `<svg/onload=…>`.
_HANDLER = rb"[a-z][^<>]{0,100}?[\s/\"']on[a-z]{3,20}\s*="


def _spread(word: bytes) -> bytes:
    # Browsers drop tabs and newlines inside a URL: "java\tscript:" still runs.
    return rb"[\t\n\r]{0,4}".join(re.escape(bytes([c])) for c in word)


_COLON = rb"[\t\n\r]{0,4}(?::|&colon;|&#0*58;?|&#x0*3a;?)"

# One pattern per leading literal: an alternation without a common first byte is ten times
# slower (250 ms instead of 25 ms for 25 MB).
_PATTERNS = (
    re.compile(rb"<(?:(?:" + _TAGS + rb")[\s>/]|" + _HANDLER + rb")"),
    re.compile(_spread(b"javascript") + _COLON),
    re.compile(_spread(b"vbscript") + _COLON),
    re.compile(rb"data:text/html"),
)

# The longest match any pattern above can make: a scan in windows overlaps them by this much.
OVERLAP = 256


def find_markup(data: bytes) -> bytes | None:
    """The first web markup found in `data` (as found, lower-cased), or None."""
    lowered = data.lower()
    for pattern in _PATTERNS:
        found = pattern.search(lowered)
        if found:
            return found.group()
    return None


def describe(found: bytes) -> str:
    """Found markup as a short, printable quote for a refusal's detail."""
    text = found.decode("ascii", "replace").strip()
    text = "".join(c if c.isprintable() else " " for c in text)
    return repr(text[:40] + ("…" if len(text) > 40 else ""))
