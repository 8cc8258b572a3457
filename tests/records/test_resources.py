"""CRUD through the HTTP API for every resource area, checked against the database.

Each resource area is described once by a `Case` (where it lives, a full create body, what the
API must answer, a PATCH); the generic tests run over all of them, and the tests further down cover
what is particular to one area (filters, uniqueness, MOU rules, accounts and CAD secrets).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect as sa_inspect

from registry import db
from registry.agencies.models import Agency
from registry.agencies.schemas import AgencySchema
from registry.auth.models import CadClient, User
from registry.auth.passwords import verify_secret
from registry.auth.schemas import CadClientSchema, UserSchema
from registry.contacts.models import Contact
from registry.contacts.schemas import ContactSchema
from registry.db import utc_today
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.facilities.schemas import AccessPointSchema, FacilitySchema, TacticalPointSchema
from registry.mous.models import Mou, MouScope, mou_facilities
from registry.mous.schemas import MouSchema
from registry.organizations.models import Organization
from registry.organizations.schemas import OrganizationSchema
from tests.conftest import PASSWORD, assert_problem, count, fetch

API = "/api/v1"
META = {"id", "version", "created_at", "updated_at"}
# The day MOUs start and expire by is the UTC one (registry.db.utc_today), read when the module is
# collected. A test that needs "today" to the day pins the registry's (test_mou_in_force_is_
# computed); the others still hold when a midnight has passed since and TODAY is a day old.
TODAY = utc_today()


# ---------------------------------------------------------------------------------------------
# Helpers


def jsonable(value):
    """A database value as the API shows it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def state(app, model, record_id) -> dict | None:
    """Every column of one row (and an MOU's scopes and facilities), or None when it is gone."""
    record = fetch(app, model, record_id)
    if record is None:
        return None
    values = {attr.key: getattr(record, attr.key) for attr in sa_inspect(model).column_attrs}
    if isinstance(record, Mou):
        values.update(scopes=record.scopes, facility_ids=record.facility_ids)
    if isinstance(record, Contact):
        values["phones"] = record.phones
    return values


def shown_fields(schema_cls) -> set[str]:
    """The keys a response of `schema_cls` has: every field that is not load-only."""
    return {f.data_key or name for name, f in schema_cls().fields.items() if not f.load_only}


def assert_stored(app, model, record_id, expected: dict) -> dict:
    """The row holds `expected` (for the keys that are columns)."""
    row = state(app, model, record_id)
    assert row is not None
    for key, value in expected.items():
        if key in row:
            assert jsonable(row[key]) == value, key
    return row


def if_match(headers: dict, etag: str) -> dict:
    return {**headers, "If-Match": etag}


def ids(response) -> list[int]:
    return [item["id"] for item in response.get_json()["items"]]


def mou_link_count(app, facility_id) -> int:
    return count(app, mou_facilities, mou_facilities.c.facility_id == facility_id)


# ---------------------------------------------------------------------------------------------
# One description per resource area


@dataclass
class Case:
    collection: str  # where POST and the list live
    item: str  # prefix of /<id>
    headers: dict
    model: type
    schema: type
    body: dict  # a full, valid create body
    expected: dict  # the created record as the API must show it (every field but META)
    patch: dict
    patched: dict  # what the PATCH must show
    variant: object  # i -> another valid create body (for lists)
    shown_once: set = field(default_factory=set)  # fields only the create response has

    def url(self, record_id) -> str:
        return f"{self.item}/{record_id}"


def organizations_case(make) -> Case:
    body = {
        "name": "Acme Stores",
        "kind": "retailer",
        "website": "https://acme.example/security",
        "main_phone": "(617) 555-0100",
        "notes": "Corporate security desk staffed 24/7.",
    }
    return Case(
        collection=f"{API}/organizations",
        item=f"{API}/organizations",
        headers=make.admin(),
        model=Organization,
        schema=OrganizationSchema,
        body=body,
        expected={**body, "main_phone": "+16175550100"},
        patch={"main_phone": "617.555.0199", "notes": "Moved desk."},
        patched={"main_phone": "+16175550199", "notes": "Moved desk."},
        variant=lambda i: {"name": f"Partner variant {i}"},
    )


def agencies_case(make) -> Case:
    body = {
        "name": "Springfield Police Department",
        "agency_type": "law_enforcement",
        "ori": "IL0840100",
        "fdid": None,
        "jurisdiction": "City of Springfield",
        "state": "IL",
        "main_phone": "217-555-0100",
        "dispatch_phone": "+1 217 555 0111",
        "email": "dispatch@springfield.example",
        "notes": None,
    }
    return Case(
        collection=f"{API}/agencies",
        item=f"{API}/agencies",
        headers=make.admin(),
        model=Agency,
        schema=AgencySchema,
        body=body,
        expected={**body, "main_phone": "+12175550100", "dispatch_phone": "+12175550111"},
        patch={"jurisdiction": "Sangamon County", "fdid": "84001"},
        patched={"jurisdiction": "Sangamon County", "fdid": "84001"},
        variant=lambda i: {"name": f"Agency variant {i}", "agency_type": "fire"},
    )


def facility_body(organization_id: int, **fields) -> dict:
    return {
        "organization_id": organization_id,
        "name": "Springfield Center Store",
        "facility_type": "retail_store",
        "address_line1": "100 Main St",
        "address_line2": "Unit 4",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701-1234",
        "country": "US",
        "lat": 39.7817,
        "lon": -89.6501,
        "main_phone": "(217) 555-0150",
        "occupancy": 1200,
        "opening_hours": "Mo-Sa 09:00-21:00",
        "stories_above_grade": 2,
        "stories_below_grade": 1,
        "floor_area_sq_ft": 125000,
        "construction_type": "Type II-B",
        "has_sprinklers": True,
        "has_fire_alarm": True,
        "hazards": "Pool chemicals in garden centre.",
        "cctv_notes": "Monitors in the security office.",
        "security_office_notes": "Behind customer service.",
        "bleeding_control_kit_locations": "Front registers.",
        "aed_locations": "Pharmacy.",
        "notes": None,
        "last_verified_at": "2024-05-01T12:00:00+00:00",
        **fields,
    }


def facilities_case(make) -> Case:
    org = make.organization()
    body = facility_body(org.id)
    return Case(
        collection=f"{API}/facilities",
        item=f"{API}/facilities",
        headers=make.manager(org),
        model=Facility,
        schema=FacilitySchema,
        body=body,
        expected={**body, "main_phone": "+12175550150"},
        patch={"occupancy": 900, "lat": 39.78, "lon": -89.65},
        patched={"occupancy": 900, "lat": 39.78, "lon": -89.65},
        variant=lambda i: facility_body(org.id, name=f"Store variant {i}"),
    )


