"""Bad input always gets a clear application/problem+json error and leaves the data unchanged.

Every refused request below is made twice where it applies (POST to the collection, PATCH of an
existing record with a current If-Match), and every test compares a dump of the whole database
before and after: a refused request must not have written anything, anywhere.
"""

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from registry import db
from registry.db import Base
from tests.conftest import assert_problem

API = "/api/v1"
SECRET = "sk_live_9f8e7d6c5b4a3921"
NUL = "\u0000"


# ---------------------------------------------------------------------------------------------
# Helpers


def dump_database(app) -> dict:
    """Every row of every table, so "unchanged" means unchanged anywhere."""
    with app.app_context(), db.engine().connect() as connection:
        return {
            table.name: sorted(map(repr, connection.execute(select(table)).all()))
            for table in Base.metadata.sorted_tables
        }


def problem(response, status, field=None) -> dict:
    """An RFC 9457 problem with `status`; a 422 carries a per-field `errors` map."""
    body = assert_problem(response, status, field)
    assert set(body) <= {"type", "title", "status", "detail", "errors"}, body
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "SELECT" not in text and "INSERT" not in text
    if status == 422:
        assert isinstance(body["errors"], dict) and body["errors"], body
    return body


@dataclass
class Target:
    """One resource area: where to POST, an existing record to PATCH, a caller, a valid body."""

    collection: str
    item: str
    headers: dict
    body: dict


def organizations(make) -> Target:
    org = make.organization()
    body = {
        "name": "Acme Stores",
        "kind": "retailer",
        "website": "https://acme.example",
        "main_phone": "617-555-0100",
        "notes": "Head office",
    }
    return Target(f"{API}/organizations", f"{API}/organizations/{org.id}", make.admin(), body)


def agencies(make) -> Target:
    agency = make.agency()
    body = {
        "name": "Metro Police",
        "agency_type": "law_enforcement",
        "ori": "IL0840100",
        "fdid": "84001",
        "jurisdiction": "Metro City",
        "state": "IL",
        "main_phone": "217-555-0100",
        "dispatch_phone": "217-555-0111",
        "email": "dispatch@metro.example",
    }
    return Target(f"{API}/agencies", f"{API}/agencies/{agency.id}", make.admin(), body)


def facilities(make) -> Target:
    org = make.organization()
    facility = make.facility(org)
    body = {
        "organization_id": org.id,
        "name": "Center Store",
        "facility_type": "retail_store",
        "address_line1": "100 Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        "lat": 39.78,
        "lon": -89.65,
        "main_phone": "217-555-0150",
        "occupancy": 300,
        "stories_above_grade": 2,
        "opening_hours": "Mo-Su 08:00-22:00",
        "construction_type": "Type II-B",
        "hazards": "Propane",
        "last_verified_at": "2024-05-01T12:00:00Z",
    }
    return Target(f"{API}/facilities", f"{API}/facilities/{facility.id}", make.manager(org), body)


def access_points(make) -> Target:
    org = make.organization()
    facility = make.facility(org)
    point = make.access_point(facility)
    body = {
        "kind": "entrance",
        "name": "Front doors",
        "lat": 39.8,
        "lon": -89.6,
        "level": "Ground",
        "description": "Glass doors",
    }
    return Target(
        f"{API}/facilities/{facility.id}/access-points",
        f"{API}/access-points/{point.id}",
        make.manager(org),
        body,
    )


def tactical_points(make) -> Target:
    org = make.organization()
    facility = make.facility(org)
    point = make.tactical_point(facility)
    body = {"kind": "staging_area", "name": "North lot", "lat": 39.8, "lon": -89.6, "notes": "Big"}
    return Target(
        f"{API}/facilities/{facility.id}/tactical-points",
        f"{API}/tactical-points/{point.id}",
        make.manager(org),
        body,
    )


def contacts(make) -> Target:
    org = make.organization()
    facility = make.facility(org)
    contact = make.contact(facility_id=facility.id)
    body = {
        "name": "Pat Doe",
        "role": "Store manager",
        "email": "pat@acme.example",
        "phones": [{"kind": "mobile", "number": "217-555-0100", "extension": "12"}],
        "call_order": 1,
        "available_24_7": True,
        "notes": "Keys",
        "last_verified_at": "2024-05-01T12:00:00Z",
    }
    return Target(
        f"{API}/facilities/{facility.id}/contacts",
        f"{API}/contacts/{contact.id}",
        make.manager(org),
        body,
    )


