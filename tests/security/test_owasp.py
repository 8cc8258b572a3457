"""OWASP API Security Top 10 (2023) as a test matrix (issue 5, item 7): the checklist auditors read.

One section per item, each opening with how the item applies to the registry. The tests are
table-driven: a row names the caller, the request and the answer it must get, and every refused
request also proves, by reading the database, that nothing changed. Neighbouring suites test the
same subjects in depth (test_access, test_auth, test_bad_input, test_lookup, test_floorplans,
test_openapi); this file is the one place that walks the whole list.

The cast (`w`): organization A with facility `a`, organization B with facility `b`; each facility
has an access point, a tactical point, a contact and a floor plan; each organization a contact.
Agency X has an active data-sharing MOU with A, agency Y with B, agency Z with nobody; each pair
also has a draft MOU and one its organization proposed. Each active MOU has a signed document; each of X and Y has an incident at its partner's facility. Records of side "a"
belong to A/X, of side "b" to B/Y. Accounts: an admin, a manager of A and of B, an officer and a
CAD client of X, Y and Z, and an auditor.
"""

import base64
import hashlib
import io
import json
import socket
import zipfile
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import jwt
import pytest
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, update
from sqlalchemy.exc import ProgrammingError

from registry import transaction
from registry.access import Role
from registry.agencies.models import Agency
from registry.agencies.service import agencies
from registry.aliases.models import AddressAlias, StreetAlias
from registry.audit.models import AuditEvent
from registry.auth.models import CadClient, User
from registry.cli import OPENAPI_PATH
from registry.contacts.models import Contact
from registry.corrections.models import Correction
from registry.exercises.models import Exercise, ExerciseAgency, Finding
from registry.facilities.models import AccessPoint, Facility, FacilityExternalId, TacticalPoint
from registry.floorplans.models import FileBlob, FloorPlan, MouDocument
from registry.idempotency import IdempotencyKey
from registry.incidents.models import Incident
from registry.mous.models import Mou
from registry.notifications.models import Delivery, Notification, Subscription
from registry.organizations.models import Organization
from tests import access_table, sample_files
from tests.conftest import PASSWORD, assert_problem, count, fetch

API = "/api/v1"
MISSING_ID = 987654  # an id no record has
SIDES = ("a", "b")


# ---------------------------------------------------------------------------------------------
# Helpers


def save(app, *records):
    """Insert records as they are (for rows no factory makes: files, incidents)."""
    with app.app_context(), transaction.session_scope() as session:
        for record in records:
            session.add(record)
            session.flush()
            session.expunge(record)
    return records[0] if len(records) == 1 else records


def set_columns(app, model, record_id, **values) -> None:
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(model).where(model.id == record_id).values(**values))


def row(app, model, record_id) -> dict | None:
    """Every column of one row as stored now, or None: "unchanged" means all of them."""
    record = fetch(app, model, record_id)
    if record is None:
        return None
    return {attr.key: getattr(record, attr.key) for attr in sa_inspect(model).column_attrs}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def etag(client, w, path) -> str:
    """The current ETag, read by an admin (so a refusal is never just a missing If-Match)."""
    response = client.get(path, headers=w.headers["admin"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["ETag"]


def json_keys(value) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in json_keys(v)}
    return set()


def same_problem(response, reference, status, record_id=None) -> dict:
    """`response` is the same problem as `reference` (the answer for an id nobody has): a caller
    cannot tell another tenant's record from no record at all."""
    body, expected = assert_problem(response, status), assert_problem(reference, status)
    assert (body["type"], body["title"]) == (expected["type"], expected["title"])
    detail = body["detail"].replace(str(record_id), "<id>") if record_id else body["detail"]
    assert detail == expected["detail"].replace(str(MISSING_ID), "<id>")
    assert set(body) == set(expected)
    return body


def upload(client, headers, path, form=None):
    data = {"file": (io.BytesIO(sample_files.pdf()), "plan.pdf", "application/pdf"), **(form or {})}
    return client.post(path, data=data, headers=headers, content_type="multipart/form-data")


# A bulk facility file (registry/imports): one new facility.
FACILITY_FILE = (
    b"record,site_code,name,facility_type,address_line1,city,state,postal_code\r\n"
    b"facility,S-900,Bulk Store,retail_store,900 Market St,Springfield,IL,62701\r\n"
)
FLOOR_PLAN_FORM = {"building": "Main", "level_number": "1", "level_label": "L1", "title": "Plan"}


# ---------------------------------------------------------------------------------------------
# The cast


@pytest.fixture
def w(app, make):
    w = SimpleNamespace()
    w.org = {"a": make.organization(name="Alpha Retail"), "b": make.organization(name="Beta Malls")}
    w.agency = {"a": make.agency(), "b": make.agency()}  # X and Y
    w.agency_z = make.agency()
    for name in (
        "facility",
        "access_point",
        "tactical_point",
        "contact",
        "org_contact",
        "agency_contact",
        "floor_plan",
        "mou",
        "mou_draft",
        "mou_proposed",
        "mou_document",
        "incident",
        "correction",
        "exercise",
        "finding",
        "user",
        "cad",
        "subscription",
    ):
        setattr(w, name, {})
    for side in SIDES:
        org, agency = w.org[side], w.agency[side]
        facility = w.facility[side] = make.facility(org)
        w.access_point[side] = make.access_point(facility, name=f"Dock {side}")
        w.tactical_point[side] = make.tactical_point(facility, name=f"Lot {side}")
        w.contact[side] = make.contact(facility_id=facility.id, name=f"Liaison {side}")
        w.org_contact[side] = make.contact(organization_id=org.id, name=f"Security {side}")
        w.agency_contact[side] = make.contact(agency_id=agency.id, name=f"Watch {side}")
        w.mou[side] = make.mou(org, agency)
        # Drafted, and proposed (and so accepted), by the organization; neither grants.
        w.mou_draft[side] = make.mou(org, agency, title=f"Draft {side}", status="draft")
        w.mou_proposed[side] = make.mou(org, agency, title=f"Offer {side}", status="proposed")
        sha = hashlib.sha256(side.encode()).hexdigest()
        save(app, FileBlob(sha256=sha, size=16, media_type="application/pdf", preview_size=8))
        stored = {"revision": 1, "file_name": "x.pdf", "uploaded_by": "user:1", "sha256": sha}
        w.floor_plan[side] = save(
            app,
            FloorPlan(
                facility_id=facility.id,
                building="Main",
                level_number=1,
                level_label="L1",
                title=f"Plan {side}",
                **stored,
            ),
        )
        w.mou_document[side] = save(
            app, MouDocument(mou_id=w.mou[side].id, title=f"Signed {side}", **stored)
        )
        w.incident[side] = save(
            app,
            Incident(
                agency_id=agency.id,
                cad_incident_number=f"INC-{side}",
                incident_type="active assailant",
                address=facility.address_line1,
                facility_id=facility.id,
                match_status="matched",
                candidates=[],
                opened_by="cad:1",
                status="open",
            ),
        )
        # A responder of the side's agency reported the facility's tactical point as wrong.
        w.correction[side] = save(
            app,
            Correction(
                facility_id=facility.id,
                item_kind="tactical_point",
                item_id=w.tactical_point[side].id,
                item_name=f"Lot {side}",
                discrepancy="unsafe",
                problem=f"Lot {side} is in the line of fire",
                agency_id=agency.id,
                reported_by="cad:1",
                reporter_name="cad-1",
                status="open",
            ),
        )
        # A drill there with the side's agency, and what it taught.
        w.exercise[side] = save(
            app,
            Exercise(
                facility_id=facility.id,
                kind="drill",
                scenario="vehicle_ramming",
                held_on=datetime.now(UTC).date(),
                title=f"Drill {side}",
                recorded_by="user:1",
                agency_rows=[ExerciseAgency(agency_id=agency.id, participants=9)],
            ),
        )
        w.finding[side] = save(
            app,
            Finding(
                exercise_id=w.exercise[side].id,
                facility_id=facility.id,
                text=f"Lot {side} floods",
                recorded_by="user:1",
            ),
        )
        w.subscription[side] = save(
            app,
            Subscription(
                organization_id=org.id,
                channel="email",
                email=f"desk-{side}@example.org",
                kinds=[],
                created_by="user:1",
            ),
        )
        w.user[side] = make.user("facility_manager", organization=org)
        w.cad[side] = make.cad_client(agency)
    w.spare_org = make.organization()
    w.spare_agency = make.agency()
    w.spare_user = make.user("agency_user", agency=w.agency["a"])
    w.spare_cad = make.cad_client(w.agency["a"])
    w.deleted_facility = make.facility(w.org["a"], deleted_at=datetime.now(UTC))
    w.accounts = {
        "admin": make.user("admin"),
        "manager_a": w.user["a"],
        "manager_b": w.user["b"],
        "officer_x": make.user("agency_user", agency=w.agency["a"]),
        "cad_x": w.cad["a"],
        "officer_y": make.user("agency_user", agency=w.agency["b"]),
        "cad_y": w.cad["b"],
        "officer_z": make.user("agency_user", agency=w.agency_z),
        "cad_z": make.cad_client(w.agency_z),
        "auditor": make.user("auditor"),
    }
    w.headers = {name: make.headers(account) for name, account in w.accounts.items()}
    return w


# =============================================================================================
# API1:2023 Broken Object Level Authorization
# Every record belongs to an organization or an agency, and ids are small guessable integers.
# Visibility is one SQL clause per record type (registry/access): a record the caller may not see
# is "not found", with the very answer an id nobody has gets, for reads and writes alike (and
# before If-Match is judged, which would confirm existence). Accounts (users, CAD clients) are
# an administrators' area: every other role gets the same 403 whether the id exists or not.

# kind: (collection path, cast attribute, model, a valid PATCH, soft-deleted, deletable)
KINDS = {
    "facility": ("facilities", "facility", Facility, {"name": "Taken"}, True, True),
    "access-point": ("access-points", "access_point", AccessPoint, {"name": "Taken"}, True, True),
    "tactical-point": (
        "tactical-points",
        "tactical_point",
        TacticalPoint,
        {"name": "Taken"},
        True,
        True,
    ),
    "facility-contact": ("contacts", "contact", Contact, {"name": "Taken"}, True, True),
    "organization-contact": ("contacts", "org_contact", Contact, {"name": "Taken"}, True, True),
    "agency-contact": ("contacts", "agency_contact", Contact, {"name": "Taken"}, True, True),
    "mou": ("mous", "mou", Mou, {"title": "Taken"}, False, True),
    "floor-plan": ("floor-plans", "floor_plan", FloorPlan, {"title": "Taken"}, True, True),
    "mou-document": ("mou-documents", "mou_document", MouDocument, {"title": "T"}, True, True),
    "incident": ("incidents", "incident", Incident, {"status": "closed"}, False, False),
    "organization": ("organizations", "org", Organization, {"name": "Taken"}, False, True),
    "user": ("users", "user", User, {"full_name": "Taken"}, False, True),
    "cad-client": ("cad-clients", "cad", CadClient, {"name": "Taken"}, False, True),
    "exercise": ("exercises", "exercise", Exercise, {"title": "Taken"}, False, True),
    "finding": ("findings", "finding", Finding, {"text": "Taken"}, False, True),
    "subscription": (
        "subscriptions",
        "subscription",
        Subscription,
        {"description": "Taken"},
        True,
        True,
    ),
}
ADMIN_ONLY_KINDS = {"user", "cad-client"}
# Roles that may not use an area at all: 403 whatever the id, as for the accounts areas.
REFUSED = {"subscription": {"auditor"}}
# Callers on side "a" or on no side at all; the victims are side "b" (B's and Y's records).
ATTACKERS = ["manager_a", "officer_x", "cad_x", "officer_z", "auditor"]


def bola_cases():
    for kind, (_path, _attr, _model, _patch, soft, deletable) in KINDS.items():
        methods = ["GET", "PATCH"] + (["DELETE"] if deletable else []) + (["RESTORE"] * soft)
        for method in methods:
            for attacker in ATTACKERS:
                yield pytest.param(kind, method, attacker, id=f"{kind}-{method}-{attacker}")


def send(client, method, path, headers, body=None):
    if method == "RESTORE":
        return client.post(f"{path}/restore", headers=headers)
    return client.open(path, method=method, json=body, headers=headers)


@pytest.mark.parametrize(("kind", "method", "attacker"), list(bola_cases()))
def test_api1_another_tenants_record_is_indistinguishable_from_none(
    client, app, w, kind, method, attacker
):
    """API1: a guessed id of another organization's or agency's record answers exactly as an id
    nobody has (404; 403 for the admin-only accounts areas), and the record is unchanged."""
    collection, attr, model, patch, _soft, _deletable = KINDS[kind]
    victim = getattr(w, attr)["b"]
    path = f"{API}/{collection}/{victim.id}"
    if method == "RESTORE":
        set_columns(app, model, victim.id, deleted_at=datetime.now(UTC))
    headers = dict(w.headers[attacker])
    if method in ("PATCH", "DELETE"):
        headers["If-Match"] = etag(client, w, path)
    before = row(app, model, victim.id)

    response = send(client, method, path, headers, patch if method == "PATCH" else None)
    reference = send(client, method, f"{API}/{collection}/{MISSING_ID}", headers, patch)

    status = 403 if kind in ADMIN_ONLY_KINDS or attacker in REFUSED.get(kind, ()) else 404
    body = same_problem(response, reference, status, victim.id)
    assert row(app, model, victim.id) == before
    for secret in ("Beta Malls", "Liaison b", "Security b", "Watch b", "Dock b", "INC-b"):
        assert secret not in json.dumps(body)


# Everything that hangs off a record: lists, files, history, versions, the pre-plan.
SUBRESOURCES = {
    "facility-access-points": ("facility", "/facilities/{}/access-points"),
    "facility-tactical-points": ("facility", "/facilities/{}/tactical-points"),
    "facility-contacts": ("facility", "/facilities/{}/contacts"),
    "facility-floor-plans": ("facility", "/facilities/{}/floor-plans"),
    "facility-history": ("facility", "/facilities/{}/history"),
    "preplan": ("facility", "/preplans/{}"),
    "preplan-geojson": ("facility", "/preplans/{}?format=geojson"),
    "preplan-html": ("facility", "/preplans/{}?format=html"),
    "preplan-pdf": ("facility", "/preplans/{}?format=pdf"),
    "floor-plan-versions": ("floor_plan", "/floor-plans/{}/versions"),
    "floor-plan-file": ("floor_plan", "/floor-plans/{}/file"),
    "floor-plan-preview": ("floor_plan", "/floor-plans/{}/preview"),
    "floor-plan-old-version": ("floor_plan", "/floor-plans/{}/file?version=1"),
    "mou-documents": ("mou", "/mous/{}/documents"),
    "mou-document-versions": ("mou_document", "/mou-documents/{}/versions"),
    "mou-document-file": ("mou_document", "/mou-documents/{}/file"),
    "mou-document-preview": ("mou_document", "/mou-documents/{}/preview"),
    "organization-contacts": ("org", "/organizations/{}/contacts"),
    "organization-contact-facilities": ("org_contact", "/contacts/{}/facilities"),
    "organization-facility-export": ("org", "/organizations/{}/facility-export"),
    "mou-history": ("mou", "/mous/{}/history"),
    "facility-corrections": ("facility", "/facilities/{}/corrections"),
    "correction": ("correction", "/corrections/{}"),
    "facility-exercises": ("facility", "/facilities/{}/exercises"),
    "exercise-findings": ("exercise", "/exercises/{}/findings"),
    "incident-findings": ("incident", "/incidents/{}/findings"),
}


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize("name", list(SUBRESOURCES))
def test_api1_what_hangs_off_another_tenants_record_is_not_found(client, w, name, attacker):
    """API1: the lists, files, versions, history and pre-plan of another tenant's record answer
    404, the same as for an id nobody has."""
    attr, template = SUBRESOURCES[name]
    victim_id = getattr(w, attr)["b"].id
    headers = w.headers[attacker]
    # The control: its owner side reads it.
    owner = "manager_b" if attr != "mou" else "officer_y"
    if "/file" not in template and "/preview" not in template:  # no bytes are stored
        assert (
            client.get(API + template.format(victim_id), headers=w.headers[owner]).status_code
            == 200
        )

    response = client.get(API + template.format(victim_id), headers=headers)
    reference = client.get(API + template.format(MISSING_ID), headers=headers)

    same_problem(response, reference, 404, victim_id)


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_api1_another_tenants_facility_cannot_be_confirmed(client, app, w, attacker):
    """API1: confirming another organization's facility as still accurate answers exactly as a
    facility nobody has (404), and confirms nothing."""
    facility = w.facility["b"]
    path = f"{API}/facilities/{facility.id}"
    headers = {**w.headers[attacker], "If-Match": etag(client, w, path)}
    before = row(app, Facility, facility.id), row(app, Contact, w.contact["b"].id)

    response = client.post(f"{path}/confirm", headers=headers)
    reference = client.post(f"{API}/facilities/{MISSING_ID}/confirm", headers=headers)

    same_problem(response, reference, 404, facility.id)
    assert (row(app, Facility, facility.id), row(app, Contact, w.contact["b"].id)) == before


@pytest.mark.parametrize("caller", ["manager_a", "officer_x", "officer_z"])
def test_api1_the_freshness_report_never_lists_another_tenants_facility(client, w, caller):
    """API1: the freshness report lists only facilities the caller reads; naming another
    organization or agency in its filters narrows it, never widens it."""
    headers = w.headers[caller]
    visible = {"manager_a": {w.facility["a"].id}, "officer_x": {w.facility["a"].id}}
    for params in ({}, {"organization_id": w.org["b"].id}, {"agency_id": w.agency["b"].id}):
        response = client.get(f"{API}/reports/freshness", query_string=params, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        listed = {item["facility_id"] for item in response.json["items"]}
        assert listed <= visible.get(caller, set()), (params, listed)
        assert "Beta Malls" not in response.get_data(as_text=True)
    # The control: a never-confirmed facility of its own is listed.
    if caller in visible:
        response = client.get(f"{API}/reports/freshness", headers=headers)
        assert {item["facility_id"] for item in response.json["items"]} == visible[caller]


# A step of another tenant's MOU's lifecycle: (step, cast attribute of an MOU it applies to, body)
MOU_STEPS = {
    "propose": ("mou_draft", {}),
    "accept": ("mou_proposed", {}),
    "terminate": ("mou", {"reason": "Hostile takeover"}),
    "renew": ("mou", {}),
}


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize("step", list(MOU_STEPS))
def test_api1_another_tenants_mou_cannot_be_proposed_accepted_ended_or_renewed(
    client, app, w, step, attacker
):
    """API1: proposing, accepting, terminating or renewing another partnership's MOU answers
    exactly as an MOU nobody has (404, before If-Match or the body are judged), and nothing
    changes or is created."""
    attr, body = MOU_STEPS[step]
    mou = getattr(w, attr)["b"]
    path = f"{API}/mous/{mou.id}"
    headers = {**w.headers[attacker], "If-Match": etag(client, w, path)}
    before, total = row(app, Mou, mou.id), count(app, Mou)

    response = client.post(f"{path}/{step}", json=body, headers=headers)
    reference = client.post(f"{API}/mous/{MISSING_ID}/{step}", json=body, headers=headers)

    same_problem(response, reference, 404, mou.id)
    assert (row(app, Mou, mou.id), count(app, Mou)) == (before, total)


CORRECTION_STEPS = {
    "answer": {"response": "Not yours to answer"},
    "resolve": {"resolution": "rejected", "reason": "Not yours to reject"},
}


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize("step", list(CORRECTION_STEPS))
def test_api1_another_tenants_correction_cannot_be_answered_or_resolved(
    client, app, w, step, attacker
):
    """API1: answering or resolving a correction report about another organization's facility
    answers exactly as a report nobody has (404, before If-Match or the body), and nothing
    changes; nobody is told."""
    correction = w.correction["b"]
    path = f"{API}/corrections/{correction.id}"
    headers = {**w.headers[attacker], "If-Match": etag(client, w, path)}
    before, told = row(app, Correction, correction.id), count(app, Notification)

    response = client.post(f"{path}/{step}", json=CORRECTION_STEPS[step], headers=headers)
    reference = client.post(
        f"{API}/corrections/{MISSING_ID}/{step}", json=CORRECTION_STEPS[step], headers=headers
    )

    same_problem(response, reference, 404, correction.id)
    assert (row(app, Correction, correction.id), count(app, Notification)) == (before, told)


@pytest.mark.parametrize("attacker", ["officer_z", "cad_z", "officer_x"])
def test_api1_a_preplan_one_may_not_read_cannot_be_reported(client, app, w, attacker):
    """API1: reporting a correction on a facility whose pre-plan the caller may not read
    answers as a facility nobody has (404, before the body is judged): a report never tells
    which items exist where."""
    body = {"item_kind": "access_point", "item_id": w.access_point["b"].id}
    body |= {"discrepancy": "wrong", "problem": "Probe"}
    path = f"{API}/facilities/{{}}/corrections"
    headers = w.headers[attacker]

    response = client.post(path.format(w.facility["b"].id), json=body, headers=headers)
    reference = client.post(path.format(MISSING_ID), json=body, headers=headers)

    same_problem(response, reference, 404, w.facility["b"].id)
    assert count(app, Correction) == 2


# Creating a child under another tenant's record: (parent attribute, path, model, body)
NESTED_CREATES = {
    "access-point": ("facility", "/facilities/{}/access-points", AccessPoint, {"kind": "gate"}),
    "tactical-point": (
        "facility",
        "/facilities/{}/tactical-points",
        TacticalPoint,
        {"kind": "command_post"},
    ),
    "facility-contact": ("facility", "/facilities/{}/contacts", Contact, {}),
    "organization-contact": ("org", "/organizations/{}/contacts", Contact, {}),
}


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize("child", list(NESTED_CREATES))
def test_api1_no_child_can_be_added_to_another_tenants_record(client, app, w, child, attacker):
    """API1: adding an access point, tactical point or contact under another organization's
    facility (or to the organization) is a 404, and nothing is written."""
    attr, template, model, extra = NESTED_CREATES[child]
    parent_id = getattr(w, attr)["b"].id
    body = {"name": "Mallory", **extra}
    total = count(app, model)

    response = client.post(API + template.format(parent_id), json=body, headers=w.headers[attacker])
    reference = client.post(
        API + template.format(MISSING_ID), json=body, headers=w.headers[attacker]
    )

    same_problem(response, reference, 404, parent_id)
    assert count(app, model) == total


@pytest.mark.parametrize("attacker", ATTACKERS)
@pytest.mark.parametrize(
    ("parent", "template", "form", "model"),
    [
        ("facility", "/facilities/{}/floor-plans", FLOOR_PLAN_FORM, FloorPlan),
        ("mou", "/mous/{}/documents", {"title": "Forged"}, MouDocument),
    ],
    ids=["floor-plan", "mou-document"],
)
def test_api1_no_file_can_be_uploaded_to_another_tenants_record(
    client, app, w, attacker, parent, template, form, model
):
    """API1: uploading a floor plan to another organization's facility, or a document to another
    partner's MOU, is a 404 and stores nothing."""
    parent_id = getattr(w, parent)["b"].id
    total = count(app, model)

    response = upload(client, w.headers[attacker], API + template.format(parent_id), form)
    reference = upload(client, w.headers[attacker], API + template.format(MISSING_ID), form)

    same_problem(response, reference, 404, parent_id)
    assert count(app, model) == total


def test_api1_an_agency_cannot_add_liaisons_to_another_agency(client, app, w):
    """API1: agencies are public (everyone reads them), so the refusal to write another agency's
    liaison list is a 403; nothing is written and the list shows none of the other's contacts."""
    path = f"{API}/agencies/{w.agency['b'].id}/contacts"
    total = count(app, Contact)

    response = client.post(path, json={"name": "Mallory"}, headers=w.headers["officer_x"])

    assert_problem(response, 403)
    assert count(app, Contact) == total
    listed = client.get(path, headers=w.headers["officer_x"])
    assert listed.status_code == 200
    assert (listed.json["total"], listed.json["items"]) == (0, [])


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("officer_x", 200),
        ("cad_x", 200),
        ("manager_a", 200),
        ("officer_y", 404),
        ("cad_y", 404),
        ("officer_z", 404),
        ("cad_z", 404),
        ("manager_b", 404),
        ("auditor", 404),
    ],
)
def test_api1_only_a_sharing_agency_reads_a_preplan(client, w, caller, status):
    """API1: an agency without an active data-sharing MOU with A cannot read the pre-plan of A's
    facility (JSON, GeoJSON or printed), nor the facility and its parts."""
    facility = w.facility["a"]
    paths = [
        f"{API}/preplans/{facility.id}",
        f"{API}/preplans/{facility.id}?format=geojson",
        f"{API}/preplans/{facility.id}?format=html",
        f"{API}/preplans/{facility.id}?format=pdf",
        f"{API}/facilities/{facility.id}",
        f"{API}/access-points/{w.access_point['a'].id}",
        f"{API}/floor-plans/{w.floor_plan['a'].id}",
    ]
    for path in paths:
        response = client.get(path, headers=w.headers[caller])
        if status == 200:
            assert response.status_code == 200, (path, response.get_data(as_text=True))
        else:
            assert_problem(response, 404)
            assert facility.name not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("caller", "packed"),
    [("officer_x", ["a"]), ("cad_x", ["a"]), ("officer_y", ["b"]), ("officer_z", [])],
)
def test_api1_an_offline_pack_holds_only_what_the_agency_shares(client, app, w, caller, packed):
    """API1: an agency's offline pack holds the pre-plans shared with it, never another
    tenant's (nor the deleted facility); naming another agency's id is a 403 that builds and
    audits nothing."""
    response = client.get(f"{API}/packs/agency", headers=w.headers[caller])
    assert response.status_code == 200, response.get_data(as_text=True)
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as pack:
        manifest = json.loads(pack.read("manifest.json"))
        names = pack.namelist()
    assert [f["id"] for f in manifest["facilities"]] == [w.facility[side].id for side in packed]
    for side in {"a", "b"} - set(packed):
        assert f"preplans/{w.facility[side].id}.json" not in names
    events = count(app, AuditEvent)
    other = w.agency["b" if packed == ["a"] else "a"].id

    refused = client.get(f"{API}/packs/agency?agency_id={other}", headers=w.headers[caller])

    assert_problem(refused, 403)
    assert count(app, AuditEvent) == events