def point_case(make, kind_of_point: str, model, model_schema, kind: str) -> Case:
    org = make.organization()
    facility = make.facility(org)
    body = {
        "kind": kind,
        "name": "North side",
        "lat": 39.801,
        "lon": -89.601,
        "level": "Ground floor",
        "description": "Double doors by the garden centre.",
        "notes": None,
    }
    return Case(
        collection=f"{API}/facilities/{facility.id}/{kind_of_point}",
        item=f"{API}/{kind_of_point}",
        headers=make.manager(org),
        model=model,
        schema=model_schema,
        body=body,
        expected={**body, "facility_id": facility.id},
        patch={"name": "North side (east)", "level": None},
        patched={"name": "North side (east)", "level": None},
        variant=lambda i: {**body, "name": f"Point {i}"},
    )


def access_points_case(make) -> Case:
    return point_case(make, "access-points", AccessPoint, AccessPointSchema, "loading_dock")


def tactical_points_case(make) -> Case:
    return point_case(
        make, "tactical-points", TacticalPoint, TacticalPointSchema, "casualty_collection_point"
    )


CONTACT_BODY = {
    "name": "Jane Roe",
    "role": "Director of Security",
    "email": "jane.roe@acme.example",
    "phones": [
        {"kind": "mobile", "number": "(217) 555-0142"},
        {"kind": "office", "number": "217-555-0143", "extension": "12"},
    ],
    "call_order": 2,
    "available_24_7": True,
    "notes": "Prefers text messages.",
    "last_verified_at": "2024-06-01T08:30:00+00:00",
}
CONTACT_PHONES = [
    {"kind": "mobile", "number": "+12175550142", "extension": None},
    {"kind": "office", "number": "+12175550143", "extension": "12"},
]


def contact_case(make, owner: str) -> Case:
    org = make.organization()
    owners = {"facility_id": None, "organization_id": None, "agency_id": None}
    if owner == "facilities":
        owner_id, headers = make.facility(org).id, make.manager(org)
        owners["facility_id"] = owner_id
    elif owner == "organizations":
        owner_id, headers = org.id, make.manager(org)
        owners["organization_id"] = owner_id
    else:
        owner_id, headers = make.agency().id, make.admin()
        owners["agency_id"] = owner_id
    return Case(
        collection=f"{API}/{owner}/{owner_id}/contacts",
        item=f"{API}/contacts",
        headers=headers,
        model=Contact,
        schema=ContactSchema,
        body=CONTACT_BODY,
        expected={**CONTACT_BODY, "phones": CONTACT_PHONES, **owners},
        patch={"phones": [{"kind": "home", "number": "+1 (217) 555-0199"}], "call_order": 1},
        patched={
            "phones": [{"kind": "home", "number": "+12175550199", "extension": None}],
            "call_order": 1,
        },
        variant=lambda i: {"name": f"Contact {i}"},
    )


def mous_case(make) -> Case:
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    body = {
        "organization_id": org.id,
        "agency_id": agency.id,
        "title": "Data sharing and staging",
        "effective_date": (TODAY - timedelta(days=30)).isoformat(),
        "expiry_date": (TODAY + timedelta(days=365)).isoformat(),
        "scopes": ["staging", "data_sharing"],
        "covers_all_facilities": False,
        "facility_ids": [facility.id],
        "notes": "Signed by both chiefs.",
    }
    return Case(
        collection=f"{API}/mous",
        item=f"{API}/mous",
        headers=make.admin(),
        model=Mou,
        schema=MouSchema,
        body=body,
        # A new MOU is a draft of the party that wrote it (an admin: the organization's, by
        # default); it grants nothing until both parties accept it (test_mou_lifecycle.py).
        expected={
            **body,
            "scopes": ["data_sharing", "staging"],
            "status": "draft",
            "drafting_party": "organization",
            "in_force": False,
            "days_left": None,
        },
        patch={"title": "Data sharing and training", "scopes": ["training", "data_sharing"]},
        patched={"title": "Data sharing and training", "scopes": ["data_sharing", "training"]},
        variant=lambda i: {
            **body,
            "title": f"MOU {i}",
            "covers_all_facilities": True,
            "facility_ids": [],
        },
    )


def users_case(make) -> Case:
    org = make.organization()
    body = {
        "username": "jane.roe",
        "password": "a-long-enough-password",
        "role": "facility_manager",
        "organization_id": org.id,
        "agency_id": None,
        "full_name": "Jane Roe",
        "email": "jane.roe@acme.example",
        "is_active": True,
    }
    expected = {k: v for k, v in body.items() if k != "password"}
    return Case(
        collection=f"{API}/users",
        item=f"{API}/users",
        headers=make.admin(),
        model=User,
        schema=UserSchema,
        body=body,
        expected=expected,
        patch={"full_name": "Jane Q. Roe"},
        patched={"full_name": "Jane Q. Roe"},
        variant=lambda i: {"username": f"admin{i}", "password": "x" * 12, "role": "admin"},
    )


def cad_clients_case(make) -> Case:
    agency = make.agency()
    body = {"client_id": "springfield-cad", "agency_id": agency.id, "name": "Springfield CAD"}
    return Case(
        collection=f"{API}/cad-clients",
        item=f"{API}/cad-clients",
        headers=make.admin(),
        model=CadClient,
        schema=CadClientSchema,
        body=body,
        expected={**body, "is_active": True},
        patch={"name": "Springfield CAD (backup)"},
        patched={"name": "Springfield CAD (backup)"},
        variant=lambda i: {**body, "client_id": f"cad-variant-{i}"},
        shown_once={"client_secret"},
    )


CASES = {
    "organizations": organizations_case,
    "agencies": agencies_case,
    "facilities": facilities_case,
    "access-points": access_points_case,
    "tactical-points": tactical_points_case,
    "facility-contacts": lambda make: contact_case(make, "facilities"),
    "organization-contacts": lambda make: contact_case(make, "organizations"),
    "agency-contacts": lambda make: contact_case(make, "agencies"),
    "mous": mous_case,
    "users": users_case,
    "cad-clients": cad_clients_case,
}


@pytest.fixture(params=list(CASES))
def case(request, make) -> Case:
    return CASES[request.param](make)


def create(client, case: Case, body=None):
    response = client.post(case.collection, json=body or case.body, headers=case.headers)
    assert response.status_code == 201, response.get_json()
    return response


