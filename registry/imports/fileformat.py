"""The bulk facility file: its columns, and how a value is written into a cell and read back.

One sheet (CSV or the first worksheet of an XLSX workbook), one header row, then one row per
record. `record` says what a row is (`facility`, `contact`, `access_point`, `tactical_point`);
`site_code` (or, for facilities without one, `facility_id`) says which facility it is or belongs
to. The other columns are the API's fields of each kind, empty where they do not apply
(`APPLIES_TO`). The same columns, in the same order, in both formats.

Cells hold text, except numbers (and booleans written `true`/`false`). Where the API takes a
list, one cell holds it: a contact's `phones` as `kind:number` items separated by `;`, an
extension after ` x` (`mobile:+12175550123; office:+12175550100 x204`).

Formula injection (OWASP "CSV injection"): a text value starting with `=`, `+`, `-`, `@`, a tab
or a carriage return is written with a leading `'`, so no spreadsheet runs it; a value starting
with `'` followed by one of those or by another `'` gets one too, so reading strips exactly one
`'` before one of them and every value comes back as it was.
"""

import re
from datetime import date, datetime

from marshmallow import fields, missing

from ..contacts.schemas import ContactSchema
from ..facilities.schemas import AccessPointSchema, FacilitySchema, TacticalPointSchema

FACILITY, CONTACT, ACCESS_POINT, TACTICAL_POINT = (
    "facility",
    "contact",
    "access_point",
    "tactical_point",
)
KINDS = (FACILITY, CONTACT, ACCESS_POINT, TACTICAL_POINT)
POINTS = (ACCESS_POINT, TACTICAL_POINT)
EVERY = KINDS

# Column -> the kinds of row it applies to, in the order files are written.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "record": EVERY,
    "site_code": EVERY,
    "facility_id": EVERY,
    "name": EVERY,
    "facility_type": (FACILITY,),
    "kind": POINTS,
    "address_line1": (FACILITY, TACTICAL_POINT),
    "address_line2": (FACILITY, TACTICAL_POINT),
    "city": (FACILITY, TACTICAL_POINT),
    "state": (FACILITY, TACTICAL_POINT),
    "postal_code": (FACILITY, TACTICAL_POINT),
    "lat": (FACILITY, *POINTS),
    "lon": (FACILITY, *POINTS),
    "level": POINTS,
    "description": POINTS,
    "main_phone": (FACILITY,),
    "occupancy": (FACILITY,),
    "opening_hours": (FACILITY,),
    "stories_above_grade": (FACILITY,),
    "stories_below_grade": (FACILITY,),
    "floor_area_sq_ft": (FACILITY,),
    "construction_type": (FACILITY,),
    "has_sprinklers": (FACILITY,),
    "has_fire_alarm": (FACILITY,),
    "hazards": (FACILITY,),
    "cctv_notes": (FACILITY,),
    "security_office_notes": (FACILITY,),
    "bleeding_control_kit_locations": (FACILITY,),
    "aed_locations": (FACILITY,),
    "role": (CONTACT,),
    "email": (CONTACT,),
    "phones": (CONTACT,),
    "call_order": (CONTACT,),
    "available_24_7": (CONTACT,),
    "code": (ACCESS_POINT,),
    "key_location": (ACCESS_POINT,),
    "capacity": (TACTICAL_POINT,),
    "opened_by": (TACTICAL_POINT,),
    "activation_contact": (TACTICAL_POINT,),
    "activation_phone": (TACTICAL_POINT,),
    "activation_notes": (TACTICAL_POINT,),
    "notes": EVERY,
}
COLUMNS = tuple(APPLIES_TO)
# Which row a record is, and which facility: not fields of the record itself (a facility's
# site_code is, and is loaded as one).
ROW_COLUMNS = ("record", "site_code", "facility_id")
# Access-point secrets: an empty cell keeps the stored value; never written out.
SECRET_COLUMNS = ("code", "key_location")

# The API's own schemas judge every row (one instance each: building one costs more than a load).
SCHEMAS = {
    FACILITY: FacilitySchema,
    CONTACT: ContactSchema,
    ACCESS_POINT: AccessPointSchema,
    TACTICAL_POINT: TacticalPointSchema,
}
NEW = {kind: schema() for kind, schema in SCHEMAS.items()}
CHANGED = {kind: schema(partial=True) for kind, schema in SCHEMAS.items()}


