"""Authorization: who may read and write what, as role x endpoint matrices and scenarios.

The cast (see `world`): organization A with facility `a`, organization B with facility `b`, each
with an access point, a tactical point and a facility contact; agency X has an active data-sharing
MOU covering all of A; agency Y has none. Invisible records answer 404 (never 403: no existence
leak) and are absent from lists; visible but unwritable records answer 403.

The last section checks the role x record tables of registry.access, cell by cell, in a world of
its own (`town`), and that the tables there are the ones the tests hold (tests/access_table.py).
"""

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

import registry.access
from registry import db, transaction
from registry.agencies.models import Agency
from registry.auth.models import CadClient, User
from registry.contacts.models import Contact
from registry.corrections.models import Correction
from registry.exercises.models import Exercise, ExerciseAgency, Finding
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.floorplans.models import FileBlob, FloorPlan, MouDocument
from registry.incidents.models import Incident
from registry.mous.models import Mou
from registry.notifications.models import Delivery, Notification, Subscription
from registry.organizations.models import Organization
from tests import access_table
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"
ROLES = ["admin", "manager", "officer", "cad", "outside_officer", "outside_cad"]
NON_ADMINS = ["manager", "officer", "cad", "outside_officer", "outside_cad"]
AGENCY_ROLES = ["officer", "cad"]

# Which facilities each role can see in the standard world.
VISIBLE = {
    "admin": {"a", "b"},
    "manager": {"a"},
    "officer": {"a"},
    "cad": {"a"},
    "outside_officer": set(),
    "outside_cad": set(),
}


def today():
    # The service compares MOU dates with today's UTC date.
    return datetime.now(UTC).date()


@pytest.fixture
def world(make):
    org_a, org_b = make.organization(), make.organization()
    agency_x, agency_y = make.agency(), make.agency()
    w = SimpleNamespace(org_a=org_a, org_b=org_b, agency_x=agency_x, agency_y=agency_y)
    w.facility, w.access_point, w.tactical_point, w.contact = {}, {}, {}, {}
    for side, org in (("a", org_a), ("b", org_b)):
        facility = make.facility(org)
        w.facility[side] = facility
        w.access_point[side] = make.access_point(facility)
        w.tactical_point[side] = make.tactical_point(facility)
        w.contact[side] = make.contact(facility_id=facility.id, name=f"Liaison {side}")
    w.mou = make.mou(org_a, agency_x)
    w.accounts = {
        "admin": make.user("admin"),
        "manager": make.user("facility_manager", organization=org_a),
        "officer": make.user("agency_user", agency=agency_x),
        "cad": make.cad_client(agency_x),
        "outside_officer": make.user("agency_user", agency=agency_y),
        "outside_cad": make.cad_client(agency_y),
    }
    w.headers = {role: make.headers(account) for role, account in w.accounts.items()}
    return w


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["total"] == len(body["items"]), body
    return [item["id"] for item in body["items"]]


def admin_etag(client, w, path) -> str:
    response = client.get(path, headers=w.headers["admin"])
    assert response.status_code == 200, response.json
    return response.headers["ETag"]


def assert_found(response, record_id, status=200):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.json["id"] == record_id


# ---------------------------------------------------------------------------------------------
# Reading facilities and everything hanging off them


@pytest.mark.parametrize("role", ROLES)
def test_facility_list_shows_only_visible_facilities(client, world, role):
    expected = sorted(world.facility[side].id for side in VISIBLE[role])

    listed = ids_of(client.get(f"{API}/facilities?per_page=100", headers=world.headers[role]))

    assert sorted(listed) == expected
    # A filter on another organization's id finds nothing rather than revealing it.
    by_org = client.get(
        f"{API}/facilities?organization_id={world.org_b.id}", headers=world.headers[role]
    )
    assert ids_of(by_org) == ([world.facility["b"].id] if "b" in VISIBLE[role] else [])


@pytest.mark.parametrize("side", ["a", "b"])
@pytest.mark.parametrize("role", ROLES)
def test_facility_and_children_reads(client, world, role, side):
    headers, visible = world.headers[role], side in VISIBLE[role]
    facility = world.facility[side]
    point_paths = {
        f"{API}/facilities/{facility.id}": facility.id,
        f"{API}/access-points/{world.access_point[side].id}": world.access_point[side].id,
        f"{API}/tactical-points/{world.tactical_point[side].id}": world.tactical_point[side].id,
        f"{API}/contacts/{world.contact[side].id}": world.contact[side].id,
    }
    nested = {
        f"{API}/facilities/{facility.id}/access-points": [world.access_point[side].id],
        f"{API}/facilities/{facility.id}/tactical-points": [world.tactical_point[side].id],
        f"{API}/facilities/{facility.id}/contacts": [world.contact[side].id],
    }

    for path, record_id in point_paths.items():
        response = client.get(path, headers=headers)
        if visible:
            assert_found(response, record_id)
        else:
            body = assert_problem(response, 404)
            assert facility.name not in body["detail"]
    for path, expected in nested.items():
        response = client.get(path, headers=headers)
        if visible:
            assert ids_of(response) == expected
        else:
            assert_problem(response, 404)


@pytest.mark.parametrize("role", NON_ADMINS)
def test_unknown_and_invisible_facilities_look_the_same(client, world, role):
    hidden = {"manager": "b", "officer": "b", "cad": "b"}.get(role, "a")

    invisible = client.get(
        f"{API}/facilities/{world.facility[hidden].id}", headers=world.headers[role]
    )
    missing = client.get(f"{API}/facilities/987654", headers=world.headers[role])

    assert_problem(invisible, 404)
    assert_problem(missing, 404)
    assert invisible.json["title"] == missing.json["title"]
    assert invisible.json["type"] == missing.json["type"]


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_invisible_facility_is_404_before_any_if_match_check(client, app, world, method):
    facility = world.facility["b"]

    response = client.open(
        f"{API}/facilities/{facility.id}",
        method=method,
        json={"occupancy": 5} if method == "PATCH" else None,
        headers=world.headers["manager"],
    )

    # 428 would confirm that the record exists.
    assert_problem(response, 404)
    assert fetch(app, Facility, facility.id).version == facility.version


# ---------------------------------------------------------------------------------------------
# Writing facilities and their children


ITEMS = {
    "facility": (Facility, "facilities", "facility", {"occupancy": 250}, "occupancy"),
    "access point": (AccessPoint, "access-points", "access_point", {"notes": "Knox box"}, "notes"),
    "tactical point": (
        TacticalPoint,
        "tactical-points",
        "tactical_point",
        {"notes": "Enter from the north"},
        "notes",
    ),
    "contact": (Contact, "contacts", "contact", {"role": "Night manager"}, "role"),
}