@pytest.mark.parametrize(
    ("caller", "own"),
    [("officer_x", "a"), ("cad_x", "a"), ("officer_y", "b"), ("cad_y", "b")],
)
def test_api1_an_agency_lists_only_its_own_incidents(client, w, caller, own):
    """API1: an agency's incident list never holds another agency's incidents, not even when it
    filters by the other's facility or incident number."""
    other = "b" if own == "a" else "a"
    headers = w.headers[caller]

    listed = client.get(f"{API}/incidents", headers=headers).json
    by_facility = client.get(
        f"{API}/incidents?facility_id={w.facility[other].id}", headers=headers
    ).json
    by_number = client.get(f"{API}/incidents?cad_incident_number=INC-{other}", headers=headers).json

    assert [item["id"] for item in listed["items"]] == [w.incident[own].id]
    assert (by_facility["total"], by_number["total"]) == (0, 0)


@pytest.mark.parametrize("attacker", ["manager_a", "officer_x", "cad_x", "auditor"])
def test_api1_deleted_records_of_another_tenant_are_not_listed(client, app, w, attacker):
    """API1: the "deleted" lists (what may be restored) never show another tenant's records."""
    set_columns(app, Facility, w.facility["b"].id, deleted_at=datetime.now(UTC))
    set_columns(app, AccessPoint, w.access_point["b"].id, deleted_at=datetime.now(UTC))

    response = client.get(f"{API}/facilities?deleted=true", headers=w.headers[attacker])

    if attacker == "manager_a":
        assert response.status_code == 200
        assert [f["id"] for f in response.json["items"]] == [w.deleted_facility.id]
    else:
        assert_problem(response, 403)  # only those who may restore see deleted records
    nested = client.get(
        f"{API}/facilities/{w.facility['b'].id}/access-points?deleted=true",
        headers=w.headers[attacker],
    )
    assert_problem(nested, 404)


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_api1_another_tenants_door_code_cannot_be_revealed(client, app, w, attacker):
    """API1: the audited reveal of an access point's code answers another tenant's access point
    exactly as one nobody has (404), and shows nothing."""
    point = w.access_point["b"]
    path = f"{API}/access-points/{point.id}"
    sealed = client.patch(
        path,
        json={"code": DOOR_CODE, "key_location": KEY_PLACE},
        headers={**w.headers["manager_b"], "If-Match": etag(client, w, path)},
    )
    assert sealed.status_code == 200, sealed.json
    body = {"reason": "Checking the door"}

    response = client.post(f"{path}/reveal", json=body, headers=w.headers[attacker])
    reference = client.post(
        f"{API}/access-points/{MISSING_ID}/reveal", json=body, headers=w.headers[attacker]
    )

    same_problem(response, reference, 404, point.id)
    assert DOOR_CODE not in response.get_data(as_text=True)


# =============================================================================================
# API2:2023 Broken Authentication
# Bearer JWTs (HS256 only) from /auth/login and /auth/token; every token is checked against the
# account on every request (active, not revoked). Any failure is a 401 problem with
# WWW-Authenticate, never a 422/500, and the request does nothing. The session app runs with
# TESTING and DEBUG off (test_auth.py also runs the failures with TESTING on, and covers the
# malformed-token zoo; here every forgery is aimed at an administrator's writes).

OTHER_KEY = "another-key-0123456789-0123456789-abcdef"


def _claims(make, account) -> dict:
    return jwt.decode(make.token(account), options={"verify_signature": False})


def _b64(part: dict) -> str:
    raw = json.dumps(part, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _other_key(client, app, make, admin):
    return bearer(jwt.encode(_claims(make, admin), OTHER_KEY, algorithm="HS256"))


def _alg_none(client, app, make, admin):
    return bearer(f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(make, admin))}.")


def _expired(client, app, make, admin):
    with app.app_context():
        token = create_access_token(f"user:{admin.id}", expires_delta=timedelta(seconds=-1))
    return bearer(token)


def _refresh_as_access(client, app, make, admin):
    with app.app_context():
        return bearer(create_refresh_token(f"user:{admin.id}"))


def _disabled_user(client, app, make, admin):
    headers = make.headers(admin)
    set_columns(app, User, admin.id, is_active=False)
    return headers


def _revoked_by_logout(client, app, make, admin):
    login = client.post(
        f"{API}/auth/login", json={"username": admin.username, "password": PASSWORD}
    )
    assert login.status_code == 200, login.json
    headers = bearer(login.json["access_token"])
    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    return headers


def _refresh_after_logout(client, app, make, admin):
    login = client.post(
        f"{API}/auth/login", json={"username": admin.username, "password": PASSWORD}
    )
    assert login.status_code == 200, login.json
    logout = client.post(f"{API}/auth/logout", headers=bearer(login.json["access_token"]))
    assert logout.status_code == 204
    return bearer(login.json["refresh_token"])


def _deleted_then_id_reused(client, app, make, admin):
    # A deleted account's token must not come back to life as whoever gets the next id.
    doomed = make.user("admin")
    headers = make.headers(doomed)
    with app.app_context(), transaction.session_scope() as session:
        session.delete(session.get(User, doomed.id))
    assert make.user("admin").id != doomed.id
    return headers


def _tampered_subject(client, app, make, admin):
    # A manager's genuine token with its subject rewritten to the admin, signature kept.
    manager = make.user("facility_manager", organization=make.organization())
    header, _payload, signature = make.token(manager).split(".")
    claims = {**_claims(make, manager), "sub": f"user:{admin.id}", "role": "admin"}
    return bearer(f"{header}.{_b64(claims)}.{signature}")


