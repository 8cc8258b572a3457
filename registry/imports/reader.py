"""Reading a bulk file, row by row, without trusting it.

The format is told by the bytes, not the name: a ZIP (`PK\\x03\\x04`) is read as XLSX with
openpyxl in read-only mode (rows streamed from the sheet's XML, parsed through defusedxml, which
openpyxl uses when it is installed: no entity expansion); anything else as CSV, UTF-8 with or
without a byte-order mark, comma-separated (or semicolon-separated, as Excel writes in some
locales, when the header says so). Nothing is held whole: CSV is decoded line by line, and an
XLSX sheet is parsed as it is read.

Refused before anything is imported, each with a problem saying what to do:
- an old Excel (.xls) file or UTF-16 text (415), text that is not UTF-8 (422, with its line);
- an XLSX file that unpacks to more than REGISTRY_IMPORT_MAX_UNCOMPRESSED_BYTES, or one of whose
  parts expands more than REGISTRY_IMPORT_MAX_RATIO times (a zip bomb, 413): the ZIP's
  directory is read first, then every part is unpacked once, counting, before openpyxl opens
  the file (a directory can lie about sizes);
- more than REGISTRY_IMPORT_MAX_ROWS data rows (413, the rest unread);
- a header with unknown, repeated or missing columns (422, as row errors of row 1).
"""

import codecs
import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from openpyxl import load_workbook

from .. import errors
from .fileformat import COLUMNS

XLSX, CSV = "xlsx", "csv"
CHUNK = 1024 * 1024
# Parts smaller than this may expand as they like (a tiny XML file compresses very well).
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_ZIP_ENTRIES = 10_000
MAX_COLUMNS = 200


@dataclass(frozen=True)
class Limits:
    max_rows: int
    max_uncompressed_bytes: int
    max_ratio: int

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(
            config["REGISTRY_IMPORT_MAX_ROWS"],
            config["REGISTRY_IMPORT_MAX_UNCOMPRESSED_BYTES"],
            config["REGISTRY_IMPORT_MAX_RATIO"],
        )


@dataclass
class Sheet:
    """An opened file: its format, its columns (as named in the header) and its data rows, each
    `(row number, {column: raw cell})` with the header as row 1; empty rows are skipped."""

    format: str
    columns: list[str]
    rows: Iterator[tuple[int, dict]]


def sniff(stream) -> str:
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(b"PK\x03\x04"):
        return XLSX
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise errors.UnsupportedMediaType(
            "This is an old Excel (.xls) workbook: save it as .xlsx or as CSV UTF-8."
        )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise errors.UnsupportedMediaType(
            "This text is UTF-16 (Excel's 'Unicode Text'): save it as CSV UTF-8."
        )
    return CSV


def open_sheet(stream, limits: Limits) -> Sheet:
    """Open a bulk file (a seekable binary stream) for reading; see the module's doc."""
    kind = sniff(stream)
    raw_rows = _xlsx_rows(stream, limits) if kind == XLSX else _csv_rows(stream)
    try:
        _number, header = next(raw_rows)
    except StopIteration:
        raise errors.RowsRefused(
            "The file is empty: it needs a header row, then one row per record.",
            [{"row": 1, "column": None, "message": "No header row."}],
        ) from None
    columns = _check_header(header)
    return Sheet(kind, columns, _data_rows(raw_rows, columns, limits.max_rows))


def _check_header(header: list) -> list[str]:
    names = [str(cell).strip().lower() if cell is not None else "" for cell in header]
    while names and not names[-1]:
        names.pop()
    problems = []
    if len(names) > MAX_COLUMNS:
        problems.append(f"More than {MAX_COLUMNS} columns.")
    seen = set()
    for position, name in enumerate(names[:MAX_COLUMNS], start=1):
        if not name:
            problems.append(f"Column {position} has no name.")
        elif name not in COLUMNS:
            problems.append(f"Column {position} is not one the registry reads (see the template).")
        elif name in seen:
            problems.append(f"Column {position} repeats an earlier column ({name}).")
        seen.add(name)
    if "record" not in seen:
        problems.append("The column 'record' is required.")
    if not {"site_code", "facility_id"} & seen:
        problems.append("A column 'site_code' (or 'facility_id') is required.")
    if problems:
        raise errors.RowsRefused(
            "The header row is not one the registry reads; see row_errors and the template.",
            [{"row": 1, "column": None, "message": message} for message in problems],
        )
    return names