def write_expectation(role, side, success):
    if side not in VISIBLE[role]:
        return 404
    if role == "admin" or (role == "manager" and side == "a"):
        return success
    return 403


@pytest.mark.parametrize("kind", list(ITEMS))
@pytest.mark.parametrize("side", ["a", "b"])
@pytest.mark.parametrize("role", ROLES)
def test_patch_item(client, app, world, role, side, kind):
    model, collection, attribute, change, field = ITEMS[kind]
    record = getattr(world, attribute)[side]
    path = f"{API}/{collection}/{record.id}"
    before = fetch(app, model, record.id)
    headers = {**world.headers[role], "If-Match": admin_etag(client, world, path)}

    response = client.patch(path, json=change, headers=headers)

    expected = write_expectation(role, side, 200)
    after = fetch(app, model, record.id)
    if expected == 200:
        assert response.status_code == 200, response.json
        assert response.json[field] == change[field]
        assert getattr(after, field) == change[field]
        assert after.version == before.version + 1
    else:
        assert_problem(response, expected)
        assert getattr(after, field) == getattr(before, field)
        assert after.version == before.version


@pytest.mark.parametrize("kind", list(ITEMS))
@pytest.mark.parametrize("side", ["a", "b"])
@pytest.mark.parametrize("role", ROLES)
def test_delete_item(client, app, world, role, side, kind):
    model, collection, attribute, _change, _field = ITEMS[kind]
    record = getattr(world, attribute)[side]
    path = f"{API}/{collection}/{record.id}"
    headers = {**world.headers[role], "If-Match": admin_etag(client, world, path)}
    total = count(app, model)

    response = client.delete(path, headers=headers)

    expected = write_expectation(role, side, 204)
    if expected == 204:
        assert response.status_code == 204, response.json
        # Soft-deleted: kept for history and restore, gone for readers.
        assert fetch(app, model, record.id).deleted_at is not None
        assert count(app, model, model.deleted_at.is_(None)) == total - 1
        assert_problem(client.get(path, headers=world.headers[role]), 404)
    else:
        assert_problem(response, expected)
        assert fetch(app, model, record.id) is not None
        assert count(app, model) == total


CHILDREN = {
    "access-points": (AccessPoint, {"kind": "key_box", "name": "Knox box"}),
    "tactical-points": (TacticalPoint, {"kind": "command_post", "name": "Parking deck"}),
    "contacts": (
        Contact,
        {"name": "Sam Guard", "phones": [{"kind": "mobile", "number": "+12175550199"}]},
    ),
}


@pytest.mark.parametrize("child", list(CHILDREN))
@pytest.mark.parametrize("side", ["a", "b"])
@pytest.mark.parametrize("role", ROLES)
def test_add_child_to_facility(client, app, world, role, side, child):
    model, payload = CHILDREN[child]
    facility = world.facility[side]
    total = count(app, model, model.facility_id == facility.id)

    response = client.post(
        f"{API}/facilities/{facility.id}/{child}", json=payload, headers=world.headers[role]
    )

    expected = write_expectation(role, side, 201)
    if expected == 201:
        assert response.status_code == 201, response.json
        assert response.json["facility_id"] == facility.id
        assert fetch(app, model, response.json["id"]).name == payload["name"]
        assert count(app, model, model.facility_id == facility.id) == total + 1
    else:
        assert_problem(response, expected)
        assert count(app, model, model.facility_id == facility.id) == total


def new_facility(organization_id=None, name="New store"):
    payload = {
        "name": name,
        "facility_type": "retail_store",
        "address_line1": "1 Market Sq",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
    }
    if organization_id is not None:
        payload["organization_id"] = organization_id
    return payload


@pytest.mark.parametrize(
    ("role", "target", "expected"),
    [
        ("admin", "b", 201),
        ("manager", "a", 201),
        ("manager", None, 201),
        ("manager", "b", 403),
        ("officer", "a", 403),
        ("cad", "a", 403),
        ("outside_officer", "a", 403),
        ("outside_cad", "b", 403),
    ],
)
def test_create_facility(client, app, world, role, target, expected):
    organization = {"a": world.org_a, "b": world.org_b, None: None}[target]
    total = count(app, Facility)

    response = client.post(
        f"{API}/facilities",
        json=new_facility(organization.id if organization else None),
        headers=world.headers[role],
    )

    if expected == 201:
        assert response.status_code == 201, response.json
        # A manager's facility lands in the manager's organization when none is named.
        wanted = organization.id if organization else world.org_a.id
        assert response.json["organization_id"] == wanted
        assert fetch(app, Facility, response.json["id"]).organization_id == wanted
        assert count(app, Facility) == total + 1
    else:
        assert_problem(response, expected)
        assert count(app, Facility) == total


@pytest.mark.parametrize("destination", ["other organization", "unknown organization"])
def test_manager_cannot_move_facility_out_of_the_organization(client, app, world, destination):
    facility = world.facility["a"]
    path = f"{API}/facilities/{facility.id}"
    target = world.org_b.id if destination == "other organization" else 987654
    headers = {**world.headers["manager"], "If-Match": admin_etag(client, world, path)}

    response = client.patch(
        path, json={"organization_id": target, "name": "Moved"}, headers=headers
    )

    assert_problem(response, 403)
    stored = fetch(app, Facility, facility.id)
    assert (stored.organization_id, stored.name, stored.version) == (
        world.org_a.id,
        facility.name,
        facility.version,
    )


def test_admin_may_move_facility_between_organizations(client, app, world):
    facility = world.facility["a"]
    path = f"{API}/facilities/{facility.id}"
    headers = {**world.headers["admin"], "If-Match": admin_etag(client, world, path)}

    response = client.patch(path, json={"organization_id": world.org_b.id}, headers=headers)

    assert response.status_code == 200, response.json
    assert fetch(app, Facility, facility.id).organization_id == world.org_b.id
    # The manager of A has lost it, along with its children.
    manager = world.headers["manager"]
    assert_problem(client.get(path, headers=manager), 404)
    assert_problem(
        client.get(f"{API}/access-points/{world.access_point['a'].id}", headers=manager), 404
    )


# ---------------------------------------------------------------------------------------------
# MOUs decide what an agency reads


def _mou_active(make, w):
    make.mou(w.org, w.agency)


def _mou_for_another_agency(make, w):
    make.mou(w.org, w.other_agency)


def _mou_of_another_organization(make, w):
    make.mou(w.other_org, w.agency)


def _mou_subset(*names):
    def build(make, w):
        make.mou(w.org, w.agency, facilities=[getattr(w, name) for name in names])

    return build


