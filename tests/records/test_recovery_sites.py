"""Recovery sites in full (issue 12, item 6): reunification sites and family assistance centres
carry an address (they are often off site), a capacity, who opens them and whom to call; the
pre-plan (JSON and print) and an incident show them, an incident only to those who may read the
facility's pre-plan now.

The cast is incident_cast's `world`: organization A's store at 123 N Main St; agency X shares all
of A by MOU; agency Y shares nothing (its CAD gets break-glass by opening an incident there; its
officer does not, Y having no jurisdiction on record).
"""

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from registry import transaction
from registry.audit.models import AuditEvent
from registry.facilities.models import TacticalPoint
from registry.history import FacilityHistory
from registry.idempotency import IdempotencyKey
from registry.mous.models import Mou
from registry.preplans.document import cache
from tests.conftest import assert_problem, count, fetch
from tests.preplans import incident_cast
from tests.preplans.incident_cast import INCIDENTS, STORE_ADDRESS, opened

world = incident_cast.world  # the fixture

API = "/api/v1"
GYM = {
    "kind": "reunification_site",
    "name": "Lincoln Elementary gym",
    "address_line1": "400 E Adams St",
    "address_line2": "Gym entrance on 5th St",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701-1234",
    "lat": 39.8012,
    "lon": -89.6451,
    "capacity": 300,
    "opened_by": "Springfield School District 186",
    "activation_contact": "District security desk",
    "activation_phone": "(217) 555-0186",
    "activation_notes": "Open within 30 minutes, day or night; park on 5th St.",
}
COLUMNS = tuple(k for k in GYM if k not in ("kind", "name", "lat", "lon"))


def points_url(facility_id: int) -> str:
    return f"{API}/facilities/{facility_id}/tactical-points"


def point_url(point_id: int) -> str:
    return f"{API}/tactical-points/{point_id}"


def preplan_url(facility_id: int) -> str:
    return f"{API}/preplans/{facility_id}"


def state(app, point_id: int) -> dict:
    point = fetch(app, TacticalPoint, point_id)
    return {name: getattr(point, name) for name in (*COLUMNS, "version", "kind", "name")}


def history_rows(app, facility_id: int) -> list[FacilityHistory]:
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(
            select(FacilityHistory)
            .where(FacilityHistory.facility_id == facility_id)
            .order_by(FacilityHistory.id)
        ).all()
        session.expunge_all()
        return rows


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return rows


def patch(client, headers, path, change, etag=None):
    etag = etag or client.get(path, headers=headers).headers["ETag"]
    return client.patch(path, json=change, headers={**headers, "If-Match": etag})


@pytest.fixture
def sites(client, world):
    """The store's reunification site (the gym, created through the API by its manager), a
    family assistance centre and a staging area; the annex's own reunification site."""
    cache.clear()
    manager = world.headers["manager"]
    created = client.post(points_url(world.store.id), json=GYM, headers=manager)
    assert created.status_code == 201, created.get_data(as_text=True)
    center = client.post(
        points_url(world.store.id),
        json={
            "kind": "family_assistance_center",
            "name": "Holiday Inn ballroom",
            "address_line1": "3000 S Dirksen Pkwy",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62703",
            "capacity": 120,
            "opened_by": "American Red Cross, Central Illinois chapter",
            "activation_phone": "+12175550199",
        },
        headers=manager,
    ).json
    staging = client.post(
        points_url(world.store.id),
        json={"kind": "staging_area", "name": "North lot"},
        headers=manager,
    ).json
    annex_site = client.post(
        points_url(world.annex.id),
        json={"kind": "reunification_site", "name": "Annex gym"},
        headers=manager,
    ).json
    return {"gym": created.json, "center": center, "staging": staging, "annex": annex_site}


# ---------------------------------------------------------------------------------------------
# Recording them


def test_a_reunification_site_is_recorded_in_full(client, app, world, sites):
    gym = sites["gym"]
    for name in COLUMNS:
        expected = "+12175550186" if name == "activation_phone" else GYM[name]
        assert gym[name] == expected, name
    stored = state(app, gym["id"])
    assert stored["capacity"] == 300 and stored["activation_phone"] == "+12175550186"
    assert stored["postal_code"] == "62701-1234"
    # Its history row and its audit event, with what was written.
    created = [
        h for h in history_rows(app, world.store.id) if h.record_id == gym["id"] and h.action
    ]
    assert [h.action for h in created] == ["create"]
    assert created[0].changes["capacity"] == [None, 300]
    assert created[0].changes["opened_by"] == [None, "Springfield School District 186"]
    events = [e for e in audit_events(app, "tactical_point.create") if e.record_id == gym["id"]]
    assert len(events) == 1 and events[0].changes["address_line1"] == [None, "400 E Adams St"]
    # Read back as its manager and as a sharing agency.
    for who in ("manager", "officer_x", "cad_x"):
        shown = client.get(point_url(gym["id"]), headers=world.headers[who])
        assert shown.status_code == 200 and shown.json["capacity"] == 300