# ---------------------------------------------------------------------------------------------
# The CRUD contract, for every resource area


def test_create_returns_the_record_with_an_etag_and_stores_it(client, app, case):
    before = count(app, case.model)

    response = create(client, case)

    body = response.get_json()
    assert set(body) == shown_fields(case.schema) | case.shown_once
    assert set(case.expected) | META <= set(body)
    assert {k: body[k] for k in case.expected} == case.expected
    assert body["version"] == 1
    created_at = datetime.fromisoformat(body["created_at"])
    assert created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - created_at) < timedelta(minutes=5)
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert count(app, case.model) == before + 1
    row = assert_stored(app, case.model, body["id"], case.expected)
    assert row["version"] == 1

    read = client.get(case.url(body["id"]), headers=case.headers)
    assert read.status_code == 200
    assert read.headers["ETag"] == etag
    shown = {k: v for k, v in body.items() if k not in case.shown_once}
    assert read.get_json() == shown


def test_read_returns_etag_and_honours_if_none_match(client, case):
    record_id = create(client, case).get_json()["id"]

    read = client.get(case.url(record_id), headers=case.headers)
    assert read.status_code == 200
    assert read.get_json()["id"] == record_id
    etag = read.headers["ETag"]

    cached = client.get(case.url(record_id), headers={**case.headers, "If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.get_data() == b""
    assert cached.headers["ETag"] == etag

    other = client.get(
        case.url(record_id), headers={**case.headers, "If-None-Match": '"something-else"'}
    )
    assert other.status_code == 200
    assert other.get_json() == read.get_json()


def test_patch_with_if_match_changes_only_the_sent_fields(client, app, case):
    created = create(client, case)
    record_id, etag = created.get_json()["id"], created.headers["ETag"]
    before = state(app, case.model, record_id)

    response = client.patch(
        case.url(record_id), json=case.patch, headers=if_match(case.headers, etag)
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == 2
    assert {k: body[k] for k in case.patched} == case.patched
    # An edit confirms the record as well (issue 12; tests/test_freshness.py).
    confirmed = {"confirmed_at", "last_verified_at"}
    untouched = {
        k: v for k, v in case.expected.items() if k not in case.patched and k not in confirmed
    }
    assert {k: body[k] for k in untouched} == untouched
    new_etag = response.headers["ETag"]
    assert new_etag != etag
    assert client.get(case.url(record_id), headers=case.headers).headers["ETag"] == new_etag

    after = assert_stored(app, case.model, record_id, case.patched)
    assert after["version"] == before["version"] + 1
    assert after["updated_at"] >= before["updated_at"]
    # preplan_version is bookkeeping the database bumps on every change (see migration 0002).
    bookkeeping = {"version", "updated_at", "preplan_version", "confirmed_at"}
    unchanged = set(before) - set(case.patched) - bookkeeping
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}


def test_patch_without_if_match_is_428_and_changes_nothing(client, app, case):
    record_id = create(client, case).get_json()["id"]
    before = state(app, case.model, record_id)

    response = client.patch(case.url(record_id), json=case.patch, headers=case.headers)
    assert_problem(response, 428)
    star = client.patch(case.url(record_id), json=case.patch, headers=if_match(case.headers, "*"))
    assert_problem(star, 428)

    assert state(app, case.model, record_id) == before


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(client, app, case):
    created = create(client, case)
    record_id, first_etag = created.get_json()["id"], created.headers["ETag"]
    client.patch(case.url(record_id), json=case.patch, headers=if_match(case.headers, first_etag))
    before = state(app, case.model, record_id)
    assert before["version"] == 2

    stale = client.patch(
        case.url(record_id), json=case.patch, headers=if_match(case.headers, first_etag)
    )

    assert_problem(stale, 412)
    assert state(app, case.model, record_id) == before


def test_delete_needs_a_current_if_match_then_removes_the_row(client, app, case):
    created = create(client, case)
    record_id, etag = created.get_json()["id"], created.headers["ETag"]
    before = state(app, case.model, record_id)
    total = count(app, case.model)

    assert_problem(client.delete(case.url(record_id), headers=case.headers), 428)
    stale = client.delete(case.url(record_id), headers=if_match(case.headers, '"x-1-v0"'))
    assert_problem(stale, 412)
    assert state(app, case.model, record_id) == before

    response = client.delete(case.url(record_id), headers=if_match(case.headers, etag))

    assert response.status_code == 204
    assert response.get_data() == b""
    if hasattr(case.model, "deleted_at"):
        # Soft-deleted: the row stays (history, restore); readers no longer see it.
        assert fetch(app, case.model, record_id).deleted_at is not None
        assert count(app, case.model, case.model.deleted_at.is_(None)) == total - 1
    else:
        assert state(app, case.model, record_id) is None
        assert count(app, case.model) == total - 1
    assert_problem(client.get(case.url(record_id), headers=case.headers), 404)


def test_unknown_id_is_a_404_problem(client, app, case):
    create(client, case)
    total = count(app, case.model)
    missing = case.url(987654)
    headers = if_match(case.headers, '"anything"')

    for response in (
        client.get(missing, headers=case.headers),
        client.patch(missing, json=case.patch, headers=headers),
        client.delete(missing, headers=headers),
    ):
        body = assert_problem(response, 404)
        assert "987654" in body["detail"]
    assert count(app, case.model) == total


def test_list_is_paginated_with_a_total(client, app, case):
    created = [create(client, case, case.variant(i)).get_json()["id"] for i in range(3)]
    # Everything the admin or manager may see of this kind (users include the caller).
    total = count(app, case.model) if case.model in (User,) else 3

    first = client.get(f"{case.collection}?per_page=2", headers=case.headers)
    second = client.get(f"{case.collection}?per_page=2&page=2", headers=case.headers)

    assert first.status_code == 200 and second.status_code == 200
    assert first.mimetype == "application/json"
    one, two = first.get_json(), second.get_json()
    assert (one["page"], one["per_page"], one["total"]) == (1, 2, total)
    assert (two["page"], two["per_page"], two["total"]) == (2, 2, total)
    assert len(one["items"]) == 2
    assert len(two["items"]) == min(2, total - 2)
    seen = ids(first) + ids(second)
    assert len(seen) == len(set(seen))
    if total == 3:
        assert sorted(seen) == sorted(created)
    assert set(one["items"][0]) == shown_fields(case.schema)

    default = client.get(case.collection, headers=case.headers).get_json()
    assert (default["page"], default["per_page"], default["total"]) == (1, 20, total)
    beyond = client.get(f"{case.collection}?page=50", headers=case.headers).get_json()
    assert beyond["items"] == [] and beyond["total"] == total


@pytest.mark.parametrize(
    ("query", "field"),
    [("per_page=101", "per_page"), ("per_page=0", "per_page"), ("page=0", "page")],
)
def test_list_refuses_out_of_range_paging(client, case, query, field):
    assert_problem(client.get(f"{case.collection}?{query}", headers=case.headers), 422, field)


def test_nested_lists_show_only_their_parents_children(client, app, make):
    org = make.organization()
    facility, other = make.facility(org), make.facility(org)
    headers = make.manager(org)
    mine = [make.access_point(facility, name=f"Door {i}").id for i in range(2)]
    make.access_point(other)
    tactical = make.tactical_point(facility).id
    make.tactical_point(other)
    contact = make.contact(facility_id=facility.id).id
    make.contact(facility_id=other.id)
    make.contact(organization_id=org.id)

    base = f"{API}/facilities/{facility.id}"
    points = client.get(f"{base}/access-points", headers=headers)
    assert sorted(ids(points)) == sorted(mine) and points.get_json()["total"] == 2
    assert ids(client.get(f"{base}/tactical-points", headers=headers)) == [tactical]
    assert ids(client.get(f"{base}/contacts", headers=headers)) == [contact]

    missing = client.get(f"{API}/facilities/987654/access-points", headers=headers)
    assert_problem(missing, 404)
    lost = client.post(
        f"{API}/facilities/987654/tactical-points",
        json={"kind": "staging_area", "name": "Lot"},
        headers=headers,
    )
    assert_problem(lost, 404)
    assert count(app, TacticalPoint) == 2


# ---------------------------------------------------------------------------------------------
# Filters


def test_facility_filters(client, make):
    org, other_org = make.organization(), make.organization()
    headers = make.admin()
    northgate = make.facility(
        org,
        name="Northgate Mall",
        facility_type="shopping_mall",
        city="Boston",
        state="MA",
        postal_code="02108",
    ).id
    southgate = make.facility(org, name="Southgate Store", city="springfield").id
    outlet = make.facility(
        other_org, name="100%_Deal Outlet", city="SPRINGFIELD", postal_code="62702"
    ).id

    def found(query):
        response = client.get(f"{API}/facilities?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["total"] == len(body["items"])
        return sorted(ids(response))

    assert found("") == sorted([northgate, southgate, outlet])
    assert found("name=gate") == sorted([northgate, southgate])
    assert found("name=GATE") == sorted([northgate, southgate])
    assert found("name=RTHg") == [northgate]
    assert found("facility_type=shopping_mall") == [northgate]
    assert found("facility_type=retail_store") == sorted([southgate, outlet])
    assert found("city=Springfield") == sorted([southgate, outlet])
    assert found("city=BOSTON") == [northgate]
    assert found("city=Spring") == []
    assert found("state=MA") == [northgate]
    assert found("state=IL") == sorted([southgate, outlet])
    assert found("postal_code=62701") == [southgate]
    assert found(f"organization_id={other_org.id}") == [outlet]
    assert found(f"organization_id={org.id}&city=springfield") == [southgate]
    assert found("name=store&state=MA") == []


@pytest.mark.parametrize(
    ("pattern", "matches"), [("%25", ["100%_Deal Outlet"]), ("_", ["100%_Deal Outlet"])]
)
def test_like_wildcards_in_name_filters_are_literal(client, make, pattern, matches):
    headers = make.admin()
    org = make.organization(name="100%_Deal Outlet")
    make.organization(name="Plain Partner")
    make.facility(org, name="100%_Deal Outlet")
    make.facility(org, name="Plain Store")
    make.agency(name="100%_Deal Outlet")
    make.agency(name="Plain Agency")

    for kind in ("facilities", "organizations", "agencies"):
        response = client.get(f"{API}/{kind}?name={pattern}", headers=headers)
        assert response.status_code == 200
        assert [item["name"] for item in response.get_json()["items"]] == matches, kind
    backslash = client.get(f"{API}/facilities?name=%5C", headers=headers)
    assert backslash.get_json()["items"] == []


def test_organization_filters(client, make):
    headers = make.admin()
    acme = make.organization(name="Acme Stores", kind="retailer").id
    mall = make.organization(name="Acme Malls", kind="mall_owner").id
    make.organization(name="Riverside Theater", kind="theater")

    def found(query):
        return sorted(ids(client.get(f"{API}/organizations?{query}", headers=headers)))

    assert found("name=acme") == sorted([acme, mall])
    assert found("name=ACME&kind=mall_owner") == [mall]
    assert found("kind=retailer") == [acme]
    assert found("name=nobody") == []
    names = client.get(f"{API}/organizations", headers=headers).get_json()["items"]
    assert [n["name"] for n in names] == sorted(n["name"] for n in names)
    assert_problem(client.get(f"{API}/organizations?kind=bank", headers=headers), 422, "kind")


def test_agency_filters(client, make):
    headers = make.admin()
    police = make.agency(name="Springfield Police", agency_type="law_enforcement", state="IL").id
    fire = make.agency(name="Springfield Fire", agency_type="fire", state="IL").id
    boston = make.agency(name="Boston EMS", agency_type="ems", state="MA").id

    def found(query):
        return sorted(ids(client.get(f"{API}/agencies?{query}", headers=headers)))

    assert found("name=springfield") == sorted([police, fire])
    assert found("agency_type=fire") == [fire]
    assert found("state=MA") == [boston]
    assert found("state=IL&agency_type=law_enforcement") == [police]
    bad = client.get(f"{API}/agencies?agency_type=navy", headers=headers)
    assert_problem(bad, 422, "agency_type")


def test_mou_filters(client, make):
    headers = make.admin()
    org1, org2 = make.organization(), make.organization()
    ag1, ag2 = make.agency(), make.agency()
    in_force = make.mou(org1, ag1).id
    draft = make.mou(org1, ag2, scopes=("training",), status="draft").id
    expired = make.mou(
        org2,
        ag1,
        scopes=("key_holding", "data_sharing"),
        effective_date=TODAY - timedelta(days=100),
        expiry_date=TODAY - timedelta(days=1),
    ).id
    future = make.mou(org2, ag2, effective_date=TODAY + timedelta(days=10)).id

    def found(query):
        response = client.get(f"{API}/mous?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return sorted(ids(response))

    assert found(f"organization_id={org1.id}") == sorted([in_force, draft])
    assert found(f"agency_id={ag1.id}") == sorted([in_force, expired])
    assert found("status=draft") == [draft]
    # Expired is what an active MOU past its expiry date shows (stored: active).
    assert found("status=active") == sorted([in_force, future])
    assert found("status=expired") == [expired]
    assert found("scope=data_sharing") == sorted([in_force, expired, future])
    assert found("scope=key_holding") == [expired]
    assert found("in_force=true") == [in_force]
    assert found("in_force=false") == sorted([draft, expired, future])
    assert found(f"in_force=true&agency_id={ag2.id}") == []
    assert_problem(client.get(f"{API}/mous?scope=everything", headers=headers), 422, "scope")


def test_user_filters(client, make, app):
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    manager = make.user("facility_manager", organization=org).id
    officer = make.user("agency_user", agency=agency).id

    def found(query):
        return sorted(ids(client.get(f"{API}/users?{query}", headers=headers)))

    assert found("role=facility_manager") == [manager]
    assert found(f"organization_id={org.id}") == [manager]
    assert found(f"agency_id={agency.id}") == [officer]
    assert len(found("role=admin")) == count(app, User, User.role == "admin")


# ---------------------------------------------------------------------------------------------
# Uniqueness and references


@pytest.mark.parametrize(
    ("kind", "field", "existing", "body"),
    [
        ("organizations", "name", {"name": "Acme"}, {"name": "Acme"}),
        ("agencies", "name", {"name": "Metro PD"}, {"name": "Metro PD", "agency_type": "fire"}),
        (
            "agencies",
            "ori",
            {"name": "Metro PD", "ori": "IL0840100"},
            {"name": "County PD", "agency_type": "law_enforcement", "ori": "IL0840100"},
        ),
    ],
)
def test_duplicate_unique_key_is_409_naming_the_field(
    client, app, make, kind, field, existing, body
):
    headers = make.admin()
    model = {"organizations": Organization, "agencies": Agency}[kind]
    original = (make.organization if kind == "organizations" else make.agency)(**existing)
    other = client.post(
        f"{API}/{kind}", json={"name": "Unrelated"} | _needed(kind), headers=headers
    )
    other_id, other_etag = other.get_json()["id"], other.headers["ETag"]
    before = count(app, model)
    other_before = state(app, model, other_id)

    duplicate = client.post(f"{API}/{kind}", json=body, headers=headers)
    assert_problem(duplicate, 409, field)
    assert count(app, model) == before

    renamed = client.patch(
        f"{API}/{kind}/{other_id}",
        json={field: existing[field]},
        headers=if_match(headers, other_etag),
    )
    assert_problem(renamed, 409, field)
    assert state(app, model, other_id) == other_before
    assert fetch(app, model, original.id).name == existing["name"]


def _needed(kind) -> dict:
    return {"agency_type": "fire"} if kind == "agencies" else {}


def test_duplicate_username_and_client_id_are_409(client, app, make):
    headers = make.admin()
    make.user("admin", username="taken")
    agency = make.agency()
    make.cad_client(agency, client_id="taken-cad")
    users, clients = count(app, User), count(app, CadClient)

    user = client.post(
        f"{API}/users",
        json={"username": "taken", "password": "x" * 12, "role": "admin"},
        headers=headers,
    )
    assert_problem(user, 409, "username")
    cad = client.post(
        f"{API}/cad-clients",
        json={"client_id": "taken-cad", "agency_id": agency.id, "name": "Other"},
        headers=headers,
    )
    assert_problem(cad, 409, "client_id")
    assert (count(app, User), count(app, CadClient)) == (users, clients)


def test_organization_with_facilities_cannot_be_deleted(client, app, make):
    headers = make.admin()
    org = make.organization()
    facility = make.facility(org)
    contact = make.contact(organization_id=org.id)
    etag = client.get(f"{API}/organizations/{org.id}", headers=headers).headers["ETag"]
    before = state(app, Organization, org.id)

    response = client.delete(f"{API}/organizations/{org.id}", headers=if_match(headers, etag))

    assert_problem(response, 409)
    assert state(app, Organization, org.id) == before
    assert fetch(app, Facility, facility.id) is not None
    assert fetch(app, Contact, contact.id) is not None


def test_deleting_an_organization_removes_its_contacts(client, app, make):
    headers = make.admin()
    org, other = make.organization(), make.organization()
    mine = make.contact(organization_id=org.id).id
    theirs = make.contact(organization_id=other.id).id
    etag = client.get(f"{API}/organizations/{org.id}", headers=headers).headers["ETag"]

    response = client.delete(f"{API}/organizations/{org.id}", headers=if_match(headers, etag))

    assert response.status_code == 204
    assert fetch(app, Contact, mine) is None
    assert fetch(app, Contact, theirs) is not None


def test_agency_with_an_mou_cannot_be_deleted(client, app, make):
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    mou = make.mou(org, agency)
    etag = client.get(f"{API}/agencies/{agency.id}", headers=headers).headers["ETag"]

    response = client.delete(f"{API}/agencies/{agency.id}", headers=if_match(headers, etag))

    assert_problem(response, 409)
    assert fetch(app, Agency, agency.id) is not None
    assert fetch(app, Mou, mou.id) is not None


def test_deleting_a_facility_hides_it_and_its_children_until_restored(client, app, make):
    org, agency = make.organization(), make.agency()
    facility, sibling = make.facility(org), make.facility(org)
    headers = make.manager(org)
    points = [make.access_point(facility).id, make.access_point(facility, kind="gate").id]
    tactical = make.tactical_point(facility).id
    contact = make.contact(facility_id=facility.id).id
    kept = make.access_point(sibling).id
    only = make.mou(org, agency, facilities=[facility]).id
    etag = client.get(f"{API}/facilities/{facility.id}", headers=headers).headers["ETag"]

    response = client.delete(f"{API}/facilities/{facility.id}", headers=if_match(headers, etag))

    assert response.status_code == 204
    assert fetch(app, Facility, facility.id).deleted_at is not None
    hidden = [
        f"{API}/facilities/{facility.id}",
        *(f"{API}/access-points/{i}" for i in points),
        f"{API}/tactical-points/{tactical}",
        f"{API}/contacts/{contact}",
        f"{API}/facilities/{facility.id}/contacts",
    ]
    for path in hidden:
        assert_problem(client.get(path, headers=headers), 404)
    assert client.get(f"{API}/access-points/{kept}", headers=headers).status_code == 200
    # Nothing was removed, and the MOU still lists the facility: restoring widens nothing.
    assert fetch(app, AccessPoint, points[0]) is not None
    assert fetch(app, Mou, only).facility_ids == [facility.id]
    listed = client.get(f"{API}/facilities?deleted=true", headers=headers).get_json()
    assert [f["id"] for f in listed["items"]] == [facility.id]

    restored = client.post(f"{API}/facilities/{facility.id}/restore", headers=headers)

    assert restored.status_code == 200, restored.get_json()
    assert fetch(app, Facility, facility.id).deleted_at is None
    for path in hidden:
        assert client.get(path, headers=headers).status_code == 200
    history = client.get(f"{API}/facilities/{facility.id}/history", headers=headers).get_json()
    assert [h["action"] for h in history["items"][:2]] == ["restore", "delete"]


def test_facility_for_an_unknown_organization_is_422(client, app, make):
    headers = make.admin()
    response = client.post(f"{API}/facilities", json=facility_body(987654), headers=headers)
    assert_problem(response, 422, "organization_id")
    without = {k: v for k, v in facility_body(1).items() if k != "organization_id"}
    assert_problem(client.post(f"{API}/facilities", json=without, headers=headers), 422)
    assert count(app, Facility) == 0


def test_manager_creates_facility_in_own_organization_by_default(client, app, make):
    org = make.organization()
    body = {k: v for k, v in facility_body(org.id).items() if k != "organization_id"}
    response = client.post(f"{API}/facilities", json=body, headers=make.manager(org))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["organization_id"] == org.id
    assert fetch(app, Facility, response.get_json()["id"]).organization_id == org.id


def test_times_are_stored_and_shown_in_utc(client, app, make):
    org = make.organization()
    headers = make.manager(org)
    body = facility_body(org.id, last_verified_at="2024-05-01T14:00:00+02:00")

    created = client.post(f"{API}/facilities", json=body, headers=headers)

    assert created.status_code == 201
    assert created.get_json()["last_verified_at"] == "2024-05-01T12:00:00+00:00"
    record_id = created.get_json()["id"]
    read = client.get(f"{API}/facilities/{record_id}", headers=headers).get_json()
    assert read["last_verified_at"] == "2024-05-01T12:00:00+00:00"
    stored = fetch(app, Facility, record_id).confirmed_at
    assert stored == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_patch_may_clear_optional_fields_and_move_both_coordinates(client, app, make):
    org = make.organization()
    facility = make.facility(org, occupancy=50, hazards="Propane")
    headers = make.manager(org)
    url = f"{API}/facilities/{facility.id}"
    etag = client.get(url, headers=headers).headers["ETag"]

    response = client.patch(
        url,
        json={"occupancy": None, "hazards": None, "lat": None, "lon": None},
        headers=if_match(headers, etag),
    )

    assert response.status_code == 200, response.get_json()
    row = fetch(app, Facility, facility.id)
    assert (row.occupancy, row.hazards, row.lat, row.lon) == (None, None, None, None)
    assert row.name == facility.name and row.version == 2


# ---------------------------------------------------------------------------------------------
# MOUs


def mou_body(org, agency, **fields) -> dict:
    return {
        "organization_id": org.id,
        "agency_id": agency.id,
        "title": "Data sharing",
        "effective_date": (TODAY - timedelta(days=1)).isoformat(),
        "scopes": ["data_sharing"],
        **fields,
    }


def test_mou_scopes_round_trip_sorted_and_defaults_apply(client, app, make):
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    body = mou_body(org, agency, scopes=["training", "cctv_access", "data_sharing"])

    response = client.post(f"{API}/mous", json=body, headers=headers)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["scopes"] == ["cctv_access", "data_sharing", "training"]
    assert created["status"] == "draft"
    assert created["covers_all_facilities"] is True
    assert created["facility_ids"] == []
    assert created["expiry_date"] is None
    assert created["in_force"] is False
    row = fetch(app, Mou, created["id"])
    assert row.scopes == ["cctv_access", "data_sharing", "training"]
    assert count(app, MouScope, MouScope.mou_id == created["id"]) == 3


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"covers_all_facilities": False}, "facility_ids"),
        ({"covers_all_facilities": False, "facility_ids": []}, "facility_ids"),
        ({"covers_all_facilities": True, "facility_ids": "own"}, "facility_ids"),
        ({"covers_all_facilities": False, "facility_ids": "foreign"}, "facility_ids"),
        ({"covers_all_facilities": False, "facility_ids": [987654]}, "facility_ids"),
        ({"expiry_date": "2000-01-01"}, "expiry_date"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["data_sharing", "world_peace"]}, "scopes"),
        ({"organization_id": 987654}, "organization_id"),
        ({"agency_id": 987654}, "agency_id"),
    ],
)
def test_mou_rules_are_422(client, app, make, fields, error_field):
    headers = make.admin()
    org, other_org, agency = make.organization(), make.organization(), make.agency()
    own, foreign = make.facility(org), make.facility(other_org)
    fields = dict(fields)
    if fields.get("facility_ids") == "own":
        fields["facility_ids"] = [own.id]
    elif fields.get("facility_ids") == "foreign":
        fields["facility_ids"] = [own.id, foreign.id]

    response = client.post(f"{API}/mous", json=mou_body(org, agency, **fields), headers=headers)

    assert_problem(response, 422, error_field)
    assert count(app, Mou) == 0
    assert count(app, MouScope) == 0
    assert count(app, mou_facilities) == 0