def _mou(**fields):
    """An MOU built when the test runs; a date is given as days from that day's date, so a run
    that crosses midnight (UTC) does not test yesterday's dates."""

    def build(make, w):
        dates = {k: today() + timedelta(days=v) for k, v in fields.items() if k.endswith("_date")}
        make.mou(w.org, w.agency, **{**fields, **dates})

    return build


def _two_mous_one_in_force(make, w):
    make.mou(w.org, w.agency, status="draft")
    make.mou(w.org, w.agency, scopes=("training",))
    make.mou(w.org, w.agency, facilities=[w.sibling])


MOU_CASES = {
    "active-all-facilities": (_mou_active, {"facility", "sibling"}),
    "no-mou": (lambda make, w: None, set()),
    "draft": (_mou(status="draft"), set()),
    "proposed": (_mou(status="proposed"), set()),
    "terminated": (_mou(status="terminated"), set()),
    "expired-yesterday": (
        _mou(effective_date=-30, expiry_date=-1),
        set(),
    ),
    "expires-today": (
        _mou(effective_date=-30, expiry_date=0),
        {"facility", "sibling"},
    ),
    "effective-today": (_mou(effective_date=0), {"facility", "sibling"}),
    "effective-tomorrow": (_mou(effective_date=1), set()),
    "training-only": (_mou(scopes=("training",)), set()),
    "many-scopes-but-not-data-sharing": (
        _mou(scopes=("cctv_access", "key_holding", "training", "staging")),
        set(),
    ),
    "data-sharing-among-others": (
        _mou(scopes=("training", "data_sharing")),
        {"facility", "sibling"},
    ),
    "another-agency": (_mou_for_another_agency, set()),
    "another-organization": (_mou_of_another_organization, {"foreign"}),
    "subset-without-the-facility": (_mou_subset("sibling"), {"sibling"}),
    "subset-with-the-facility": (_mou_subset("facility"), {"facility"}),
    "only-mou-in-force-is-for-the-sibling": (_two_mous_one_in_force, {"sibling"}),
}


@pytest.mark.parametrize("case", list(MOU_CASES))
@pytest.mark.parametrize("role", AGENCY_ROLES)
def test_agency_reads_only_what_an_active_data_sharing_mou_covers(client, make, role, case):
    org, other_org = make.organization(), make.organization()
    agency, other_agency = make.agency(), make.agency()
    w = SimpleNamespace(org=org, other_org=other_org, agency=agency, other_agency=other_agency)
    w.facility, w.sibling = make.facility(org), make.facility(org)
    w.foreign = make.facility(other_org)
    children = {
        "access-points": make.access_point(w.facility).id,
        "tactical-points": make.tactical_point(w.facility).id,
        "contacts": make.contact(facility_id=w.facility.id).id,
    }
    account = (
        make.user("agency_user", agency=agency) if role == "officer" else make.cad_client(agency)
    )
    headers = make.headers(account)
    build, visible = MOU_CASES[case]
    build(make, w)

    listed = ids_of(client.get(f"{API}/facilities?per_page=100", headers=headers))
    assert sorted(listed) == sorted(getattr(w, name).id for name in visible)

    for name in ("facility", "sibling", "foreign"):
        response = client.get(f"{API}/facilities/{getattr(w, name).id}", headers=headers)
        if name in visible:
            assert_found(response, getattr(w, name).id)
        else:
            assert_problem(response, 404)
    for child, child_id in children.items():
        nested = client.get(f"{API}/facilities/{w.facility.id}/{child}", headers=headers)
        item = client.get(f"{API}/{child}/{child_id}", headers=headers)
        if "facility" in visible:
            assert ids_of(nested) == [child_id]
            assert_found(item, child_id)
        else:
            assert_problem(nested, 404)
            assert_problem(item, 404)


def test_ending_an_mou_closes_access_at_once(client, app, world, monkeypatch):
    """Terminated, superseded by a renewal that shares less, or past its expiry date: the
    agency's access ends with the change, or with the day, with no job run."""
    facility_path = f"{API}/facilities/{world.facility['a'].id}"
    officer, manager, cad = world.headers["officer"], world.headers["manager"], world.headers["cad"]
    assert client.get(facility_path, headers=officer).status_code == 200

    def step(mou_id, name, headers, **body):
        path = f"{API}/mous/{mou_id}"
        etag = client.get(path, headers=headers).headers["ETag"]
        response = client.post(f"{path}/{name}", json=body, headers={**headers, "If-Match": etag})
        assert response.status_code in (200, 201), response.json
        return response.json

    def edit(mou_id, headers, change):
        path = f"{API}/mous/{mou_id}"
        etag = client.get(path, headers=headers).headers["ETag"]
        response = client.patch(path, json=change, headers={**headers, "If-Match": etag})
        assert response.status_code == 200, response.json

    assert step(world.mou.id, "terminate", manager, reason="Store sold")["in_force"] is False
    assert_problem(client.get(facility_path, headers=officer), 404)
    assert ids_of(client.get(f"{API}/facilities", headers=officer)) == []

    created = client.post(f"{API}/mous", json=new_mou(world.org_a, world.agency_x), headers=manager)
    assert created.status_code == 201, created.json
    agreed = created.json["id"]
    step(agreed, "propose", manager)
    assert step(agreed, "accept", officer)["in_force"] is True
    assert client.get(facility_path, headers=officer).status_code == 200

    # Renewed for training only: once the renewal is active, the data-sharing MOU is superseded.
    training = step(agreed, "renew", officer)["id"]
    edit(training, officer, {"scopes": ["training"]})
    step(training, "propose", officer)
    assert step(training, "accept", manager)["scopes"] == ["training"]
    assert fetch(app, Mou, agreed).status == "superseded"
    assert_problem(client.get(facility_path, headers=cad), 404)

    renewal = step(
        training,
        "renew",
        manager,
        effective_date=str(today() - timedelta(days=9)),
        expiry_date=str(today() + timedelta(days=3)),
    )["id"]
    edit(renewal, manager, {"scopes": ["data_sharing"]})
    step(renewal, "propose", manager)
    step(renewal, "accept", officer)
    assert client.get(facility_path, headers=officer).status_code == 200

    # Four days on, it has expired: nothing was written, and nothing grants.
    real_utcnow = db.utcnow
    monkeypatch.setattr(db, "utcnow", lambda: real_utcnow() + timedelta(days=4))
    assert_problem(client.get(facility_path, headers=officer), 404)
    assert fetch(app, Mou, renewal).status == "active"
    assert client.get(f"{API}/mous/{renewal}", headers=officer).json["status"] == "expired"


