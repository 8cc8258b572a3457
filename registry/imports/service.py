"""Importing and exporting an organization's facilities, with their contacts, access points and
tactical points, as one file (the format: fileformat.py; reading it: reader.py).

Every row goes through the API's own schema and service (facilities.service, contacts.service):
the same validation, address derivation, phone normalization, sealing of codes, review of
contested addresses, history and audit as a request would get. What this module adds is the
matching and the "only what changed" rule:

- A facility row is matched by its `site_code` among the organization's live facilities (or by
  `facility_id`, for a facility that has no site code yet: an exported file carries both, so a
  file can give site codes to existing facilities). No match: the facility is created.
- A child row belongs to the facility its `site_code` (or `facility_id`) names, in the registry
  or in a facility row above it, and is matched within that facility by its natural key: a
  contact by its name, an access or tactical point by its kind and name (names compared without
  regard to case or repeated spaces). No match: it is created.
- A matched record is compared field by field with the row; only the fields that differ are
  written (one service update: one history row, one audit event, one new version), and a
  record whose row says what it already holds is not written at all. A column missing from the
  header leaves its field alone; an empty cell clears the field (null), except `code` and
  `key_location`, where an empty cell keeps the stored secret (exports never carry them). A
  non-empty code is compared with the stored one (opened only for that comparison) and sealed
  only when it differs.
- Records of a facility that the file does not mention are kept. With `prune`, the file is the
  whole truth for each facility that has a facility row in it: its contacts, access and
  tactical points not in the file are deleted (softly, restorable). Facilities are never
  deleted by a file.

A file is imported whole or not at all: rows are applied in one transaction as they are read,
every error of every row is collected (row, column, message), and any error means the caller's
transaction boundary rolls everything back (transaction.py; the route raises RowsRefused). A dry
run applies the rows the same way and is then rolled back: it reports exactly what the real run
would, and writes nothing.
"""

import gc
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import audit, errors, history
from ..access import writes
from ..auth.principal import Principal
from ..contacts.models import Contact
from ..contacts.service import contacts
from ..encryption import UnreadableSecret
from ..facilities import sealing
from ..facilities.models import AccessPoint, Facility, TacticalPoint
from ..facilities.service import access_points, facilities, tactical_points
from ..organizations.models import Organization
from . import fileformat, reader
from .fileformat import (
    ACCESS_POINT,
    APPLIES_TO,
    CHANGED,
    CONTACT,
    FACILITY,
    KINDS,
    NEW,
    SECRET_COLUMNS,
    TACTICAL_POINT,
    CellError,
)

CHILD_KINDS = (CONTACT, ACCESS_POINT, TACTICAL_POINT)
MODELS = {CONTACT: Contact, ACCESS_POINT: AccessPoint, TACTICAL_POINT: TacticalPoint}
SERVICES = {
    FACILITY: facilities,
    CONTACT: contacts,
    ACCESS_POINT: access_points,
    TACTICAL_POINT: tactical_points,
}
# The most errors a report lists (it counts them all): enough to fix a file by, small enough
# to send.
MAX_LISTED_ERRORS = 10_000
# Facilities whose children one query reads (bound parameters: SQLite takes 32,766).
ID_BATCH = 1000
# A child row whose facility's own row has errors: its fields are still checked.
FACILITY_FAILED = object()


def natural_key(kind_text: str | None, name: str | None) -> tuple[str, str]:
    """How a child record is recognized within its facility: (kind, name), case and repeated
    spaces aside (a contact's kind is "")."""
    return ((kind_text or "").strip().lower(), " ".join((name or "").split()).casefold())


def _key_of(kind: str, record) -> tuple[str, str]:
    return natural_key(record.kind if kind != CONTACT else None, record.name)