BAD_TOKENS = {
    "signed-with-another-key": _other_key,
    "alg-none": _alg_none,
    "expired": _expired,
    "refresh-token-as-access-token": _refresh_as_access,
    "disabled-user": _disabled_user,
    "revoked-after-logout": _revoked_by_logout,
    "refresh-token-after-logout": _refresh_after_logout,
    "deleted-account-id-reused": _deleted_then_id_reused,
    "tampered-subject": _tampered_subject,
}


def _admin_writes(w):
    facility = f"{API}/facilities/{w.facility['a'].id}"
    return {
        "create-organization": ("POST", f"{API}/organizations", {"name": "Evil"}, Organization),
        "create-user": (
            "POST",
            f"{API}/users",
            {"username": "evil", "password": "p" * 20, "role": "admin"},
            User,
        ),
        "change-facility": ("PATCH", facility, {"name": "Evil"}, Facility),
        "delete-facility": ("DELETE", facility, None, Facility),
        "read-users": ("GET", f"{API}/users", None, User),
    }


@pytest.mark.parametrize(
    "write",
    ["create-organization", "create-user", "change-facility", "delete-facility", "read-users"],
)
@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_api2_forged_expired_or_revoked_tokens_are_401_and_do_nothing(
    client, app, make, w, case, write
):
    """API2: another key, alg none, expired, a refresh token, a disabled or deleted account, a
    token revoked by logout or a tampered one: 401 problem, nothing read or written."""
    assert not app.testing and not app.debug
    method, path, body, model = _admin_writes(w)[write]
    headers = BAD_TOKENS[case](client, app, make, make.user("admin"))
    if method in ("PATCH", "DELETE"):
        headers["If-Match"] = etag(client, w, path)
    total, facility = count(app, model), row(app, Facility, w.facility["a"].id)

    response = client.open(path, method=method, json=body, headers=headers)

    problem = assert_problem(response, 401)
    assert "errors" not in problem
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "items" not in response.get_data(as_text=True)
    assert count(app, model) == total
    assert row(app, Facility, w.facility["a"].id) == facility


def test_api2_a_disabled_cad_client_is_refused_everywhere(client, app, w):
    """API2: a CAD client switched off by an administrator loses its existing token at once,
    on the lookup, the pre-plan and opening incidents, and cannot get a new one."""
    cad = w.cad["a"]
    headers = w.headers["cad_x"]
    set_columns(app, CadClient, cad.id, is_active=False)
    incidents = count(app, Incident)

    for response in (
        client.get(f"{API}/preplans/lookup?name=Store", headers=headers),
        client.get(f"{API}/preplans/{w.facility['a'].id}", headers=headers),
        client.post(
            f"{API}/incidents",
            json={"cad_incident_number": "N-1", "incident_type": "fire", "name": "Store"},
            headers=headers,
        ),
    ):
        assert_problem(response, 401)
    assert count(app, Incident) == incidents


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"{API}/auth/login", {"username": "nobody", "password": "x" * 12}),
        (f"{API}/auth/token", {"client_id": "nobody", "client_secret": "x" * 12}),
    ],
)
def test_api2_unknown_accounts_and_wrong_secrets_answer_alike(client, w, path, body):
    """API2: an unknown account and a known one with a wrong secret get the same 401, so the
    login cannot be used to find usernames or client ids."""
    known = dict(body)
    if "username" in known:
        known["username"] = w.accounts["officer_x"].username
    else:
        known["client_id"] = w.cad["a"].client_id

    unknown_response = client.post(path, json=body)
    known_response = client.post(path, json=known)

    assert assert_problem(unknown_response, 401) == assert_problem(known_response, 401)
    assert "access_token" not in known_response.get_data(as_text=True)


# Colleagues' hardening (issue 5): lockout after failed logins, fresh logins for sensitive
# actions, and every token cut off when a password changes. (test_auth_hardening.py has the
# details; these rows put them on the checklist.)


def test_api2_five_failed_logins_lock_the_account_even_for_the_right_password(client, app, w):
    """API2: after five wrong passwords in a row the account is locked: the right password gets
    the same 401 as a wrong one (no lock oracle), while other accounts log in as usual."""
    victim = w.accounts["officer_x"]
    login = f"{API}/auth/login"
    wrong = {"username": victim.username, "password": "not-the-password"}
    answers = [client.post(login, json=wrong) for _ in range(5)]
    hash_before = fetch(app, User, victim.id).password_hash

    right = client.post(login, json={"username": victim.username, "password": PASSWORD})

    refused = assert_problem(right, 401)
    assert all(assert_problem(answer, 401) == refused for answer in answers)
    assert "access_token" not in right.get_data(as_text=True)
    assert fetch(app, User, victim.id).password_hash == hash_before
    other = w.accounts["officer_y"]
    ok = client.post(login, json={"username": other.username, "password": PASSWORD})
    assert ok.status_code == 200, ok.json


# (caller, method, path template, body, model, cast attribute or None)
FRESH_ONLY = {
    "create-organization": (
        "admin",
        "POST",
        "/organizations",
        {"name": "Shell"},
        Organization,
        None,
    ),
    "change-user": ("admin", "PATCH", "/users/{user}", {"full_name": "X"}, User, "user"),
    "create-cad-client": (
        "admin",
        "POST",
        "/cad-clients",
        {"client_id": "late-cad", "agency_id": "{agency}", "name": "Late"},
        CadClient,
        None,
    ),
    "change-cad-client": ("admin", "PATCH", "/cad-clients/{cad}", {"name": "X"}, CadClient, "cad"),
    "change-agency": ("admin", "PATCH", "/agencies/{agency}", {"name": "X"}, Agency, "agency"),
    "grant-mou-scope": (
        "manager_a",
        "PATCH",
        "/mous/{mou}",
        {"scopes": ["data_sharing", "access_codes"]},
        Mou,
        "mou",
    ),
    "propose-mou": ("manager_a", "POST", "/mous/{mou_draft}/propose", {}, Mou, "mou_draft"),
    "accept-mou": ("officer_x", "POST", "/mous/{mou_proposed}/accept", {}, Mou, "mou_proposed"),
    "terminate-mou": (
        "officer_x",
        "POST",
        "/mous/{mou}/terminate",
        {"reason": "Replaced by a county-wide MOU"},
        Mou,
        "mou",
    ),
    "renew-mou": ("manager_a", "POST", "/mous/{mou}/renew", {}, Mou, "mou"),
    "reveal-door-code": (
        "manager_a",
        "POST",
        "/access-points/{access_point}/reveal",
        {"reason": "Fire drill"},
        AccessPoint,
        "access_point",
    ),
    "change-own-password": (
        "officer_x",
        "POST",
        "/auth/password",
        {"current_password": PASSWORD, "new_password": "another-long-password"},
        User,
        None,
    ),
}


@pytest.mark.parametrize("case", list(FRESH_ONLY))
def test_api2_sensitive_actions_need_a_fresh_login(client, app, make, w, case):
    """API2: a token that did not come from a password typed minutes ago (a refreshed one) may
    read but not change accounts, partners, MOUs (no step of their lifecycle either), passwords
    or reveal door codes: 401
    fresh-login-required, nothing changed."""
    caller, method, template, body, model, attr = FRESH_ONLY[case]
    path = fill(template, w)
    body = {k: (w.agency["a"].id if v == "{agency}" else v) for k, v in body.items()}
    headers = make.headers(w.accounts[caller], fresh=False)
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200  # reads still work
    if method == "PATCH":
        headers["If-Match"] = etag(client, w, path)
    total = count(app, model)
    before = row(app, model, getattr(w, attr)["a"].id) if attr else None
    password_hash = fetch(app, User, w.accounts[caller].id)

    response = client.open(path, method=method, json=body, headers=headers)

    problem = assert_problem(response, 401)
    assert problem["type"].endswith("fresh-login-required")
    assert DOOR_CODE not in response.get_data(as_text=True)
    assert count(app, model) == total
    if attr:
        assert row(app, model, getattr(w, attr)["a"].id) == before
    if password_hash is not None:
        assert fetch(app, User, w.accounts[caller].id).password_hash == password_hash.password_hash


def test_api2_a_refreshed_token_is_not_fresh(client, app, w):
    """API2: the access token /auth/refresh hands out cannot do what needs a fresh login."""
    admin = w.accounts["admin"]
    login = client.post(
        f"{API}/auth/login", json={"username": admin.username, "password": PASSWORD}
    )
    refreshed = client.post(f"{API}/auth/refresh", headers=bearer(login.json["refresh_token"]))
    assert refreshed.status_code == 200, refreshed.json
    total = count(app, Organization)

    response = client.post(
        f"{API}/organizations",
        json={"name": "Shell"},
        headers=bearer(refreshed.json["access_token"]),
    )

    assert assert_problem(response, 401)["type"].endswith("fresh-login-required")
    assert count(app, Organization) == total


@pytest.mark.parametrize("how", ["own-password-change", "admin-sets-password"])
def test_api2_a_password_change_cuts_off_every_earlier_token(client, app, w, how):
    """API2: after a password change every access and refresh token issued before it is refused
    (401), on reads and writes; a new login with the new password works."""
    user = w.accounts["manager_a"]
    login = client.post(f"{API}/auth/login", json={"username": user.username, "password": PASSWORD})
    assert login.status_code == 200, login.json
    old_access, old_refresh = (
        bearer(login.json["access_token"]),
        bearer(login.json["refresh_token"]),
    )
    new_password = "a-brand-new-password-42"
    if how == "own-password-change":
        changed = client.post(
            f"{API}/auth/password",
            json={"current_password": PASSWORD, "new_password": new_password},
            headers=old_access,
        )
    else:
        path = f"{API}/users/{user.id}"
        changed = client.patch(
            path,
            json={"password": new_password},
            headers={**w.headers["admin"], "If-Match": etag(client, w, path)},
        )
    assert changed.status_code in (200, 204), changed.get_data(as_text=True)
    facility = row(app, Facility, w.facility["a"].id)

    assert_problem(client.get(f"{API}/facilities", headers=old_access), 401)
    patch = client.patch(
        f"{API}/facilities/{w.facility['a'].id}",
        json={"name": "Stolen session"},
        headers={
            **old_access,
            "If-Match": etag(client, w, f"{API}/facilities/{w.facility['a'].id}"),
        },
    )
    assert_problem(patch, 401)
    assert_problem(client.post(f"{API}/auth/refresh", headers=old_refresh), 401)
    assert row(app, Facility, w.facility["a"].id) == facility
    again = client.post(
        f"{API}/auth/login", json={"username": user.username, "password": new_password}
    )
    assert again.status_code == 200, again.json
    assert (
        client.get(f"{API}/facilities", headers=bearer(again.json["access_token"])).status_code
        == 200
    )


# =============================================================================================
# API3:2023 Broken Object Property Level Authorization
# Mass assignment: every schema refuses unknown fields (422 naming them) and declares ids,
# versions, timestamps, owners of children and computed fields dump-only, which marshmallow also
# refuses on input; the owner fields that are writable (a facility's or MOU's organization) are
# checked against the caller after assignment (403). So read-only fields are *refused*, never
# silently ignored, and nothing is written. Excessive exposure: responses are serialized by an
# explicit schema, so hashes, secrets, ciphertexts and the lookup's internal keys never leave.