def mous(make) -> Target:
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    # A draft: its terms change (an active MOU's never do: test_mou_lifecycle.py).
    mou = make.mou(org, agency, status="draft")
    body = {
        "organization_id": org.id,
        "agency_id": agency.id,
        "title": "Data sharing",
        "effective_date": (date.today() - timedelta(days=1)).isoformat(),
        "expiry_date": (date.today() + timedelta(days=365)).isoformat(),
        "scopes": ["data_sharing"],
        "covers_all_facilities": False,
        "facility_ids": [facility.id],
        "notes": "Signed",
    }
    return Target(f"{API}/mous", f"{API}/mous/{mou.id}", make.admin(), body)


def users(make) -> Target:
    org = make.organization()
    user = make.user("facility_manager", organization=org)
    body = {
        "username": "new.manager",
        "password": "a-long-enough-password",
        "role": "facility_manager",
        "organization_id": org.id,
        "full_name": "New Manager",
        "email": "new@acme.example",
        "is_active": True,
    }
    return Target(f"{API}/users", f"{API}/users/{user.id}", make.admin(), body)


def cad_clients(make) -> Target:
    agency = make.agency()
    cad = make.cad_client(agency)
    body = {
        "client_id": "metro-cad",
        "agency_id": agency.id,
        "name": "Metro CAD",
        "is_active": True,
    }
    return Target(f"{API}/cad-clients", f"{API}/cad-clients/{cad.id}", make.admin(), body)


TARGETS = {
    "organizations": organizations,
    "agencies": agencies,
    "facilities": facilities,
    "access-points": access_points,
    "tactical-points": tactical_points,
    "contacts": contacts,
    "mous": mous,
    "users": users,
    "cad-clients": cad_clients,
}


@pytest.fixture(params=list(TARGETS))
def target(request, make) -> Target:
    return TARGETS[request.param](make)


class Sender:
    """Sends one invalid change both ways and checks the refusal and the untouched database."""

    def __init__(self, client, app, target: Target):
        self.client, self.app, self.target = client, app, target

    def etag(self) -> str:
        response = self.client.get(self.target.item, headers=self.target.headers)
        assert response.status_code == 200
        return response.headers["ETag"]

    def post(self, **kwargs):
        return self.client.post(self.target.collection, headers=self.target.headers, **kwargs)

    def patch(self, **kwargs):
        headers = {**self.target.headers, "If-Match": self.etag()}
        return self.client.patch(self.target.item, headers=headers, **kwargs)

    def refused(self, status, field=None, post=None, patch=None, **kwargs) -> list[dict]:
        """POST `post` (default: the valid body) and PATCH `patch` (default: none), both refused."""
        before = dump_database(self.app)
        bodies = []
        if post is not None:
            bodies.append(problem(self.post(json=post, **kwargs), status, field))
        if patch is not None:
            bodies.append(problem(self.patch(json=patch, **kwargs), status, field))
        assert dump_database(self.app) == before
        return bodies

    def raw(self, status, **kwargs) -> None:
        """POST and PATCH the same raw request; both refused with `status`."""
        before = dump_database(self.app)
        for send in (self.post, self.patch):
            response = send(**kwargs)
            statuses = status if isinstance(status, tuple) else (status,)
            assert response.status_code in statuses, response.get_data(as_text=True)
            problem(response, response.status_code)
        assert dump_database(self.app) == before


def sender_for(client, app, make, name) -> Sender:
    return Sender(client, app, TARGETS[name](make))


@pytest.fixture
def send(client, app, target) -> Sender:
    return Sender(client, app, target)


def with_(body: dict, **changes) -> dict:
    return {**body, **changes}


# ---------------------------------------------------------------------------------------------
# The valid bodies are valid (so every refusal below is caused by the one thing changed)


def test_the_valid_body_is_accepted(send, target):
    created = send.post(json=target.body)
    assert created.status_code == 201, created.get_json()
    changed = send.patch(json={k: v for k, v in target.body.items() if k == "notes"})
    assert changed.status_code == 200, changed.get_json()


# ---------------------------------------------------------------------------------------------
# Fields


@pytest.mark.parametrize("field", ["colour", "id", "version", "created_at", "updated_at"])
def test_unknown_and_read_only_fields_are_named(send, target, field):
    value = {"colour": "red", "id": 99, "version": 99}.get(field, "2024-01-01T00:00:00Z")
    send.refused(422, field, post=with_(target.body, **{field: value}), patch={field: value})