@dataclass
class Report:
    """What an import did (or, in a dry run, would do)."""

    dry_run: bool
    format: str
    prune: bool
    rows: int = 0
    created: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    updated: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    unchanged: dict = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    deleted: dict = field(default_factory=lambda: dict.fromkeys(CHILD_KINDS, 0))
    errors: list = field(default_factory=list)
    error_count: int = 0

    def error(self, row: int, column: str | None, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append({"row": row, "column": column, "message": message})

    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "format": self.format,
            "prune": self.prune,
            **{name: getattr(self, name) for name in ("created", "updated", "deleted")},
        }


class Holdings:
    """An organization's live facilities and their live children, loaded in five queries (not one
    per row), kept current as rows are applied."""

    def __init__(self, session: Session, organization_id: int):
        live = (Facility.organization_id == organization_id, Facility.deleted_at.is_(None))
        self.facilities = list(
            session.scalars(
                select(Facility)
                .where(*live)
                .options(selectinload(Facility.alias_rows), selectinload(Facility.external_ids))
                .order_by(Facility.id)
            )
        )
        self.by_code = {f.site_code: f for f in self.facilities if f.site_code is not None}
        self.by_id = {f.id: f for f in self.facilities}
        # (facility id, kind) -> natural key -> records (more than one: ambiguous)
        self.children: dict[tuple, dict[tuple, list]] = defaultdict(lambda: defaultdict(list))
        # By lists of ids rather than a subquery: right after a bulk load PostgreSQL has no
        # statistics yet and planned the subquery as a nested loop (1.6 s for 4,000 contacts).
        ids = sorted(self.by_id)
        for kind, model in MODELS.items():
            for start in range(0, len(ids), ID_BATCH):
                rows = session.scalars(
                    select(model)
                    .where(
                        model.facility_id.in_(ids[start : start + ID_BATCH]),
                        model.deleted_at.is_(None),
                    )
                    .order_by(model.id)
                )
                for record in rows:
                    key = _key_of(kind, record)
                    self.children[(record.facility_id, kind)][key].append(record)

    def add_facility(self, facility: Facility) -> None:
        self.facilities.append(facility)
        self.by_id[facility.id] = facility
        if facility.site_code is not None:
            self.by_code[facility.site_code] = facility

    def recode(self, facility: Facility, old_code: str | None) -> None:
        if old_code is not None and self.by_code.get(old_code) is facility:
            del self.by_code[old_code]
        if facility.site_code is not None:
            self.by_code[facility.site_code] = facility