def test_a_retried_create_makes_one_site(client, app, world):
    headers = {**world.headers["manager"], "Idempotency-Key": "gym-1"}
    first = client.post(points_url(world.store.id), json=GYM, headers=headers)
    again = client.post(points_url(world.store.id), json=GYM, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert count(app, TacticalPoint) == 1
    assert count(app, IdempotencyKey) == 1


def test_a_change_needs_if_match_and_is_kept_in_history_and_the_audit_trail(
    client, app, world, sites
):
    path, manager = point_url(sites["gym"]["id"]), world.headers["manager"]
    etag = client.get(path, headers=manager).headers["ETag"]
    change = {"capacity": 450, "opened_by": "Sangamon County EMA", "postal_code": "62702"}
    before = state(app, sites["gym"]["id"])

    assert_problem(client.patch(path, json=change, headers=manager), 428)
    assert_problem(client.patch(path, json=change, headers={**manager, "If-Match": '"x"'}), 412)
    assert state(app, sites["gym"]["id"]) == before

    response = patch(client, manager, path, change, etag)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] != etag
    assert (response.json["capacity"], response.json["postal_code"]) == (450, "62702")
    # One part of the address alone may change: the rest of it stays.
    assert response.json["address_line1"] == "400 E Adams St"
    updated = [h for h in history_rows(app, world.store.id) if h.action == "update"]
    assert updated[-1].changes == {
        "capacity": [300, 450],
        "opened_by": ["Springfield School District 186", "Sangamon County EMA"],
        "postal_code": ["62701-1234", "62702"],
    }
    events = audit_events(app, "tactical_point.update")
    assert events[-1].record_id == sites["gym"]["id"]
    assert events[-1].changes["capacity"] == [300, 450]
    # Cleared, the address goes whole.
    cleared = dict.fromkeys(("address_line1", "address_line2", "city", "state", "postal_code"))
    response = patch(client, manager, path, {**cleared, "capacity": None})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert all(response.json[name] is None for name in (*cleared, "capacity"))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"capacity": 0}, "capacity"),
        ({"capacity": -5}, "capacity"),
        ({"capacity": 100_001}, "capacity"),
        ({"capacity": 2**63}, "capacity"),
        ({"capacity": 2.5}, "capacity"),
        ({"capacity": "300"}, "capacity"),
        ({"postal_code": "6270"}, "postal_code"),
        ({"postal_code": "ABCDE"}, "postal_code"),
        ({"state": "Il"}, "state"),
        ({"state": "ILL"}, "state"),
        ({"activation_phone": "555-01"}, "activation_phone"),
        ({"activation_phone": "+1 217 555 0186\x00"}, "activation_phone"),
        ({"opened_by": "x" * 201}, "opened_by"),
        ({"activation_contact": "x" * 201}, "activation_contact"),
        ({"activation_notes": "x" * 5001}, "activation_notes"),
        ({"city": None}, "city"),  # an address without its city
        ({"address_line1": "  "}, "address_line1"),  # blank is none: the same
    ],
)
def test_bad_values_are_422_and_change_nothing(client, app, world, sites, change, field):
    path = point_url(sites["gym"]["id"])
    before = state(app, sites["gym"]["id"])
    history, events = count(app, FacilityHistory), count(app, AuditEvent)

    response = patch(client, world.headers["manager"], path, change)

    assert_problem(response, 422, field)
    assert state(app, sites["gym"]["id"]) == before
    assert (count(app, FacilityHistory), count(app, AuditEvent)) == (history, events)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"address_line1": "1 School Rd"}, {"city", "state", "postal_code"}),
        ({"postal_code": "62701"}, {"address_line1", "city", "state"}),
        ({"address_line2": "Gym"}, {"address_line1", "city", "state", "postal_code"}),
    ],
)
def test_a_new_site_with_part_of_an_address_is_422(client, app, world, given, missing):
    body = {"kind": "reunification_site", "name": "School", **given}
    response = client.post(points_url(world.store.id), json=body, headers=world.headers["manager"])
    problem = assert_problem(response, 422)
    assert set(problem["errors"]) == missing
    assert count(app, TacticalPoint) == 0