def test_mou_in_force_is_computed(client, make, monkeypatch):
    # One instant for the whole test, the registry's included: the dates sent and the day
    # in_force is judged by would otherwise be read at different moments, on either side of a
    # midnight UTC (the module's TODAY is read at collection, minutes before this runs).
    now = db.utcnow()
    monkeypatch.setattr(db, "utcnow", lambda: now)
    today = now.date()
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    since_yesterday = {"effective_date": (today - timedelta(days=1)).isoformat()}

    def step(mou, name, **body):
        url = f"{API}/mous/{mou['id']}/{name}"
        etag = client.get(f"{API}/mous/{mou['id']}", headers=headers).headers["ETag"]
        response = client.post(url, json=body, headers=if_match(headers, etag))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def agreed(name, fields):
        """Drafted, proposed by the organization and accepted by the agency (an admin acting
        for each, as the lifecycle lets it)."""
        body = mou_body(org, agency, title=name, **fields)
        created = client.post(f"{API}/mous", json=body, headers=headers)
        assert created.status_code == 201, (name, created.get_json())
        assert created.get_json()["in_force"] is False, name
        return step(step(created.get_json(), "propose"), "accept", party="agency")

    cases = {
        "active today": (agreed("active today", since_yesterday), True),
        "not yet effective": (
            agreed("later", {"effective_date": (today + timedelta(days=1)).isoformat()}),
            False,
        ),
        "last day": (agreed("last", {**since_yesterday, "expiry_date": today.isoformat()}), True),
        "terminated": (
            step(agreed("ended", since_yesterday), "terminate", party="agency", reason="Done"),
            False,
        ),
    }
    draft = client.post(
        f"{API}/mous", json=mou_body(org, agency, **since_yesterday), headers=headers
    )
    cases["draft"] = (draft.get_json(), False)
    # An MOU that expired yesterday was agreed before; it is stored as it was (active).
    expired = make.mou(
        org,
        agency,
        effective_date=today - timedelta(days=10),
        expiry_date=today - timedelta(days=1),
    )
    cases["expired"] = (client.get(f"{API}/mous/{expired.id}", headers=headers).get_json(), False)
    for name, (shown, expected) in cases.items():
        assert shown["in_force"] is expected, name
        read = client.get(f"{API}/mous/{shown['id']}", headers=headers).get_json()
        assert read["in_force"] is expected, name
    assert cases["active today"][0]["status"] == "active"
    assert cases["expired"][0]["status"] == "expired"

    sent = mou_body(org, agency, in_force=True, status="draft")
    assert_problem(client.post(f"{API}/mous", json=sent, headers=headers), 422, "in_force")