class _Import:
    def __init__(self, session, principal, organization_id, columns, report, prune):
        self.session, self.principal = session, principal
        self.organization_id, self.columns = organization_id, columns
        self.report, self.prune = report, prune
        self.held = Holdings(session, organization_id)
        self.facility_rows: dict[int, int] = {}  # facility object id -> its row
        self.new_codes: dict[str, int] = {}  # site code of a facility row -> its row
        self.failed_codes: dict[str, int] = {}  # ... whose row had errors
        self.child_rows: dict[tuple, int] = {}  # (facility id, kind, key) -> row
        self.seen: set[tuple[str, int]] = set()  # (kind, record id) in the file
        self.pruned_facilities: list[Facility] = []

    # --- one row -----------------------------------------------------------------------
    def row(self, number: int, cells: dict) -> None:
        self.report.rows += 1
        raw_kind = cells["record"]
        kind = "" if fileformat.is_empty(raw_kind) else fileformat.as_text(raw_kind).strip()
        if kind not in KINDS:
            self.report.error(number, "record", f"One of: {', '.join(KINDS)}.")
            return
        stray = [
            c
            for c in self.columns
            if kind not in APPLIES_TO[c] and not fileformat.is_empty(cells[c])
        ]
        for column in stray:
            self.report.error(number, column, f"Not a column of a {kind} row: leave it empty.")
        if stray:
            return
        resolved = self.resolve(number, kind, cells)
        if resolved is False:
            return
        if kind == FACILITY and resolved is not FACILITY_FAILED:
            self.facility_row(number, cells, resolved)
        else:
            self.child_row(number, kind, cells, resolved)

    def resolve(self, number: int, kind: str, cells: dict):
        """The facility a row is or belongs to (None: a facility row for a new one), or False
        when the row cannot say (its errors reported)."""
        raw_code, raw_id = cells.get("site_code"), cells.get("facility_id")
        code = None if fileformat.is_empty(raw_code) else fileformat.as_text(raw_code).strip()
        by_code = self.held.by_code.get(code) if code else None
        by_id, facility_id = None, None
        if not fileformat.is_empty(raw_id):
            try:
                facility_id = fileformat.whole_number(raw_id)
            except CellError:
                self.report.error(number, "facility_id", "Not a facility id.")
                return False
            by_id = self.held.by_id.get(facility_id)
            if by_id is None:
                self.report.error(
                    number, "facility_id", f"No facility {facility_id} in this organization."
                )
                return False
        if by_code is not None and by_id is not None and by_code is not by_id:
            self.report.error(
                number,
                "site_code",
                f"This site code is facility {by_code.id}'s, not facility {by_id.id}'s.",
            )
            return False
        facility = by_code or by_id
        if facility is not None or kind == FACILITY:
            if facility is None and code is None:
                self.report.error(number, "site_code", "A new facility needs a site code.")
                return False
            return facility
        if code in self.failed_codes:
            return FACILITY_FAILED  # its row has errors: check this row's own fields only
        if code:
            # Like every error here, it names the row and column and never repeats the cell.
            message = (
                "No facility with this site code in this organization, in the registry or in "
                "a facility row above."
            )
        else:
            message = "Say which facility: a site code (or a facility id)."
        self.report.error(number, "site_code", message)
        return False

    def facility_row(self, number: int, cells: dict, facility: Facility | None) -> None:
        code = cells.get("site_code")
        code = None if fileformat.is_empty(code) else fileformat.as_text(code).strip()
        first = (
            self.facility_rows.get(id(facility))
            if facility is not None
            else self.new_codes.get(code)
        )
        if first is not None:
            self.report.error(
                number, None, f"A second row for this facility (the first is row {first})."
            )
            return
        if facility is not None:
            self.facility_rows[id(facility)] = number
        else:
            self.new_codes[code] = number
        data = self.load(number, FACILITY, cells, facility)
        if data is not None and "site_code" in data:
            holder = self.held.by_code.get(data["site_code"]) if data["site_code"] else None
            if holder is not None and holder is not facility:
                self.report.error(number, "site_code", f"Site code taken by facility {holder.id}.")
                data = None
        if data is None:
            if facility is None:
                self.failed_codes[code] = number
            return
        if facility is None:
            created = self.write(
                number,
                FACILITY,
                facilities.create,
                {**data, "organization_id": self.organization_id},
            )
            if created is None:
                self.failed_codes[code] = number
                return
            self.report.created[FACILITY] += 1
            self.held.add_facility(created)
            self.facility_rows[id(created)] = number
            self.pruned_facilities.append(created)
            return
        self.pruned_facilities.append(facility)
        old_code = facility.site_code
        if self.update(number, FACILITY, facility, data):
            self.held.recode(facility, old_code)

    def child_row(self, number: int, kind: str, cells: dict, facility: Facility) -> None:
        noun = SERVICES[kind].noun
        if facility is FACILITY_FAILED:
            self.load(number, kind, cells, None)
            return
        kind_cell = cells.get("kind") if kind != CONTACT else None
        kind_text = None if fileformat.is_empty(kind_cell) else fileformat.as_text(kind_cell)
        name = cells.get("name")
        key = natural_key(
            kind_text, None if fileformat.is_empty(name) else fileformat.as_text(name)
        )
        if kind != CONTACT and "kind" not in self.columns:
            self.report.error(number, "kind", f"An {noun} row needs the column 'kind'.")
            return
        if "name" not in self.columns:
            self.report.error(number, "name", f"A {noun} row needs the column 'name'.")
            return
        first = self.child_rows.get((id(facility), kind, key))
        if first is not None and key[1]:
            self.report.error(
                number, "name", f"A second row for this {noun} (the first is row {first})."
            )
            return
        self.child_rows[(id(facility), kind, key)] = number
        matches = self.held.children[(facility.id, kind)].get(key, [])
        if len(matches) > 1:
            self.report.error(
                number,
                "name",
                f"This facility has {len(matches)} {noun}s of this name: rename all but one "
                "(through the API) so rows can tell them apart.",
            )
            return
        existing = matches[0] if matches else None
        data = self.load(number, kind, cells, existing)
        if data is None:
            return
        if existing is None:
            created = self.write(
                number, kind, SERVICES[kind].create, {**data, "facility_id": facility.id}
            )
            if created is not None:
                self.report.created[kind] += 1
                self.held.children[(facility.id, kind)][key].append(created)
                self.seen.add((kind, created.id))
            return
        self.seen.add((kind, existing.id))
        self.update(number, kind, existing, data)

    # --- loading and writing -------------------------------------------------------------
    def load(self, number: int, kind: str, cells: dict, existing) -> dict | None:
        """The row's fields of a `kind` record, loaded by the API's schema (all its required
        fields for a new record; only the columns present for a stored one), or None."""
        schema = CHANGED[kind] if existing is not None else NEW[kind]
        raw, failed = {}, set()
        for column in fileformat.fields_of(kind):
            if column not in self.columns:
                continue
            schema_field, cell = schema.fields[column], cells[column]
            if fileformat.is_empty(cell):
                if column not in SECRET_COLUMNS:
                    raw[column] = fileformat.empty_value(schema_field)
                continue
            try:
                raw[column] = fileformat.cell_value(schema_field, column, cell)
            except CellError as exc:
                self.report.error(number, column, str(exc))
                failed.add(column)
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            # The other columns' errors too; a column already reported is not again.
            self.errors_of(number, {k: v for k, v in exc.messages.items() if k not in failed})
            return None
        return None if failed else data

    def write(self, number: int, kind: str, operation, *args):
        """Call a service operation; its refusals become the row's errors (None returned)."""
        try:
            return operation(self.session, self.principal, *args)
        except errors.InvalidInput as exc:
            self.errors_of(number, exc.errors)
        except (errors.Forbidden, errors.NotFound, errors.Conflict) as exc:
            self.report.error(number, None, exc.detail)
        return None

    def update(self, number: int, kind: str, record, data: dict) -> bool:
        changed = {k: v for k, v in data.items() if _differs(record, k, v)}
        if not changed:
            self.report.unchanged[kind] += 1
            return False
        if self.write(number, kind, SERVICES[kind].update, record, changed) is None:
            return False
        self.report.updated[kind] += 1
        return True

    def errors_of(self, number: int, messages, column: str | None = None, where="") -> None:
        """marshmallow's (or InvalidInput's) messages as row errors, one per message."""
        if isinstance(messages, dict):
            for key, value in messages.items():
                if column is None:
                    self.errors_of(number, value, None if key == "_schema" else str(key))
                elif isinstance(key, int):
                    self.errors_of(number, value, column, f"{where}item {key + 1}: ")
                else:
                    self.errors_of(number, value, column, f"{where}{key}: ")
        elif isinstance(messages, list | tuple):
            for message in messages:
                self.errors_of(number, message, column, where)
        else:
            self.report.error(number, column, f"{where}{messages}")

    def finish(self) -> None:
        if not self.prune or self.report.error_count:
            return
        for facility in self.pruned_facilities:
            for kind in CHILD_KINDS:
                for records in self.held.children[(facility.id, kind)].values():
                    for record in records:
                        if (kind, record.id) not in self.seen:
                            SERVICES[kind].delete(self.session, self.principal, record)
                            self.report.deleted[kind] += 1