WRONG_TYPES = [
    ("organizations", "name", 5),
    ("organizations", "kind", ["retailer"]),
    ("organizations", "notes", {"text": "x"}),
    ("organizations", "website", 12),
    ("organizations", "main_phone", 6175550100),
    ("agencies", "name", 5.5),
    ("agencies", "ori", 123456789),
    ("agencies", "agency_type", None),
    ("agencies", "email", ["a@b.example"]),
    ("facilities", "occupancy", "300"),
    ("facilities", "occupancy", 2.5),
    ("facilities", "occupancy", True),
    ("facilities", "stories_above_grade", "2"),
    ("facilities", "organization_id", "1"),
    ("facilities", "organization_id", 1.5),
    ("facilities", "organization_id", None),
    ("facilities", "name", 42),
    ("facilities", "city", None),
    ("facilities", "lat", "north"),
    ("facilities", "lat", True),
    ("facilities", "has_sprinklers", "perhaps"),
    ("facilities", "postal_code", 62701),
    ("facilities", "external_ids", [{"system": "metro-cad"}]),  # a PATCH replaces whole items
    ("access-points", "name", 1),
    ("access-points", "kind", 3),
    ("access-points", "kind", "secret_tunnel"),
    ("access-points", "lon", [1, 2]),
    ("tactical-points", "name", None),
    ("tactical-points", "description", 3.5),
    ("contacts", "call_order", "1"),
    ("contacts", "call_order", 2.5),
    ("contacts", "phones", "217-555-0100"),
    ("contacts", "phones", [5]),
    ("contacts", "phones", [{"kind": "mobile"}]),  # a PATCH replaces whole items
    ("contacts", "phones", [{"number": "217-555-0100"}]),
    ("contacts", "phones", [{"kind": "fax", "number": "217-555-0100"}]),
    ("contacts", "available_24_7", "sometimes"),
    ("contacts", "name", 7),
    ("contacts", "email", "not-an-email"),
    ("mous", "organization_id", "1"),
    ("mous", "agency_id", 2.5),
    ("mous", "scopes", "data_sharing"),
    ("mous", "title", 1),
    ("mous", "covers_all_facilities", "maybe"),
    ("mous", "facility_ids", ["1"]),
    ("mous", "facility_ids", 1),
    ("mous", "status", "signed"),
    ("users", "organization_id", "1"),
    ("users", "is_active", "sometimes"),
    ("users", "username", 12345),
    ("users", "username", "a b"),
    ("users", "password", 123456789012345),
    ("users", "role", "root"),
    ("cad-clients", "agency_id", "1"),
    ("cad-clients", "agency_id", 2.5),
    ("cad-clients", "name", 5),
    ("cad-clients", "is_active", []),
]


@pytest.mark.parametrize(("name", "field", "value"), WRONG_TYPES)
def test_wrong_types_are_422_naming_the_field(client, app, make, name, field, value):
    send = sender_for(client, app, make, name)
    body = send.target.body
    send.refused(422, field, post=with_(body, **{field: value}), patch={field: value})


COORDINATE_TARGETS = ["facilities", "access-points", "tactical-points"]


@pytest.mark.parametrize("name", COORDINATE_TARGETS)
@pytest.mark.parametrize(
    ("coordinates", "field"),
    [
        ({"lat": 91, "lon": 0}, "lat"),
        ({"lat": -90.0001, "lon": 0}, "lat"),
        ({"lat": 0, "lon": -181}, "lon"),
        ({"lat": 0, "lon": 180.5}, "lon"),
        ({"lat": 10, "lon": None}, "lat"),
        ({"lat": None, "lon": 10}, "lat"),
        ({"lat": 1e400, "lon": 0}, "lat"),
    ],
)
def test_out_of_range_or_half_coordinates_are_422(client, app, make, name, coordinates, field):
    send = sender_for(client, app, make, name)
    send.refused(422, field, post=with_(send.target.body, **coordinates), patch=coordinates)


@pytest.mark.parametrize("name", COORDINATE_TARGETS)
@pytest.mark.parametrize("alone", [{"lat": 10.0}, {"lon": 10.0}])
def test_one_coordinate_alone_is_422(client, app, make, name, alone):
    send = sender_for(client, app, make, name)
    body = {k: v for k, v in send.target.body.items() if k not in ("lat", "lon")} | alone
    send.refused(422, "lat", post=body, patch=alone)


