"""Times and dates at the ends of the calendar (issue 15, item 5), on both databases.

Every input field that takes a time (audit search `since`/`until` from the query string;
`last_verified_at` of facilities and contacts from bodies) is a fields.UTCDateTime: a time whose
UTC value falls outside years 1-9999 is a 422, never a 500, and so is one within a day of either
end, which a PostgreSQL session in another time zone could not hand back (psycopg raises on
reading it, poisoning the record). Dates (MOU `effective_date`/`expiry_date`) have no time zone:
the whole calendar works.
"""

import pytest
from sqlalchemy import select, text

from registry import db, transaction
from registry.contacts.models import Contact
from registry.db import Base
from registry.facilities.models import Facility
from registry.mous.models import Mou
from tests.conftest import assert_problem

API = "/api/v1"
EVENTS = f"{API}/audit-events"

# UTC values past either end of Python's (and so the API's) calendar, or within a day of it.
OUT_OF_RANGE = [
    "9999-12-31T23:59:59-05:00",  # the tester's: past 9999 once in UTC
    "9999-12-31T20:00:00-23:59",
    "0001-01-01T00:00:00+05:00",  # before year 1 in UTC
    "0001-01-01T00:00:00+00:00",  # year 1 itself: Chicago would see it in 1 BC
    "9999-12-31T23:59:59.999999Z",  # Tokyo would see it in 10000
    "0001-01-01T23:59:59Z",
]
# The first and last times the API keeps.
EDGES = ["0001-01-02T00:00:00+00:00", "9999-12-30T23:59:59.999999+00:00"]


def dump_database(app) -> dict:
    with app.app_context(), db.engine().connect() as connection:
        return {
            table.name: sorted(map(repr, connection.execute(select(table)).all()))
            for table in Base.metadata.sorted_tables
        }


# --- the audit search's query string ---------------------------------------------------------


@pytest.fixture
def auditor_and_events(client, make):
    org = make.organization()
    facility = make.facility(org)
    headers = make.manager(org)
    for _ in range(2):
        assert client.get(f"{API}/preplans/{facility.id}", headers=headers).status_code == 200
    return make.headers(make.user("auditor"))


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_audit_search_times_past_the_calendar_are_422(client, auditor_and_events, name, value):
    response = client.get(EVENTS, query_string={name: value}, headers=auditor_and_events)
    body = assert_problem(response, 422, name)
    assert value not in response.get_data(as_text=True)  # refusals never echo input
    assert body["errors"][name] == ["Out of the supported range of times."]


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"since": EDGES[0]}, 2),
        ({"until": EDGES[1]}, 2),
        ({"since": EDGES[0], "until": EDGES[1]}, 2),
        ({"since": "9999-12-30T00:00:00-14:00"}, 0),  # 9999-12-30T14:00Z: inside, in the future
        ({"until": "0001-01-02T23:00:00+12:00"}, 0),  # 0001-01-02T11:00Z: inside, in the past
    ],
)
def test_audit_search_at_the_edges_of_the_calendar(client, auditor_and_events, params, found):
    response = client.get(EVENTS, query_string=params, headers=auditor_and_events)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["total"] == found


# --- times in bodies -------------------------------------------------------------------------


@pytest.fixture
def verified_records(client, make):
    """A facility and a contact, each with a URL, its manager's headers and a current ETag."""
    org = make.organization()
    facility = make.facility(org)
    contact = make.contact(facility_id=facility.id)
    headers = make.manager(org)
    return [
        (f"{API}/facilities/{facility.id}", headers, Facility, facility.id),
        (f"{API}/contacts/{contact.id}", headers, Contact, contact.id),
    ]


def patch(client, url, headers, body):
    etag = client.get(url, headers=headers).headers["ETag"]
    return client.patch(url, json=body, headers={**headers, "If-Match": etag})


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_last_verified_at_past_the_calendar_is_422_and_changes_nothing(
    app, client, verified_records, value
):
    before = dump_database(app)
    for url, headers, _model, _id in verified_records:
        response = patch(client, url, headers, {"last_verified_at": value})
        assert_problem(response, 422, "last_verified_at")
    assert dump_database(app) == before


