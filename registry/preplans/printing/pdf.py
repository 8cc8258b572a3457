"""The sheet as a PDF (US Letter), drawn with fpdf2.

Why fpdf2: pure Python (its dependencies are fontTools, defusedxml and Pillow, which the
registry has already), so it works offline and needs no system library (WeasyPrint needs
Pango; a headless browser is a service of its own); maintained by the py-pdf organization with
frequent releases; embeds TrueType fonts subset to the glyphs used; tables that split across
pages; fallback fonts per glyph. ReportLab would do too, but has no per-glyph font fallback.

The PDF core fonts know Latin-1 only, so text is set in DejaVu Sans (Latin, Greek, Cyrillic,
Hebrew, Arabic and more; the Bitstream Vera license, in fonts/), falling back glyph by glyph to
Droid Sans Fallback (Chinese, Japanese, Korean; Apache 2.0) when a name needs it: that font
takes about 0.2 s to load, so only such sheets load it. A character in neither font is logged
by fpdf2 as a missing glyph and printed blank.

The first page holds the first five minutes in the order of the sheet; a long sheet goes on
to a second page (the banner of a break-glass read, the facility's name and the page number
on every page), with the other access and tactical points last.
"""

import io
from functools import lru_cache
from importlib import resources

from fontTools.ttLib import TTFont
from fpdf import FPDF, FontFace
from PIL import Image

from .sheet import Sheet, Table

FONTS = resources.files(__package__).joinpath("fonts")
REGULAR, BOLD = FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"
FALLBACK = FONTS / "DroidSansFallback.ttf"
TEXT_PT, SMALL_PT, TABLE_PT = 8.5, 7, 7.5
RED, MARKED, HEADING = (176, 0, 0), (255, 243, 196), (230, 230, 230)
PLAN_WIDTH, PLAN_HEIGHT, GAP = 78.0, 72.0, 4.0


@lru_cache(maxsize=1)
def _regular_covers() -> frozenset[int]:
    """The code points DejaVu Sans draws (read once per process)."""
    with TTFont(str(REGULAR), lazy=True) as font:
        return frozenset(font.getBestCmap())


def _needs_fallback(sheet: Sheet) -> bool:
    covered = _regular_covers()
    return any(ord(ch) not in covered for text in sheet.texts() for ch in text if not ch.isspace())


class _Document(FPDF):
    def __init__(self, sheet: Sheet):
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.sheet = sheet
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(True, margin=12)
        self.add_font("DejaVu", "", str(REGULAR))
        self.add_font("DejaVu", "B", str(BOLD))
        if _needs_fallback(sheet):
            self.add_font("Fallback", "", str(FALLBACK))
            # exact_match=False: the one weight serves bold text too.
            self.set_fallback_fonts(["Fallback"], exact_match=False)
        self.set_title(f"Pre-plan: {sheet.name}")
        self.set_author("Partner registry")
        self.set_lang("en")

    def header(self):
        if self.page_no() == 1:
            return
        if self.sheet.break_glass:
            self._stripe("BREAK-GLASS ACCESS (see page 1)")
        self.set_font("DejaVu", "B", TEXT_PT)
        self.cell(0, 5, f"{self.sheet.name} — pre-plan, continued", new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def footer(self):
        self.set_y(-10)
        self.set_font("DejaVu", "", SMALL_PT)
        self.set_text_color(60)
        marker = " · BREAK-GLASS" if self.sheet.break_glass else ""
        self.cell(
            0,
            4,
            f"Pre-plan of {self.sheet.name} (facility #{self.sheet.facility_id}) · "
            f"{self.sheet.printed}{marker} · page {self.page_no()} of {{nb}}",
        )
        self.set_text_color(0)

    def _stripe(self, text: str):
        self.set_font("DejaVu", "B", TEXT_PT)
        self.set_fill_color(*RED)
        self.set_text_color(255)
        self.multi_cell(0, 4.5, text, fill=True, padding=1.5, new_x="LMARGIN", new_y="NEXT")
        # Back to black on white: tables fill their cells with the current fill colour.
        self.set_text_color(0)
        self.set_fill_color(255)
        self.ln(1.5)


def render(sheet: Sheet) -> bytes:
    pdf = _Document(sheet)
    pdf.add_page()
    if sheet.break_glass:
        pdf._stripe(sheet.break_glass)
    _title(pdf, sheet)
    _top(pdf, sheet)
    for table in sheet.first:
        _table(pdf, table)
    _small(pdf, sheet.codes_note)
    _heading(pdf, "Shared under")
    for line in sheet.sharing:
        _text(pdf, line)
    for table in sheet.more:
        _table(pdf, table)
    return bytes(pdf.output())


def _title(pdf: FPDF, sheet: Sheet):
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 6.5, sheet.name, align="L", new_x="LMARGIN", new_y="NEXT")
    _small(
        pdf,
        f"{sheet.kind} · facility #{sheet.facility_id} · pre-plan, first five minutes · "
        f"{sheet.printed}",
    )