# ---------------------------------------------------------------------------------------------
# MOUs: organizations grant, agencies never grant themselves


def new_mou(organization, agency, **fields):
    return {
        "organization_id": organization.id,
        "agency_id": agency.id,
        "title": "Pre-plan sharing",
        "effective_date": str(today()),
        "scopes": ["data_sharing"],
        **fields,
    }


@pytest.mark.parametrize(
    ("role", "organization", "agency", "expected"),
    [
        ("admin", "org_b", "agency_x", 201),
        ("manager", "org_a", "agency_x", 201),
        ("manager", "org_b", "agency_x", 403),
        # Either party drafts an MOU; a draft grants nothing (test_mou_lifecycle.py).
        ("officer", "org_a", "agency_x", 201),
        ("officer", "org_b", "agency_x", 201),
        ("officer", "org_a", "agency_y", 403),
        ("cad", "org_a", "agency_x", 403),
        ("outside_officer", "org_b", "agency_y", 201),
        ("outside_officer", "org_b", "agency_x", 403),
    ],
)
def test_create_mou(client, app, world, role, organization, agency, expected):
    org, agency = getattr(world, organization), getattr(world, agency)
    total = count(app, Mou)

    response = client.post(f"{API}/mous", json=new_mou(org, agency), headers=world.headers[role])

    if expected == 201:
        assert response.status_code == 201, response.json
        stored = fetch(app, Mou, response.json["id"])
        assert (stored.organization_id, stored.agency_id) == (org.id, agency.id)
        assert (stored.status, stored.in_force) == ("draft", False)
        party = "agency" if role in ("officer", "outside_officer") else "organization"
        assert stored.drafting_party == party
        assert count(app, Mou) == total + 1
    else:
        assert_problem(response, expected)
        assert count(app, Mou) == total


@pytest.mark.parametrize(
    ("role", "method", "change", "expected"),
    [
        # The agency's people are a party: the status is the lifecycle's (422), an active MOU's
        # terms are fixed (409), and only a draft is deleted (409). Its CAD is no party (403).
        ("officer", "PATCH", {"expiry_date": None, "status": "active"}, 422),
        ("officer", "PATCH", {"scopes": ["data_sharing", "access_codes"]}, 409),
        ("officer", "DELETE", None, 409),
        ("cad", "PATCH", {"expiry_date": None, "status": "active"}, 403),
        ("cad", "PATCH", {"scopes": ["data_sharing", "access_codes"]}, 403),
        ("cad", "DELETE", None, 403),
    ],
)
def test_agency_cannot_change_its_own_mou(client, app, world, role, method, change, expected):
    mou = world.mou
    path = f"{API}/mous/{mou.id}"
    etag = client.get(path, headers=world.headers[role]).headers["ETag"]  # it may read it
    before = fetch(app, Mou, mou.id)

    response = client.open(
        path, method=method, json=change, headers={**world.headers[role], "If-Match": etag}
    )

    assert_problem(response, expected, "status" if expected == 422 else None)
    after = fetch(app, Mou, mou.id)
    assert after.version == before.version
    assert after.scopes == before.scopes == ["data_sharing"]


def test_manager_mou_rules(client, app, world, make):
    manager = world.headers["manager"]
    foreign_mou = make.mou(world.org_b, world.agency_x)
    own_path = f"{API}/mous/{world.mou.id}"

    # Only the own organization's MOUs are listed and readable.
    assert ids_of(client.get(f"{API}/mous", headers=manager)) == [world.mou.id]
    assert_problem(client.get(f"{API}/mous/{foreign_mou.id}", headers=manager), 404)
    etag = admin_etag(client, world, f"{API}/mous/{foreign_mou.id}")
    refused = client.patch(
        f"{API}/mous/{foreign_mou.id}",
        json={"status": "terminated"},
        headers={**manager, "If-Match": etag},
    )
    assert_problem(refused, 404)
    assert fetch(app, Mou, foreign_mou.id).status == "active"

    # The own active MOU's terms are fixed (renewed, not edited).
    etag = client.get(own_path, headers=manager).headers["ETag"]
    fixed = client.patch(
        own_path, json={"title": "Renewed MOU"}, headers={**manager, "If-Match": etag}
    )
    assert_problem(fixed, 409)
    assert fetch(app, Mou, world.mou.id).title == world.mou.title

    # Editing the own draft works; handing it to another organization does not.
    draft = make.mou(world.org_a, world.agency_y, status="draft")
    draft_path = f"{API}/mous/{draft.id}"
    etag = client.get(draft_path, headers=manager).headers["ETag"]
    moved = client.patch(
        draft_path, json={"organization_id": world.org_b.id}, headers={**manager, "If-Match": etag}
    )
    assert_problem(moved, 403)
    assert fetch(app, Mou, draft.id).organization_id == world.org_a.id
    renamed = client.patch(
        draft_path, json={"title": "Renewed MOU"}, headers={**manager, "If-Match": etag}
    )
    assert renamed.status_code == 200, renamed.json
    assert fetch(app, Mou, draft.id).title == "Renewed MOU"

    # Another organization's facility cannot be put into the own MOU.
    total = count(app, Mou)
    response = client.post(
        f"{API}/mous",
        json=new_mou(
            world.org_a,
            world.agency_y,
            covers_all_facilities=False,
            facility_ids=[world.facility["b"].id],
        ),
        headers=manager,
    )
    assert_problem(response, 422, "facility_ids")
    assert count(app, Mou) == total


@pytest.mark.parametrize("role", ROLES)
def test_mou_lists(client, world, make, role):
    make.mou(world.org_b, world.agency_y)
    everyone = sorted(
        m["id"] for m in client.get(f"{API}/mous", headers=world.headers["admin"]).json["items"]
    )
    expected = {
        "admin": everyone,
        "manager": [world.mou.id],
        "officer": [world.mou.id],
        "cad": [world.mou.id],
        "outside_officer": [m for m in everyone if m != world.mou.id],
        "outside_cad": [m for m in everyone if m != world.mou.id],
    }[role]

    assert sorted(ids_of(client.get(f"{API}/mous", headers=world.headers[role]))) == expected


# ---------------------------------------------------------------------------------------------
# Administration: agencies, organizations, users, CAD clients


ADMIN_RESOURCES = {
    "agencies": (
        Agency,
        {"name": "New agency", "agency_type": "fire"},
        {"name": "Renamed"},
        "name",
    ),
    "organizations": (
        Organization,
        {"name": "New partner", "kind": "mall_owner"},
        {"name": "Renamed"},
        "name",
    ),
    "users": (
        User,
        {"username": "new.person", "password": "a-long-enough-password", "role": "admin"},
        {"full_name": "Renamed Person"},
        "full_name",
    ),
    "cad-clients": (CadClient, None, {"name": "Renamed CAD"}, "name"),
}