@pytest.mark.parametrize("value", EDGES[:1])
def test_last_verified_at_at_the_edges_is_kept_and_read_back(app, client, verified_records, value):
    # The last edge is in the future, where no verification can be (issue 12): see below.
    for url, headers, _model, _id in verified_records:
        response = patch(client, url, headers, {"last_verified_at": value})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["last_verified_at"] == value
        assert client.get(url, headers=headers).json["last_verified_at"] == value
    if db_dialect(app) == "postgresql":
        # A server set to another time zone hands timestamptz values back in that zone: the
        # edges must still be inside the calendar there (the last day would not be).
        for zone in ("America/Chicago", "Pacific/Kiritimati", "Etc/GMT+12"):
            with app.app_context(), db.engine().connect() as connection:
                connection.execute(text(f"SET TIME ZONE '{zone}'"))
                for _url, _headers, model, record_id in verified_records:
                    assert connection.scalar(
                        select(model.confirmed_at).where(model.id == record_id)
                    )


def test_last_verified_at_in_the_future_is_422_and_changes_nothing(app, client, verified_records):
    """`last_verified_at` states when a record was verified (issue 12): never after now."""
    before = dump_database(app)
    for url, headers, _model, _id in verified_records:
        response = patch(client, url, headers, {"last_verified_at": EDGES[1]})
        body = assert_problem(response, 422, "last_verified_at")
        assert body["errors"]["last_verified_at"] == [
            "In the future: a verification is recorded once it is made."
        ]
    assert dump_database(app) == before


def db_dialect(app) -> str:
    with app.app_context():
        return db.engine().dialect.name


# --- dates in bodies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effective", "expiry", "in_force"),
    [
        ("0001-01-01", "9999-12-31", True),
        ("0001-01-01", "0001-01-01", False),
        ("9999-12-31", "9999-12-31", False),
        ("9999-12-31", None, False),
    ],
)
def test_mou_dates_cover_the_whole_calendar(client, make, effective, expiry, in_force):
    org, agency = make.organization(), make.agency()
    admin = make.admin()
    body = {
        "organization_id": org.id,
        "agency_id": agency.id,
        "title": "Data sharing",
        "effective_date": effective,
        "expiry_date": expiry,
        "scopes": ["data_sharing"],
    }
    created = client.post(f"{API}/mous", json=body, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    path = f"{API}/mous/{created.json['id']}"
    # Both parties accept it (an admin acting for each); one that has already ended cannot be
    # proposed, so it is stored as agreed before its end, as a script would.
    for step, payload in (("propose", {}), ("accept", {"party": "agency"})):
        etag = client.get(path, headers=admin).headers["ETag"]
        taken = client.post(f"{path}/{step}", json=payload, headers={**admin, "If-Match": etag})
        if expiry == "0001-01-01":
            assert_problem(taken, 409)
            accepted = {f"{p}_accepted_at": db.utcnow() for p in ("organization", "agency")}
            with make.app.app_context(), transaction.session_scope() as session:
                mou = session.get(Mou, created.json["id"])
                for name, value in {"status": "active", **accepted}.items():
                    setattr(mou, name, value)
            break
        assert taken.status_code == 200, taken.get_data(as_text=True)
    shown = client.get(path, headers=admin).json
    assert (shown["effective_date"], shown["expiry_date"]) == (effective, expiry)
    assert shown["in_force"] is in_force
    listed = client.get(f"{API}/mous", query_string={"in_force": "true"}, headers=admin).json
    assert [m["id"] for m in listed["items"]] == ([shown["id"]] if in_force else [])


@pytest.mark.parametrize("value", ["0000-12-31", "10000-01-01", "-0001-01-01"])
def test_mou_dates_outside_the_calendar_are_422(client, make, value):
    org, agency = make.organization(), make.agency()
    body = {
        "organization_id": org.id,
        "agency_id": agency.id,
        "title": "Data sharing",
        "effective_date": value,
        "scopes": ["data_sharing"],
    }
    assert_problem(client.post(f"{API}/mous", json=body, headers=make.admin()), 422)