def _top(pdf: FPDF, sheet: Sheet):
    """Address, position, facts and hazards on the left; the ground-level plan on the right."""
    top, page = pdf.get_y(), pdf.page_no()
    left_width = pdf.epw - PLAN_WIDTH - GAP
    plan_bottom = _plan(pdf, sheet, pdf.l_margin + left_width + GAP, top)
    pdf.set_xy(pdf.l_margin, top)
    _heading(pdf, "Address and position", left_width)
    _pairs(pdf, [("Address", "\n".join(sheet.address)), ("Position", sheet.position)], left_width)
    _pairs(pdf, sheet.facts, left_width)
    _small(pdf, sheet.facility_freshness, left_width)
    _heading(pdf, "Hazards and life safety", left_width)
    _pairs(pdf, sheet.hazards, left_width, first_bold=True)
    if pdf.page_no() == page:  # the left side may run on to the next page; the plan does not
        pdf.set_y(max(pdf.get_y(), plan_bottom))
    pdf.ln(1)


def _plan(pdf: FPDF, sheet: Sheet, x: float, y: float) -> float:
    """Draw the plan's preview at (x, y) within PLAN_WIDTH x PLAN_HEIGHT; returns its bottom."""
    plan = sheet.plan
    pdf.set_xy(x, y)
    if plan.png:
        with Image.open(io.BytesIO(plan.png)) as image:
            width, height = image.size
        scale = min(PLAN_WIDTH / width, PLAN_HEIGHT / height)
        w, h = width * scale, height * scale
        pdf.image(io.BytesIO(plan.png), x=x, y=y, w=w, h=h, alt_text=plan.caption)
        pdf.set_draw_color(100)
        pdf.rect(x, y, w, h)
        pdf.set_xy(x, y + h + 1)
    pdf.set_font("DejaVu", "", SMALL_PT)
    caption = "\n".join(filter(None, (plan.caption, plan.note, plan.other_levels)))
    pdf.multi_cell(PLAN_WIDTH, 3, caption, align="L", new_x="LEFT", new_y="NEXT")
    return pdf.get_y()


def _heading(pdf: FPDF, title: str, width: float = 0):
    if pdf.will_page_break(14):
        pdf.add_page()
    x = pdf.get_x()
    pdf.ln(1.5)
    pdf.set_x(x)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(width or pdf.epw, 5, title, border="B", new_x="LEFT", new_y="NEXT")
    pdf.ln(0.8)
    pdf.set_x(x)


def _pairs(pdf: FPDF, pairs, width: float, first_bold: bool = False):
    x, label_width = pdf.get_x(), 32
    for n, (label, value) in enumerate(pairs):
        top, page = pdf.get_y(), pdf.page_no()
        pdf.set_font("DejaVu", "B", TEXT_PT)
        pdf.multi_cell(label_width, 3.8, label, align="L", new_x="LEFT", new_y="NEXT")
        label_bottom = pdf.get_y()
        pdf.set_xy(x + label_width, top)
        pdf.set_font("DejaVu", "B" if first_bold and n == 0 else "", TEXT_PT)
        pdf.multi_cell(width - label_width, 3.8, value, align="L", new_x="LEFT", new_y="NEXT")
        # Below the taller of the two (the value alone when it ran on to the next page).
        if pdf.page_no() == page:
            pdf.set_y(max(pdf.get_y(), label_bottom))
        pdf.set_x(x)


def _text(pdf: FPDF, text: str):
    pdf.set_font("DejaVu", "", TEXT_PT)
    pdf.multi_cell(0, 3.8, text, align="L", new_x="LMARGIN", new_y="NEXT")


def _small(pdf: FPDF, text: str, width: float = 0):
    x = pdf.get_x()
    pdf.set_font("DejaVu", "", SMALL_PT)
    pdf.set_text_color(60)
    pdf.multi_cell(width, 3.2, text, align="L", new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_x(x)


def _table(pdf: FPDF, table: Table):
    _heading(pdf, table.title)
    if not table.rows:
        _text(pdf, table.empty)
        return
    pdf.set_font("DejaVu", "", TABLE_PT)
    pdf.set_draw_color(120)
    marked = FontFace(emphasis="B", fill_color=MARKED)
    with pdf.table(
        col_widths=table.widths,
        headings_style=FontFace(emphasis="B", fill_color=HEADING),
        line_height=3.4,
        text_align="LEFT",
        v_align="TOP",
        padding=0.8,
        repeat_headings=1,
    ) as grid:
        grid.row(table.headings)
        for n, cells in enumerate(table.rows):
            row = grid.row()
            for text in cells:
                row.cell(text, style=marked if n in table.marked else None)
