"""Writing the bulk file: CSV as a stream of lines, XLSX through openpyxl's write-only mode.

Rows come from `export.rows` as dicts of values (text, numbers, None); text is guarded against
formula injection here (fileformat.guard), the one place cells are written.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .fileformat import COLUMNS, NUMERIC, guard

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cell(column: str, value):
    if value is None:
        return None
    if column in NUMERIC and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return guard(str(value))


def csv_lines(rows: Iterable[dict]) -> Iterator[str]:
    """The file as CSV text, a line (or a few) at a time: UTF-8 with a byte-order mark, so
    Excel reads it as UTF-8, CRLF line ends as RFC 4180 says."""
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    out.writerow(COLUMNS)
    for row in rows:
        out.writerow(["" if (v := _cell(c, row.get(c))) is None else v for c in COLUMNS])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_file(rows: Iterable[dict]):
    """The file as an XLSX workbook in a temporary file (rewound; the caller closes it)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("facilities")
    sheet.append(COLUMNS)
    for row in rows:
        cells = []
        for column in COLUMNS:
            value = _cell(column, row.get(column))
            cell = WriteOnlyCell(sheet, value)
            if isinstance(value, str):
                # Stored as a string whatever it starts with: openpyxl would otherwise write a
                # value starting with "=" as a formula.
                cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
    spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(spooled)
    spooled.seek(0)
    return spooled