@pytest.mark.parametrize("name", COORDINATE_TARGETS)
def test_not_a_number_coordinate_is_422(client, app, make, name):
    send = sender_for(client, app, make, name)
    target = send.target
    for text in ('{"lat": NaN, "lon": 1}', '{"lat": 1, "lon": Infinity}'):
        field = "lat" if "NaN" in text else "lon"
        post = json.dumps(target.body)[:-1] + ", " + text[1:]
        before = dump_database(send.app)
        problem(send.post(data=post, content_type="application/json"), 422, field)
        problem(send.patch(data=text, content_type="application/json"), 422, field)
        assert dump_database(send.app) == before


PHONE_FIELDS = [
    ("organizations", "main_phone"),
    ("agencies", "main_phone"),
    ("agencies", "dispatch_phone"),
    ("facilities", "main_phone"),
    ("contacts", "phones"),
]


@pytest.mark.parametrize(("name", "field"), PHONE_FIELDS)
@pytest.mark.parametrize("number", ["12", "abc", "+1 555", "", "555-0100", "+1" + "2" * 40])
def test_malformed_phone_numbers_are_422(client, app, make, name, field, number):
    send = sender_for(client, app, make, name)
    value = [{"kind": "mobile", "number": number}] if field == "phones" else number
    send.refused(422, field, post=with_(send.target.body, **{field: value}), patch={field: value})


DATE_FIELDS = [
    ("facilities", "last_verified_at", "yesterday"),
    ("facilities", "last_verified_at", "2024-02-30T10:00:00Z"),
    ("facilities", "last_verified_at", "2024-05-01T12:00:00"),  # no offset: ambiguous
    ("facilities", "last_verified_at", "2024-05-01T25:00:00Z"),
    ("facilities", "last_verified_at", 1714564800),
    ("facilities", "last_verified_at", ""),
    ("contacts", "last_verified_at", "01/05/2024 12:00"),
    ("contacts", "last_verified_at", "2024-05-01T12:00:00"),
    ("mous", "effective_date", "2024-13-01"),
    ("mous", "effective_date", "2024-02-30"),
    ("mous", "effective_date", "01/02/2024"),
    ("mous", "effective_date", 20240101),
    ("mous", "effective_date", ""),
    ("mous", "effective_date", None),
    ("mous", "expiry_date", "soon"),
]


@pytest.mark.parametrize(("name", "field", "value"), DATE_FIELDS)
def test_invalid_dates_and_times_are_422(client, app, make, name, field, value):
    send = sender_for(client, app, make, name)
    send.refused(422, field, post=with_(send.target.body, **{field: value}), patch={field: value})


# A text field of each area, and how long it may be.
TEXT_LIMITS = [
    ("organizations", "name", 200),
    ("organizations", "notes", 5000),
    ("organizations", "website", 300),
    ("agencies", "name", 200),
    ("agencies", "jurisdiction", 200),
    ("agencies", "fdid", 10),
    ("agencies", "email", 254),
    ("facilities", "name", 200),
    ("facilities", "address_line1", 200),
    ("facilities", "city", 100),
    ("facilities", "opening_hours", 300),
    ("facilities", "construction_type", 100),
    ("facilities", "hazards", 5000),
    ("access-points", "name", 200),
    ("access-points", "level", 40),
    ("access-points", "description", 5000),
    ("tactical-points", "name", 200),
    ("tactical-points", "notes", 5000),
    ("contacts", "name", 200),
    ("contacts", "role", 200),
    ("contacts", "notes", 5000),
    ("mous", "title", 200),
    ("mous", "notes", 5000),
    ("users", "username", 80),
    ("users", "full_name", 200),
    ("users", "password", 200),
    ("cad-clients", "client_id", 80),
    ("cad-clients", "name", 200),
]


def text_of_length(field: str, length: int) -> str:
    """A valid value of `field` that is exactly `length` characters long."""
    if field == "address_line1":  # it must still read as a street address
        return "100 " + "A" * (length - len("100  St")) + " St"
    if field == "website":
        return "https://acme.example/" + "a" * (length - len("https://acme.example/"))
    if field == "email":
        domain_length = length - 65
        labels = ["b" * 63, "c" * 63, "d" * (domain_length - 63 - 63 - 2 - 4)]
        return "a" * 64 + "@" + ".".join(labels) + ".com"
    return "a" * length