def test_any_kind_may_have_an_address_and_a_capacity(client, world):
    """A staging area across the street has an address too; only recovery sites are listed on
    incidents, though."""
    body = {
        "kind": "staging_area",
        "name": "Church lot across Main",
        "address_line1": "130 N Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "capacity": 40,
    }
    response = client.post(points_url(world.store.id), json=body, headers=world.headers["manager"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["capacity"] == 40


def test_an_agency_cannot_edit_a_site(client, app, world, sites):
    before = state(app, sites["gym"]["id"])
    response = patch(client, world.headers["officer_x"], point_url(sites["gym"]["id"]), {})
    assert_problem(response, 403)
    response = patch(
        client, world.headers["officer_x"], point_url(sites["gym"]["id"]), {"capacity": 1}
    )
    assert_problem(response, 403)
    assert state(app, sites["gym"]["id"]) == before


def test_the_database_refuses_a_capacity_below_one(app, sites):
    """The CHECK of migration 0012 holds for every writer, not only the API."""
    with pytest.raises(IntegrityError), app.app_context(), transaction.session_scope() as s:
        s.execute(
            text("UPDATE tactical_points SET capacity = 0 WHERE id = :id"),
            {"id": sites["gym"]["id"]},
        )
    assert fetch(app, TacticalPoint, sites["gym"]["id"]).capacity == 300


# ---------------------------------------------------------------------------------------------
# The pre-plan


def recovery_of(document: dict) -> dict[str, dict]:
    return {p["name"]: p for p in document["tactical_points"] if p["kind"] != "staging_area"}


@pytest.mark.parametrize("who", ["officer_x", "cad_x", "manager"])
def test_the_preplan_shows_them(client, world, sites, who):
    response = client.get(preplan_url(world.store.id), headers=world.headers[who])
    assert response.status_code == 200, response.get_data(as_text=True)
    shown = recovery_of(response.json)
    assert set(shown) == {"Lincoln Elementary gym", "Holiday Inn ballroom"}
    gym = shown["Lincoln Elementary gym"]
    assert gym["address_line1"] == "400 E Adams St" and gym["capacity"] == 300
    assert gym["opened_by"] == "Springfield School District 186"
    assert gym["activation_contact"] == "District security desk"
    assert gym["activation_phone"] == "+12175550186"
    assert gym["stale"] is False  # just written by its manager: confirmed


def test_the_preplan_changes_at_once_after_an_edit(client, app, world, sites):
    officer = world.headers["officer_x"]
    first = client.get(preplan_url(world.store.id), headers=officer)
    patch(client, world.headers["manager"], point_url(sites["gym"]["id"]), {"capacity": 275})
    second = client.get(preplan_url(world.store.id), headers=officer)
    assert second.headers["ETag"] != first.headers["ETag"]
    assert recovery_of(second.json)["Lincoln Elementary gym"]["capacity"] == 275
    # Written around the API (a data fix): the triggers on tactical_points still see it, so
    # migration 0012 kept them.
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text("UPDATE tactical_points SET opened_by = 'County EMA' WHERE id = :id"),
            {"id": sites["gym"]["id"]},
        )
    third = client.get(
        preplan_url(world.store.id), headers={**officer, "If-None-Match": second.headers["ETag"]}
    )
    assert third.status_code == 200
    assert recovery_of(third.json)["Lincoln Elementary gym"]["opened_by"] == "County EMA"


def test_the_printed_page_says_where_how_many_who_opens_it_and_whom_to_call(client, world, sites):
    response = client.get(
        preplan_url(world.store.id), query_string={"format": "html"}, headers=world.headers["cad_x"]
    )
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    gym = page[page.index("Lincoln Elementary gym") :].split("</tr>")[0]
    for text_ in (
        "400 E Adams St",
        "Gym entrance on 5th St",
        "Springfield, IL 62701-1234",
        "Capacity: 300 people",
        "Opened by: Springfield School District 186",
        "To open it, call: District security desk, +12175550186",
        "Open within 30 minutes, day or night; park on 5th St.",
        "m W of the facility",  # its position, from the store's
    ):
        assert text_ in gym, text_
    center = page[page.index("Holiday Inn ballroom") :].split("</tr>")[0]
    assert "3000 S Dirksen Pkwy" in center and "Capacity: 120 people" in center
    assert "Opened by: American Red Cross, Central Illinois chapter" in center
    assert "To open it, call: +12175550199" in center
    assert "<td>Reunification site</td>" in page and "<td>Family assistance center</td>" in page


# ---------------------------------------------------------------------------------------------
# Incidents


def names(sites_shown) -> set[str]:
    return {site["name"] for site in sites_shown}


def test_an_incident_lists_the_recovery_sites_to_the_agency_that_opened_it(
    client, app, world, sites
):
    incident = opened(client, world.headers["cad_x"])
    assert incident["facility_id"] == world.store.id
    # The opening shows them (the staging area and the annex's site are not listed).
    assert names(incident["recovery_sites"]) == {"Lincoln Elementary gym", "Holiday Inn ballroom"}
    views = len(audit_events(app, "preplan.view"))
    for who in ("cad_x", "officer_x", "manager", "admin"):
        response = client.get(f"{INCIDENTS}/{incident['id']}", headers=world.headers[who])
        assert response.status_code == 200, response.get_data(as_text=True)
        shown = {site["name"]: site for site in response.json["recovery_sites"]}
        assert set(shown) == {"Lincoln Elementary gym", "Holiday Inn ballroom"}
        gym = shown["Lincoln Elementary gym"]
        assert (gym["address_line1"], gym["capacity"]) == ("400 E Adams St", 300)
        assert gym["activation_phone"] == "+12175550186"
    # Each read of them is a pre-plan view in the audit trail, not through break-glass.
    events = audit_events(app, "preplan.view")[views:]
    assert len(events) == 4
    assert all(e.facility_id == world.store.id and not e.break_glass for e in events)
    assert {e.details["format"] for e in events} == {"recovery_sites"}
    assert {e.details["shown_on_incident"] for e in events} == {incident["id"]}
    # Lists stay light: one incident's response has them, a list's items do not.
    listed = client.get(INCIDENTS, headers=world.headers["cad_x"]).json["items"]
    assert "recovery_sites" not in listed[0]


def test_a_break_glass_agency_sees_them_while_its_grant_lasts(client, app, world, sites):
    incident = opened(client, world.headers["cad_y"])
    assert incident["break_glass"] is True
    assert names(incident["recovery_sites"]) == {"Lincoln Elementary gym", "Holiday Inn ballroom"}
    url = f"{INCIDENTS}/{incident['id']}"
    for who in ("cad_y", "officer_y"):  # the grant is the agency's
        response = client.get(url, headers=world.headers[who])
        assert names(response.json["recovery_sites"]) == {
            "Lincoln Elementary gym",
            "Holiday Inn ballroom",
        }
    events = audit_events(app, "preplan.view")
    assert len(events) == 2
    assert all(e.break_glass and e.details["incident_id"] == incident["id"] for e in events)

    # Closed, the incident grants nothing any more: the sites are not shown.
    response = patch(client, world.headers["cad_y"], url, {"status": "closed"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["recovery_sites"] is None
    assert client.get(url, headers=world.headers["officer_y"]).json["recovery_sites"] is None
    assert "Lincoln" not in client.get(url, headers=world.headers["cad_y"]).get_data(as_text=True)
    # The facility's managers still see them on the incident at their facility.
    shown = client.get(url, headers=world.headers["manager"]).json["recovery_sites"]
    assert names(shown) == {"Lincoln Elementary gym", "Holiday Inn ballroom"}


def test_an_ended_grant_shows_them_no_more(client, world, sites):
    incident = opened(client, world.headers["cad_y"])
    url = f"{INCIDENTS}/{incident['id']}"
    etag = client.get(url, headers=world.headers["manager"]).headers["ETag"]
    ended = client.post(
        f"{url}/break-glass/end",
        json={"reason": "Mutual aid released"},
        headers={**world.headers["manager"], "If-Match": etag},
    )
    assert ended.status_code == 200, ended.get_data(as_text=True)
    assert names(ended.json["recovery_sites"]) == {"Lincoln Elementary gym", "Holiday Inn ballroom"}
    assert client.get(url, headers=world.headers["cad_y"]).json["recovery_sites"] is None


def test_nobody_who_may_not_read_the_facility_sees_them(client, app, world, sites):
    # Y's officer is granted nothing (Y has no jurisdiction): the incident names no facility.
    refused = opened(client, world.headers["officer_y"], number="Y-2")
    assert refused["break_glass"] is False and refused["recovery_sites"] is None
    response = client.get(f"{INCIDENTS}/{refused['id']}", headers=world.headers["officer_y"])
    assert response.json["recovery_sites"] is None
    assert "Lincoln" not in response.get_data(as_text=True)
    # Another agency, or another organization's manager, does not see X's incident at all.
    incident = opened(client, world.headers["cad_x"])
    url = f"{INCIDENTS}/{incident['id']}"
    for who in ("cad_y", "other_manager"):
        assert_problem(client.get(url, headers=world.headers[who]), 404)
    # X's MOU ends: X's own incident no longer shows the facility's sites.
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(Mou).values(status="terminated"))
    cache.clear()
    assert client.get(url, headers=world.headers["cad_x"]).json["recovery_sites"] is None


def test_an_incident_without_recovery_sites_lists_none(client, world):
    incident = opened(client, world.headers["cad_x"])
    assert incident["recovery_sites"] == []
    unmatched = opened(client, world.headers["cad_x"], number="X-2", address="1 Nowhere Rd")
    assert unmatched["facility_id"] is None and unmatched["recovery_sites"] is None


def test_the_incident_tag_follows_its_recovery_sites(client, app, world, sites):
    """The ETag of an incident names the recovery sites it shows: after a change to one, a
    client holding the old copy gets the new one (no 304), and its If-Match is stale."""
    incident = opened(client, world.headers["cad_x"])
    url, cad = f"{INCIDENTS}/{incident['id']}", world.headers["cad_x"]
    first = client.get(url, headers=cad)
    assert client.get(url, headers={**cad, "If-None-Match": first.headers["ETag"]}).status_code == (
        304
    )
    patch(client, world.headers["manager"], point_url(sites["gym"]["id"]), {"capacity": 280})
    second = client.get(url, headers={**cad, "If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    gym = next(s for s in second.json["recovery_sites"] if s["name"] == "Lincoln Elementary gym")
    assert gym["capacity"] == 280
    stale = patch(client, cad, url, {"notes": "Units on scene"}, first.headers["ETag"])
    assert_problem(stale, 412)
    fresh = patch(client, cad, url, {"notes": "Units on scene"}, second.headers["ETag"])
    assert fresh.status_code == 200, fresh.get_data(as_text=True)
    assert client.get(url, headers={**cad, "If-None-Match": fresh.headers["ETag"]}).status_code == (
        304
    )


def test_a_deleted_site_leaves_the_incident_and_the_preplan(client, world, sites):
    incident = opened(client, world.headers["cad_x"])
    path, manager = point_url(sites["center"]["id"]), world.headers["manager"]
    etag = client.get(path, headers=manager).headers["ETag"]
    assert client.delete(path, headers={**manager, "If-Match": etag}).status_code == 204
    shown = client.get(f"{INCIDENTS}/{incident['id']}", headers=world.headers["cad_x"]).json
    assert names(shown["recovery_sites"]) == {"Lincoln Elementary gym"}
    document = client.get(preplan_url(world.store.id), headers=world.headers["cad_x"]).json
    assert set(recovery_of(document)) == {"Lincoln Elementary gym"}


def test_a_replayed_opening_carries_no_recovery_sites(client, app, world, sites):
    """A replay skips the access checks: what it would show must be read again."""
    headers = {**world.headers["cad_y"], "Idempotency-Key": "open-7"}
    body = {"cad_incident_number": "Y-7", "incident_type": "fire", "address": STORE_ADDRESS}
    first = client.post(INCIDENTS, json=body, headers=headers)
    assert first.status_code == 201 and first.json["recovery_sites"]
    again = client.post(INCIDENTS, json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "recovery_sites" not in again.json
    assert "Lincoln" not in again.get_data(as_text=True)
    with app.app_context(), transaction.session_scope() as session:
        assert "Lincoln" not in session.scalars(select(IdempotencyKey.body)).one()


def test_recovery_sites_cannot_be_sent(client, app, world):
    body = {
        "cad_incident_number": "X-9",
        "incident_type": "fire",
        "address": STORE_ADDRESS,
        "recovery_sites": [],
    }
    assert_problem(client.post(INCIDENTS, json=body, headers=world.headers["cad_x"]), 422)
