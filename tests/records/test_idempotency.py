"""Retried creates with Idempotency-Key: one record, the first response replayed."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from registry.facilities.models import Facility
from registry.floorplans.models import FloorPlan
from registry.idempotency import IdempotencyKey
from registry.organizations.models import Organization
from tests import sample_files
from tests.conftest import assert_problem, count
from tests.file_store import upload

ORGS = "/api/v1/organizations"


def post(client, headers, key, body, path=ORGS):
    return client.post(path, json=body, headers={**headers, "Idempotency-Key": key})


def test_a_repeat_replays_the_first_response(client, make, app):
    admin = make.admin()
    first = post(client, admin, "k-1", {"name": "Harbor Mall", "kind": "mall_owner"})
    again = post(client, admin, '"k-1"', {"kind": "mall_owner", "name": "Harbor Mall"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert count(app, Organization) == 1
    assert count(app, IdempotencyKey) == 1


def test_the_same_key_with_another_body_is_422(client, make, app):
    admin = make.admin()
    assert post(client, admin, "k-2", {"name": "A"}).status_code == 201
    assert_problem(post(client, admin, "k-2", {"name": "B"}), 422, "Idempotency-Key")
    # ... and on another route.
    assert_problem(post(client, admin, "k-2", {"name": "A"}, "/api/v1/agencies"), 422)
    assert count(app, Organization) == 1


def test_keys_belong_to_their_caller(client, make, app):
    first, second = make.admin(), make.admin()
    assert post(client, first, "shared", {"name": "One"}).status_code == 201
    assert post(client, second, "shared", {"name": "Two"}).status_code == 201
    assert count(app, Organization) == 2


def test_a_failed_request_releases_its_key(client, make, app):
    admin = make.admin()
    assert_problem(post(client, admin, "k-3", {"name": "X", "kind": "castle"}), 422, "kind")
    assert count(app, IdempotencyKey) == 0
    assert post(client, admin, "k-3", {"name": "X", "kind": "theater"}).status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_400(client, make, app, key):
    assert_problem(post(client, make.admin(), key, {"name": "Y"}), 400)
    assert count(app, Organization) == 0


def test_nested_creates_and_incidents_are_idempotent(client, make, app):
    org = make.organization()
    manager = make.manager(org)
    path = "/api/v1/facilities"
    body = {
        "name": "Depot",
        "facility_type": "retail_store",
        "address_line1": "1 Depot Rd",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
    }
    first = post(client, manager, "f-1", body, path)
    again = post(client, manager, "f-1", body, path)
    assert first.status_code == again.status_code == 201
    assert count(app, Facility) == 1
    contacts = f"/api/v1/facilities/{first.get_json()['id']}/contacts"
    assert post(client, manager, "c-1", {"name": "Guard"}, contacts).status_code == 201
    assert post(client, manager, "c-1", {"name": "Guard"}, contacts).headers["Idempotent-Replayed"]


FACILITY = {
    "name": "Retry Storm Arena",
    "facility_type": "stadium",
    "address_line1": "1 Arena Way",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62701",
}


def test_500_concurrent_retries_create_exactly_one_record(app, make):
    # Facilities have no unique name, so only the key stands between 500 retries and 500 rows.
    org = make.organization()
    headers = {**make.manager(org), "Idempotency-Key": "storm-1"}

    def attempt(_):
        with app.test_client() as client:
            response = client.post("/api/v1/facilities", json=FACILITY, headers=headers)
            return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(attempt, range(500)))

    statuses = [status for status, _ in results]
    # Created or replayed; 409 while the first was still running (PostgreSQL's advisory lock).
    assert set(statuses) <= {201, 409}, set(statuses)
    created = {body["id"] for status, body in results if status == 201}
    assert len(created) == 1
    assert count(app, Facility) == 1
    print(f"\n500 retries: {statuses.count(201)} x 201, {statuses.count(409)} x 409")


def test_uploads_are_idempotent_without_holding_the_file_in_memory(client, make, app):
    org = make.organization()
    facility = make.facility(org)
    manager = {**make.manager(org), "Idempotency-Key": "plan-1"}
    first = upload(client, manager, facility.id, sample_files.png(), name="ground.png")
    again = upload(client, manager, facility.id, sample_files.png(), name="ground.png")
    assert first.status_code == again.status_code == 201, first.get_data(as_text=True)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert count(app, FloorPlan) == 1
    # The same key with other bytes is another request.
    other = upload(client, manager, facility.id, sample_files.jpeg(), name="ground.jpg")
    assert_problem(other, 422, "Idempotency-Key")
    assert count(app, FloorPlan) == 1
