"""Every change to a facility and its parts is kept; deleting hides, restoring brings back."""

from registry.facilities.models import Facility
from registry.history import FacilityHistory
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"


def edit(client, headers, path, change):
    etag = client.get(path, headers=headers).headers["ETag"]
    response = client.patch(path, json=change, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.get_json()
    return response


def delete(client, headers, path):
    etag = client.get(path, headers=headers).headers["ETag"]
    assert client.delete(path, headers={**headers, "If-Match": etag}).status_code == 204


def history(client, headers, facility_id):
    response = client.get(f"{API}/facilities/{facility_id}/history", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_history_records_who_changed_what(client, make, app):
    org = make.organization()
    manager_user = make.user("facility_manager", organization=org)
    headers = make.headers(manager_user)
    created = client.post(
        f"{API}/facilities",
        json={
            "name": "Depot",
            "facility_type": "retail_store",
            "address_line1": "1 Depot Rd",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
        },
        headers=headers,
    ).get_json()
    fid = created["id"]
    edit(client, headers, f"{API}/facilities/{fid}", {"occupancy": 300, "hazards": "Propane"})
    contact = client.post(
        f"{API}/facilities/{fid}/contacts", json={"name": "Guard"}, headers=headers
    ).get_json()
    edit(client, headers, f"{API}/contacts/{contact['id']}", {"name": "Night guard"})

    items = history(client, headers, fid)["items"]

    assert [(h["record_type"], h["action"]) for h in items] == [
        ("contact", "update"),
        ("contact", "create"),
        ("facility", "update"),
        ("facility", "create"),
    ]
    assert all(h["actor"] == f"user:{manager_user.id}" for h in items)
    assert items[0]["changes"] == {"name": ["Guard", "Night guard"]}
    assert items[2]["changes"] == {"occupancy": [None, 300], "hazards": [None, "Propane"]}
    assert items[3]["changes"]["name"] == [None, "Depot"]
    assert count(app, FacilityHistory, FacilityHistory.facility_id == fid) == 4


def test_history_is_for_those_who_manage_the_facility(client, make):
    org, other, agency = make.organization(), make.organization(), make.agency()
    facility = make.facility(org)
    make.mou(org, agency)
    path = f"{API}/facilities/{facility.id}/history"
    assert client.get(path, headers=make.admin()).status_code == 200
    assert_problem(client.get(path, headers=make.officer(agency)), 403)
    assert_problem(client.get(path, headers=make.manager(other)), 404)


def test_a_deleted_point_is_listed_and_restored_by_its_manager(client, make, app):
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    make.mou(org, agency)
    point = make.access_point(facility, name="Dock door")
    manager = make.manager(org)
    delete(client, manager, f"{API}/access-points/{point.id}")

    listed = client.get(
        f"{API}/facilities/{facility.id}/access-points?deleted=true", headers=manager
    ).get_json()
    assert [p["id"] for p in listed["items"]] == [point.id]
    live = client.get(f"{API}/facilities/{facility.id}/access-points", headers=manager).get_json()
    assert live["items"] == []
    # Agencies read the facility but may not see or restore what its owner deleted.
    officer = make.officer(agency)
    assert_problem(
        client.get(f"{API}/facilities/{facility.id}/access-points?deleted=true", headers=officer),
        403,
    )
    assert_problem(client.post(f"{API}/access-points/{point.id}/restore", headers=officer), 403)
    preplan = client.get(f"{API}/preplans/{facility.id}", headers=officer).get_json()
    assert preplan["access_points"] == []

    restored = client.post(f"{API}/access-points/{point.id}/restore", headers=manager)

    assert restored.status_code == 200
    assert restored.get_json()["name"] == "Dock door"
    preplan = client.get(f"{API}/preplans/{facility.id}", headers=officer).get_json()
    assert [p["id"] for p in preplan["access_points"]] == [point.id]
    actions = [h["action"] for h in history(client, manager, facility.id)["items"]]
    assert actions[:2] == ["restore", "delete"]


def test_restoring_a_live_record_is_404(client, make):
    org = make.organization()
    facility = make.facility(org)
    response = client.post(f"{API}/facilities/{facility.id}/restore", headers=make.manager(org))
    assert_problem(response, 404)


def test_a_deleted_facility_matches_no_lookup_and_has_no_preplan(client, make, app):
    org, agency = make.organization(), make.agency()
    facility = make.facility(
        org, address_line1="9 Elm St", city="Springfield", postal_code="62701", lat=39.8, lon=-89.6
    )
    make.mou(org, agency)
    officer = make.officer(agency)
    lookup = {"address": "9 Elm St, Springfield IL 62701"}
    assert (
        client.get(f"{API}/preplans/lookup", query_string=lookup, headers=officer).get_json()[
            "status"
        ]
        == "matched"
    )
    delete(client, make.manager(org), f"{API}/facilities/{facility.id}")

    answer = client.get(f"{API}/preplans/lookup", query_string=lookup, headers=officer).get_json()
    assert answer["status"] == "no_match" and answer["hidden_matches"] == 0
    near = {"lat": 39.8, "lon": -89.6}
    assert (
        client.get(f"{API}/preplans/lookup", query_string=near, headers=officer).get_json()[
            "status"
        ]
        == "no_match"
    )
    assert_problem(client.get(f"{API}/preplans/{facility.id}", headers=officer), 404)
    assert fetch(app, Facility, facility.id).deleted_at is not None
    # Its history stays readable to those who manage it.
    actions = [h["action"] for h in history(client, make.manager(org), facility.id)["items"]]
    assert actions == ["delete"]