def admin_payload(world, resource):
    payload = ADMIN_RESOURCES[resource][1]
    if resource == "cad-clients":
        return {"client_id": "new-cad", "agency_id": world.agency_x.id, "name": "New CAD"}
    return payload


def admin_target(world, make, resource, role):
    """A record the role can see (so the refusal is a 403, not a 404)."""
    if resource == "agencies":
        return world.agency_x
    if resource == "organizations":
        return world.org_b if role in ("outside_officer", "outside_cad") else world.org_a
    if resource == "users":
        return make.user("agency_user", agency=world.agency_x)
    return make.cad_client(world.agency_x)


@pytest.mark.parametrize("resource", list(ADMIN_RESOURCES))
@pytest.mark.parametrize("role", NON_ADMINS)
def test_only_admins_create_accounts_and_partners(client, app, world, role, resource):
    model = ADMIN_RESOURCES[resource][0]
    total = count(app, model)

    response = client.post(
        f"{API}/{resource}", json=admin_payload(world, resource), headers=world.headers[role]
    )

    assert_problem(response, 403)
    assert count(app, model) == total


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
@pytest.mark.parametrize("resource", list(ADMIN_RESOURCES))
@pytest.mark.parametrize("role", NON_ADMINS)
def test_only_admins_change_accounts_and_partners(client, app, world, make, role, resource, method):
    model, _create, change, field = ADMIN_RESOURCES[resource]
    target = admin_target(world, make, resource, role)
    path = f"{API}/{resource}/{target.id}"
    before = fetch(app, model, target.id)
    headers = {**world.headers[role], "If-Match": admin_etag(client, world, path)}

    response = client.open(
        path, method=method, json=change if method == "PATCH" else None, headers=headers
    )

    # An organization without any MOU with the caller's agency is invisible: 404, not 403.
    invisible = resource == "organizations" and role in ("outside_officer", "outside_cad")
    assert_problem(response, 404 if invisible else 403)
    after = fetch(app, model, target.id)
    assert after is not None
    assert (after.version, getattr(after, field)) == (before.version, getattr(before, field))


@pytest.mark.parametrize("resource", ["users", "cad-clients"])
@pytest.mark.parametrize("role", NON_ADMINS)
def test_only_admins_read_accounts(client, world, role, resource):
    account = world.accounts[role]
    # Not even their own record.
    own = f"{API}/{resource}/{account.id}"

    assert_problem(client.get(f"{API}/{resource}", headers=world.headers[role]), 403)
    assert_problem(client.get(own, headers=world.headers[role]), 403)


@pytest.mark.parametrize("resource", list(ADMIN_RESOURCES))
def test_admin_manages_accounts_and_partners(client, app, world, make, resource):
    model, _create, change, field = ADMIN_RESOURCES[resource]
    admin = world.headers["admin"]

    created = client.post(f"{API}/{resource}", json=admin_payload(world, resource), headers=admin)
    assert created.status_code == 201, created.json
    record_id = created.json["id"]
    assert fetch(app, model, record_id) is not None
    if resource == "cad-clients":
        assert len(created.json["client_secret"]) >= 32
        assert created.json["client_secret"] not in fetch(app, CadClient, record_id).secret_hash
    if resource == "users":
        assert "password" not in created.json

    listed = ids_of(client.get(f"{API}/{resource}?per_page=100", headers=admin))
    assert record_id in listed

    path = f"{API}/{resource}/{record_id}"
    changed = client.patch(
        path, json=change, headers={**admin, "If-Match": created.headers["ETag"]}
    )
    assert changed.status_code == 200, changed.json
    assert getattr(fetch(app, model, record_id), field) == change[field]

    deleted = client.delete(path, headers={**admin, "If-Match": changed.headers["ETag"]})
    assert deleted.status_code == 204, deleted.json
    assert fetch(app, model, record_id) is None


def test_admin_created_cad_client_can_log_in(client, world):
    created = client.post(
        f"{API}/cad-clients",
        json=admin_payload(world, "cad-clients"),
        headers=world.headers["admin"],
    ).json

    token = client.post(
        f"{API}/auth/token",
        json={"client_id": created["client_id"], "client_secret": created["client_secret"]},
    )

    assert token.status_code == 200, token.json
    me = client.get(
        f"{API}/auth/me", headers={"Authorization": f"Bearer {token.json['access_token']}"}
    )
    assert me.json["agency_id"] == world.agency_x.id
    # The secret is shown once: reading the client later never returns it.
    again = client.get(f"{API}/cad-clients/{created['id']}", headers=world.headers["admin"])
    assert "client_secret" not in again.json


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_agencies(client, world, role):
    headers = world.headers[role]

    listed = ids_of(client.get(f"{API}/agencies", headers=headers))

    assert sorted(listed) == sorted([world.agency_x.id, world.agency_y.id])
    assert_found(
        client.get(f"{API}/agencies/{world.agency_y.id}", headers=headers), world.agency_y.id
    )


@pytest.mark.parametrize("role", ROLES)
def test_organization_reads(client, world, role):
    visible = {
        "admin": {"org_a", "org_b"},
        "manager": {"org_a"},
        "officer": {"org_a"},
        "cad": {"org_a"},
        "outside_officer": set(),
        "outside_cad": set(),
    }[role]
    headers = world.headers[role]

    listed = ids_of(client.get(f"{API}/organizations", headers=headers))

    assert sorted(listed) == sorted(getattr(world, name).id for name in visible)
    for name in ("org_a", "org_b"):
        response = client.get(f"{API}/organizations/{getattr(world, name).id}", headers=headers)
        if name in visible:
            assert_found(response, getattr(world, name).id)
        else:
            assert_problem(response, 404)


# ---------------------------------------------------------------------------------------------
# Contacts: call order, and visibility with their owner


