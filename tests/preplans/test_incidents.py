"""Incidents (POST/GET/PATCH /incidents): a CAD event opened by an agency, recording who looked up
which facility, what matched, and when it was closed.

The cast is incident_cast's `world`: organization A with facility `store` at 123 N Main St, Ste 4
and `annex` next door; agency X shares all of A (active data-sharing MOU); agency Y shares nothing.
"""

from types import SimpleNamespace

import pytest

from registry.incidents.models import Incident
from tests.conftest import assert_problem, count, fetch
from tests.preplans import incident_cast
from tests.preplans.incident_cast import INCIDENTS, STORE_ADDRESS, open_incident, opened

world = incident_cast.world  # the fixture


def listed(client, headers, **params) -> list[int]:
    response = client.get(INCIDENTS, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["total"] == len(body["items"])
    return [item["id"] for item in body["items"]]


# --- opening --------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", ["cad_x", "officer_x"])
def test_an_agency_opens_an_incident_and_gets_the_preplan(app, client, world, caller):
    response = open_incident(client, world.headers[caller], notes="Caller reports shots fired")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["ETag"]
    body = response.json
    account = world.cad_x if caller == "cad_x" else world.officer_x
    subject = f"{'cad' if caller == 'cad_x' else 'user'}:{account.id}"
    assert body["cad_incident_number"] == "SPD-2026-000001"
    assert body["incident_type"] == "active assailant"
    assert body["address"] == STORE_ADDRESS
    assert body["notes"] == "Caller reports shots fired"
    assert body["agency_id"] == world.agency_x.id
    assert body["facility_id"] == world.store.id
    assert body["match_status"] == "matched"
    assert body["status"] == "open"
    assert body["opened_by"] == subject
    assert body["opened_at"]
    assert body["closed_at"] is None
    assert body["closed_by"] is None
    # The lookup, with the pre-plan, in the same answer.
    lookup = body["lookup"]
    assert lookup["status"] == "matched"
    assert lookup["facility_id"] == world.store.id
    assert lookup["preplan"]["facility"]["id"] == world.store.id
    assert lookup["preplan"]["facility"]["hazards"] == "Propane cages at the loading dock"
    assert lookup["candidates"][0]["facility_id"] == world.store.id
    # And the row says the same.
    row = fetch(app, Incident, body["id"])
    assert row.agency_id == world.agency_x.id
    assert row.facility_id == world.store.id
    assert row.match_status == "matched"
    assert row.opened_by == subject
    assert row.status == "open"
    assert row.address == STORE_ADDRESS
    assert row.candidates[0]["facility_id"] == world.store.id
    assert row.candidates[0]["score"] == lookup["candidates"][0]["score"]
    assert row.candidates[0]["reasons"] == lookup["candidates"][0]["reasons"]


def test_an_incident_by_position_records_the_coordinates(app, client, world):
    body = opened(client, world.headers["cad_x"], lat=39.8001, lon=-89.6)
    assert body["match_status"] == "matched"
    assert body["facility_id"] == world.store.id
    assert body["address"] is None
    assert body["lookup"]["candidates"][0]["distance_m"] == pytest.approx(11.1, abs=0.2)
    row = fetch(app, Incident, body["id"])
    assert (row.lat, row.lon) == (39.8001, -89.6)


def test_an_incident_by_place_name(client, world):
    body = opened(client, world.headers["cad_x"], name="main street store", city="springfield")
    assert body["match_status"] == "matched"
    assert body["facility_id"] == world.store.id


def test_an_ambiguous_match_stores_no_facility(app, client, make, world):
    # A second tenant at 123 N Main St (Suite 9): "123 N Main St" alone names either.
    tenant = make.facility(
        world.org, name="Tenant", address_line1="123 N Main St", address_line2="Suite 9"
    )
    body = opened(client, world.headers["cad_x"], address="123 N Main St, Springfield IL 62701")
    assert body["match_status"] == "ambiguous"
    assert body["facility_id"] is None
    assert body["lookup"]["status"] == "ambiguous"
    assert body["lookup"]["preplan"] is None
    row = fetch(app, Incident, body["id"])
    assert row.facility_id is None
    assert row.match_status == "ambiguous"
    assert {c["facility_id"] for c in row.candidates} == {world.store.id, tenant.id}


def test_no_match_is_recorded_too(app, client, world):
    body = opened(client, world.headers["cad_x"], address="9 Nowhere Ln, Springfield IL")
    assert (body["match_status"], body["facility_id"]) == ("no_match", None)
    row = fetch(app, Incident, body["id"])
    assert (row.match_status, row.facility_id, row.candidates) == ("no_match", None, [])


@pytest.mark.parametrize("caller", ["manager", "admin"])
def test_only_agencies_open_incidents(client, world, caller):
    assert_problem(open_incident(client, world.headers[caller]), 403)
    assert count(client.application, Incident) == 0


def test_opening_needs_a_token(client, world):
    assert_problem(open_incident(client, {}), 401)
    assert count(client.application, Incident) == 0


def test_a_cad_retry_is_409_and_leaves_one_row(app, client, world):
    first = opened(client, world.headers["cad_x"], number="SPD-1")
    # The same number again, from another client of the same agency.
    body = assert_problem(open_incident(client, world.headers["officer_x"], number="SPD-1"), 409)
    assert "cad_incident_number" in str(body.get("errors")), body
    assert count(app, Incident) == 1
    assert count(app, Incident, Incident.cad_incident_number == "SPD-1") == 1
    assert listed(client, world.headers["cad_x"]) == [first["id"]]


def test_the_same_number_from_another_agency_is_its_own_incident(app, client, world):
    x = opened(client, world.headers["cad_x"], number="2026-1")
    y = opened(client, world.headers["cad_y"], number="2026-1")
    assert x["id"] != y["id"]
    assert (x["agency_id"], y["agency_id"]) == (world.agency_x.id, world.agency_y.id)
    assert count(app, Incident, Incident.cad_incident_number == "2026-1") == 2


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"cad_incident_number": "A-1", "incident_type": "fire"}, "address"),
        ({"cad_incident_number": "A-1", "incident_type": "fire", "address": ""}, "address"),
        ({"cad_incident_number": "A-1", "incident_type": "fire", "address": None}, "address"),
        ({"cad_incident_number": "A-1", "incident_type": "fire", "lat": 39.8}, "lat"),
        ({"cad_incident_number": "A-1", "incident_type": "fire", "lon": -89.6}, "lat"),
        ({"cad_incident_number": "A-1", "incident_type": "fire", "lat": 39.8, "lon": None}, "lat"),
        ({"incident_type": "fire", "address": STORE_ADDRESS}, "cad_incident_number"),
        (
            {"cad_incident_number": "  ", "incident_type": "fire", "address": STORE_ADDRESS},
            "cad_incident_number",
        ),
        ({"cad_incident_number": "A-1", "address": STORE_ADDRESS}, "incident_type"),
        (
            {
                "cad_incident_number": "A-1",
                "incident_type": "fire",
                "address": STORE_ADDRESS,
                "priority": 1,
            },
            "priority",
        ),
        (
            {
                "cad_incident_number": "A-1",
                "incident_type": "fire",
                "address": STORE_ADDRESS,
                "facility_id": 1,
            },
            "facility_id",
        ),
        (
            {
                "cad_incident_number": "A-1",
                "incident_type": "fire",
                "address": STORE_ADDRESS,
                "status": "closed",
            },
            "status",
        ),
        (
            {
                "cad_incident_number": "A-1",
                "incident_type": "fire",
                "address": STORE_ADDRESS,
                "agency_id": 1,
            },
            "agency_id",
        ),
        (
            {
                "cad_incident_number": "A-1",
                "incident_type": "fire",
                "address": STORE_ADDRESS,
                "radius_m": 9000,
            },
            "radius_m",
        ),
        ({"cad_incident_number": "A-1", "incident_type": "fire", "phone": "nope"}, "phone"),
        (
            {"cad_incident_number": "A" * 51, "incident_type": "fire", "address": STORE_ADDRESS},
            "cad_incident_number",
        ),
    ],
)
def test_bad_input_is_422_and_no_row(app, client, world, payload, field):
    response = client.post(INCIDENTS, json=payload, headers=world.headers["cad_x"])
    assert_problem(response, 422, field)
    assert count(app, Incident) == 0


