"""PDF actions and web markup in uploads (issue 15, item 6).

A PDF is refused when it holds JavaScript anywhere it could run — the /OpenAction, a page's /AA,
an annotation's action, an object packed in a compressed object stream, a name spelt with #xx
escapes — or an action that starts a program, opens another file, or links to a non-web
address. Web markup is refused in a PNG's compressed text chunks and as `<img onerror>`,
`<meta>` and script URLs. Ordinary files with links and text are still accepted.
"""

import pytest

from registry.floorplans import pdf_actions
from registry.floorplans.markup import find_markup
from registry.floorplans.models import FileBlob, FloorPlan
from tests import file_store, sample_files
from tests.conftest import assert_problem, count
from tests.file_store import upload_plan

# The shared fixture: a facility and a manager who may upload its plans.
plan_site = file_store.plan_site

JAVASCRIPT = b"<< /S /JavaScript /JS (app.alert(1)) >>"


def link(action: bytes) -> bytes:
    return b"<< /Type /Annot /Subtype /Link /Rect [0 0 50 50] /A " + action + b" >>"


REFUSED_PDFS = {
    "open action": (sample_files.pdf(b"/OpenAction 5 0 R", (JAVASCRIPT,)), "JavaScript"),
    "page /AA": (
        sample_files.pdf(extra_objects=(JAVASCRIPT,), page_extra=b"/AA << /O 5 0 R >>"),
        "JavaScript",
    ),
    "annotation action": (
        sample_files.pdf(extra_objects=(link(JAVASCRIPT),), page_extra=b"/Annots [5 0 R]"),
        "JavaScript",
    ),
    "in an object stream": (
        sample_files.pdf_with_objects_in_a_stream(b"/OpenAction 5 0 R", (JAVASCRIPT,)),
        "JavaScript",
    ),
    "escaped name": (
        sample_files.pdf(b"/OpenAction << /S /Java#53cript /J#53 (1) >>"),
        "JavaScript",
    ),
    "launch": (sample_files.pdf(b"/OpenAction << /S /Launch /F (calc.exe) >>"), "/Launch"),
    "file link": (
        sample_files.pdf(
            extra_objects=(link(b"<< /S /URI /URI (file:///C:/Windows/calc.exe) >>"),),
            page_extra=b"/Annots [5 0 R]",
        ),
        "links to a file: address",
    ),
    "script link, hex-encoded": (
        sample_files.pdf(
            extra_objects=(link(b"<< /S /URI /URI <6a617661736372697074 3a616c657274283129> >>"),),
            page_extra=b"/Annots [5 0 R]",
        ),
        "javascript:",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_PDFS))
def test_pdf_actions_are_refused(client, app, plan_site, case):
    content, reason = REFUSED_PDFS[case]
    body = assert_problem(upload_plan(client, plan_site, content), 415)
    assert reason in body["detail"], body["detail"]
    assert count(app, FloorPlan) == 0 and count(app, FileBlob) == 0


REFUSED_PNGS = {
    "compressed text (zTXt)": (
        sample_files.png_with_text("Comment", "<a href=javascript:alert(1)>plan</a>", True),
        "javascript:",
    ),
    "compressed international text (iTXt)": (
        sample_files.png_with_text("Comment", "<img src=x onerror=alert(1)>", True, True),
        "onerror",
    ),
    "img onerror": (
        sample_files.png_with_text("Comment", "<img src=x onerror=alert(1)>", False),
        "onerror",
    ),
    "meta refresh": (
        sample_files.png_with_text("Comment", "<meta http-equiv=refresh content=0>", False),
        "<meta",
    ),
    "script link with an entity": (
        sample_files.png_with_text("Comment", '<a href="java\tscript&colon;alert(1)">', False),
        "script&colon;",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_PNGS))
def test_markup_in_png_text_is_refused(client, app, plan_site, case):
    content, reason = REFUSED_PNGS[case]
    body = assert_problem(upload_plan(client, plan_site, content, "plan.png"), 415)
    assert "web markup" in body["detail"] and reason in body["detail"], body["detail"]
    assert count(app, FloorPlan) == 0


ACCEPTED = {
    "web link and an opening view": (
        sample_files.pdf(
            b"/OpenAction [3 0 R /Fit]",
            (link(b"<< /S /URI /URI (https://example.org/plans/2) >>"),),
            page_extra=b"/Annots [5 0 R]",
        ),
        "plan.pdf",
    ),
    "objects in a stream": (
        sample_files.pdf_with_objects_in_a_stream(b"/Info 5 0 R", (b"<< /Title (Level 2) >>",)),
        "plan.pdf",
    ),
    "compressed text": (
        sample_files.png_with_text("Comment", "Level 2 <east> exits on=north; see /JS", True),
        "plan.png",
    ),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_ordinary_links_and_text_are_accepted(client, plan_site, case):
    content, name = ACCEPTED[case]
    response = upload_plan(client, plan_site, content, name)
    assert response.status_code == 201, response.get_data(as_text=True)


# --- the PDF reader itself (in-process: no upload needed) -------------------------------------


def scan(data: bytes, budget: int = 10**6) -> int:
    return pdf_actions.scan(data, budget, find_markup)


@pytest.mark.parametrize(
    "pdf",
    [
        b"1 0 obj << /S (JavaScript) >> endobj",  # the action type as a string
        b"1 0 obj << /A << /S /URI /URI ( JAVASCRIPT:alert(1)) >> >> endobj",
        b"1 0 obj [ (a \\) still a string) << /XFA 2 0 R >> ] endobj",
        b"1 0 obj (<scr\\151pt>) endobj",  # markup behind an octal escape
        b"1 %comment\n0 obj<</Type/Action/S/Launch>>endobj",
        b"1 0 obj " + b"[" * 70 + b" endobj",
    ],
)
def test_the_reader_sees_through_pdf_syntax(pdf):
    with pytest.raises(pdf_actions.Unacceptable):
        scan(b"%PDF-1.7\n" + pdf)


def test_names_inside_strings_and_stream_data_are_not_actions():
    data = (
        b"%PDF-1.7\n1 0 obj << /Title (see /JS and /Launch) /Length 10 >>\nstream\n"
        b"/JavaScript\nendstream endobj"
    )
    assert scan(data) == 0


def test_object_streams_count_against_the_decoded_budget():
    data = sample_files.pdf_with_objects_in_a_stream(b"", (b"(" + b"x" * 5000 + b")",))
    assert scan(data) > 5000
    with pytest.raises(pdf_actions.TooMuchToDecode):
        scan(data, budget=4000)


def test_an_object_stream_it_cannot_read_is_refused():
    data = sample_files.pdf_with_objects_in_a_stream(b"", ()).replace(
        b"/Filter /FlateDecode", b"/Filter /LZWDecode  "
    )
    with pytest.raises(pdf_actions.Unacceptable, match="cannot read"):
        scan(data)