@pytest.mark.parametrize(("name", "field", "limit"), TEXT_LIMITS)
def test_strings_beyond_the_field_maximum_are_422(client, app, make, name, field, limit):
    send = sender_for(client, app, make, name)
    value = text_of_length(field, limit + 1)
    assert len(value) == limit + 1
    send.refused(422, field, post=with_(send.target.body, **{field: value}), patch={field: value})


@pytest.mark.parametrize(("name", "field", "limit"), TEXT_LIMITS)
def test_strings_at_the_field_maximum_are_stored(client, app, make, name, field, limit):
    """The schema's maximum fits the column (PostgreSQL would refuse a longer VARCHAR)."""
    send = sender_for(client, app, make, name)
    value = text_of_length(field, limit)
    assert len(value) == limit
    response = send.patch(json={field: value})
    assert response.status_code == 200, response.get_json()
    if field != "password":
        assert response.get_json()[field] == value
        shown = send.client.get(send.target.item, headers=send.target.headers).get_json()
        assert shown[field] == value


NUL_FIELDS = [
    ("organizations", "name"),
    ("organizations", "notes"),
    ("agencies", "jurisdiction"),
    ("facilities", "name"),
    ("facilities", "hazards"),
    ("access-points", "name"),
    ("tactical-points", "description"),
    ("contacts", "role"),
    ("mous", "title"),
    ("users", "full_name"),
    ("users", "password"),
    ("cad-clients", "name"),
]


@pytest.mark.parametrize(("name", "field"), NUL_FIELDS)
def test_nul_characters_are_422_never_500(client, app, make, name, field):
    send = sender_for(client, app, make, name)
    value = f"before{NUL}after-long-enough"
    send.refused(422, field, post=with_(send.target.body, **{field: value}), patch={field: value})


def test_nul_characters_in_nested_values_and_keys_are_422(client, app, make):
    send = sender_for(client, app, make, "contacts")
    phones = [{"kind": "mobile", "number": "217-555-0100", "extension": f"1{NUL}2"}]
    send.refused(
        422, "phones", post=with_(send.target.body, phones=phones), patch={"phones": phones}
    )
    mous = sender_for(client, app, make, "mous")
    scopes = [f"data_sharing{NUL}"]
    mous.refused(
        422, "scopes", post=with_(mous.target.body, scopes=scopes), patch={"scopes": scopes}
    )
    send.refused(
        422, post=with_(send.target.body, **{f"na{NUL}me": "x"}), patch={f"na{NUL}me": "x"}
    )


OUT_OF_RANGE_NUMBERS = [
    ("facilities", "occupancy", 10**20),
    ("facilities", "occupancy", -1),
    ("facilities", "stories_above_grade", 201),
    ("facilities", "stories_below_grade", -1),
    ("facilities", "floor_area_sq_ft", 2**63),
    ("facilities", "organization_id", 10**20),
    ("facilities", "organization_id", 2**31),
    ("facilities", "organization_id", 0),
    ("contacts", "call_order", 10**20),
    ("contacts", "call_order", 0),
    ("contacts", "call_order", -1),
    ("mous", "organization_id", 10**20),
    ("mous", "agency_id", 2**31),
    ("mous", "facility_ids", [10**20]),
    ("mous", "facility_ids", [-1]),
    ("users", "organization_id", 10**20),
    ("users", "agency_id", 2**40),
    ("cad-clients", "agency_id", 10**20),
    ("cad-clients", "agency_id", -3),
]


@pytest.mark.parametrize(("name", "field", "value"), OUT_OF_RANGE_NUMBERS)
def test_integer_overflow_and_negative_numbers_are_422_not_500(
    client, app, make, name, field, value
):
    send = sender_for(client, app, make, name)
    send.refused(422, field, post=with_(send.target.body, **{field: value}), patch={field: value})


# ---------------------------------------------------------------------------------------------
# Bodies


def test_a_body_that_is_not_json_is_400(send):
    send.raw(400, data='{"name": "unterminated', content_type="application/json")
    send.raw(400, data=b"\xff\xfe\x00garbage", content_type="application/json")


def test_a_json_null_body_is_refused(send):
    send.raw((400, 422), data="null", content_type="application/json")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml"],
)
def test_a_wrong_content_type_is_415(send, target, content_type):
    send.raw(415, data=json.dumps(target.body), content_type=content_type)