def test_mou_patch_scopes_replaces_the_set_and_bumps_the_version(client, app, make):
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    # A draft: an active MOU's terms no longer change (test_mou_lifecycle.py).
    mou = make.mou(org, agency, scopes=("data_sharing", "training"), status="draft")
    url = f"{API}/mous/{mou.id}"
    etag = client.get(url, headers=headers).headers["ETag"]

    response = client.patch(
        url, json={"scopes": ["key_holding", "data_sharing"]}, headers=if_match(headers, etag)
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["scopes"] == ["data_sharing", "key_holding"]
    assert response.get_json()["version"] == 2
    assert response.headers["ETag"] != etag
    row = fetch(app, Mou, mou.id)
    assert row.scopes == ["data_sharing", "key_holding"] and row.version == 2
    assert count(app, MouScope, MouScope.mou_id == mou.id) == 2
    # The old ETag is now stale, even though only related rows changed.
    again = client.patch(url, json={"scopes": ["training"]}, headers=if_match(headers, etag))
    assert_problem(again, 412)
    assert fetch(app, Mou, mou.id).scopes == ["data_sharing", "key_holding"]


def test_mou_patch_keeps_unsent_defaults_and_checks_the_new_state(client, app, make):
    headers = make.admin()
    org, other_org, agency = make.organization(), make.organization(), make.agency()
    facility, second, foreign = make.facility(org), make.facility(org), make.facility(other_org)
    mou = make.mou(org, agency, facilities=[facility], status="draft")
    url = f"{API}/mous/{mou.id}"

    def etag():
        return client.get(url, headers=headers).headers["ETag"]

    # A partial update must not reset covers_all_facilities/facility_ids/status to defaults.
    titled = client.patch(url, json={"title": "Renamed"}, headers=if_match(headers, etag()))
    assert titled.status_code == 200, titled.get_json()
    row = fetch(app, Mou, mou.id)
    assert (row.title, row.status, row.covers_all_facilities) == ("Renamed", "draft", False)
    assert row.facility_ids == [facility.id] and row.scopes == ["data_sharing"]

    before = state(app, Mou, mou.id)
    for body, field_name in [
        ({"covers_all_facilities": True}, "facility_ids"),
        ({"facility_ids": []}, "facility_ids"),
        ({"facility_ids": [foreign.id]}, "facility_ids"),
        ({"expiry_date": (TODAY - timedelta(days=30)).isoformat()}, "expiry_date"),
        ({"organization_id": other_org.id}, "facility_ids"),
    ]:
        refused = client.patch(url, json=body, headers=if_match(headers, etag()))
        assert_problem(refused, 422, field_name)
        assert state(app, Mou, mou.id) == before, body

    widened = client.patch(
        url,
        json={"covers_all_facilities": False, "facility_ids": [second.id, facility.id]},
        headers=if_match(headers, etag()),
    )
    assert widened.status_code == 200
    assert widened.get_json()["facility_ids"] == sorted([facility.id, second.id])
    everything = client.patch(
        url,
        json={"covers_all_facilities": True, "facility_ids": []},
        headers=if_match(headers, etag()),
    )
    assert everything.status_code == 200
    assert fetch(app, Mou, mou.id).facility_ids == []
    assert mou_link_count(app, facility.id) == 0


def test_mou_delete_removes_scopes_and_links(client, app, make):
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    mou = make.mou(org, agency, scopes=("data_sharing", "staging"), facilities=[facility])
    etag = client.get(f"{API}/mous/{mou.id}", headers=headers).headers["ETag"]

    response = client.delete(f"{API}/mous/{mou.id}", headers=if_match(headers, etag))

    assert response.status_code == 204
    assert count(app, MouScope) == 0
    assert mou_link_count(app, facility.id) == 0
    assert fetch(app, Facility, facility.id) is not None


# ---------------------------------------------------------------------------------------------
# Users


def login(client, username, password):
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def test_user_password_is_hashed_and_never_returned(client, app, make):
    headers = make.admin()
    secret = "a-very-private-passphrase"
    created = client.post(
        f"{API}/users",
        json={"username": "planner", "password": secret, "role": "admin"},
        headers=headers,
    )
    assert created.status_code == 201
    user_id, etag = created.get_json()["id"], created.headers["ETag"]
    patched = client.patch(
        f"{API}/users/{user_id}", json={"full_name": "P"}, headers=if_match(headers, etag)
    )
    responses = [
        created,
        client.get(f"{API}/users/{user_id}", headers=headers),
        client.get(f"{API}/users", headers=headers),
        patched,
    ]
    for response in responses:
        assert response.status_code in (200, 201)
        text = response.get_data(as_text=True)
        assert secret not in text and "password" not in text and "argon2" not in text

    row = fetch(app, User, user_id)
    assert row.password_hash != secret and secret not in row.password_hash
    assert verify_secret(row.password_hash, secret)
    assert login(client, "planner", secret).status_code == 200


def test_user_patch_without_is_active_keeps_it(client, app, make):
    headers = make.admin()
    user = make.user("admin", is_active=False, full_name="Old")
    url = f"{API}/users/{user.id}"
    etag = client.get(url, headers=headers).headers["ETag"]

    response = client.patch(url, json={"full_name": "New"}, headers=if_match(headers, etag))

    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    row = fetch(app, User, user.id)
    assert (row.full_name, row.is_active, row.password_hash) == ("New", False, user.password_hash)

    # And the other way: deactivating works, and only is_active changes.
    etag = response.headers["ETag"]
    active = client.patch(url, json={"is_active": True}, headers=if_match(headers, etag))
    assert active.status_code == 200
    assert fetch(app, User, user.id).is_active is True
    assert fetch(app, User, user.id).full_name == "New"


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"role": "facility_manager"}, "organization_id"),
        ({"role": "agency_user"}, "agency_id"),
        ({"role": "agency_user", "agency_id": "A", "organization_id": "O"}, "organization_id"),
        ({"role": "facility_manager", "organization_id": "O", "agency_id": "A"}, "agency_id"),
        ({"role": "admin", "organization_id": "O"}, "organization_id"),
        ({"role": "admin", "agency_id": "A"}, "agency_id"),
        ({"role": "facility_manager", "organization_id": 987654}, "organization_id"),
        ({"role": "agency_user", "agency_id": 987654}, "agency_id"),
        ({"role": "cad"}, "role"),
        ({"role": "admin", "password": "short"}, "password"),
    ],
)
def test_user_role_binding_errors_are_422(client, app, make, fields, error_field):
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    refs = {"O": org.id, "A": agency.id}
    body = {"username": "someone", "password": "x" * 12}
    body |= {k: refs.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    users = count(app, User)

    response = client.post(f"{API}/users", json=body, headers=headers)

    assert_problem(response, 422, error_field)
    assert count(app, User) == users


def test_user_patch_role_binding_checks_the_new_state(client, app, make):
    headers = make.admin()
    org, agency = make.organization(), make.agency()
    user = make.user("facility_manager", organization=org)
    url = f"{API}/users/{user.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    before = state(app, User, user.id)

    refused = client.patch(url, json={"role": "agency_user"}, headers=if_match(headers, etag))
    assert_problem(refused, 422)
    assert state(app, User, user.id) == before

    moved = client.patch(
        url,
        json={"role": "agency_user", "organization_id": None, "agency_id": agency.id},
        headers=if_match(headers, etag),
    )
    assert moved.status_code == 200, moved.get_json()
    row = fetch(app, User, user.id)
    assert (row.role, row.organization_id, row.agency_id) == ("agency_user", None, agency.id)


def test_user_password_change_then_login(client, app, make):
    headers = make.admin()
    user = make.user("admin", username="rotator")
    url = f"{API}/users/{user.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    assert login(client, "rotator", PASSWORD).status_code == 200

    short = client.patch(url, json={"password": "short"}, headers=if_match(headers, etag))
    assert_problem(short, 422, "password")
    assert fetch(app, User, user.id).password_hash == user.password_hash

    new_password = "a-brand-new-passphrase"
    response = client.patch(url, json={"password": new_password}, headers=if_match(headers, etag))

    assert response.status_code == 200
    assert "password" not in response.get_json()
    row = fetch(app, User, user.id)
    assert row.version == user.version + 1 and row.username == "rotator"
    assert login(client, "rotator", new_password).status_code == 200
    assert_problem(login(client, "rotator", PASSWORD), 401)


# ---------------------------------------------------------------------------------------------
# CAD clients


def test_cad_client_secret_is_shown_once_and_works(client, app, make):
    headers = make.admin()
    agency = make.agency()

    created = client.post(
        f"{API}/cad-clients",
        json={"client_id": "metro-cad", "agency_id": agency.id, "name": "Metro CAD"},
        headers=headers,
    )

    assert created.status_code == 201
    body = created.get_json()
    secret = body["client_secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    client_id = body["id"]
    row = fetch(app, CadClient, client_id)
    assert secret not in {str(v) for v in state(app, CadClient, client_id).values()}
    assert verify_secret(row.secret_hash, secret)

    etag = created.headers["ETag"]
    patched = client.patch(
        f"{API}/cad-clients/{client_id}",
        json={"name": "Metro CAD 2"},
        headers=if_match(headers, etag),
    )
    for response in (
        client.get(f"{API}/cad-clients/{client_id}", headers=headers),
        client.get(f"{API}/cad-clients", headers=headers),
        patched,
    ):
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "client_secret" not in text and secret not in text and "secret_hash" not in text

    token = client.post(
        f"{API}/auth/token", json={"client_id": "metro-cad", "client_secret": secret}
    )
    assert token.status_code == 200, token.get_json()
    assert token.get_json()["access_token"] and token.get_json()["role"] == "cad"
    wrong = client.post(
        f"{API}/auth/token", json={"client_id": "metro-cad", "client_secret": secret + "x"}
    )
    assert_problem(wrong, 401)


def test_each_cad_client_gets_its_own_secret(client, make):
    headers = make.admin()
    agency = make.agency()
    secrets = {
        client.post(
            f"{API}/cad-clients",
            json={"client_id": f"cad-{i}", "agency_id": agency.id, "name": f"CAD {i}"},
            headers=headers,
        ).get_json()["client_secret"]
        for i in range(2)
    }
    assert len(secrets) == 2


def test_deactivated_cad_client_cannot_get_a_token(client, app, make):
    headers = make.admin()
    agency = make.agency()
    created = client.post(
        f"{API}/cad-clients",
        json={"client_id": "paused-cad", "agency_id": agency.id, "name": "Paused"},
        headers=headers,
    )
    secret, client_id = created.get_json()["client_secret"], created.get_json()["id"]

    response = client.patch(
        f"{API}/cad-clients/{client_id}",
        json={"is_active": False},
        headers=if_match(headers, created.headers["ETag"]),
    )

    assert response.status_code == 200
    assert fetch(app, CadClient, client_id).is_active is False
    token = client.post(
        f"{API}/auth/token", json={"client_id": "paused-cad", "client_secret": secret}
    )
    assert_problem(token, 401)


def test_cad_client_for_an_unknown_agency_is_422(client, app, make):
    headers = make.admin()
    response = client.post(
        f"{API}/cad-clients",
        json={"client_id": "lost-cad", "agency_id": 987654, "name": "Lost"},
        headers=headers,
    )
    assert_problem(response, 422, "agency_id")
    assert count(app, CadClient) == 0