def _differs(record, name: str, value) -> bool:
    if name == "phones":
        wanted = [
            {"kind": p["kind"], "number": p["number"], "extension": p.get("extension")}
            for p in value
        ]
        return record.phones != wanted
    if name in SECRET_COLUMNS:
        try:
            return sealing.open_secret(record, name) != value
        except UnreadableSecret:
            return True  # sealed again: what was stored could not be read anyway
    return getattr(record, name) != value


def authorize(session: Session, principal: Principal, organization_id: int) -> Organization:
    """The organization, if the caller manages it (admins, its facility managers)."""
    organization = session.get(Organization, organization_id)
    if organization is None or not writes.manages_organization(principal, organization_id):
        raise errors.Forbidden(
            "Only the organization's facility managers and administrators import or export "
            "its facilities."
        )
    return organization


def import_file(
    session: Session,
    principal: Principal,
    organization_id: int,
    stream,
    limits: reader.Limits,
    *,
    dry_run: bool,
    prune: bool = False,
) -> Report:
    """Apply a bulk file to the organization's facilities (see the module's doc), in the
    caller's transaction. The report lists every error; the caller rolls back when there is
    one, or when `dry_run`."""
    # Held for the whole run: the session's identity map keeps objects only while something
    # else does, and every facility's validation looks its organization up there.
    organization = authorize(session, principal, organization_id)
    sheet = reader.open_sheet(stream, limits)
    report = Report(dry_run=dry_run, format=sheet.format, prune=prune)
    run = _Import(session, principal, organization_id, sheet.columns, report, prune)
    run.organization = organization
    with _fewer_collections(), history.deferred(session):
        for number, cells in sheet.rows:
            run.row(number, cells)
        run.finish()
    if not report.error_count and not dry_run:
        audit.record(
            session,
            principal,
            "organization.facility_import",
            record_type="organization",
            record_id=organization_id,
            details=report.summary(),
        )
    return report