def _data_rows(raw_rows, columns: list[str], max_rows: int):
    width = len(columns)
    count = 0
    for number, cells in raw_rows:
        cells = list(cells)
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        count += 1
        if count > max_rows:
            raise errors.ContentTooLarge(
                f"The file has more than {max_rows:,} rows; split it into smaller files."
            )
        extra = [c for c in cells[width:] if c is not None and str(c).strip()]
        if extra:
            raise errors.RowsRefused(
                "A row has more cells than the header has columns.",
                [{"row": number, "column": None, "message": "More cells than columns."}],
            )
        cells += [None] * (width - len(cells))
        yield number, dict(zip(columns, cells[:width], strict=True))


# --- CSV -----------------------------------------------------------------------------------


def _decoded_lines(stream) -> Iterator[str]:
    """The file's lines as text, refusing anything that is not UTF-8 (a BOM is dropped)."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.InvalidInput(
                {"file": [f"Line {number} is not UTF-8 text."]},
                "The file must be UTF-8 text (Excel: save as 'CSV UTF-8'); it is in another "
                "encoding.",
            ) from None


def _csv_rows(stream) -> Iterator[tuple[int, list]]:
    lines = _decoded_lines(stream)
    try:
        first = next(lines)
    except StopIteration:
        return
    delimiter = ";" if first.count(";") > first.count(",") else ","

    def every_line():
        yield first
        yield from lines

    reader = csv.reader(every_line(), delimiter=delimiter, strict=True)
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            yield number, row
    except csv.Error as exc:
        # csv's messages name the problem, never the cell's contents.
        raise errors.InvalidInput(
            {"file": [f"Row {number + 1}: {exc}."]}, "The file is not CSV the registry can read."
        ) from None


# --- XLSX ----------------------------------------------------------------------------------


def _check_zip(stream, limits: Limits) -> None:
    """Refuse a zip bomb before any XML parser sees the file (see the module's doc)."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise errors.InvalidInput(
            {"file": ["Not a valid XLSX (ZIP) file."]}, "The file cannot be read as XLSX."
        ) from None
    too_large = errors.ContentTooLarge(
        f"The workbook unpacks to more than {limits.max_uncompressed_bytes:,} bytes, or one of "
        f"its parts expands more than {limits.max_ratio} times: not a workbook the registry "
        "reads."
    )
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise too_large
        if sum(e.file_size for e in entries) > limits.max_uncompressed_bytes:
            raise too_large
        for entry in entries:
            if entry.file_size > max(RATIO_FLOOR_BYTES, limits.max_ratio * entry.compress_size):
                raise too_large
        total = 0
        for entry in entries:
            size = 0
            try:
                with archive.open(entry) as part:
                    while chunk := part.read(CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        # A directory that lies about sizes is caught here.
                        if size > entry.file_size or total > limits.max_uncompressed_bytes:
                            raise too_large
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
                raise errors.InvalidInput(
                    {"file": ["A part of the workbook is damaged or encrypted."]},
                    "The file cannot be read as XLSX.",
                ) from None
    stream.seek(0)


def _xlsx_rows(stream, limits: Limits) -> Iterator[tuple[int, list]]:
    _check_zip(stream, limits)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook["facilities"] if "facilities" in workbook.sheetnames else workbook.active
        if sheet is None:
            sheet = workbook.worksheets[0]
    except Exception:
        raise errors.InvalidInput(
            {"file": ["Not an XLSX workbook the registry can read."]},
            "The file cannot be read as XLSX.",
        ) from None
    try:
        width = None
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            if width is None:
                header = list(row)
                yield number, header
                # Only as wide as the header: a sheet claiming 16,384 columns costs nothing.
                width = min(len(header), MAX_COLUMNS + 1) + 1
                break
        if width is None:
            return
        rows = sheet.iter_rows(min_row=2, max_col=width, values_only=True)
        for number, row in enumerate(rows, start=2):
            yield number, row
    except errors.RegistryError:
        raise
    except Exception:
        raise errors.InvalidInput(
            {"file": ["A sheet of the workbook cannot be read."]},
            "The file cannot be read as XLSX.",
        ) from None
    finally:
        workbook.close()