# (caller, method, path template, body, status, field named in `errors`, model, cast attribute)
MASS_ASSIGNMENT = {
    "manager-creates-facility-in-another-org": (
        "manager_a",
        "POST",
        "/facilities",
        lambda w: {
            "organization_id": w.org["b"].id,
            "name": "Trojan",
            "facility_type": "retail_store",
            "address_line1": "1 Market Sq",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
        },
        403,
        None,
        Facility,
        None,
    ),
    "manager-moves-facility-to-another-org": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        lambda w: {"organization_id": w.org["b"].id},
        403,
        None,
        Facility,
        "facility",
    ),
    "facility-confirmed-at": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        lambda w: {"confirmed_at": "2099-01-01T00:00:00+00:00"},
        422,
        "confirmed_at",
        Facility,
        "facility",
    ),
    "contact-confirmed-by": (
        "manager_a",
        "PATCH",
        "/contacts/{contact}",
        lambda w: {"confirmed_by": "admin"},
        422,
        "confirmed_by",
        Contact,
        "contact",
    ),
    "facility-verified-in-the-future": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        lambda w: {"last_verified_at": "2099-01-01T00:00:00+00:00"},
        422,
        "last_verified_at",
        Facility,
        "facility",
    ),
    "facility-preplan-version": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        lambda w: {"preplan_version": 1},
        422,
        "preplan_version",
        Facility,
        "facility",
    ),
    "facility-normalized-address": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        lambda w: {"normalized_address": "1 ELSEWHERE"},
        422,
        "normalized_address",
        Facility,
        "facility",
    ),
    "facility-deleted-at": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        lambda w: {"deleted_at": None},
        422,
        "deleted_at",
        Facility,
        "facility",
    ),
    "facility-match-key": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        lambda w: {"address_key": "1 ELSEWHERE"},
        422,
        "address_key",
        Facility,
        "facility",
    ),
    "access-point-moved-to-another-facility": (
        "manager_a",
        "PATCH",
        "/access-points/{access_point}",
        lambda w: {"facility_id": w.facility["b"].id},
        422,
        "facility_id",
        AccessPoint,
        "access_point",
    ),
    "access-point-created-under-another-facility": (
        "manager_a",
        "POST",
        "/facilities/{facility}/access-points",
        lambda w: {"kind": "gate", "name": "Gate", "facility_id": w.facility["b"].id},
        422,
        "facility_id",
        AccessPoint,
        None,
    ),
    "access-point-ciphertext": (
        "manager_a",
        "PATCH",
        "/access-points/{access_point}",
        lambda w: {"code_ciphertext": "AAAA"},
        422,
        "code_ciphertext",
        AccessPoint,
        "access_point",
    ),
    "access-point-has-code": (
        "manager_a",
        "PATCH",
        "/access-points/{access_point}",
        lambda w: {"has_code": False, "has_key_location": False},
        422,
        "has_code",
        AccessPoint,
        "access_point",
    ),
    "contact-moved-to-another-facility": (
        "manager_a",
        "PATCH",
        "/contacts/{contact}",
        lambda w: {"facility_id": w.facility["b"].id},
        422,
        "facility_id",
        Contact,
        "contact",
    ),
    "contact-moved-to-another-org": (
        "manager_a",
        "PATCH",
        "/contacts/{org_contact}",
        lambda w: {"organization_id": w.org["b"].id},
        422,
        "organization_id",
        Contact,
        "org_contact",
    ),
    "liaison-created-for-another-agency": (
        "officer_x",
        "POST",
        "/agencies/{agency}/contacts",
        lambda w: {"name": "Mallory", "agency_id": w.agency["b"].id},
        422,
        "agency_id",
        Contact,
        None,
    ),
    "manager-creates-mou-for-another-org": (
        "manager_a",
        "POST",
        "/mous",
        lambda w: {
            "organization_id": w.org["b"].id,
            "agency_id": w.agency["a"].id,
            "title": "Grant",
            "effective_date": "2024-01-01",
            "scopes": ["data_sharing"],
        },
        403,
        None,
        Mou,
        None,
    ),
    "agency-drafts-mou-for-another-agency": (
        "officer_x",
        "POST",
        "/mous",
        lambda w: {
            "organization_id": w.org["a"].id,
            "agency_id": w.agency["b"].id,
            "title": "Grant",
            "effective_date": "2024-01-01",
            "scopes": ["data_sharing"],
        },
        403,
        None,
        Mou,
        None,
    ),
    "manager-hands-mou-to-another-org": (
        "manager_a",
        "PATCH",
        "/mous/{mou_draft}",
        lambda w: {"organization_id": w.org["b"].id},
        403,
        None,
        Mou,
        "mou_draft",
    ),
    "mou-created-active": (
        "manager_a",
        "POST",
        "/mous",
        lambda w: {
            "organization_id": w.org["a"].id,
            "agency_id": w.agency["a"].id,
            "title": "Grant",
            "status": "active",
            "effective_date": "2024-01-01",
            "scopes": ["data_sharing"],
        },
        422,
        "status",
        Mou,
        None,
    ),
    "mou-status-by-patch": (
        "manager_a",
        "PATCH",
        "/mous/{mou_proposed}",
        lambda w: {"status": "active"},
        422,
        "status",
        Mou,
        "mou_proposed",
    ),
    "mou-acceptance-forged": (
        "manager_a",
        "PATCH",
        "/mous/{mou_proposed}",
        lambda w: {"agency_accepted_at": "2024-01-01T00:00:00+00:00", "agency_accepted_by": "x"},
        422,
        "agency_accepted_at",
        Mou,
        "mou_proposed",
    ),
    "mou-drafting-party-rewritten": (
        "manager_a",
        "PATCH",
        "/mous/{mou_draft}",
        lambda w: {"drafting_party": "agency"},
        422,
        "drafting_party",
        Mou,
        "mou_draft",
    ),
    "mou-renewal-forged": (
        "manager_a",
        "POST",
        "/mous",
        lambda w: {
            "organization_id": w.org["a"].id,
            "agency_id": w.agency["a"].id,
            "title": "Grant",
            "effective_date": "2024-01-01",
            "scopes": ["data_sharing"],
            "supersedes_id": w.mou["a"].id,
        },
        422,
        "supersedes_id",
        Mou,
        None,
    ),
    "mou-proposal-moved-to-another-agency": (
        "manager_a",
        "PATCH",
        "/mous/{mou_proposed}",
        lambda w: {"agency_id": w.agency_z.id},
        422,
        "agency_id",
        Mou,
        "mou_proposed",
    ),
    "mou-in-force": (
        "manager_a",
        "PATCH",
        "/mous/{mou}",
        lambda w: {"in_force": True},
        422,
        "in_force",
        Mou,
        "mou",
    ),
    "agency-activates-its-own-mou": (
        "officer_x",
        "PATCH",
        "/mous/{mou_proposed}",
        lambda w: {"status": "active", "scopes": ["data_sharing", "access_codes"]},
        422,
        "status",
        Mou,
        "mou_proposed",
    ),
    "floor-plan-moved-to-another-facility": (
        "manager_a",
        "PATCH",
        "/floor-plans/{floor_plan}",
        lambda w: {"facility_id": w.facility["b"].id},
        422,
        "facility_id",
        FloorPlan,
        "floor_plan",
    ),
    "floor-plan-revision-and-hash": (
        "manager_a",
        "PATCH",
        "/floor-plans/{floor_plan}",
        lambda w: {"revision": 99, "sha256": "0" * 64},
        422,
        "sha256",
        FloorPlan,
        "floor_plan",
    ),
    "mou-document-moved-to-another-mou": (
        "manager_a",
        "PATCH",
        "/mou-documents/{mou_document}",
        lambda w: {"mou_id": w.mou["b"].id},
        422,
        "mou_id",
        MouDocument,
        "mou_document",
    ),
    "incident-rewritten-to-another-agency": (
        "officer_x",
        "PATCH",
        "/incidents/{incident}",
        lambda w: {"agency_id": w.agency["b"].id},
        422,
        "agency_id",
        Incident,
        "incident",
    ),
    "incident-moved-to-another-facility": (
        "officer_x",
        "PATCH",
        "/incidents/{incident}",
        lambda w: {"facility_id": w.facility["b"].id},
        422,
        "facility_id",
        Incident,
        "incident",
    ),
    "incident-opened-by-rewritten": (
        "cad_x",
        "PATCH",
        "/incidents/{incident}",
        lambda w: {"opened_by": "user:1", "match_status": "no_match"},
        422,
        "opened_by",
        Incident,
        "incident",
    ),
    "incident-recovery-sites-sent": (
        "officer_x",
        "PATCH",
        "/incidents/{incident}",
        lambda w: {"recovery_sites": [{"name": "Decoy gym", "kind": "reunification_site"}]},
        422,
        "recovery_sites",
        Incident,
        "incident",
    ),
    "incident-break-glass-granted-by-body": (
        "officer_x",
        "PATCH",
        "/incidents/{incident}",
        lambda w: {"break_glass": True},
        422,
        "break_glass",
        Incident,
        "incident",
    ),
    "admin-sets-a-password-hash": (
        "admin",
        "PATCH",
        "/users/{user}",
        lambda w: {"password_hash": "$argon2id$v=19$m=65536,t=3,p=4$forged"},
        422,
        "password_hash",
        User,
        "user",
    ),
    "admin-clears-a-lockout": (
        "admin",
        "PATCH",
        "/users/{user}",
        lambda w: {"failed_logins": 0, "locked_until": None},
        422,
        "failed_logins",
        User,
        "user",
    ),
    "admin-moves-token-cut-off": (
        "admin",
        "PATCH",
        "/users/{user}",
        lambda w: {"tokens_valid_after": None},
        422,
        "tokens_valid_after",
        User,
        "user",
    ),
    "admin-sets-a-cad-secret-hash": (
        "admin",
        "PATCH",
        "/cad-clients/{cad}",
        lambda w: {"secret_hash": "forged"},
        422,
        "secret_hash",
        CadClient,
        "cad",
    ),
    "admin-sets-a-cad-secret": (
        "admin",
        "PATCH",
        "/cad-clients/{cad}",
        lambda w: {"client_secret": "chosen-by-the-caller-123"},
        422,
        "client_secret",
        CadClient,
        "cad",
    ),
}
for _field, _value in (
    ("id", 424242),
    ("version", 99),
    ("created_at", "2000-01-01T00:00:00+00:00"),
    ("updated_at", "2000-01-01T00:00:00+00:00"),
):
    MASS_ASSIGNMENT[f"user-{_field}"] = (
        "admin",
        "PATCH",
        "/users/{user}",
        lambda w, f=_field, v=_value: {f: v},
        422,
        _field,
        User,
        "user",
    )

# What a correction report says about itself is the registry's: who reported it, for which
# agency and incident, and every step's result.
for _field, _value in (
    ("status", "resolved"),
    ("resolution", "fixed"),
    ("agency_id", 1),
    ("incident_id", 1),
    ("facility_id", 1),
    ("item_name", "Anything"),
    ("reporter_name", "someone-else"),
):
    MASS_ASSIGNMENT[f"correction-{_field}"] = (
        "officer_x",
        "POST",
        "/facilities/{facility}/corrections",
        lambda w, f=_field, v=_value: {
            "item_kind": "facility",
            "discrepancy": "wrong",
            "problem": "P",
            f: v,
        },
        422,
        _field,
        Correction,
        None,
    )

# An exercise's facility and recorder, and a finding's exercise, incident and facility, are the
# registry's (from the route and the caller).
for _field, _value in (("facility_id", 1), ("recorded_by", "user:1"), ("organization_id", 1)):
    MASS_ASSIGNMENT[f"exercise-{_field}"] = (
        "officer_x",
        "POST",
        "/facilities/{facility}/exercises",
        lambda w, f=_field, v=_value: {
            "kind": "drill",
            "scenario": "other",
            "held_on": "2026-09-01",
            "title": "Drill",
            f: v,
        },
        422,
        _field,
        Exercise,
        None,
    )
for _field, _value in (("exercise_id", 1), ("incident_id", 1), ("facility_id", 1)):
    MASS_ASSIGNMENT[f"finding-{_field}"] = (
        "manager_a",
        "POST",
        "/incidents/{incident}/findings",
        lambda w, f=_field, v=_value: {"text": "Finding", f: v},
        422,
        _field,
        Finding,
        None,
    )


def fill(template: str, w, side="a") -> str:
    names = (
        "facility",
        "access_point",
        "tactical_point",
        "contact",
        "org_contact",
        "mou",
        "mou_draft",
        "mou_proposed",
        "floor_plan",
    )
    values = {name: getattr(w, name)[side].id for name in names}
    values.update(
        mou_document=w.mou_document[side].id,
        incident=w.incident[side].id,
        user=w.user[side].id,
        cad=w.cad[side].id,
        agency=w.agency[side].id,
        org=w.org[side].id,
    )
    return API + template.format(**values)


@pytest.mark.parametrize("case", list(MASS_ASSIGNMENT))
def test_api3_read_only_and_owner_fields_are_refused(client, app, w, case):
    """API3: mass assignment of owners (organization, facility, agency, MOU), ids, versions,
    timestamps, hashes, secrets, lockout and break-glass state is refused (422 naming the field,
    or 403 for an owner the caller may not write to), never silently applied."""
    caller, method, template, body, status, field, model, attr = MASS_ASSIGNMENT[case]
    path = fill(template, w)
    headers = dict(w.headers[caller])
    before = row(app, model, getattr(w, attr)["a"].id) if attr else None
    if method == "PATCH":
        headers["If-Match"] = etag(client, w, path)
    total = count(app, model)

    response = client.open(path, method=method, json=body(w), headers=headers)

    assert_problem(response, status, field)
    assert count(app, model) == total
    if attr:
        assert row(app, model, getattr(w, attr)["a"].id) == before


@pytest.mark.parametrize(
    "change",
    [
        {"role": "admin"},
        {"organization_id": 1},
        {"agency_id": 1},
        {"is_active": True},
        {"password": "a-new-password-of-mine"},
    ],
    ids=lambda change: next(iter(change)),
)
@pytest.mark.parametrize("caller", ["manager_a", "officer_x", "auditor"])
def test_api3_nobody_but_an_admin_edits_an_account_not_even_their_own(
    client, app, w, caller, change
):
    """API3: a user cannot PATCH its own role, binding, activation or password through the
    accounts API (403), nor through /auth/me (405)."""
    account = w.accounts[caller]
    path = f"{API}/users/{account.id}"
    headers = {**w.headers[caller], "If-Match": etag(client, w, path)}
    before = row(app, User, account.id)

    assert_problem(client.patch(path, json=change, headers=headers), 403)
    assert_problem(client.patch(f"{API}/auth/me", json=change, headers=headers), 405)
    assert_problem(client.put(f"{API}/auth/me", json=change, headers=headers), 405)
    assert row(app, User, account.id) == before


@pytest.mark.parametrize(
    "field", ["agency_id", "facility_id", "status", "match_status", "opened_by", "break_glass"]
)
def test_api3_incident_owner_and_state_cannot_be_sent_on_open(client, app, w, field):
    """API3: the agency, facility, status and match of a new incident come from the caller and
    the lookup, never from the body (422 naming the field, no incident)."""
    value = {
        "agency_id": w.agency["b"].id,
        "facility_id": w.facility["b"].id,
        "status": "closed",
        "match_status": "matched",
        "opened_by": "cad:999",
        "break_glass": True,
    }[field]
    body = {"cad_incident_number": "N-1", "incident_type": "fire", "name": "Store", field: value}
    total = count(app, Incident)

    response = client.post(f"{API}/incidents", json=body, headers=w.headers["cad_y"])

    assert_problem(response, 422, field)
    assert count(app, Incident) == total


def test_api3_a_floor_plan_upload_cannot_name_its_facility_or_revision(client, app, w):
    """API3: the form of an upload refuses owner and bookkeeping fields too."""
    form = {**FLOOR_PLAN_FORM, "facility_id": str(w.facility["b"].id), "revision": "9"}
    total = count(app, FloorPlan)

    response = upload(
        client,
        w.headers["manager_a"],
        f"{API}/facilities/{w.facility['a'].id}/floor-plans",
        form,
    )

    body = assert_problem(response, 422, "facility_id")
    assert "revision" in body["errors"]
    assert count(app, FloorPlan) == total


# Keys that must never appear in any response, and values that must never appear in its text.
NEVER_SHOWN_KEYS = {
    "password",
    "password_hash",
    "secret_hash",
    "code_ciphertext",
    "code_key_id",
    "key_location_ciphertext",
    "key_location_key_id",
    "failed_logins",
    "locked_until",
    "tokens_valid_after",
    "address_key",
    "address_key_core",
    "unit_key",
    "city_key",
    "name_key",
    "preplan_version",
    "deleted_at",
    "secret_ciphertext",
    "secret_key_id",
}
DOOR_CODE = "4711#door"
KEY_PLACE = "key-behind-the-fire-panel"


def exposure_paths(w, side="a") -> list[str]:
    facility = w.facility[side].id
    return [
        f"{API}/auth/me",
        f"{API}/users",
        f"{API}/users/{w.user[side].id}",
        f"{API}/cad-clients",
        f"{API}/cad-clients/{w.cad[side].id}",
        f"{API}/facilities",
        f"{API}/facilities/{facility}",
        f"{API}/facilities/{facility}/access-points",
        f"{API}/facilities/{facility}/history",
        f"{API}/access-points/{w.access_point[side].id}",
        f"{API}/preplans/{facility}",
        f"{API}/preplans/{facility}?format=geojson",
        f"{API}/preplans/{facility}?format=html",
        f"{API}/preplans/lookup?name={w.facility[side].name}",
        f"{API}/incidents",
        f"{API}/incidents/{w.incident[side].id}",
        f"{API}/mous/{w.mou[side].id}",
        f"{API}/floor-plans/{w.floor_plan[side].id}",
        f"{API}/subscriptions",
        f"{API}/subscriptions/{w.subscription[side].id}",
        f"{API}/subscriptions/{w.subscription[side].id}/history",
    ]


def test_api3_a_webhook_secret_is_shown_once_and_never_again(client, app, w):
    """API3: a webhook's signing secret is in the creation answer (and a rotation's) only:
    never in a read, a list, its history or an Idempotency-Key replay, and stored sealed."""
    headers = {**w.headers["manager_a"], "Idempotency-Key": "hook-1"}
    body = {"channel": "webhook", "url": "https://hooks.alpha.example/registry"}
    created = client.post(f"{API}/subscriptions", json=body, headers=headers)
    assert created.status_code == 201, created.json
    secret = created.json["secret"]
    replayed = client.post(f"{API}/subscriptions", json=body, headers=headers)
    assert replayed.json["secret"] is None
    path = f"{API}/subscriptions/{created.json['id']}"
    for url in (path, f"{API}/subscriptions", f"{path}/history", f"{API}/audit-events"):
        for caller in ("admin", "manager_a"):
            response = client.get(url, headers=w.headers[caller])
            if response.status_code != 200:
                continue
            text = response.get_data(as_text=True)
            assert secret not in text and secret[6:] not in text, url
            assert not json_keys(response.get_json()) & (NEVER_SHOWN_KEYS - {"deleted_at"}), url
    with app.app_context(), transaction.session_scope() as session:
        stored = session.get(Subscription, created.json["id"])
        assert secret.encode() not in stored.secret_ciphertext
        kept = session.execute(select(IdempotencyKey.body)).scalars().all()
        assert all(secret not in body for body in kept)


@pytest.mark.parametrize("caller", ["admin", "manager_a", "officer_x", "cad_x"])
def test_api3_no_hash_secret_ciphertext_or_internal_key_is_ever_shown(client, app, w, caller):
    """API3: reads, lists, pre-plans (JSON, GeoJSON and the printed page), lookups and history
    never carry a password or secret hash, an access point's code or key location (in clear or
    sealed; only has_code/has_key_location), lockout state, or the lookup's internal match
    keys."""
    ap = w.access_point["a"]
    path = f"{API}/access-points/{ap.id}"
    # Secrets go in through the API (sealed at rest); the edit also lands in the history.
    edit = client.patch(
        path,
        json={"notes": "Knox box", "code": DOOR_CODE, "key_location": KEY_PLACE},
        headers={**w.headers["manager_a"], "If-Match": etag(client, w, path)},
    )
    assert edit.status_code == 200, edit.json
    assert (edit.json["has_code"], edit.json["has_key_location"]) == (True, True)
    stored = fetch(app, AccessPoint, ap.id)
    assert stored.code_ciphertext and DOOR_CODE.encode() not in stored.code_ciphertext
    seen = 0
    for path in exposure_paths(w):
        response = client.get(path, headers=w.headers[caller])
        if response.status_code in (403, 404) and caller != "admin":
            continue  # not this caller's to read at all (test_access says which)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        seen += 1
        text = response.get_data(as_text=True)
        assert not json_keys(response.get_json()) & NEVER_SHOWN_KEYS, path
        for value in ("$argon2", DOOR_CODE, KEY_PLACE, "client_secret"):
            assert value not in text, (path, value)
    # A manager may not run the CAD lookup (it would be an oracle): 13, not 14.
    assert seen == {"admin": 21, "manager_a": 16, "officer_x": 14, "cad_x": 14}[caller]
    listed = client.get(
        f"{API}/facilities/{w.facility['a'].id}/access-points", headers=w.headers[caller]
    )
    shown = {item["id"]: item for item in listed.json["items"]}[ap.id]
    assert (shown["has_code"], shown["has_key_location"]) == (True, True)