@pytest.mark.parametrize("role", ["admin", "manager", "officer", "cad"])
def test_facility_contacts_in_call_order(client, make, world, role):
    facility = world.facility["a"]
    make.contact(facility_id=world.facility["b"].id, call_order=1, available_24_7=True)
    make.contact(organization_id=world.org_a.id, name="Aaron Corporate", call_order=1)
    second = make.contact(facility_id=facility.id, name="Alice", call_order=2)
    first_office = make.contact(facility_id=facility.id, name="Aaron Office", call_order=1)
    last = make.contact(facility_id=facility.id, name="Abe", call_order=3, available_24_7=True)
    first_24_7 = make.contact(
        facility_id=facility.id, name="Zed", call_order=1, available_24_7=True
    )
    # world.contact["a"]: "Liaison a", call_order 1, not 24/7.
    # Round-the-clock contacts first (they answer at 3 a.m.), then the facility's call order.
    expected = [
        first_24_7.id,
        last.id,
        first_office.id,
        world.contact["a"].id,
        second.id,
    ]
    path = f"{API}/facilities/{facility.id}/contacts"
    headers = world.headers[role]

    response = client.get(path, headers=headers)

    assert ids_of(response) == expected
    assert [c["call_order"] for c in response.json["items"]] == [1, 3, 1, 1, 2]
    assert response.json["items"][0]["available_24_7"] is True
    pages = [client.get(f"{path}?per_page=2&page={n}", headers=headers).json for n in (1, 2, 3)]
    assert [page["total"] for page in pages] == [5, 5, 5]
    assert [c["id"] for page in pages for c in page["items"]] == expected


@pytest.mark.parametrize("role", ROLES)
def test_organization_and_agency_contacts_follow_their_owner(client, make, world, role):
    org_contact = make.contact(organization_id=world.org_a.id, name="Corporate security")
    agency_contact = make.contact(agency_id=world.agency_x.id, name="Watch commander")
    other_agency_contact = make.contact(agency_id=world.agency_y.id, name="Other desk")
    visible = {
        "admin": {"org", "agency_x", "agency_y"},
        # A manager sees the liaisons of agencies the organization has an MOU with.
        "manager": {"org", "agency_x"},
        "officer": {"org", "agency_x"},
        "cad": {"org", "agency_x"},
        "outside_officer": {"agency_y"},
        "outside_cad": {"agency_y"},
    }[role]
    records = {"org": org_contact, "agency_x": agency_contact, "agency_y": other_agency_contact}

    for name, contact in records.items():
        response = client.get(f"{API}/contacts/{contact.id}", headers=world.headers[role])
        if name in visible:
            assert_found(response, contact.id)
        else:
            assert_problem(response, 404)


# ---------------------------------------------------------------------------------------------
# The access tables: registry.access states who reads and writes which record types in two
# tables in its docstring. These are the same tables; the first test fails when the two differ,
# and the matrix below checks every cell against the running API in a world where the
# conditions give different answers.

READS, WRITES, TABLES = access_table.READS, access_table.WRITES, access_table.TABLES


def test_the_tables_in_registry_access_are_the_tests_tables():
    assert access_table.differences(registry.access.__doc__, TABLES) == []
    used = {cell for table in TABLES.values() for row in table.values() for cell in row}
    # Each condition has a meaning here (access_table.holds) and in the docstring's legend.
    assert used <= access_table.CONDITIONS
    for condition in used - {"—"}:
        assert f"- {condition}: " in registry.access.__doc__, condition


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            ("| facility             | all           | own org ", "| facility | all | all "),
            "own org",
        ),
        (("| user                 | all   | refused ", "| user | all | — "), "user for"),
        (("| door code ", "| door codes "), "door code"),
        (("| auditor |\n| --", "| cad |\n| --"), "columns"),
        (("Writes:", "Changes:"), "no writes table"),
    ],
    ids=["a cell", "a write cell", "a row", "a column", "a table"],
)
def test_a_table_that_drifts_from_the_tests_is_caught(change, named):
    old, new = change
    assert old in registry.access.__doc__
    drifted = registry.access.__doc__.replace(old, new, 1)

    problems = access_table.differences(drifted, TABLES)

    assert problems, "the drifted table was not noticed"
    assert any(named in problem for problem in problems), problems


def test_records_no_one_writes_have_no_write_routes(client):
    spec = client.get(f"{API}/swagger.json").get_json()
    for prefix in ("/notifications", "/audit-events", "/preplans"):
        for path, operations in spec["paths"].items():
            if path.startswith(prefix):
                writes = {"post", "patch", "put", "delete"} & set(operations)
                # The lookup is a POST only to keep a caller's number out of URLs.
                assert writes <= ({"post"} if path == "/preplans/lookup" else set()), path


# The world for the tables: organizations A and B, agencies X, Y and Z. X shares A's data (an
# MOU in force with scope data_sharing) and holds B's keys (an MOU with key_holding only); Y
# shares B's; Z has only an MOU with A that A proposed and Z has not accepted, and a live
# break-glass incident at A's facility.
CALLERS = {
    "admin": access_table.Caller("admin"),
    "manager_a": access_table.Caller("facility_manager", organization="A"),
    "officer_x": access_table.Caller("agency_user", agency="X"),
    "cad_x": access_table.Caller("cad", agency="X"),
    "officer_z": access_table.Caller("agency_user", agency="Z"),
    "cad_z": access_table.Caller("cad", agency="Z"),
    "auditor": access_table.Caller("auditor"),
}
RELATIONS = access_table.Relations(
    facilities={"fa": "A", "fb": "B"},
    mous={"ax": ("A", "X"), "by": ("B", "Y"), "az": ("A", "Z"), "bx": ("B", "X")},
    sharing={("X", "A"), ("Y", "B")},
    key_holding={("X", "B")},
    break_glass={("Z", "fa")},
)
# record type: (item path, a valid PATCH or None when the type has no PATCH)
MATRIX_PATHS = {
    "facility": ("/facilities/{}", {"hazards": "Propane tanks"}),
    "access point": ("/access-points/{}", {"notes": "Knox box"}),
    "tactical point": ("/tactical-points/{}", {"notes": "Enter from the north"}),
    "address alias": ("/address-aliases/{}", {"address": "1 Landmark Plaza"}),
    "floor plan": ("/floor-plans/{}", {"title": "Ground floor"}),
    "facility contact": ("/contacts/{}", {"role": "Night manager"}),
    "organization contact": ("/contacts/{}", {"role": "Night manager"}),
    "agency contact": ("/contacts/{}", {"role": "Watch commander"}),
    "MOU": ("/mous/{}", {"title": "Renewed"}),
    "MOU document": ("/mou-documents/{}", {"title": "Signed copy"}),
    "organization": ("/organizations/{}", {"website": "https://example.org"}),
    "agency": ("/agencies/{}", {"agency_type": "fire"}),
    "street alias": ("/street-aliases/{}", {"alias": "Ave of the Americas"}),
    "incident": ("/incidents/{}", {"notes": "Units on scene"}),
    "user": ("/users/{}", {"full_name": "Pat Doe"}),
    "CAD client": ("/cad-clients/{}", {"name": "Renamed CAD"}),
    "pre-plan": ("/preplans/{}", None),
    "correction report": ("/corrections/{}", {"response": "Checked on site"}),
    "exercise": ("/exercises/{}", {"notes": "Debrief held"}),
    "after-action finding": ("/findings/{}", {"text": "The radios failed indoors"}),
    "subscription": ("/subscriptions/{}", {"description": "Night desk"}),
    "delivery": ("/notification-deliveries/{}", None),
}
# Record types changed by a step (a POST on the record) rather than a PATCH.
MATRIX_STEPS = {"correction report": "/answer"}
# Record types read through a list only, and types with a top-level list to check as well.
MATRIX_LISTS = {
    "facility": "/facilities",
    "MOU": "/mous",
    "organization": "/organizations",
    "agency": "/agencies",
    "incident": "/incidents",
    "user": "/users",
    "CAD client": "/cad-clients",
    "notification": "/notifications",
    "correction report": "/corrections",
    "exercise": "/exercises",
    "subscription": "/subscriptions",
    "delivery": "/notification-deliveries",
    "audit event": "/audit-events?action=address_alias.create",
}