def test_form_data_and_a_missing_content_type_are_415(send, target):
    send.raw(415, data={"name": "Acme"})
    send.raw(415, data=json.dumps(target.body))


@pytest.mark.parametrize("payload", [[], ["x"], "a string", 5, True])
def test_a_json_value_that_is_not_an_object_is_422(send, target, payload):
    if payload == ["x"]:
        payload = [target.body]
    send.raw(422, data=json.dumps(payload), content_type="application/json")


def test_an_empty_body_is_400_or_415(send):
    send.raw((400, 415), data="", content_type="application/json")
    send.raw((400, 415), data="")
    send.raw((400, 415), data="   ", content_type="application/json")


def test_a_body_over_the_size_limit_is_413(send, target, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 1024 * 1024
    huge = with_(target.body, notes="x" * (limit + 1))
    send.raw(413, data=json.dumps(huge), content_type="application/json")


# ---------------------------------------------------------------------------------------------
# Query strings


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=-1", "page"),
        ("page=", "page"),
        (f"page={10**20}", "page"),
        ("per_page=ten", "per_page"),
        ("per_page=1e2", "per_page"),
        (f"per_page={10**20}", "per_page"),
    ],
)
def test_a_non_integer_or_out_of_range_page_is_422(send, target, query, field):
    before = dump_database(send.app)
    response = send.client.get(f"{target.collection}?{query}", headers=target.headers)
    body = problem(response, 422, field)
    assert body["detail"]
    assert dump_database(send.app) == before


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("facilities?organization_id=abc", "organization_id"),
        (f"facilities?organization_id={10**20}", "organization_id"),
        ("facilities?facility_type=castle", "facility_type"),
        ("facilities?state=ILL", "state"),
        (f"facilities?name={'x' * 201}", "name"),
        ("facilities?name=a%00b", "name"),
        ("organizations?kind=bank", "kind"),
        ("agencies?agency_type=navy", "agency_type"),
        ("mous?in_force=maybe", "in_force"),
        (f"mous?agency_id={2**31}", "agency_id"),
        ("mous?status=signed", "status"),
        ("users?role=root", "role"),
        ("users?organization_id=x", "organization_id"),
    ],
)
def test_invalid_filters_are_422(client, make, path, field):
    problem(client.get(f"{API}/{path}", headers=make.admin()), 422, field)


# ---------------------------------------------------------------------------------------------
# Routes and methods


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nowhere",
        "/nowhere",
        "/api/v2/organizations",
        "/api/v1/organizations/abc",
        "/api/v1/organizations/-1",
        "/api/v1/organizations/1/nothing",
        "/api/v1/facilities/1.5",
    ],
)
def test_unknown_routes_are_404_problems(client, make, path):
    headers = make.admin()
    for method in ("get", "post", "patch", "delete"):
        response = getattr(client, method)(path, headers=headers, json={})
        problem(response, 404)


@pytest.mark.parametrize("record_id", [0, 2**31, 10**20])
def test_ids_no_record_can_have_are_404_problems(client, app, make, record_id):
    headers = make.admin()
    before = dump_database(app)
    for kind in ("organizations", "agencies", "facilities", "access-points", "mous", "users"):
        url = f"{API}/{kind}/{record_id}"
        problem(client.get(url, headers=headers), 404)
        problem(client.patch(url, json={}, headers={**headers, "If-Match": '"x"'}), 404)
        problem(client.delete(url, headers={**headers, "If-Match": '"x"'}), 404)
    for nested, body in [
        ("access-points", {"name": "Door", "kind": "gate"}),
        ("tactical-points", {"name": "Lot", "kind": "staging_area"}),
        ("contacts", {"name": "Pat"}),
    ]:
        url = f"{API}/facilities/{record_id}/{nested}"
        problem(client.get(url, headers=headers), 404)
        problem(client.post(url, json=body, headers=headers), 404)
    assert dump_database(app) == before


def test_unsupported_methods_are_405_problems(client, app, make):
    org = make.organization()
    headers = make.admin()
    before = dump_database(app)
    cases = [
        ("put", f"{API}/organizations/{org.id}", {"GET", "PATCH", "DELETE"}),
        ("post", f"{API}/organizations/{org.id}", {"GET", "PATCH", "DELETE"}),
        ("delete", f"{API}/organizations", {"GET", "POST"}),
        ("patch", f"{API}/facilities", {"GET", "POST"}),
        ("put", f"{API}/mous", {"GET", "POST"}),
        ("delete", f"{API}/facilities/1/access-points", {"GET", "POST"}),
    ]
    for method, url, allowed in cases:
        response = getattr(client, method)(url, json={"name": "x"}, headers=headers)
        problem(response, 405)
        assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert dump_database(app) == before