def test_api3_account_writes_echo_no_password_or_secret(client, app, w):
    """API3: creating or changing a user never echoes its password or hash; a CAD client's secret
    is shown once, at creation, and never again (not in reads, lists or a PATCH response)."""
    admin = w.headers["admin"]
    password = "a-password-nobody-else-knows"
    created = client.post(
        f"{API}/users",
        json={"username": "new.user", "password": password, "role": "auditor"},
        headers=admin,
    )
    assert created.status_code == 201, created.json
    changed = client.patch(
        f"{API}/users/{created.json['id']}",
        json={"password": password + "!"},
        headers={**admin, "If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.json
    for response in (created, changed):
        assert not json_keys(response.json) & NEVER_SHOWN_KEYS
        assert password not in response.get_data(as_text=True)
        assert "$argon2" not in response.get_data(as_text=True)

    cad = client.post(
        f"{API}/cad-clients",
        json={"client_id": "new-cad", "agency_id": w.agency["a"].id, "name": "New"},
        headers=admin,
    )
    assert cad.status_code == 201, cad.json
    secret = cad.json["client_secret"]
    assert len(secret) >= 32 and "secret_hash" not in cad.json
    path = f"{API}/cad-clients/{cad.json['id']}"
    renamed = client.patch(
        path, json={"name": "Renamed"}, headers={**admin, "If-Match": cad.headers["ETag"]}
    )
    assert renamed.status_code == 200, renamed.json
    for response in (
        renamed,
        client.get(path, headers=admin),
        client.get(f"{API}/cad-clients", headers=admin),
    ):
        text = response.get_data(as_text=True)
        assert secret not in text and "client_secret" not in text and "$argon2" not in text


# =============================================================================================
# API4:2023 Unrestricted Resource Consumption
# Every list is paginated with per_page <= 100; JSON bodies are capped (MAX_CONTENT_LENGTH,
# 1 MiB) and uploads (REGISTRY_MAX_UPLOAD_BYTES, judged on Content-Length before reading); every
# text field, list and number has a maximum; passwords and secrets are capped before argon2
# hashes them; the lookup radius is capped. Image-bomb and streamed-upload caps are in
# test_floorplans.py.


def list_paths() -> list[str]:
    """Every paginated GET in the committed document."""
    spec = json.loads(OPENAPI_PATH.read_text())
    found = []
    for path, operations in spec["paths"].items():
        params = operations.get("get", {}).get("parameters", [])
        if any(p.get("name") == "per_page" for p in params):
            found.append(path)
    return sorted(found)


def fill_list_path(path: str, w) -> str:
    owners = {
        "/facilities/{parent_id}/": w.facility["a"].id,
        "/facilities/{facility_id}/": w.facility["a"].id,
        "/organizations/{parent_id}/": w.org["a"].id,
        "/agencies/{parent_id}/": w.agency["a"].id,
        "/mous/{parent_id}/": w.mou["a"].id,
        "/mous/{record_id}/": w.mou["a"].id,
        "/floor-plans/{record_id}/": w.floor_plan["a"].id,
        "/mou-documents/{record_id}/": w.mou_document["a"].id,
        "/exercises/{parent_id}/": w.exercise["a"].id,
        "/incidents/{parent_id}/": w.incident["a"].id,
        "/subscriptions/{record_id}/": w.subscription["a"].id,
    }
    for prefix, record_id in owners.items():
        if path.startswith(prefix):
            path = path.replace(prefix.split("/")[2], str(record_id), 1)
    assert "{" not in path, f"add an owner for {path} to fill_list_path"
    return API + path


@pytest.mark.parametrize("path", list_paths())
def test_api4_every_list_caps_per_page(client, w, path):
    """API4: every paginated list refuses per_page above 100 (and page 0) with a 422 naming it;
    100 itself is served."""
    url = fill_list_path(path, w)
    admin = w.headers["admin"]

    assert client.get(f"{url}?per_page=100", headers=admin).status_code == 200
    assert_problem(client.get(f"{url}?per_page=101", headers=admin), 422, "per_page")
    assert_problem(client.get(f"{url}?per_page=1000000", headers=admin), 422, "per_page")
    assert_problem(client.get(f"{url}?page=0", headers=admin), 422, "page")


@pytest.mark.parametrize(
    ("caller", "path"),
    [
        (None, "/auth/login"),
        (None, "/auth/token"),
        ("manager_a", "/facilities"),
        ("cad_x", "/incidents"),
        ("admin", "/users"),
    ],
)
def test_api4_an_oversized_json_body_is_413(client, app, w, caller, path):
    """API4: a JSON body over the cap is refused with a 413 problem before it is parsed, also on
    the unauthenticated login endpoints; nothing is written."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps({"name": "x" * limit})
    headers = w.headers[caller] if caller else {}
    totals = [count(app, m) for m in (Facility, Incident, User)]

    response = client.post(API + path, data=body, content_type="application/json", headers=headers)

    assert_problem(response, 413)
    assert [count(app, m) for m in (Facility, Incident, User)] == totals


@pytest.mark.parametrize(
    ("parent", "template", "form", "model"),
    [
        ("facility", "/facilities/{}/floor-plans", FLOOR_PLAN_FORM, FloorPlan),
        ("mou", "/mous/{}/documents", {}, MouDocument),
    ],
    ids=["floor-plan", "mou-document"],
)
def test_api4_an_upload_declared_over_the_cap_is_413_unread(
    client, app, w, parent, template, form, model
):
    """API4: an upload whose Content-Length is over REGISTRY_MAX_UPLOAD_BYTES is a 413 judged
    before the body is read; nothing is stored."""
    too_big = app.config["REGISTRY_MAX_UPLOAD_BYTES"] + 1
    total = count(app, model)

    response = client.post(
        API + template.format(getattr(w, parent)["a"].id),
        input_stream=io.BytesIO(b"--x--\r\n"),
        content_type="multipart/form-data; boundary=x",
        headers=w.headers["manager_a"],
        environ_overrides={"CONTENT_LENGTH": str(too_big)},
    )

    assert_problem(response, 413)
    assert count(app, model) == total


HUGE = "x" * 100_000
# (caller, method, path, body or query, field)
OVERSIZED_VALUES = {
    "login-username": (
        None,
        "POST",
        "/auth/login",
        {"username": HUGE, "password": "p"},
        "username",
    ),
    "login-password-before-argon2": (
        None,
        "POST",
        "/auth/login",
        {"username": "someone", "password": HUGE},
        "password",
    ),
    "client-secret-before-argon2": (
        None,
        "POST",
        "/auth/token",
        {"client_id": "cad-1", "client_secret": HUGE},
        "client_secret",
    ),
    "new-user-password": (
        "admin",
        "POST",
        "/users",
        {"username": "huge", "password": HUGE, "role": "admin"},
        "password",
    ),
    "facility-name": ("manager_a", "PATCH", "/facilities/{facility}", {"name": HUGE}, "name"),
    "facility-hazards": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        {"hazards": HUGE},
        "hazards",
    ),
    "facility-aliases": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        {"aliases": [f"Alias {i}" for i in range(21)]},
        "aliases",
    ),
    "facility-external-ids": (
        "manager_a",
        "PATCH",
        "/facilities/{facility}",
        {"external_ids": [{"system": "cad", "external_id": str(i)} for i in range(21)]},
        "external_ids",
    ),
    "recovery-site-capacity": (
        "manager_a",
        "PATCH",
        "/tactical-points/{tactical_point}",
        {"capacity": 10**30},
        "capacity",
    ),
    "recovery-site-activation-notes": (
        "manager_a",
        "PATCH",
        "/tactical-points/{tactical_point}",
        {"activation_notes": HUGE},
        "activation_notes",
    ),
    "contact-phones": (
        "manager_a",
        "PATCH",
        "/contacts/{contact}",
        {"phones": [{"kind": "mobile", "number": "+12175550123"}] * 11},
        "phones",
    ),
    "mou-facility-list": (
        "manager_a",
        "PATCH",
        "/mous/{mou}",
        {"covers_all_facilities": False, "facility_ids": list(range(1, 10_002))},
        "facility_ids",
    ),
    "incident-notes": (
        "cad_x",
        "POST",
        "/incidents",
        {"cad_incident_number": "N-1", "incident_type": "fire", "name": "Store", "notes": HUGE},
        "notes",
    ),
    "lookup-address": ("cad_x", "GET", "/preplans/lookup", {"address": HUGE}, "address"),
    "lookup-radius": (
        "cad_x",
        "GET",
        "/preplans/lookup",
        {"lat": "39.8", "lon": "-89.6", "radius_m": "5001"},
        "radius_m",
    ),
    "list-filter": ("admin", "GET", "/facilities", {"name": HUGE}, "name"),
    "exercise-notes": (
        "manager_a",
        "POST",
        "/facilities/{facility}/exercises",
        {
            "kind": "drill",
            "scenario": "other",
            "held_on": "2026-09-01",
            "title": "Drill",
            "notes": HUGE,
        },
        "notes",
    ),
    "correction-problem": (
        "officer_x",
        "POST",
        "/facilities/{facility}/corrections",
        {"item_kind": "facility", "discrepancy": "wrong", "problem": HUGE},
        "problem",
    ),
}


@pytest.mark.parametrize("case", list(OVERSIZED_VALUES))
def test_api4_oversized_values_are_422_and_change_nothing(client, app, w, case):
    """API4: very long strings, long lists, wide radii and huge passwords (before hashing) are
    422 naming the field; nothing is written."""
    caller, method, template, payload, field = OVERSIZED_VALUES[case]
    path = fill(template, w)
    headers = dict(w.headers[caller]) if caller else {}
    if method == "PATCH":
        headers["If-Match"] = etag(client, w, path)
    models = (Facility, TacticalPoint, Contact, Mou, Incident, User)
    rows = {
        Facility: "facility",
        TacticalPoint: "tactical_point",
        Contact: "contact",
        Mou: "mou",
        Incident: "incident",
    }
    before = {m: row(app, m, getattr(w, a)["a"].id) for m, a in rows.items()}
    totals = [count(app, m) for m in models]

    if method == "GET":
        response = client.get(path, query_string=payload, headers=headers)
    else:
        response = client.open(path, method=method, json=payload, headers=headers)

    body = assert_problem(response, 422, field)
    assert HUGE not in json.dumps(body)
    assert [count(app, m) for m in models] == totals
    assert {m: row(app, m, getattr(w, a)["a"].id) for m, a in rows.items()} == before


def assert_too_many(response) -> None:
    body = assert_problem(response, 429)
    assert body["type"].endswith("too-many-requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    ("request_kind", "limit"),
    [
        ("cad-lookups", {"REGISTRY_CAD_RATE_LIMIT": "3/minute"}),
        ("anonymous-requests", {"REGISTRY_RATE_LIMIT": "3/minute"}),
        ("login-attempts", {"REGISTRY_LOGIN_RATE_LIMIT": "3/minute"}),
        ("login-form-attempts", {"REGISTRY_LOGIN_RATE_LIMIT": "3/minute"}),
        ("client-token-attempts", {"REGISTRY_LOGIN_RATE_LIMIT": "3/minute"}),
        ("offline-packs", {"REGISTRY_PACK_RATE_LIMIT": "3/minute"}),
    ],
)
def test_api4_rate_limits_answer_429_with_retry_after(build_app, make, w, request_kind, limit):
    """API4: past its budget a caller gets a 429 problem with Retry-After, whether it is a CAD
    client, an anonymous caller or someone guessing passwords (even the right one is then
    refused); another caller's budget is untouched."""
    client = build_app(**limit).test_client()
    officer, cad = w.accounts["officer_x"], w.cad["a"]
    requests = {
        "cad-lookups": lambda: client.get(
            f"{API}/preplans/lookup?name=Store", headers=make.headers(cad)
        ),
        "anonymous-requests": lambda: client.get(f"{API}/facilities"),
        "login-attempts": lambda: client.post(
            f"{API}/auth/login", json={"username": officer.username, "password": "wrong-guess"}
        ),
        # The OAuth2 form Swagger UI signs in with (auth/oauth.py).
        "login-form-attempts": lambda: client.post(
            f"{API}/auth/oauth-token",
            data={"grant_type": "password", "username": officer.username, "password": "wrong"},
        ),
        "client-token-attempts": lambda: client.post(
            f"{API}/auth/token", json={"client_id": cad.client_id, "client_secret": "wrong"}
        ),
        # buffered: a streamed answer left unread would keep its request context pushed.
        "offline-packs": lambda: client.get(
            f"{API}/packs/agency", headers=make.headers(officer), buffered=True
        ),
    }
    send_one = requests[request_kind]

    answers = [send_one() for _ in range(3)]
    assert all(a.status_code != 429 for a in answers), [a.status_code for a in answers]
    assert_too_many(send_one())
    if request_kind in ("login-attempts", "login-form-attempts"):
        right = {"username": officer.username, "password": PASSWORD}
        assert_too_many(client.post(f"{API}/auth/login", json=right))
    if request_kind == "cad-lookups":
        other = make.headers(w.accounts["cad_y"])
        assert client.get(f"{API}/preplans/lookup?name=Store", headers=other).status_code == 200
    if request_kind == "offline-packs":
        other = make.headers(w.accounts["officer_y"])
        assert client.get(f"{API}/packs/agency", headers=other, buffered=True).status_code == 200
    assert client.get("/healthz").status_code == 200  # health checks are never limited


# =============================================================================================
# API5:2023 Broken Function Level Authorization
# Four human roles and one machine role, and functions reserved to some of them: accounts and
# partners (admin), facilities and their parts (admin and the organization's managers), MOUs
# (both parties' people, each step for the party whose step it is: an admin names the party it
# acts for), opening incidents (agencies), agency liaison lists (the agency's people). The role check comes
# before the body is judged; a refused call is 403 (404 where the record is invisible to the
# role as well) and writes nothing. The auditor reads the audit trail and nothing else.

ROLES5 = ["admin", "manager_a", "officer_x", "cad_x", "auditor"]
# function: (method, path template, body, model, cast attribute or None, expected per ROLES5)
FUNCTIONS = {
    "list users": ("GET", "/users", None, User, None, (200, 403, 403, 403, 403)),
    "create user": (
        "POST",
        "/users",
        {"username": "mallory", "password": "p" * 20, "role": "admin"},
        User,
        None,
        (201, 403, 403, 403, 403),
    ),
    "change user": (
        "PATCH",
        "/users/{spare_user}",
        {"role": "admin", "agency_id": None},
        User,
        "spare_user",
        (200, 403, 403, 403, 403),
    ),
    "delete user": (
        "DELETE",
        "/users/{spare_user}",
        None,
        User,
        "spare_user",
        (204, 403, 403, 403, 403),
    ),
    "list CAD clients": ("GET", "/cad-clients", None, CadClient, None, (200, 403, 403, 403, 403)),
    "create CAD client": (
        "POST",
        "/cad-clients",
        {"client_id": "rogue-cad", "agency_id": "{agency}", "name": "Rogue"},
        CadClient,
        None,
        (201, 403, 403, 403, 403),
    ),
    "change CAD client": (
        "PATCH",
        "/cad-clients/{spare_cad}",
        {"is_active": False},
        CadClient,
        "spare_cad",
        (200, 403, 403, 403, 403),
    ),
    "delete CAD client": (
        "DELETE",
        "/cad-clients/{spare_cad}",
        None,
        CadClient,
        "spare_cad",
        (204, 403, 403, 403, 403),
    ),
    "create organization": (
        "POST",
        "/organizations",
        {"name": "Shell Company"},
        Organization,
        None,
        (201, 403, 403, 403, 403),
    ),
    "change organization": (
        "PATCH",
        "/organizations/{org}",
        {"name": "Renamed"},
        Organization,
        "org",
        (200, 403, 403, 403, 404),
    ),
    "delete organization": (
        "DELETE",
        "/organizations/{spare_org}",
        None,
        Organization,
        "spare_org",
        (204, 404, 404, 404, 404),
    ),
    "delete own organization": (
        "DELETE",
        "/organizations/{org}",
        None,
        Organization,
        "org",
        (409, 403, 403, 403, 404),
    ),
    "create agency": (
        "POST",
        "/agencies",
        {"name": "Fake PD", "agency_type": "law_enforcement"},
        Agency,
        None,
        (201, 403, 403, 403, 403),
    ),
    "change agency": (
        "PATCH",
        "/agencies/{agency}",
        {"name": "Renamed"},
        Agency,
        "agency",
        (200, 403, 403, 403, 403),
    ),
    "delete agency": (
        "DELETE",
        "/agencies/{spare_agency}",
        None,
        Agency,
        "spare_agency",
        (204, 403, 403, 403, 403),
    ),
    "create facility": (
        "POST",
        "/facilities",
        {
            "organization_id": "{org}",
            "name": "New Store",
            "facility_type": "retail_store",
            "address_line1": "1 Market Sq",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
        },
        Facility,
        None,
        (201, 201, 403, 403, 403),
    ),
    "change facility": (
        "PATCH",
        "/facilities/{facility}",
        {"hazards": "None"},
        Facility,
        "facility",
        (200, 200, 403, 403, 404),
    ),
    "delete facility": (
        "DELETE",
        "/facilities/{facility}",
        None,
        Facility,
        "facility",
        (204, 204, 403, 403, 404),
    ),
    "restore facility": (
        "POST",
        "/facilities/{deleted_facility}/restore",
        None,
        Facility,
        "deleted_facility",
        (200, 200, 403, 403, 404),
    ),
    "list deleted facilities": (
        "GET",
        "/facilities?deleted=true",
        None,
        Facility,
        None,
        (200, 200, 403, 403, 403),
    ),
    "facility history": (
        "GET",
        "/facilities/{facility}/history",
        None,
        Facility,
        None,
        (200, 200, 403, 403, 404),
    ),
    "confirm facility": (
        "POST",
        "/facilities/{facility}/confirm",
        None,
        Facility,
        "facility",
        (200, 200, 403, 403, 404),
    ),
    "freshness report": (
        "GET",
        "/reports/freshness",
        None,
        Facility,
        None,
        (200, 200, 200, 403, 403),
    ),
    "add access point": (
        "POST",
        "/facilities/{facility}/access-points",
        {"kind": "roof_access", "name": "Roof hatch"},
        AccessPoint,
        None,
        (201, 201, 403, 403, 404),
    ),
    "add address alias": (
        "POST",
        "/facilities/{facility}/address-aliases",
        {"address": "1 Landmark Plaza"},
        AddressAlias,
        None,
        (201, 201, 403, 403, 404),
    ),
    "create street alias": (
        "POST",
        "/agencies/{agency}/street-aliases",
        {"alias": "Ave of the Americas", "street": "6th Ave", "state": "IL"},
        StreetAlias,
        None,
        (201, 403, 201, 403, 403),
    ),
    "change access point": (
        "PATCH",
        "/access-points/{access_point}",
        {"name": "Renamed"},
        AccessPoint,
        "access_point",
        (200, 200, 403, 403, 404),
    ),
    "upload floor plan": (
        "UPLOAD",
        "/facilities/{facility}/floor-plans",
        FLOOR_PLAN_FORM,
        FloorPlan,
        None,
        (201, 201, 403, 403, 404),
    ),
    # Bulk files of an organization's facilities (registry/imports): its managers and admins.
    "import facilities": (
        "IMPORT",
        "/organizations/{org}/facility-imports",
        FACILITY_FILE,
        Facility,
        None,
        (200, 200, 403, 403, 404),
    ),
    "export facilities": (
        "GET",
        "/organizations/{org}/facility-export?format=xlsx",
        None,
        Facility,
        None,
        (200, 200, 403, 403, 404),
    ),
    "create MOU": (
        "POST",
        "/mous",
        {
            "organization_id": "{org}",
            "agency_id": "{agency_z}",
            "title": "Sharing",
            "effective_date": "2024-01-01",
            "scopes": ["data_sharing"],
        },
        Mou,
        None,
        (201, 201, 403, 403, 403),
    ),
    "agency drafts MOU": (
        "POST",
        "/mous",
        {
            "organization_id": "{spare_org}",
            "agency_id": "{agency}",
            "title": "Sharing",
            "effective_date": "2024-01-01",
            "scopes": ["data_sharing"],
        },
        Mou,
        None,
        (201, 403, 201, 403, 403),
    ),
    # An active MOU's terms are fixed for both parties (409); its agency's CAD is no party.
    "change MOU": (
        "PATCH",
        "/mous/{mou}",
        {"scopes": ["data_sharing", "access_codes"]},
        Mou,
        "mou",
        (409, 409, 409, 403, 404),
    ),
    "change draft MOU": (
        "PATCH",
        "/mous/{mou_draft}",
        {"scopes": ["data_sharing", "access_codes"]},
        Mou,
        "mou_draft",
        (200, 200, 403, 403, 404),
    ),
    # The organization drafted it: it proposes it, and the agency accepts it. An admin acts for
    # the party it names, and no one else names another party than their own.
    "propose MOU": (
        "POST",
        "/mous/{mou_draft}/propose",
        {},
        Mou,
        "mou_draft",
        (200, 200, 403, 403, 404),
    ),
    "accept MOU": (
        "POST",
        "/mous/{mou_proposed}/accept",
        {"party": "agency"},
        Mou,
        "mou_proposed",
        (200, 403, 200, 403, 404),
    ),
    "terminate MOU": (
        "POST",
        "/mous/{mou}/terminate",
        {"party": "agency", "reason": "Replaced"},
        Mou,
        "mou",
        (200, 403, 200, 403, 404),
    ),
    "renew MOU": (
        "POST",
        "/mous/{mou}/renew",
        {"party": "organization"},
        Mou,
        "mou",
        (201, 201, 403, 403, 404),
    ),
    "MOU history": ("GET", "/mous/{mou}/history", None, Mou, None, (200, 200, 200, 200, 404)),
    # Responders who read the pre-plan report; the facility's managers answer.
    "report correction": (
        "POST",
        "/facilities/{facility}/corrections",
        {"item_kind": "facility", "discrepancy": "outdated", "problem": "New owner"},
        Correction,
        None,
        (403, 403, 201, 201, 403),
    ),
    # Exercises: recorded where the recorder reads the facility; kept by their parties.
    "record exercise": (
        "POST",
        "/facilities/{facility}/exercises",
        {"kind": "tabletop", "scenario": "explosive", "held_on": "2026-09-01", "title": "TTX"},
        Exercise,
        None,
        (201, 201, 201, 403, 404),
    ),
    "change exercise": (
        "PATCH",
        "/exercises/{exercise}",
        {"notes": "Debrief held"},
        Exercise,
        "exercise",
        (200, 200, 200, 403, 404),
    ),
    "add exercise finding": (
        "POST",
        "/exercises/{exercise}/findings",
        {"text": "Radios failed in the stockroom"},
        Finding,
        None,
        (201, 201, 201, 403, 404),
    ),
    "change finding": (
        "PATCH",
        "/findings/{finding}",
        {"text": "Lot a floods in spring"},
        Finding,
        "finding",
        (200, 200, 200, 403, 404),
    ),
    "add incident finding": (
        "POST",
        "/incidents/{incident}/findings",
        {"text": "The key box was empty"},
        Finding,
        None,
        (201, 201, 201, 403, 404),
    ),
    "follow-ups report": (
        "GET",
        "/reports/follow-ups",
        None,
        Finding,
        None,
        (200, 200, 200, 403, 403),
    ),
    "answer correction": (
        "POST",
        "/corrections/{correction}/answer",
        {"response": "Fixed the gate code"},
        Correction,
        "correction",
        (200, 200, 403, 403, 404),
    ),
    "resolve correction": (
        "POST",
        "/corrections/{correction}/resolve",
        {"resolution": "fixed"},
        Correction,
        "correction",
        (200, 200, 403, 403, 404),
    ),
    "open incident": (
        "POST",
        "/incidents",
        {"cad_incident_number": "F-1", "incident_type": "fire", "name": "Nowhere"},
        Incident,
        None,
        (403, 403, 201, 201, 403),
    ),
    "close incident": (
        "PATCH",
        "/incidents/{incident}",
        {"status": "closed"},
        Incident,
        "incident",
        (200, 403, 200, 200, 404),
    ),
    "add agency liaison": (
        "POST",
        "/agencies/{agency}/contacts",
        {"name": "Desk sergeant"},
        Contact,
        None,
        (201, 403, 201, 403, 403),
    ),
    # Where notifications go: an organization's managers for it, an agency's people for it
    # (not its CAD clients), admins for either; only admins replay dead deliveries.
    "subscribe organization": (
        "POST",
        "/subscriptions",
        {"channel": "email", "email": "desk@example.org", "organization_id": "{org}"},
        Subscription,
        None,
        (201, 201, 403, 403, 403),
    ),
    "subscribe agency": (
        "POST",
        "/subscriptions",
        {"channel": "email", "email": "watch@example.org", "agency_id": "{agency}"},
        Subscription,
        None,
        (201, 403, 201, 403, 403),
    ),
    "replay dead deliveries": (
        "POST",
        "/notification-deliveries/replay",
        None,
        Delivery,
        None,
        (200, 403, 403, 403, 403),
    ),
    # An agency's offline pack: its own people and CAD, or an administrator for it.
    "download offline pack": (
        "GET",
        "/packs/agency?agency_id={agency}",
        None,
        AuditEvent,
        None,
        (200, 403, 200, 200, 403),
    ),
}


def function_cases():
    for function, spec in FUNCTIONS.items():
        for role, status in zip(ROLES5, spec[-1], strict=True):
            yield pytest.param(function, role, status, id=f"{function}-{role}-{status}")


def _render(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _render(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("function", "role", "status"), list(function_cases()))
def test_api5_each_role_reaches_only_its_functions(client, app, w, function, role, status):
    """API5: admin-only (accounts, partners), manager-only (facilities, uploads), party-only
    (MOU steps) and agency-only (incidents, liaisons) functions answer each role as the table
    says; a refusal is 403/404 (409 for a party at the wrong step), never 2xx, and changes
    nothing."""
    method, template, body, model, attr, _ = FUNCTIONS[function]
    ids = {
        "spare_user": w.spare_user.id,
        "spare_cad": w.spare_cad.id,
        "spare_org": w.spare_org.id,
        "spare_agency": w.spare_agency.id,
        "deleted_facility": w.deleted_facility.id,
        "org": w.org["a"].id,
        "agency": w.agency["a"].id,
        "agency_z": w.agency_z.id,
        "facility": w.facility["a"].id,
        "access_point": w.access_point["a"].id,
        "mou": w.mou["a"].id,
        "mou_draft": w.mou_draft["a"].id,
        "mou_proposed": w.mou_proposed["a"].id,
        "incident": w.incident["a"].id,
        "correction": w.correction["a"].id,
        "exercise": w.exercise["a"].id,
        "finding": w.finding["a"].id,
    }
    path = API + template.format(**ids)
    headers = dict(w.headers[role])
    if method in ("PATCH", "DELETE"):
        headers["If-Match"] = etag(client, w, path)
    steps = ("/confirm", *(f"/{s}" for s in (*MOU_STEPS, *CORRECTION_STEPS)))
    step = next((s for s in steps if path.endswith(s)), None)
    if step:  # a step on the facility, MOU or correction: its ETag
        headers["If-Match"] = etag(client, w, path.removesuffix(step))
    target = getattr(w, attr) if attr else None
    target_id = (target["a"] if isinstance(target, dict) else target).id if target else None
    before = row(app, model, target_id) if target_id else None
    total = count(app, model)

    if method == "UPLOAD":
        response = upload(client, headers, path, body)
    elif method == "IMPORT":
        data = {"file": (io.BytesIO(body), "facilities.csv")}
        response = client.post(path, data=data, headers=headers, content_type="multipart/form-data")
    else:
        response = client.open(path, method=method, json=_render(body, ids), headers=headers)

    if status < 300:
        assert response.status_code == status, response.get_data(as_text=True)
        response.close()  # a streamed answer (an offline pack) ends its request context here
        return
    assert_problem(response, status)
    assert count(app, model) == total
    if target_id:
        assert row(app, model, target_id) == before


def test_api5_the_matrix_covers_every_role_and_every_write_route(client):
    """API5: the table above names every role there is, and every documented POST/PATCH/DELETE
    area is represented by at least one of its functions (so a new area gets a row)."""
    assert {"admin", "facility_manager", "agency_user", "cad", "auditor"} == set(Role)
    spec = client.get(f"{API}/swagger.json").get_json()
    areas = {
        path.strip("/").split("/")[0]
        for path, operations in spec["paths"].items()
        if {"post", "patch", "delete"} & set(operations)
    }
    covered = {template.strip("/").split("/")[0] for _m, template, *_ in FUNCTIONS.values()}
    covered |= {"auth", "contacts", "tactical-points", "floor-plans", "mou-documents", "preplans"}
    # Alias writes by role, item routes included: tests/addresses/test_address_matching.py
    # (test_alias_writes_by_role).
    covered |= {"address-aliases", "street-aliases"}
    assert areas <= covered, areas - covered


# The rows above that change a record that exists, as the access tables of registry.access name
# it in this cast (sides a and b: A shares with X, B with Y): each answer must be the tables'.
CAST_RELATIONS = access_table.Relations(
    facilities={"a": "A", "b": "B", "deleted": "A"},
    mous={"a": ("A", "X"), "b": ("B", "Y")},
    sharing={("X", "A"), ("Y", "B")},
)
CAST_CALLERS = {
    "admin": access_table.Caller("admin"),
    "manager_a": access_table.Caller("facility_manager", organization="A"),
    "officer_x": access_table.Caller("agency_user", agency="X"),
    "cad_x": access_table.Caller("cad", agency="X"),
    "auditor": access_table.Caller("auditor"),
}
_R = access_table.Record
FUNCTION_RECORDS = {
    "change user": _R("user"),
    "delete user": _R("user"),
    "change CAD client": _R("CAD client", agency="X"),
    "delete CAD client": _R("CAD client", agency="X"),
    "change organization": _R("organization", "A"),
    "delete organization": _R("organization", "spare"),
    "delete own organization": _R("organization", "A"),
    "change agency": _R("agency", agency="X"),
    "delete agency": _R("agency", agency="spare"),
    "change facility": _R("facility", "A", facility="a"),
    "delete facility": _R("facility", "A", facility="a"),
    "restore facility": _R("facility", "A", facility="deleted"),
    "confirm facility": _R("facility", "A", facility="a"),
    "change access point": _R("access point", "A", facility="a"),
    "change MOU": _R("MOU", "A", "X", mou="a"),
    "close incident": _R("incident", agency="X", facility="a"),
    "answer correction": _R("correction report", "A", agency="X", facility="a"),
    "change exercise": _R("exercise", "A", agency="X", facility="a"),
    "change finding": _R("after-action finding", "A", agency="X", facility="a"),
    "resolve correction": _R("correction report", "A", agency="X", facility="a"),
}


def test_api5_the_matrix_agrees_with_the_access_tables():
    """API5: every row above that changes an existing record answers each role as the tables
    of registry.access say (tests/access/test_access.py keeps those tables equal to the
    docstring's)."""
    disagreements = []
    for function, record in FUNCTION_RECORDS.items():
        method, *_, statuses = FUNCTIONS[function]
        # The admin may delete its organization; the data refuses (facilities still hang off it).
        # An active MOU's parties may act on it, but its terms no longer change (409).
        success = {"delete own organization": 409, "change MOU": 409}.get(
            function, 204 if method == "DELETE" else 200
        )
        for role, listed in zip(ROLES5, statuses, strict=True):
            expected = access_table.write_status(
                CAST_CALLERS[role],
                record,
                CAST_RELATIONS,
                access_table.READS,
                access_table.WRITES,
                success,
            )
            if listed != expected:
                disagreements.append(
                    f"{function} by {role}: {listed} here, {expected} by the tables"
                )
    assert disagreements == []


# =============================================================================================
# API6:2023 Unrestricted Access to Sensitive Business Flows
# The sensitive flow is "who may read a pre-plan" (door codes, floor plans, where the key is):
# the CAD lookup and opening an incident. A lookup may say that a registered facility matches
# (id and name, so a mutual-aid agency knows to open an incident, which is break-glass: audited,
# the organization told, read-only, one facility, while the incident is open), but never more;
# ambiguous answers name only what the caller may read, and count the rest. Idempotency keys
# belong to one caller, so a replay can never hand one agency another's pre-plan.


@pytest.fixture
def hidden(app, make):
    """A facility full of secrets, and an agency that has no MOU with its organization."""
    org = make.organization()
    facility = make.facility(
        org,
        name="Harbor Arena",
        address_line1="10 S Walnut St",
        postal_code="62701",
        lat=39.70,
        lon=-89.70,
        main_phone="+12175550142",
        hazards="Chlorine tanks by the pool",
        security_office_notes="Behind the east stair",
    )
    save(app, FacilityExternalId(facility_id=facility.id, system="cad", external_id="PREM-77"))
    make.contact(
        facility_id=facility.id,
        name="Quinn Keyholder",
        phones=[{"kind": "mobile", "number": "+12175550177"}],
    )
    make.access_point(facility, name="Loading dock B", notes="Roll-up door")
    make.tactical_point(facility, name="Staging lot C")
    make.tactical_point(
        facility,
        kind="reunification_site",
        name="Harbor School gym",
        address_line1="900 Oak Ave",
        city="Springfield",
        state="IL",
        postal_code="62704",
        capacity=450,
        opened_by="Harbor School District",
        activation_contact="District duty desk",
        activation_phone="+12175550188",
    )
    outsider = make.agency()
    return SimpleNamespace(
        org=org,
        facility=facility,
        agency=outsider,
        cad=make.headers(make.cad_client(outsider)),
        officer=make.officer(outsider),
        secrets=(
            "Walnut",
            "Chlorine",
            "east stair",
            "Quinn",
            "5550177",
            "Loading dock",
            "Staging lot",
            "Harbor School",
            "900 Oak Ave",
            "5550188",
            "PREM-77",
            "+12175550142",
            str(org.name),
        ),
    )


WAYS_IN = {
    "address": {"address": "10 S Walnut St, Springfield IL 62701"},
    "phone": {"phone": "(217) 555-0142"},
    "name": {"name": "Harbor Arena", "city": "Springfield"},
    "external-id": {"external_id": "PREM-77", "system": "cad"},
    "position": {"lat": "39.70", "lon": "-89.70"},
}


def assert_nothing_but_the_name(text: str, body: dict, hidden, query: dict) -> None:
    for secret in hidden.secrets:
        if secret.lower() not in json.dumps(query).lower():
            assert secret not in text, secret
    assert body.get("preplan") is None
    assert body["candidates"] == []
    assert body["hidden_matches"] == 1
    assert not json_keys(body) & {"contacts", "access_points", "tactical_points", "floor_plans"}


@pytest.mark.parametrize("way", list(WAYS_IN))
@pytest.mark.parametrize("caller", ["cad", "officer"])
def test_api6_a_lookup_without_an_mou_reveals_no_more_than_a_name(client, hidden, way, caller):
    """API6: an agency without an MOU, probing by address, phone, name, premise id or position,
    learns at most that a registered facility (id, name) matches: no address details, phones,
    contacts, access points, hazards or pre-plan; hidden_matches counts it."""
    query = WAYS_IN[way]

    response = client.get(
        f"{API}/preplans/lookup", query_string=query, headers=getattr(hidden, caller)
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["status"] == "not_shared"
    assert_nothing_but_the_name(response.get_data(as_text=True), body, hidden, query)
    assert_problem(
        client.get(f"{API}/preplans/{hidden.facility.id}", headers=getattr(hidden, caller)), 404
    )


def test_api6_an_ambiguous_incident_grants_no_access(client, app, make, hidden):
    """API6: opening an incident where the answer is ambiguous does not unlock the hidden
    facility (break-glass needs one registered match), and the incident names no facility."""
    shared_org = make.organization()
    make.facility(shared_org, name="Open Cafe", address_line1="10 S Walnut St", postal_code="62701")
    make.mou(shared_org, hidden.agency)

    response = client.post(
        f"{API}/incidents",
        json={
            "cad_incident_number": "AMB-1",
            "incident_type": "active assailant",
            "address": "10 S Walnut St, Springfield IL 62701",
        },
        headers=hidden.cad,
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    assert (response.json["match_status"], response.json["facility_id"]) == ("ambiguous", None)
    assert response.json.get("break_glass") in (None, False)
    assert fetch(app, Incident, response.json["id"]).facility_id is None
    assert "Harbor Arena" not in response.get_data(as_text=True)
    for secret in hidden.secrets[1:]:
        assert secret not in response.get_data(as_text=True)
    assert response.json["lookup"]["hidden_matches"] == 1
    assert_problem(client.get(f"{API}/preplans/{hidden.facility.id}", headers=hidden.cad), 404)


def test_api6_an_incident_never_opens_more_than_its_one_facility_read_only(
    client, app, make, hidden
):
    """API6: whatever an incident at a facility that does not share grants (break-glass), it is
    that facility's pre-plan only, read-only, for that agency only: the organization's other
    facilities, the facility's records, writes and other agencies stay shut."""
    sibling = make.facility(hidden.org, name="Harbor Annex", address_line1="12 S Walnut St")
    response = client.post(
        f"{API}/incidents",
        json={"cad_incident_number": "BG-1", "incident_type": "fire", **WAYS_IN["external-id"]},
        headers=hidden.cad,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    facility_path = f"{API}/facilities/{hidden.facility.id}"
    before = row(app, Facility, hidden.facility.id)
    other_agency = make.headers(make.cad_client(make.agency()))

    for headers in (hidden.cad, hidden.officer):
        assert_problem(client.get(f"{API}/preplans/{sibling.id}", headers=headers), 404)
        assert_problem(client.get(facility_path, headers=headers), 404)
        patch = client.patch(
            facility_path,
            json={"hazards": "none"},
            headers={**headers, "If-Match": f'"facility-{hidden.facility.id}-v1"'},
        )
        assert_problem(patch, 404)
    assert_problem(client.get(f"{API}/preplans/{hidden.facility.id}", headers=other_agency), 404)
    assert row(app, Facility, hidden.facility.id) == before
    preplan = client.get(f"{API}/preplans/{hidden.facility.id}", headers=hidden.cad)
    if preplan.status_code == 200:  # break-glass: the document says so
        assert preplan.json["break_glass"]["incident_id"] == response.json["id"]
    else:
        assert_problem(preplan, 404)


@pytest.mark.parametrize("caller", ["cad", "officer"])
def test_api6_an_incident_shows_recovery_sites_only_while_the_preplan_may_be_read(
    client, hidden, caller
):
    """API6: an incident lists its facility's recovery sites (where families gather: address,
    capacity, whom to call) only to a caller who may read that pre-plan now. An officer whose
    agency is granted nothing (no jurisdiction) sees none; a CAD granted break-glass sees them
    until its incident closes, and then none."""
    body = {"cad_incident_number": "RS-1", "incident_type": "fire", **WAYS_IN["external-id"]}
    headers = getattr(hidden, caller)
    response = client.post(f"{API}/incidents", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    url = f"{API}/incidents/{response.json['id']}"
    if caller == "cad":
        assert [site["name"] for site in response.json["recovery_sites"]] == ["Harbor School gym"]
        etag = client.get(url, headers=headers).headers["ETag"]
        closed = client.patch(url, json={"status": "closed"}, headers={**headers, "If-Match": etag})
        assert closed.status_code == 200, closed.get_data(as_text=True)
        response = client.get(url, headers=headers)
    else:
        assert response.json["break_glass"] is False
    assert response.json["recovery_sites"] is None
    for secret in hidden.secrets[1:]:
        assert secret not in response.get_data(as_text=True), secret
    shown = client.get(url, headers=headers)
    assert shown.json["recovery_sites"] is None
    assert "900 Oak Ave" not in shown.get_data(as_text=True)


def test_api6_an_idempotency_key_never_replays_another_agencys_incident(client, app, make, w):
    """API6: a CAD of another agency reusing a known Idempotency-Key (and the same body) gets its
    own answer, never the first agency's response with its pre-plan; both incidents exist."""
    body = {
        "cad_incident_number": "SHARED-1",
        "incident_type": "active assailant",
        "external_id": "A-STORE",
        "system": "cad",
    }
    save(
        app, FacilityExternalId(facility_id=w.facility["a"].id, system="cad", external_id="A-STORE")
    )
    key = {"Idempotency-Key": "incident-SHARED-1"}

    first = client.post(f"{API}/incidents", json=body, headers={**w.headers["cad_x"], **key})
    other = client.post(f"{API}/incidents", json=body, headers={**w.headers["cad_z"], **key})

    assert first.status_code == other.status_code == 201, other.get_data(as_text=True)
    assert first.json["lookup"]["preplan"]["facility"]["id"] == w.facility["a"].id
    assert "Idempotent-Replayed" not in other.headers
    assert other.json["id"] != first.json["id"]
    assert other.json["agency_id"] == w.agency_z.id
    # Whatever Z sees comes from its own standing (break-glass through its own incident).
    if other.json["lookup"].get("break_glass"):
        assert other.json["lookup"]["break_glass"]["incident_id"] == other.json["id"]
    else:
        assert other.json["lookup"]["preplan"] is None
    assert count(app, Incident, Incident.cad_incident_number == "SHARED-1") == 2
    subjects = {k.subject for k in _keys(app)}
    assert subjects == {f"cad:{w.cad['a'].id}", f"cad:{w.accounts['cad_z'].id}"}
    # The owner's repeat is the replay.
    again = client.post(f"{API}/incidents", json=body, headers={**w.headers["cad_x"], **key})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["id"] == first.json["id"]


def _keys(app):
    with app.app_context(), transaction.session_scope() as session:
        return session.scalars(select(IdempotencyKey)).all()


def test_api6_an_idempotency_key_of_a_manager_is_not_replayed_to_another(client, app, w):
    """API6: the same key and body from a manager of another organization is judged as its own
    request (404: not its facility), never replayed as the first manager's 201."""
    body = {"kind": "gate", "name": "Pop-up"}
    key = {"Idempotency-Key": "k-1"}
    path = f"{API}/facilities/{w.facility['a'].id}/access-points"
    first = client.post(path, json=body, headers={**w.headers["manager_a"], **key})
    assert first.status_code == 201, first.json
    total = count(app, AccessPoint)

    replay = client.post(path, json=body, headers={**w.headers["manager_b"], **key})

    assert_problem(replay, 404)
    assert "Idempotent-Replayed" not in replay.headers
    assert str(first.json["id"]) not in replay.get_data(as_text=True)
    assert count(app, AccessPoint) == total


# =============================================================================================
# API7:2023 Server Side Request Forgery
# The registry fetches no URL on a caller's behalf: files arrive as multipart uploads, the lookup
# reads only the database, and the one URL in the data (an organization's website) is stored
# and shown, never followed. The S3 endpoint is configuration (REGISTRY_S3_ENDPOINT_URL), not
# input. These tests pin that down: no request field is a URL the server would fetch, and
# saving one opens no connection.


def test_api7_the_only_url_field_is_an_organizations_website(client):
    """API7: across the whole API document, the only field of format url/uri is
    Organization.website (stored, never fetched); no operation takes a URL to fetch."""
    spec = client.get(f"{API}/swagger.json").get_json()
    url_fields = {
        f"{name}.{prop}"
        for name, definition in spec["definitions"].items()
        for prop, schema in definition.get("properties", {}).items()
        if schema.get("format") in ("url", "uri")
    }
    # (OrganizationPatch is the same schema, for PATCH bodies.)
    assert url_fields == {"Organization.website", "OrganizationPatch.website"}
    params = {
        p["name"]
        for operations in spec["paths"].values()
        for op in operations.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
    }
    assert not {p for p in params if "url" in p.lower() or "uri" in p.lower()}


def test_api7_storing_a_website_opens_no_connection(client, app, w, monkeypatch):
    """API7: an organization's website pointing at the cloud metadata service is stored and
    shown as text; no socket is opened while handling the request."""
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("no outbound connections in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    url = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"

    response = client.post(
        f"{API}/organizations",
        json={"name": "Metadata Inc", "website": url},
        headers=w.headers["admin"],
    )

    assert response.status_code == 201, response.json
    assert fetch(app, Organization, response.json["id"]).website == url
    assert attempts == []


@pytest.mark.parametrize(
    "form",
    [
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"file_url": "file:///etc/passwd"},
        {"file": "http://internal.example/plan.pdf"},
    ],
    ids=["url", "file_url", "file-as-a-link"],
)
def test_api7_a_floor_plan_cannot_be_uploaded_by_url(client, app, w, form):
    """API7: a floor plan is its bytes in the multipart body; a link instead of a file is
    refused (422: unknown field, or the file part is missing), and nothing is stored."""
    total = count(app, FloorPlan)

    response = client.post(
        f"{API}/facilities/{w.facility['a'].id}/floor-plans",
        data={**FLOOR_PLAN_FORM, **form},
        headers=w.headers["manager_a"],
        content_type="multipart/form-data",
    )

    assert_problem(response, 422, "file")
    assert count(app, FloorPlan) == total


# =============================================================================================
# API8:2023 Security Misconfiguration
# Production error handling in every mode: every error is an RFC 9457 problem built from
# known-safe parts (errors.py), never Werkzeug's HTML, a stack trace, SQL or a file path; the
# session app runs with TESTING and DEBUG off, so what is tested is what is deployed.

# Case-sensitive: these are how internals look, not English words.
LEAKS = (
    "Traceback",
    "werkzeug",
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    'File "',
    '.py"',
    "SELECT ",
    "INSERT ",
    "UPDATE ",
    "Debugger",
    "root:x:",
)

ERRORS = {
    "unknown-api-path": (lambda c, h, w: c.get(f"{API}/nothing-here", headers=h), 404),
    "unknown-path": (lambda c, h, w: c.get("/wp-admin/setup.php", headers=h), 404),
    "non-integer-id": (lambda c, h, w: c.get(f"{API}/facilities/1%20OR%201=1", headers=h), 404),
    # Werkzeug's debugger serves its files on any path given these parameters (/console is
    # the web console's now: tests of API9 check it is never the debugger's).
    "debugger-resource": (
        lambda c, h, w: c.get("/debugger?__debugger__=yes&cmd=resource&f=debugger.js", headers=h),
        404,
    ),
    "method-not-allowed": (lambda c, h, w: c.delete(f"{API}/facilities", headers=h), 405),
    "put-not-allowed": (
        lambda c, h, w: c.put(f"{API}/incidents/{w.incident['a'].id}", json={}, headers=h),
        405,
    ),
    "trace": (lambda c, h, w: c.open(f"{API}/facilities", method="TRACE", headers=h), 405),
    "malformed-json": (
        lambda c, h, w: c.post(
            f"{API}/organizations", data='{"name": "x",', content_type="application/json", headers=h
        ),
        400,
    ),
    "xml-with-external-entity": (
        lambda c, h, w: c.post(
            f"{API}/organizations",
            data='<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            "<x>&e;</x>",
            content_type="application/xml",
            headers=h,
        ),
        415,
    ),
    "form-body": (
        lambda c, h, w: c.post(
            f"{API}/organizations", data={"name": "x"}, content_type="text/plain", headers=h
        ),
        415,
    ),
    "sql-in-query": (
        lambda c, h, w: c.get(
            f"{API}/facilities", query_string="page=1;DROP TABLE users", headers=h
        ),
        422,
    ),
    "stale-if-match": (
        lambda c, h, w: c.patch(
            f"{API}/organizations/{w.org['a'].id}",
            json={"name": "x"},
            headers={**h, "If-Match": '"organization-0-v0"'},
        ),
        412,
    ),
    "no-token": (lambda c, h, w: c.get(f"{API}/facilities"), 401),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_api8_errors_are_problems_without_internals(client, app, w, case):
    """API8: unknown paths, wrong methods, malformed JSON, XML (no entity is ever parsed), wrong
    content types and bad tokens answer a problem+json with no HTML, trace, SQL or path."""
    assert not (app.debug or app.testing or app.config["PROPAGATE_EXCEPTIONS"])
    request, status = ERRORS[case]

    response = request(client, w.headers["admin"], w)

    assert_problem(response, status)
    text = response.get_data(as_text=True)
    assert "<html" not in text.lower() and "<!doctype" not in text.lower()
    for leak in LEAKS:
        assert leak not in text, leak
    if status == 405:
        assert response.headers["Allow"]


def _runtime_error():
    return RuntimeError('SELECT password_hash FROM users -- File "/srv/registry/db.py", line 1')


def _programming_error():
    return ProgrammingError(
        "SELECT password_hash FROM users WHERE id = 1",
        {},
        Exception('File "/srv/registry/db.py", line 1: no such column: secret'),
    )


@pytest.mark.parametrize("error", [_runtime_error, _programming_error], ids=["bug", "bad-sql"])
def test_api8_an_unexpected_failure_is_a_bare_500(client, app, w, monkeypatch, error):
    """API8: an exception carrying SQL and a path becomes a 500 problem that says only that an
    internal error was logged."""

    def explode(*args, **kwargs):
        raise error()

    monkeypatch.setattr(agencies, "list", explode)
    monkeypatch.setattr(app.logger, "exception", lambda *a, **k: None)

    response = client.get(f"{API}/agencies", headers=w.headers["admin"])

    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert body["detail"] == "An internal error occurred; it has been logged."
    for leak in ("password_hash", "SELECT", "/srv/", "no such column", "Traceback"):
        assert leak not in text


def test_api8_health_checks_say_nothing_about_the_deployment(client):
    """API8: the unauthenticated health checks answer a status and nothing else (no versions,
    database URL or configuration)."""
    for path, expected in (("/healthz", {"status": "ok"}), ("/readyz", {"status": "ready"})):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json == expected


# Colleagues' hardening (issue 5): security headers on every response, CORS for configured
# origins only (test_http_hardening.py has the details).

RESPONSE_KINDS = {
    "json-record": lambda c, w: c.get(
        f"{API}/facilities/{w.facility['a'].id}", headers=w.headers["admin"]
    ),
    "json-list": lambda c, w: c.get(f"{API}/facilities", headers=w.headers["admin"]),
    "problem-401": lambda c, w: c.get(f"{API}/facilities"),
    "problem-404": lambda c, w: c.get("/no/such/page"),
    "problem-405": lambda c, w: c.delete(f"{API}/facilities", headers=w.headers["admin"]),
    "problem-422": lambda c, w: c.get(f"{API}/facilities?per_page=0", headers=w.headers["admin"]),
    "no-content": lambda c, w: c.post(f"{API}/auth/logout", headers=w.headers["officer_y"]),
    "health": lambda c, w: c.get("/healthz"),
    "swagger-document": lambda c, w: c.get(f"{API}/swagger.json"),
    "swagger-ui": lambda c, w: c.get(f"{API}/docs"),
    "streamed-pack": lambda c, w: c.get(
        f"{API}/packs/agency", headers=w.headers["officer_x"], buffered=True
    ),
    "public-key-pem": lambda c, w: c.get(f"{API}/packs/public-key"),
}


@pytest.mark.parametrize("kind", list(RESPONSE_KINDS))
def test_api8_every_response_carries_the_security_headers(client, w, kind):
    """API8: every response, errors and the Swagger UI included, says nosniff, no framing, no
    referrer and has a Content-Security-Policy; API responses are never cached by others."""
    response = RESPONSE_KINDS[kind](client, w)

    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    if response.request.path.startswith("/api/") and kind != "swagger-ui":
        assert headers["Cache-Control"] in ("no-store", "private, no-cache"), headers
    assert "Access-Control-Allow-Origin" not in headers  # no CORS origins configured here


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://dispatch.example.org", True),
        ("https://evil.example.com", False),
        ("https://dispatch.example.org.evil.example.com", False),
        ("http://dispatch.example.org", False),
        ("null", False),
    ],
)
def test_api8_cors_answers_only_configured_origins(build_app, w, origin, allowed):
    """API8: with one configured origin, only that exact origin may call the API from a browser
    (no wildcard, no credentials); look-alike, downgraded and null origins get no CORS grant."""
    client = build_app(REGISTRY_CORS_ORIGINS=["https://dispatch.example.org"]).test_client()
    preflight = client.options(
        f"{API}/facilities",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    actual = client.get(f"{API}/facilities", headers={**w.headers["admin"], "Origin": origin})

    for response in (preflight, actual):
        granted = response.headers.get("Access-Control-Allow-Origin")
        assert granted == (origin if allowed else None), response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers


# =============================================================================================
# API9:2023 Improper Inventory Management
# One API version (/api/v1), documented by a Swagger document generated from the code and
# committed (openapi/swagger.json). test_openapi.py checks that the committed document equals
# the code's and is valid; here: what is served is what is committed, every route the app
# answers is in it, and nothing else (no debug, test or shadow endpoints) is reachable.

UNDOCUMENTED_BY_DESIGN = {
    "/",  # the start page: the way to the web console and to the API's documentation
    "/healthz",
    "/readyz",
    "/static/<path:filename>",
    "/swaggerui/<path:filename>",
    f"{API}",
    f"{API}/swagger.json",
    f"{API}/docs",
}


def test_api9_the_served_document_is_the_committed_one(client):
    """API9: the document clients download is byte-for-byte the committed one's content."""
    served = client.get(f"{API}/swagger.json").get_json()
    assert served == json.loads(OPENAPI_PATH.read_text())


def _as_document_path(rule: str) -> str:
    for converter in ("int:", "string:", "path:"):
        rule = rule.replace(f"<{converter}", "<")
    return rule.replace("<", "{").replace(">", "}")


SUSPICIOUS = ("debug", "console", "test", "shell", "phpinfo", "actuator", "internal", "/v0", "/v2")


def test_api9_every_route_is_documented_and_nothing_else_is_served(app):
    """API9: every rule in Flask's url_map is in the document with the same methods, or is one
    of the few known undocumented ones (health checks, the document and its UI); every
    documented path is served; no route looks like a debug, test or console endpoint."""
    spec = json.loads(OPENAPI_PATH.read_text())
    documented = {
        API + path: {m.upper() for m in ops if m != "parameters"}
        for path, ops in spec["paths"].items()
    }
    served, undocumented = set(), {}
    for rule in app.url_map.iter_rules():
        path = _as_document_path(rule.rule)
        served.add(path)
        methods = set(rule.methods) - {"HEAD", "OPTIONS"}
        if rule.endpoint.startswith("console."):
            # The web console's pages (HTML, not API operations; tests/console and
            # tests/browser are their inventory): under /console/ and nowhere else.
            assert rule.rule.startswith("/console/"), rule.rule
            continue
        if path in documented:
            assert methods == documented[path], rule.rule
        elif rule.rule not in UNDOCUMENTED_BY_DESIGN:
            undocumented[rule.rule] = sorted(methods)
        for word in SUSPICIOUS:
            assert word not in rule.rule.lower(), rule.rule
    assert undocumented == {}
    assert set(documented) <= served


def test_api9_console_is_the_web_console_not_a_debugger(app, client):
    """API9: /console is the web console's sign-in, never Werkzeug's interactive debugger
    console (served only with debugging on, which the app never runs with)."""
    assert not app.debug
    page = client.get("/console/", follow_redirects=True)
    assert page.status_code == 200 and "Sign in" in page.get_data(as_text=True)
    probe = client.get("/console?__debugger__=yes&cmd=resource", follow_redirects=True)
    assert probe.request.path == "/console/sign-in" and probe.mimetype == "text/html"


@pytest.mark.parametrize("version", ["/api/v0", "/api/v2", "/api", "/api/v1/internal", "/v1"])
def test_api9_no_other_api_version_answers(client, w, version):
    """API9: only /api/v1 is served; older or future versions and unprefixed paths are 404."""
    response = client.get(f"{version}/facilities", headers=w.headers["admin"])
    assert_problem(response, 404)


# =============================================================================================
# API10:2023 Unsafe Consumption of APIs
# The registry consumes what CAD systems send: free-text addresses, names and numbers typed by
# call-takers or relayed from other systems, parsed by addresses.py. Hostile input (huge,
# unusual Unicode, control characters, injection-shaped text) must end as a 422 naming the field
# or a clean lookup result, never a 500, on the lookup and when opening an incident. (Uploaded
# files are the other consumed input; test_floorplans.py covers bombs, scripts and polyglots.)

HOSTILE = {
    "right-to-left-override": "10 S Walnut St\u202e LI dleifgnirpS",
    "zero-width": "10\u200b S\u200d Walnut\ufeff St, Springfield IL",
    "combining-marks": "1\u03010 S Wa\u0308lnut St" + "\u0301" * 200,
    "fullwidth-digits": "\uff11\uff10 S Walnut St, Springfield IL",
    "arabic-indic-digits": "\u0661\u0660 S Walnut St, Springfield IL",
    "emoji": "\U0001f525 10 S Walnut St \U0001f6a8, Springfield IL",
    "astral-only": "\U0001f600" * 50,
    "control-characters": "10 S Walnut St\x01\x07\x1b[31m, Springfield IL",
    "crlf-injection": "10 S Walnut St\r\nX-Injected: 1, Springfield IL",
    "tab-and-vertical-tab": "10\tS\x0bWalnut\x0cSt",
    "lone-surrogate-escape": "10 S Walnut St \\ud800",
    "sql-injection": "10 S Walnut St' OR '1'='1'; DROP TABLE facilities; --",
    "like-wildcards": "%_% S Walnut St",
    "regex-catastrophe": "1" * 150 + "!" * 140,
    "format-strings": "{0} %s %n {facility.__class__} Walnut St",
    "only-punctuation": "#,.-/&" * 20,
    "many-unit-signs": "10 S Walnut St " + "# " * 140,
    "many-words": " ".join(["Apt"] * 75),
    "at-the-cap": "9" * 300,
    "over-the-cap": "9" * 301,
    "nul": "10 S Walnut St\x00",
}
# Only reachable through a query string's bytes (decoded with replacement, so harmless there);
# as a JSON escape it is test_api10_a_lone_surrogate_in_json_is_422_not_500's subject.
LOOKUP_ONLY = {"unpaired-surrogate": "10 S Walnut St \ud800"}


def _query_value(value: str):
    # An unpaired surrogate cannot be UTF-8 encoded: send what a broken client would, its bytes.
    return value.encode("utf-8", "surrogatepass") if "\ud800" in value else value


@pytest.mark.parametrize("field", ["address", "name", "city", "phone"])
@pytest.mark.parametrize("case", [*HOSTILE, *LOOKUP_ONLY])
def test_api10_hostile_lookup_input_is_422_or_a_clean_result(client, hidden, case, field):
    """API10: hostile text in the lookup's free-text fields gives a 422 naming the field or an
    ordinary result (no_match/ambiguous/not_shared/matched), never a 500 or an echo."""
    value = _query_value({**HOSTILE, **LOOKUP_ONLY}[case])
    params = {field: value}
    if field == "city":
        params["name"] = "Harbor Arena"

    response = client.get(f"{API}/preplans/lookup", query_string=params, headers=hidden.cad)

    assert response.status_code in (200, 400, 422), response.get_data(as_text=True)
    if response.status_code == 200:
        body = response.json
        assert body["status"] in ("no_match", "ambiguous", "not_shared")  # nothing is shared
        assert body["preplan"] is None
    else:
        problem = assert_problem(response, response.status_code)
        if response.status_code == 422:
            assert set(problem["errors"]) <= {field, "address", "query"}, problem
        text = response.get_data(as_text=True)
        assert "\x1b" not in text and "X-Injected" not in text


@pytest.mark.parametrize("case", list(HOSTILE))
def test_api10_hostile_incident_addresses_are_recorded_or_refused(client, app, hidden, case):
    """API10: an incident whose address is hostile text is recorded (the lookup is lenient: the
    address becomes a note) or refused with a 422 naming it; never a 500, and no response header
    carries it."""
    value = HOSTILE[case]
    body = {"cad_incident_number": f"H-{case}", "incident_type": "fire", "address": value}
    total = count(app, Incident)
    response = client.post(f"{API}/incidents", json=body, headers=hidden.cad)

    assert response.status_code in (201, 400, 422), response.get_data(as_text=True)
    if response.status_code == 201:
        assert count(app, Incident) == total + 1
        lookup = response.json["lookup"]
        # Only ever the facility it matched, and then through break-glass (no MOU with it).
        assert lookup["preplan"] is None or lookup["break_glass"], lookup
        stored = fetch(app, Incident, response.json["id"])
        assert stored.address == response.json["address"]
    else:
        assert_problem(response, response.status_code)
        assert count(app, Incident) == total
    assert all("\n" not in v and "X-Injected" not in v for v in response.headers.values())


# (caller, method, path, body with a lone surrogate, the model that must stay unchanged)
LONE_SURROGATE = {
    "login-username": (None, "POST", "/auth/login", {"username": "x\ud800", "password": "p"}),
    "client-id": (None, "POST", "/auth/token", {"client_id": "x\ud800", "client_secret": "p"}),
    "incident-address": (
        "cad_x",
        "POST",
        "/incidents",
        {"cad_incident_number": "S-1", "incident_type": "fire", "address": "10 Main St \ud800"},
    ),
    "organization-name": ("admin", "POST", "/organizations", {"name": "Acme \ud800"}),
    "facility-hazards": ("manager_a", "PATCH", "/facilities/{facility}", {"hazards": "\udfff"}),
}


@pytest.mark.parametrize("case", list(LONE_SURROGATE))
def test_api10_a_lone_surrogate_in_json_is_422_not_500(client, app, w, case):
    """API10/API8: a JSON body is valid JSON with "\\ud800" in it but not valid Unicode text; it
    must be refused as bad input (422), never reach the database as a 500."""
    caller, method, template, body = LONE_SURROGATE[case]
    path = fill(template, w)
    headers = dict(w.headers[caller]) if caller else {}
    if method == "PATCH":
        headers["If-Match"] = etag(client, w, path)
    totals = [count(app, m) for m in (Organization, Incident)]
    facility = row(app, Facility, w.facility["a"].id)

    # json.dumps writes the surrogate as the escape "\\ud800", as any client library would.
    response = client.open(
        path, method=method, data=json.dumps(body), content_type="application/json", headers=headers
    )

    assert response.status_code in (401, 422), response.get_data(as_text=True)
    assert_problem(response, response.status_code)
    assert [count(app, m) for m in (Organization, Incident)] == totals
    assert row(app, Facility, w.facility["a"].id) == facility