def _stored_file(app, model, **fields):
    sha = hashlib.sha256(repr(fields).encode()).hexdigest()
    with app.app_context(), transaction.session_scope() as session:
        session.add(FileBlob(sha256=sha, size=16, media_type="application/pdf", preview_size=8))
        record = model(revision=1, file_name="x.pdf", uploaded_by="user:1", sha256=sha, **fields)
        session.add(record)
        session.flush()
        return record.id


def _insert(app, record) -> int:
    with app.app_context(), transaction.session_scope() as session:
        session.add(record)
        session.flush()
        return record.id


@pytest.fixture
def town(app, client, make):
    """Every record type twice or more, each entry {record type: {name: (id, Record)}}."""
    R = access_table.Record  # noqa: N806 - a constructor, read as one
    org = {"A": make.organization(), "B": make.organization()}
    agency = {name: make.agency(state="IL") for name in "XYZ"}
    facility = {"fa": make.facility(org["A"]), "fb": make.facility(org["B"])}
    mou = {
        "ax": make.mou(org["A"], agency["X"]),
        "by": make.mou(org["B"], agency["Y"]),
        "az": make.mou(org["A"], agency["Z"], status="proposed"),
        "bx": make.mou(org["B"], agency["X"], scopes=("key_holding",)),
    }
    accounts = {
        "admin": make.user("admin"),
        "manager_a": make.user("facility_manager", organization=org["A"]),
        "manager_b": make.user("facility_manager", organization=org["B"]),
        "officer_x": make.user("agency_user", agency=agency["X"]),
        "cad_x": make.cad_client(agency["X"]),
        "cad_y": make.cad_client(agency["Y"]),
        "officer_z": make.user("agency_user", agency=agency["Z"]),
        "cad_z": make.cad_client(agency["Z"]),
        "auditor": make.user("auditor"),
    }
    headers = {name: make.headers(account) for name, account in accounts.items()}
    records: dict[str, dict] = {kind: {} for kind in READS}
    for name, f in facility.items():
        owner = RELATIONS.facilities[name]
        part = R("", owner, facility=name)
        records["facility"][name] = (f.id, R("facility", owner, facility=name))
        records["pre-plan"][name] = (f.id, R("pre-plan", owner, facility=name))
        point = make.access_point(f)
        records["access point"][name] = (point.id, part)
        records["door code"][name] = (point.id, part)
        records["tactical point"][name] = (make.tactical_point(f).id, part)
        records["facility contact"][name] = (make.contact(facility_id=f.id).id, part)
        plan = _stored_file(
            app,
            FloorPlan,
            facility_id=f.id,
            building="Main",
            level_number=1,
            level_label="L1",
            title="Plan",
        )
        records["floor plan"][name] = (plan, part)
        alias = client.post(
            f"{API}/facilities/{f.id}/address-aliases",
            json={"address": "1 Landmark Plaza"},
            headers=headers["admin"],
        )
        assert alias.status_code == 201, alias.json
        records["address alias"][name] = (alias.json["id"], part)
    for name, o in org.items():
        records["organization"][name] = (o.id, R("organization", name))
        contact = make.contact(organization_id=o.id)
        records["organization contact"][name] = (contact.id, R("", name))
        note = Notification(organization_id=o.id, kind="facility_review", message="M", actor="x")
        records["notification"][name] = (_insert(app, note), R("", name))
    for name in "XZ":
        note = Notification(agency_id=agency[name].id, kind="mou_proposed", message="M", actor="x")
        records["notification"][name] = (_insert(app, note), R("", agency=name))
    # A subscription of A, B, X and Z each, and a delivery to each.
    for name, owner, record in (
        ("A", {"organization_id": org["A"].id}, R("", "A")),
        ("B", {"organization_id": org["B"].id}, R("", "B")),
        ("X", {"agency_id": agency["X"].id}, R("", agency="X")),
        ("Z", {"agency_id": agency["Z"].id}, R("", agency="Z")),
    ):
        subscription = Subscription(
            channel="email", email="desk@example.org", kinds=[], created_by="x", **owner
        )
        subscription_id = _insert(app, subscription)
        records["subscription"][name] = (subscription_id, record)
        note = _insert(app, Notification(kind="mou_accepted", message="M", actor="x", **owner))
        delivery = Delivery(notification_id=note, subscription_id=subscription_id)
        records["delivery"][name] = (_insert(app, delivery), record)
    for name, a in agency.items():
        records["agency"][name] = (a.id, R("agency", agency=name))
        records["agency contact"][name] = (make.contact(agency_id=a.id).id, R("", agency=name))
    for name in "XY":
        alias = client.post(
            f"{API}/agencies/{agency[name].id}/street-aliases",
            json={"alias": "Ave of the Americas", "street": "6th Ave"},
            headers=headers["admin"],
        )
        assert alias.status_code == 201, alias.json
        records["street alias"][name] = (alias.json["id"], R("", agency=name))
    for name, m in mou.items():
        owner, partner = RELATIONS.mous[name]
        records["MOU"][name] = (m.id, R("MOU", owner, partner, mou=name))
        document = _stored_file(app, MouDocument, mou_id=m.id, title=f"Signed {name}")
        records["MOU document"][name] = (document, R("", owner, partner, mou=name))
    for name, agency_name, facility_name, break_glass in (
        ("ix", "X", "fa", False),
        ("iy", "Y", "fb", False),
        ("iz", "Z", "fa", True),
    ):
        incident = Incident(
            agency_id=agency[agency_name].id,
            cad_incident_number=f"INC-{name}",
            incident_type="fire",
            facility_id=facility[facility_name].id,
            match_status="not_shared" if break_glass else "matched",
            candidates=[],
            opened_by="cad:1",
            status="open",
            break_glass=break_glass,
            access_expires_at=datetime.now(UTC) + timedelta(hours=2) if break_glass else None,
        )
        records["incident"][name] = (
            _insert(app, incident),
            R("", agency=agency_name, facility=facility_name),
        )
    for name, agency_name, facility_name in (
        ("cx", "X", "fa"),
        ("cy", "Y", "fb"),
        ("cz", "Z", "fa"),
    ):
        correction = Correction(
            facility_id=facility[facility_name].id,
            item_kind="facility",
            item_id=facility[facility_name].id,
            item_name="Store",
            discrepancy="wrong",
            problem="The address is wrong",
            agency_id=agency[agency_name].id,
            reported_by="cad:1",
            reporter_name="cad-1",
            status="open",
        )
        owner = RELATIONS.facilities[facility_name]
        records["correction report"][name] = (
            _insert(app, correction),
            R("", owner, agency=agency_name, facility=facility_name),
        )
    exercise_ids = {}
    for name, agency_name, facility_name in (("ex", "X", "fa"), ("ey", "Y", "fb")):
        exercise = Exercise(
            facility_id=facility[facility_name].id,
            kind="drill",
            scenario="active_assailant",
            held_on=today(),
            title="Drill",
            recorded_by="user:1",
            agency_rows=[ExerciseAgency(agency_id=agency[agency_name].id)],
        )
        exercise_ids[name] = _insert(app, exercise)
        owner = RELATIONS.facilities[facility_name]
        part = R("", owner, agency=agency_name, facility=facility_name)
        records["exercise"][name] = (exercise_ids[name], part)
        finding = Finding(
            exercise_id=exercise_ids[name],
            facility_id=facility[facility_name].id,
            text="Too few radios",
            recorded_by="user:1",
        )
        records["after-action finding"][f"f{name}"] = (_insert(app, finding), part)
    # A finding of agency Z's break-glass incident at A's facility.
    incident_z = records["incident"]["iz"][0]
    finding = Finding(
        incident_id=incident_z, facility_id=facility["fa"].id, text="Door code worked"
    )
    finding.recorded_by = "cad:1"
    records["after-action finding"]["fiz"] = (
        _insert(app, finding),
        R("", "A", agency="Z", facility="fa"),
    )
    for name in ("manager_a", "manager_b"):
        records["user"][name] = (accounts[name].id, R(""))
    for name, agency_name in (("cad_x", "X"), ("cad_y", "Y")):
        records["CAD client"][name] = (accounts[name].id, R("", agency=agency_name))
    events = client.get(f"{API}{MATRIX_LISTS['audit event']}", headers=headers["admin"]).json
    by_facility = {f.id: name for name, f in facility.items()}
    for event in events["items"]:
        name = by_facility[event["facility_id"]]
        records["audit event"][name] = (event["id"], R("", facility=name))
    for kind, named in records.items():
        records[kind] = {
            name: (record_id, replace(record, kind=kind))
            for name, (record_id, record) in named.items()
        }
    return SimpleNamespace(headers=headers, records=records)


