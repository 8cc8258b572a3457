"""Bulk import and export of an organization's facilities (registry/imports): round trips that
change nothing, one changed cell that changes one record, dry runs, every error by row and
column, all or nothing, sealed codes that never come out, hostile files, and who may."""

import csv
import io
import json
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from registry import transaction
from registry.audit.models import AuditEvent
from registry.cli import ROOT
from registry.contacts.models import Contact
from registry.facilities import sealing
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.history import FacilityHistory
from registry.imports.fileformat import COLUMNS, guard
from tests.conftest import assert_problem, count

API = "/api/v1"
MODELS = (Facility, Contact, AccessPoint, TacticalPoint)


# ---------------------------------------------------------------------------------------------
# Helpers


def csv_file(rows: list[dict], columns=COLUMNS, bom=False, delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def xlsx_file(rows: list[dict], columns=COLUMNS) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "facilities"
    sheet.append(list(columns))
    for row in rows:
        sheet.append([row.get(c) for c in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(client, headers, organization_id, content: bytes, name="facilities.csv", **form):
    data = {"file": (io.BytesIO(content), name), **{k: str(v).lower() for k, v in form.items()}}
    return client.post(
        f"{API}/organizations/{organization_id}/facility-imports",
        data=data,
        headers=headers,
        content_type="multipart/form-data",
    )


def export(client, headers, organization_id, file_format="csv"):
    return client.get(
        f"{API}/organizations/{organization_id}/facility-export?format={file_format}",
        headers=headers,
    )


def parse_csv(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def state(app) -> dict:
    """Every record's version, the facilities' pre-plan versions and the number of history and
    audit rows: what "nothing changed" compares."""
    with app.app_context(), transaction.session_scope() as session:
        versions = {
            (model.__name__, row.id): (row.version, row.deleted_at)
            for model in MODELS
            for row in session.scalars(select(model))
        }
        preplans = dict(session.execute(select(Facility.id, Facility.preplan_version)).all())
        history = session.scalar(select(func.count()).select_from(FacilityHistory))
        audits = session.scalar(select(func.count()).select_from(AuditEvent))
    return {"versions": versions, "preplans": preplans, "history": history, "audit": audits}


def facility_row(code, **values):
    return {
        "record": "facility",
        "site_code": code,
        "name": f"Store {code}",
        "facility_type": "retail_store",
        "address_line1": f"{100 + int(code.split('-')[1])} Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "lat": "39.8",
        "lon": "-89.6",
        "has_sprinklers": "true",
        "occupancy": "250",
        **values,
    }


def children(code, **values):
    return [
        {
            "record": "contact",
            "site_code": code,
            "name": "Pat Doe",
            "role": "Store manager",
            "phones": "mobile:+12175550123; office:(217) 555-0100 x204",
            "call_order": "1",
            "available_24_7": "true",
        },
        {
            "record": "access_point",
            "site_code": code,
            "kind": "loading_dock",
            "name": "Rear dock",
            "code": "4711#",
            "key_location": "Knox box by the door",
        },
        {
            "record": "tactical_point",
            "site_code": code,
            "kind": "staging_area",
            "name": "North lot",
            "capacity": "40",
        },
    ]


def sample(n=2) -> list[dict]:
    rows = []
    for i in range(1, n + 1):
        code = f"S-{i}"
        rows += [facility_row(code), *children(code)]
    return rows


@pytest.fixture
def org(make):
    return make.organization(name="Prairie Goods")


@pytest.fixture
def manager(make, org):
    return make.manager(org)


def imported(client, manager, org, rows, fmt="csv"):
    content = csv_file(rows) if fmt == "csv" else xlsx_file(rows)
    response = upload(client, manager, org.id, content, name=f"f.{fmt}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# ---------------------------------------------------------------------------------------------
# Importing


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_creates_facilities_with_their_records_through_the_services(
    client, app, org, manager, fmt
):
    report = imported(client, manager, org, sample(2), fmt)

    assert report["created"] == {
        "facility": 2,
        "contact": 2,
        "access_point": 2,
        "tactical_point": 2,
    }
    assert report["errors"] == [] and report["error_count"] == 0 and report["format"] == fmt
    with app.app_context(), transaction.session_scope() as session:
        facility = session.scalar(select(Facility).where(Facility.site_code == "S-1"))
        assert facility.organization_id == org.id and facility.occupancy == 250
        # The API's derivations ran: address keys for the CAD lookup, a confirmation.
        assert facility.address_key and facility.confirmed_by
        contact = session.scalar(select(Contact).where(Contact.facility_id == facility.id))
        assert contact.phones == [
            {"kind": "mobile", "number": "+12175550123", "extension": None},
            {"kind": "office", "number": "+12175550100", "extension": "204"},
        ]
        point = session.scalar(select(AccessPoint).where(AccessPoint.facility_id == facility.id))
        assert sealing.open_secret(point, "code") == "4711#"
        assert sealing.open_secret(point, "key_location") == "Knox box by the door"
        assert point.version == 1  # sealed right after the INSERT, as the API does
        history = session.scalar(
            select(func.count())
            .select_from(FacilityHistory)
            .where(FacilityHistory.facility_id == facility.id)
        )
        assert history == 4  # one "create" per record
    assert count(app, AuditEvent, AuditEvent.action == "organization.facility_import") == 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_file_imported_again_changes_nothing_at_all(client, app, org, manager, fmt):
    imported(client, manager, org, sample(3))
    before = state(app)

    exported = export(client, manager, org.id, fmt)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    report = upload(client, manager, org.id, exported.data, name=f"x.{fmt}")

    assert report.status_code == 200, report.get_data(as_text=True)
    body = report.get_json()
    assert body["unchanged"] == {
        "facility": 3,
        "contact": 3,
        "access_point": 3,
        "tactical_point": 3,
    }
    assert set(body["created"].values()) == set(body["updated"].values()) == {0}
    after = state(app)
    assert after["versions"] == before["versions"]
    assert after["preplans"] == before["preplans"]
    assert after["history"] == before["history"]
    # The export and the import themselves are audited; no record's write is.
    assert after["audit"] == before["audit"] + 2


def test_one_changed_cell_changes_exactly_one_record(client, app, org, manager):
    imported(client, manager, org, sample(2))
    rows = parse_csv(export(client, manager, org.id).data)
    before = state(app)
    target = next(r for r in rows if r["record"] == "contact" and r["site_code"] == "S-2")
    target["role"] = "Regional security"

    body = imported(client, manager, org, rows)

    assert body["updated"] == {"facility": 0, "contact": 1, "access_point": 0, "tactical_point": 0}
    after = state(app)
    changed = {k for k in after["versions"] if after["versions"][k] != before["versions"][k]}
    with app.app_context(), transaction.session_scope() as session:
        contact = session.scalar(select(Contact).where(Contact.role == "Regional security"))
        assert changed == {("Contact", contact.id)}
        rows = session.scalars(
            select(FacilityHistory).where(FacilityHistory.id > 0).order_by(FacilityHistory.id)
        ).all()
        assert rows[-1].action == "update" and rows[-1].record_id == contact.id
        assert rows[-1].changes == {"role": ["Store manager", "Regional security"]}
    assert after["history"] == before["history"] + 1


def test_a_dry_run_reports_and_writes_nothing(client, app, org, manager):
    before = state(app)
    response = upload(client, manager, org.id, csv_file(sample(2)), dry_run=True)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["dry_run"] is True and body["created"]["facility"] == 2
    assert state(app) == before
    assert count(app, Facility) == 0


BAD_ROWS = [
    facility_row("S-1", postal_code="ABCDE", occupancy="many"),  # row 2: two errors
    facility_row("S-2", facility_type="castle"),  # row 3
    {
        "record": "contact",
        "site_code": "S-2",  # its facility row has errors; its own fields are fine
        "name": "Pat",
    },
    {"record": "contact", "site_code": "S-9", "name": "Nobody"},  # row 5: no such facility
    {"record": "contact", "site_code": "S-1", "name": "Lee", "phones": "+1 nonsense"},  # 6
    {"record": "spaceship", "site_code": "S-1"},  # row 7
    {"record": "access_point", "site_code": "S-1", "kind": "gate", "name": "G", "email": "a@b"},
    {"record": "tactical_point", "site_code": "S-1", "kind": "staging_area", "name": ""},  # 9
    {"record": "contact", "site_code": "S-1", "name": "Kim", "phones": "mobile:+1555"},  # 10
]
EXPECTED = {
    (2, "postal_code"),
    (2, "occupancy"),
    (3, "facility_type"),
    (5, "site_code"),
    (6, "phones"),
    (7, "record"),
    (8, "email"),
    (9, "name"),
    (10, "phones"),
}


def test_a_dry_run_lists_every_error_by_row_and_column(client, app, org, manager):
    response = upload(client, manager, org.id, csv_file(BAD_ROWS), dry_run=True)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert {(e["row"], e["column"]) for e in body["errors"]} == EXPECTED
    assert body["error_count"] == len(body["errors"])
    assert all(e["message"] for e in body["errors"])
    assert count(app, Facility) == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_real_run_with_any_error_imports_nothing_and_lists_them_all(
    client, app, org, manager, fmt
):
    imported(client, manager, org, sample(1))
    before = state(app)
    rows = [*sample(3), facility_row("S-4", facility_type="castle")]  # S-2, S-3 new, S-4 bad
    rows[0] = {**rows[0], "name": "Renamed"}  # and a change to S-1
    content = csv_file(rows) if fmt == "csv" else xlsx_file(rows)

    response = upload(client, manager, org.id, content, name=f"f.{fmt}")

    body = assert_problem(response, 422)
    assert body["row_errors"] == [
        {
            "row": len(rows) + 1,
            "column": "facility_type",
            "message": body["row_errors"][0]["message"],
        }
    ]
    assert body["error_count"] == 1
    assert state(app) == before


def test_codes_are_sealed_kept_when_empty_and_never_exported(client, app, org, manager):
    imported(client, manager, org, sample(1))
    for fmt in ("csv", "xlsx"):
        exported = export(client, manager, org.id, fmt).data
        if fmt == "csv":
            text = exported.decode()
        else:  # compressed: read the cells
            sheet = load_workbook(io.BytesIO(exported)).active
            text = " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
        # With its "#": bare digits can turn up in a timestamp's microseconds.
        assert "4711#" not in text and "Knox box" not in text
        if fmt == "csv":
            rows = parse_csv(exported)
            assert "code" in rows[0] and {r["code"] for r in rows} == {""}
            assert {r["key_location"] for r in rows} == {""}
    rows = parse_csv(export(client, manager, org.id).data)
    dock = next(r for r in rows if r["record"] == "access_point")

    # The same code again: not a change.
    before = state(app)
    dock["code"] = "4711#"
    assert imported(client, manager, org, rows)["unchanged"]["access_point"] == 1
    assert state(app)["versions"] == before["versions"]
    # A new code: sealed, one history row that shows no value.
    dock["code"] = "9999"
    assert imported(client, manager, org, rows)["updated"]["access_point"] == 1
    with app.app_context(), transaction.session_scope() as session:
        point = session.scalar(select(AccessPoint))
        assert sealing.open_secret(point, "code") == "9999"
        assert sealing.open_secret(point, "key_location") == "Knox box by the door"
        last = session.scalar(select(FacilityHistory).order_by(FacilityHistory.id.desc()))
        assert last.changes == {"code": ["[redacted]", "[redacted]"]}


HOSTILE_VALUES = ['=HYPERLINK("http://evil")', "+1+2", "-2+3", "@SUM(A1)", "'=quoted", "''"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formulas_are_neutralized_on_export_and_restored_on_import(client, app, org, manager, fmt):
    rows = sample(1)
    # Written as an export writes them (guarded), so the values stored are the hostile ones.
    cells = [
        (0, "hazards"),
        (0, "notes"),
        (1, "notes"),
        (2, "notes"),
        (2, "description"),
        (3, "notes"),
    ]
    for (index, column), value in zip(cells, HOSTILE_VALUES, strict=True):
        rows[index][column] = guard(value)
    imported(client, manager, org, rows)
    with app.app_context(), transaction.session_scope() as session:
        assert session.scalar(select(Facility.hazards)) == HOSTILE_VALUES[0]
        assert session.scalar(select(AccessPoint.description)) == "'=quoted"
        assert session.scalar(select(TacticalPoint.notes)) == "''"
    before = state(app)

    exported = export(client, manager, org.id, fmt).data
    if fmt == "csv":
        cells = [v for r in parse_csv(exported) for v in r.values()]
    else:
        sheet = load_workbook(io.BytesIO(exported)).active
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
        cells = [c.value for row in sheet.iter_rows() for c in row if c.value is not None]
    texts = [c for c in cells if isinstance(c, str)]
    assert not [c for c in texts if c.startswith(("=", "+", "-", "@")) and not _number(c)]
    for value in HOSTILE_VALUES:
        assert "'" + value in texts

    body = upload(client, manager, org.id, exported, name=f"x.{fmt}").get_json()
    assert body["updated"] == dict.fromkeys(body["updated"], 0), body
    assert state(app)["versions"] == before["versions"]


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_records_missing_from_the_file_are_kept_unless_pruned(client, app, org, manager):
    imported(client, manager, org, sample(2))
    only_facilities = [r for r in sample(2) if r["record"] == "facility"]
    before = state(app)

    assert imported(client, manager, org, only_facilities)["deleted"]["contact"] == 0
    assert state(app)["versions"] == before["versions"]
    # A partial upload of contacts only, with prune: no facility row, nothing pruned.
    contacts_only = [r for r in sample(2) if r["record"] == "contact"]
    response = upload(client, manager, org.id, csv_file(contacts_only), prune=True)
    assert response.get_json()["deleted"] == dict.fromkeys(
        ("contact", "access_point", "tactical_point"), 0
    )

    pruned = [*sample(2)[:2]]  # S-1 with its contact only
    body = upload(client, manager, org.id, csv_file(pruned), prune=True).get_json()
    assert body["deleted"] == {"contact": 0, "access_point": 1, "tactical_point": 1}
    with app.app_context(), transaction.session_scope() as session:
        live = session.scalars(select(AccessPoint).where(AccessPoint.deleted_at.is_(None))).all()
        assert len(live) == 1  # S-2's; S-1's is deleted softly (restorable)
        assert session.scalar(select(func.count()).select_from(AccessPoint)) == 2


def test_partial_columns_change_only_those_fields(client, app, org, manager):
    imported(client, manager, org, sample(1))
    columns = ("record", "site_code", "name", "notes")
    rows = [{"record": "facility", "site_code": "S-1", "name": "Store S-1", "notes": "Gate 3"}]

    body = upload(client, manager, org.id, csv_file(rows, columns)).get_json()

    assert body["updated"]["facility"] == 1
    with app.app_context(), transaction.session_scope() as session:
        facility = session.scalar(select(Facility))
        assert facility.notes == "Gate 3" and facility.occupancy == 250
        last = session.scalar(select(FacilityHistory).order_by(FacilityHistory.id.desc()))
        assert last.changes == {"notes": [None, "Gate 3"]}


def test_legacy_facilities_get_site_codes_through_their_id(client, app, make, org, manager):
    legacy = make.facility(org, name="Old store")
    rows = parse_csv(export(client, manager, org.id).data)
    assert rows[0]["facility_id"] == str(legacy.id) and rows[0]["site_code"] == ""
    rows[0]["site_code"] = "S-77"

    body = imported(client, manager, org, rows)

    assert body["updated"]["facility"] == 1 and body["created"]["facility"] == 0
    with app.app_context(), transaction.session_scope() as session:
        assert session.get(Facility, legacy.id).site_code == "S-77"


def test_a_duplicate_row_and_a_taken_site_code_are_errors(client, app, make, org, manager):
    imported(client, manager, org, sample(2))
    rows = [facility_row("S-3"), facility_row("S-3", name="Again")]
    body = upload(client, manager, org.id, csv_file(rows), dry_run=True).get_json()
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, None)]

    rows = parse_csv(export(client, manager, org.id).data)
    rows[0]["site_code"] = "S-2"  # S-1 takes S-2's code
    body = upload(client, manager, org.id, csv_file(rows), dry_run=True).get_json()
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "site_code")]
    assert "facility" in body["errors"][0]["message"]


def test_the_header_must_name_known_columns(client, app, org, manager):
    content = csv_file([], columns=("record", "site_code", "colour", "name", "name"))
    body = assert_problem(upload(client, manager, org.id, content), 422)
    assert [e["row"] for e in body["row_errors"]] == [1, 1]
    assert "Column 3 " in body["row_errors"][0]["message"]
    assert "colour" not in json.dumps(body)  # the problem never repeats the file's contents
    body = assert_problem(upload(client, manager, org.id, csv_file([], columns=("name",))), 422)
    assert len(body["row_errors"]) == 2  # record and site_code missing


def test_a_semicolon_separated_file_with_a_bom_is_read(client, app, org, manager):
    response = upload(client, manager, org.id, csv_file(sample(1), bom=True, delimiter=";"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["created"]["facility"] == 1


def test_the_template_imports_cleanly(client, app, org, manager):
    template = (ROOT / "docs" / "facility-import-template.csv").read_bytes()
    assert list(parse_csv(template)[0]) == list(COLUMNS)
    body = upload(client, manager, org.id, template, dry_run=True).get_json()
    assert body["errors"] == [] and body["created"]["facility"] >= 1, body


# ---------------------------------------------------------------------------------------------
# Hostile files: a clear 4xx problem, nothing changed


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 1024 * 1024))
    return out.getvalue()


def lying_zip() -> bytes:
    """A part whose directory entry says 100 bytes while it unpacks to 10 MB."""
    content = zip_bomb_part = b"A" * (10 * 1024 * 1024)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", zip_bomb_part)
    data = bytearray(out.getvalue())
    size = len(content).to_bytes(4, "little")
    for offset in (i for i in range(len(data) - 4) if data[i : i + 4] == size):
        data[offset : offset + 4] = (100).to_bytes(4, "little")
    return bytes(data)


HOSTILE_FILES = {
    "zip bomb": (zip_bomb, 413),
    # zipfile stops at the declared size, and the checksum then fails: damaged.
    "lying zip directory": (lying_zip, 422),
    "latin-1 text": (
        lambda: csv_file(sample(1)).replace(b"Store", "Caf\xe9".encode("latin-1")),
        422,
    ),
    "utf-16 text": (lambda: csv_file(sample(1)).decode().encode("utf-16"), 415),
    "old excel": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, 415),
    "broken zip": (lambda: b"PK\x03\x04" + b"garbage" * 100, 422),
    "zip that is no workbook": (
        lambda: _zip_with({"hello.txt": b"hi"}),
        422,
    ),
    "xml entity bomb": (
        lambda: _zip_with(
            {
                "[Content_Types].xml": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">'
                b'<!ENTITY b "&a;&a;&a;&a;">]><Types>&b;</Types>'
            }
        ),
        422,
    ),
    "NUL bytes": (lambda: csv_file(sample(1)).replace(b"Main", b"Ma\0n"), 422),
    "empty": (lambda: b"", 422),
}


def _zip_with(parts: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_hostile_files_get_a_clear_problem_and_change_nothing(client, app, org, manager, name):
    imported(client, manager, org, sample(1))
    before = state(app)
    make_file, status = HOSTILE_FILES[name]

    response = upload(client, manager, org.id, make_file(), name="facilities.xlsx")

    body = assert_problem(response, status)
    assert "Traceback" not in body["detail"]
    assert state(app) == before


def test_more_rows_than_the_limit_are_refused_unread(build_app, make, org):
    small = build_app(REGISTRY_IMPORT_MAX_ROWS=5)
    client = small.test_client()
    manager = make.manager(org)
    for content in (csv_file(sample(2)), xlsx_file(sample(2))):  # 8 rows
        body = assert_problem(upload(client, manager, org.id, content), 413)
        assert "5 rows" in body["detail"]
    assert count(small, Facility) == 0


def test_an_upload_over_the_byte_limit_is_413(build_app, make, org):
    small = build_app(REGISTRY_IMPORT_MAX_BYTES=2000)
    client = small.test_client()
    response = upload(client, make.manager(org), org.id, csv_file(sample(10)))
    assert_problem(response, 413)
    assert count(small, Facility) == 0


# ---------------------------------------------------------------------------------------------
# Who may


def test_only_the_organizations_managers_and_admins_import_and_export(client, app, make, org):
    imported(client, make.manager(org), org, sample(1))
    before = state(app)
    other = make.organization()
    agency = make.agency()
    make.mou(org, agency)  # the agency reads the organization, and still may not
    refused = {
        "manager of another organization": (make.manager(other), 404),
        "partner agency user": (make.officer(agency), 403),
        "cad": (make.headers(make.cad_client(agency)), 403),
        "auditor": (make.headers(make.user("auditor")), 404),
    }
    for who, (headers, status) in refused.items():
        assert_problem(upload(client, headers, org.id, csv_file(sample(2))), status), who
        assert_problem(export(client, headers, org.id), status), who
    assert state(app)["versions"] == before["versions"]
    assert_problem(upload(client, make.manager(org), 987654, csv_file(sample(1))), 404)
    # An admin may.
    assert export(client, make.admin(), org.id).status_code == 200
    assert upload(client, make.admin(), org.id, csv_file(sample(2))).status_code == 200


# ---------------------------------------------------------------------------------------------
# The site code through the API, and the command line


def test_a_site_code_is_unique_among_an_organizations_live_facilities(client, app, make, org):
    manager = make.manager(org)
    first, second = make.facility(org, site_code="S-1"), make.facility(org)
    read = client.get(f"{API}/facilities/{second.id}", headers=manager)
    change = client.patch(
        f"{API}/facilities/{second.id}",
        json={"site_code": "S-1"},
        headers={**manager, "If-Match": read.headers["ETag"]},
    )
    assert_problem(change, 409, "site_code")
    # Another organization may use it; a deleted facility's code may be reused.
    make.facility(make.organization(), site_code="S-1")
    deleted = client.delete(
        f"{API}/facilities/{first.id}",
        headers={
            **manager,
            "If-Match": client.get(f"{API}/facilities/{first.id}", headers=manager).headers["ETag"],
        },
    )
    assert deleted.status_code == 204
    change = client.patch(
        f"{API}/facilities/{second.id}",
        json={"site_code": "S-1"},
        headers={**manager, "If-Match": read.headers["ETag"]},
    )
    assert change.status_code == 200 and change.get_json()["site_code"] == "S-1"
    listed = client.get(f"{API}/facilities?site_code=S-1", headers=manager).get_json()
    assert [f["id"] for f in listed["items"]] == [second.id]
    bad = client.patch(
        f"{API}/facilities/{second.id}",
        json={"site_code": "=cmd"},
        headers={**manager, "If-Match": change.headers["ETag"]},
    )
    assert_problem(bad, 422, "site_code")


def test_the_command_line_imports_and_exports(app, make, org, tmp_path):
    user = make.user("facility_manager", organization=org)
    source = tmp_path / "in.csv"
    source.write_bytes(csv_file(sample(2)))
    runner = app.test_cli_runner()
    base = ["facilities", "import", str(source), "--organization", str(org.id)]

    dry = runner.invoke(args=[*base, "--user", user.username, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert '"facility": 2' in dry.output and count(app, Facility) == 0
    real = runner.invoke(args=[*base, "--user", user.username])
    assert real.exit_code == 0, real.output
    assert count(app, Facility) == 2

    for fmt in ("csv", "xlsx"):
        output = tmp_path / f"out.{fmt}"
        done = runner.invoke(
            args=[
                "facilities",
                "export",
                "--organization",
                str(org.id),
                "--user",
                user.username,
                "--format",
                fmt,
                "--output",
                str(output),
            ]
        )
        assert done.exit_code == 0, done.output
        again = runner.invoke(
            args=[
                "facilities",
                "import",
                str(output),
                "--organization",
                str(org.id),
                "--user",
                user.username,
            ]
        )
        assert again.exit_code == 0 and '"updated"' in again.output, again.output

    source.write_bytes(csv_file(BAD_ROWS))
    failed = runner.invoke(args=[*base, "--user", user.username])
    assert failed.exit_code == 1 and '"row_errors"' in failed.output
    stranger = make.user("facility_manager", organization=make.organization())
    refused = runner.invoke(args=[*base, "--user", stranger.username])
    assert refused.exit_code != 0 and "administrators" in refused.output
    assert count(app, Facility) == 2