# ---------------------------------------------------------------------------------------------
# Errors never echo what was sent


ECHO_CASES = [
    ("organizations", {"api_key": SECRET}),
    ("organizations", {"website": SECRET}),
    ("organizations", {"main_phone": SECRET}),
    ("organizations", {"kind": SECRET}),
    ("agencies", {"email": SECRET + "@"}),
    ("agencies", {"ori": SECRET}),
    ("facilities", {"last_verified_at": SECRET}),
    ("facilities", {"occupancy": SECRET}),
    ("facilities", {"facility_type": SECRET}),
    ("facilities", {"state": SECRET}),
    ("contacts", {"phones": [{"kind": "mobile", "number": SECRET}]}),
    ("contacts", {"phones": [{"kind": SECRET, "number": "217-555-0100"}]}),
    ("contacts", {"email": SECRET}),
    ("mous", {"scopes": [SECRET]}),
    ("mous", {"effective_date": SECRET}),
    ("users", {"password": SECRET[:11]}),
    ("users", {"password": SECRET, "username": "x"}),
    ("users", {"password": SECRET, "role": "bogus"}),
    ("users", {"role": SECRET}),
    ("cad-clients", {"client_secret": SECRET}),
    ("cad-clients", {"client_id": SECRET + " !"}),
]


@pytest.mark.parametrize(("name", "changes"), ECHO_CASES)
def test_errors_never_echo_the_submitted_value(client, app, make, name, changes):
    send = sender_for(client, app, make, name)
    for body in send.refused(422, post=with_(send.target.body, **changes), patch=changes):
        text = json.dumps(body)
        assert SECRET not in text and SECRET[:11] not in text, body


def test_errors_in_query_strings_and_login_never_echo_the_value(client, make):
    response = client.get(f"{API}/facilities?page={SECRET}", headers=make.admin())
    assert SECRET not in problem(response, 422, "page")["detail"]
    assert SECRET not in response.get_data(as_text=True)
    login = client.post(
        f"{API}/auth/login", json={"username": "someone", "password": SECRET, "otp": SECRET}
    )
    assert login.status_code in (401, 422)
    assert SECRET not in login.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Found in review: input that used to reach a 500


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
def test_times_that_overflow_utc_are_422(client, app, make, moment):
    sender = sender_for(client, app, make, "facilities")
    body = with_(sender.target.body, last_verified_at=moment)
    sender.refused(422, "last_verified_at", post=body, patch={"last_verified_at": moment})


def test_deeply_nested_json_is_400(client, app, make):
    sender = sender_for(client, app, make, "organizations")
    sender.raw(400, data="[" * 200_000, content_type="application/json")


@pytest.mark.parametrize(("line2", "field"), [("#", None), ("Suite " + "9" * 40, "address_line1")])
def test_units_that_name_nothing_or_too_much(client, app, make, line2, field):
    sender = sender_for(client, app, make, "facilities")
    if field is None:
        # A bare "#" names no unit: the address is still a good one.
        created = sender.post(json=with_(sender.target.body, address_line2=line2))
        assert created.status_code == 201, created.get_json()
        assert "#" not in created.get_json()["normalized_address"]
    else:
        body = with_(sender.target.body, address_line2=line2)
        sender.refused(422, field, post=body, patch={"address_line2": line2})


def test_an_alias_without_letters_or_digits_is_422(client, app, make):
    sender = sender_for(client, app, make, "facilities")
    sender.refused(
        422, "aliases", post=with_(sender.target.body, aliases=["!!!"]), patch={"aliases": ["!!!"]}
    )


def test_a_lookup_address_with_a_bare_unit_sign_is_not_a_500(client, make):
    org = make.organization()
    make.facility(org, address_line1="10 Main St", city="Springfield", postal_code="62701")
    response = client.get(
        "/api/v1/preplans/lookup",
        query_string={"address": "10 Main St #, Springfield IL 62701"},
        headers=make.admin(),
    )
    assert response.status_code == 200
    assert response.get_json()["status"] == "matched"