def _listed(client, path, headers) -> tuple[int, set[int]]:
    joiner = "&" if "?" in path else "?"
    response = client.get(f"{API}{path}{joiner}per_page=100", headers=headers)
    if response.status_code != 200:
        return response.status_code, set()
    return 200, {item["id"] for item in response.json["items"]}


def _read(client, kind: str, record_id: int, headers) -> int | None:
    """The status of reading one record (revealing, for a door code); None: listed only."""
    if kind == "door code":
        body = {"reason": "Checking the access tables"}
        return client.post(
            f"{API}/access-points/{record_id}/reveal", json=body, headers=headers
        ).status_code
    if kind in MATRIX_PATHS:
        return client.get(
            API + MATRIX_PATHS[kind][0].format(record_id), headers=headers
        ).status_code
    return None


def _expected_read(caller, record) -> int:
    expected = access_table.read_status(caller, record, RELATIONS, READS)
    if record.kind == "door code" and expected == 404:
        # A reveal refused to a reader of the access point is a 403, as for any visible record.
        point = replace(record, kind="access point")
        if access_table.read_status(caller, point, RELATIONS, READS) == 200:
            return 403
    return expected


@pytest.mark.parametrize("kind", list(READS))
def test_each_role_reads_and_writes_as_the_tables_say(client, town, kind):
    """Every cell of the tables for one record type, in a world where the conditions differ:
    each caller asks for each record of the type (and its list, where there is one), then tries
    to change it."""
    records, mismatches = town.records[kind], []
    for caller_name, caller in CALLERS.items():
        headers = town.headers[caller_name]
        expected = {name: _expected_read(caller, record) for name, (_, record) in records.items()}
        if kind in MATRIX_LISTS:
            status, listed = _listed(client, MATRIX_LISTS[kind], headers)
            refused = READS[kind][access_table.COLUMNS.index(caller.role)] == "refused"
            wanted = {records[name][0] for name, answer in expected.items() if answer == 200}
            world = {record_id for record_id, _ in records.values()}
            if (status, listed & world) != (403 if refused else 200, wanted):
                mismatches.append(f"{caller_name} lists {listed & world}, not {wanted}")
        for name, (record_id, _record) in records.items():
            status = _read(client, kind, record_id, headers)
            if status is not None and status != expected[name]:
                mismatches.append(f"{caller_name} reads {name}: {status}, not {expected[name]}")
    if kind in MATRIX_PATHS and MATRIX_PATHS[kind][1] is not None:
        path_template, change = MATRIX_PATHS[kind]
        for caller_name, caller in CALLERS.items():
            for name, (record_id, record) in records.items():
                path = API + path_template.format(record_id)
                etag = client.get(path, headers=town.headers["admin"]).headers["ETag"]
                headers = {**town.headers[caller_name], "If-Match": etag}
                if kind in MATRIX_STEPS:
                    response = client.post(path + MATRIX_STEPS[kind], json=change, headers=headers)
                else:
                    response = client.patch(path, json=change, headers=headers)
                # Where a party may act on an MOU, only a proposal's terms still change; an
                # active MOU's are fixed (409: registry/mous/lifecycle.py).
                success = 409 if kind == "MOU" and name != "az" else 200
                expected = access_table.write_status(
                    caller, record, RELATIONS, READS, WRITES, success
                )
                if response.status_code != expected:
                    mismatches.append(
                        f"{caller_name} changes {name}: {response.status_code}, not {expected}"
                    )
    assert mismatches == []