@pytest.mark.parametrize(
    ("address", "reason"),
    [("Main St & 5th Ave", "intersection"), ("PO Box 12, Springfield IL", "PO box")],
)
def test_an_address_the_lookup_cannot_use_still_records_the_incident(
    app, client, world, address, reason
):
    # Attacks are often reported at an intersection: the incident is recorded regardless,
    # with no facility and the reason the address was not used.
    response = client.post(
        INCIDENTS,
        json={"cad_incident_number": "X-9", "incident_type": "fire", "address": address},
        headers=world.headers["cad_x"],
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["match_status"] == "no_match" and body["facility_id"] is None
    assert reason in body["lookup"]["notes"][0]
    assert fetch(app, Incident, body["id"]).address == address


def test_an_intersection_with_coordinates_uses_the_coordinates(app, client, world):
    response = client.post(
        INCIDENTS,
        json={
            "cad_incident_number": "X-10",
            "incident_type": "active assailant",
            "address": "Main St & 5th Ave",
            "lat": world.store.lat,
            "lon": world.store.lon,
        },
        headers=world.headers["cad_x"],
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["match_status"] == "matched" and body["facility_id"] == world.store.id
    assert "intersection" in body["lookup"]["notes"][0]


def test_a_body_that_is_not_json_is_refused(app, client, world):
    response = client.post(INCIDENTS, data="address=1 Main St", headers=world.headers["cad_x"])
    assert_problem(response, 415)
    assert count(app, Incident) == 0


# --- reading --------------------------------------------------------------------------------


@pytest.fixture
def incidents(client, world):
    """Two incidents of agency X (store, annex), one of agency Y (store, not shared)."""
    return SimpleNamespace(
        x_store=opened(client, world.headers["cad_x"], number="X-1"),
        x_annex=opened(
            client, world.headers["officer_x"], number="X-2", address="125 N Main St, 62701"
        ),
        y_store=opened(client, world.headers["cad_y"], number="Y-1"),
    )


def test_an_agency_lists_only_its_own_incidents(client, world, incidents):
    assert incidents.x_annex["facility_id"] == world.annex.id
    x_ids = [incidents.x_annex["id"], incidents.x_store["id"]]  # newest first
    for caller in ("cad_x", "officer_x"):
        assert listed(client, world.headers[caller]) == x_ids
    for caller in ("cad_y", "officer_y"):
        assert listed(client, world.headers[caller]) == [incidents.y_store["id"]]
    assert sorted(listed(client, world.headers["admin"])) == sorted(
        [*x_ids, incidents.y_store["id"]]
    )


def test_another_agencys_incident_is_404(client, world, incidents):
    url = f"{INCIDENTS}/{incidents.y_store['id']}"
    for caller in ("cad_x", "officer_x"):
        body = assert_problem(client.get(url, headers=world.headers[caller]), 404)
        assert "Y-1" not in str(body)
    response = client.get(url, headers=world.headers["officer_y"])
    assert response.status_code == 200
    assert response.json["cad_incident_number"] == "Y-1"
    assert "lookup" not in response.json
    assert response.headers["ETag"]


def test_list_filters(client, world, incidents):
    headers = world.headers["cad_x"]
    assert listed(client, headers, cad_incident_number="X-2") == [incidents.x_annex["id"]]
    assert listed(client, headers, facility_id=world.store.id) == [incidents.x_store["id"]]
    # Another agency's number is not found through a filter either.
    assert listed(client, headers, cad_incident_number="Y-1") == []
    assert listed(client, headers, status="closed") == []
    assert_problem(client.get(INCIDENTS, query_string={"status": "gone"}, headers=headers), 422)


def test_a_facility_manager_sees_incidents_at_its_own_facilities(client, make, world, incidents):
    # Agency Y's incident too: it read the store's pre-plan through break-glass.
    assert listed(client, world.headers["manager"]) == [
        incidents.y_store["id"],
        incidents.x_annex["id"],
        incidents.x_store["id"],
    ]
    response = client.get(
        f"{INCIDENTS}/{incidents.x_store['id']}", headers=world.headers["manager"]
    )
    assert response.status_code == 200
    assert response.json["facility_id"] == world.store.id
    # Another organization's manager sees none of them.
    assert listed(client, world.headers["other_manager"]) == []
    assert_problem(
        client.get(
            f"{INCIDENTS}/{incidents.x_store['id']}", headers=world.headers["other_manager"]
        ),
        404,
    )


# --- closing --------------------------------------------------------------------------------


def test_close_with_if_match(app, client, world, incidents):
    url = f"{INCIDENTS}/{incidents.x_store['id']}"
    headers = world.headers["officer_x"]
    etag = client.get(url, headers=headers).headers["ETag"]
    response = client.patch(url, json={"status": "closed"}, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["status"] == "closed"
    assert body["closed_at"]
    assert body["closed_by"] == f"user:{world.officer_x.id}"
    assert response.headers["ETag"] != etag
    row = fetch(app, Incident, incidents.x_store["id"])
    assert row.status == "closed"
    assert row.closed_by == f"user:{world.officer_x.id}"
    assert row.closed_at is not None
    assert row.closed_at.isoformat() == body["closed_at"]
    # Everything else is as opened.
    assert row.opened_by == f"cad:{world.cad_x.id}"
    assert row.facility_id == world.store.id
    assert listed(client, headers, status="closed") == [incidents.x_store["id"]]
    # The old tag is stale now.
    stale = client.patch(url, json={"notes": "late"}, headers={**headers, "If-Match": etag})
    assert_problem(stale, 412)


def test_reopening_clears_closed_fields(app, client, world, incidents):
    url = f"{INCIDENTS}/{incidents.x_store['id']}"
    headers = world.headers["cad_x"]
    etag = client.get(url, headers=headers).headers["ETag"]
    closed = client.patch(url, json={"status": "closed"}, headers={**headers, "If-Match": etag})
    assert closed.json["closed_by"] == f"cad:{world.cad_x.id}"
    reopened = client.patch(
        url, json={"status": "open"}, headers={**headers, "If-Match": closed.headers["ETag"]}
    )
    assert reopened.status_code == 200
    assert (reopened.json["status"], reopened.json["closed_at"], reopened.json["closed_by"]) == (
        "open",
        None,
        None,
    )


def test_close_without_if_match_is_428(app, client, world, incidents):
    url = f"{INCIDENTS}/{incidents.x_store['id']}"
    response = client.patch(url, json={"status": "closed"}, headers=world.headers["cad_x"])
    assert_problem(response, 428)
    row = fetch(app, Incident, incidents.x_store["id"])
    assert (row.status, row.closed_at, row.closed_by) == ("open", None, None)


def test_another_agency_cannot_close_it(app, client, world, incidents):
    url = f"{INCIDENTS}/{incidents.x_store['id']}"
    etag = client.get(url, headers=world.headers["cad_x"]).headers["ETag"]
    for caller in ("cad_y", "officer_y"):
        response = client.patch(
            url, json={"status": "closed"}, headers={**world.headers[caller], "If-Match": etag}
        )
        assert_problem(response, 404)
    assert fetch(app, Incident, incidents.x_store["id"]).status == "open"


def test_a_facility_manager_cannot_close_it(app, client, world, incidents):
    url = f"{INCIDENTS}/{incidents.x_store['id']}"
    headers = world.headers["manager"]
    etag = client.get(url, headers=headers).headers["ETag"]
    response = client.patch(url, json={"status": "closed"}, headers={**headers, "If-Match": etag})
    assert_problem(response, 403)
    assert fetch(app, Incident, incidents.x_store["id"]).status == "open"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cad_incident_number": "X-999"}, "cad_incident_number"),
        ({"address": "9 Other St, Springfield IL"}, "address"),
        ({"facility_id": 1}, "facility_id"),
        ({"match_status": "matched"}, "match_status"),
        ({"agency_id": 1}, "agency_id"),
        ({"closed_by": "user:1"}, "closed_by"),
        ({"status": "resolved"}, "status"),
        ({"status": "closed", "incident_type": "fire"}, "incident_type"),
    ],
)
def test_patch_cannot_rewrite_the_record(app, client, world, incidents, change, field):
    url = f"{INCIDENTS}/{incidents.x_store['id']}"
    headers = world.headers["cad_x"]
    etag = client.get(url, headers=headers).headers["ETag"]
    response = client.patch(url, json=change, headers={**headers, "If-Match": etag})
    assert_problem(response, 422, field)
    row = fetch(app, Incident, incidents.x_store["id"])
    assert (row.cad_incident_number, row.address, row.status) == ("X-1", STORE_ADDRESS, "open")
    assert row.incident_type == "active assailant"


def test_patch_notes(app, client, world, incidents):
    url = f"{INCIDENTS}/{incidents.x_store['id']}"
    headers = world.headers["cad_x"]
    etag = client.get(url, headers=headers).headers["ETag"]
    response = client.patch(
        url, json={"notes": "Units on scene"}, headers={**headers, "If-Match": etag}
    )
    assert response.status_code == 200
    assert response.json["notes"] == "Units on scene"
    assert response.json["status"] == "open"
    assert fetch(app, Incident, incidents.x_store["id"]).notes == "Units on scene"


def test_incidents_cannot_be_deleted(app, client, world):
    # The record of who looked at which pre-plan stays; closing is a PATCH.
    incident = opened(client, world.headers["cad_x"], number="KEEP-1")
    path = f"{INCIDENTS}/{incident['id']}"
    etag = client.get(path, headers=world.headers["cad_x"]).headers["ETag"]
    response = client.delete(path, headers={**world.headers["cad_x"], "If-Match": etag})
    assert_problem(response, 405)
    assert fetch(app, Incident, incident["id"]) is not None