def fields_of(kind: str) -> tuple[str, ...]:
    """The columns that are fields of a `kind` record."""
    own = ("site_code",) if kind == FACILITY else ()
    return tuple(
        c for c, kinds in APPLIES_TO.items() if kind in kinds and (c not in ROW_COLUMNS or c in own)
    )


# Numbers are written as numbers: never a formula, and no quote to strip.
NUMERIC = {
    name
    for schema in NEW.values()
    for name, field in schema.fields.items()
    if isinstance(field, fields.Number)
} | {"facility_id"}

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTED = (*FORMULA_START, "'")


def guard(text: str) -> str:
    """A text value as written into a cell: never read as a formula (see the module's doc)."""
    if text.startswith(FORMULA_START) or (text.startswith("'") and text[1:2].startswith(_QUOTED)):
        return "'" + text
    return text


def unguard(text: str) -> str:
    """The value `guard` wrote: one leading `'` before a formula character or a `'` removed."""
    if text.startswith("'") and len(text) > 1 and text[1] in _QUOTED:
        return text[1:]
    return text


# --- phones in one cell -------------------------------------------------------------------

_PHONE = re.compile(r"(?P<kind>[A-Za-z_]+)\s*:\s*(?P<number>[^x]*?)\s*(?:x\s*(?P<ext>\S+))?")
PHONES_HELP = (
    "Write each number as kind:number, separated by ';', an extension after ' x': "
    "mobile:+12175550123; office:+12175550100 x204"
)


class CellError(ValueError):
    """A cell that cannot become a value; the message is for the row's error list."""


def parse_phones(text: str) -> list[dict]:
    phones = []
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        match = _PHONE.fullmatch(item)
        if match is None:
            raise CellError(PHONES_HELP)
        phone = {"kind": match["kind"].lower(), "number": match["number"]}
        if match["ext"]:
            phone["extension"] = match["ext"]
        phones.append(phone)
    return phones


def format_phones(phones: list[dict]) -> str:
    return "; ".join(
        f"{p['kind']}:{p['number']}" + (f" x{p['extension']}" if p.get("extension") else "")
        for p in phones
    )


# --- cells to values the schemas load ----------------------------------------------------


def is_empty(raw) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def as_text(raw) -> str:
    """A cell as text: CSV cells are text already; XLSX ones may be numbers or dates."""
    if isinstance(raw, str):
        return unguard(raw)
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # a ZIP code or a site code Excel took for a number
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    return str(raw)


_WHOLE = re.compile(r"[+-]?\d+(\.0*)?")


def whole_number(raw) -> int:
    """A cell as a whole number (the API takes whole JSON numbers only; a cell is text, or a
    float in XLSX)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = as_text(raw).strip()
    if len(text) <= 20 and _WHOLE.fullmatch(text):
        return int(text.split(".")[0])
    raise CellError("Not a whole number.")


def cell_value(field: fields.Field, column: str, raw):
    """What the schema's `field` is given for the cell `raw` (not empty)."""
    if column == "phones":
        return parse_phones(as_text(raw))
    if isinstance(field, fields.Boolean) and isinstance(raw, bool | int):
        return raw
    if isinstance(field, fields.Integer):
        return whole_number(raw)
    if isinstance(field, fields.Float) and isinstance(raw, int | float):
        return raw
    return as_text(raw)


def empty_value(field: fields.Field):
    """What an empty cell means for `field`: null where the API takes null, blank text (refused
    where text is required), else the field's default (a contact's call order 1, not 24/7)."""
    if field.allow_none:
        return None
    if isinstance(field, fields.String):
        return ""
    if field.load_default is not missing:
        return field.load_default() if callable(field.load_default) else field.load_default
    return None


# --- records to cells --------------------------------------------------------------------


def cells_of(kind: str, record, site_code: str | None, facility_id: int) -> dict:
    """A record's row as values (text, numbers, or None for an empty cell), before guarding."""
    row = {"record": kind, "site_code": site_code, "facility_id": facility_id}
    for column in fields_of(kind):
        if column in SECRET_COLUMNS:
            continue  # never exported: the column stays empty
        if column == "phones":
            row[column] = format_phones(record.phones) or None
            continue
        value = getattr(record, column)
        if isinstance(value, bool):
            value = "true" if value else "false"
        row[column] = value
    return row