@contextmanager
def _fewer_collections():
    """An import builds tens of thousands of objects that all live until the commit, and the
    cyclic garbage collector's passes over them took a third of its time (bench/bulk_import.py:
    34 s against 24 s for 10,000 rows): collect less often while rows are applied."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), max(threshold[1], 50), max(threshold[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def refusal(report: Report) -> errors.RowsRefused:
    return errors.RowsRefused(
        f"The file has {report.error_count} errors in its rows; nothing was imported.",
        report.errors,
        report.error_count,
    )


# --- export ------------------------------------------------------------------------------


def export_rows(session: Session, principal: Principal, organization_id: int, file_format: str):
    """The organization's facilities and their children as rows (dicts of values), in the
    order an import reads them: each facility, then its contacts in call order, its access
    points and its tactical points. Codes and key locations are never among them."""
    authorize(session, principal, organization_id)
    held = Holdings(session, organization_id)
    audit.record(
        session,
        principal,
        "organization.facility_export",
        record_type="organization",
        record_id=organization_id,
        details={"format": file_format, "facilities": len(held.facilities)},
    )
    return _rows(held)


def _child_order(kind: str):
    if kind == CONTACT:
        return lambda c: (not c.available_24_7, c.call_order, c.name, c.id)
    return lambda p: (p.kind, p.name, p.id)


def _rows(held: Holdings) -> Iterator[dict]:
    ordered = sorted(
        held.facilities,
        key=lambda f: (f.site_code is None, _natural(f.site_code or ""), f.name, f.id),
    )
    for facility in ordered:
        code = facility.site_code
        yield fileformat.cells_of(FACILITY, facility, code, facility.id)
        for kind in CHILD_KINDS:
            records = [r for rs in held.children.get((facility.id, kind), {}).values() for r in rs]
            for record in sorted(records, key=_child_order(kind)):
                yield fileformat.cells_of(kind, record, code, facility.id)


def _natural(text: str) -> list:
    """S-2 before S-10."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)
    ]
