"""Break-glass, bounded (issue 15, item 12). Mutual aid keeps its way to a pre-plan, but:

- a grant comes from a CAD client, or from an agency user whose agency's jurisdiction (state,
  counties) covers the facility; any other opening is recorded and grants nothing, and its
  lookup notes say why;
- a reveal needs the MOU's key scope or a live break-glass grant (an ordinary incident under a
  data-sharing MOU no longer opens the doors);
- the facility's organization (its managers, or an administrator) ends a grant early with a
  reason: fresh login, If-Match, audited, the organization told, the incident shows it;
- closing a break-glass incident ends its grant for good: re-opening restores nothing.

The cast: organization A's store at 123 N Main St, Springfield IL 62701 (Sangamon County,
17167) with a coded door; agencies without an MOU with A, in or out of that jurisdiction.
"""

from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from registry import transaction
from registry.audit.models import AuditEvent
from registry.db import utcnow
from registry.incidents.models import Incident
from registry.notifications.models import Notification
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"
INCIDENTS = f"{API}/incidents"
ADDRESS = "123 n. main street, springfield il 62701"
CODE = "Door-8841#"
SANGAMON, COOK = "17167", "17031"
REASON = "Our own units are on scene now"


@pytest.fixture
def store(make):
    org = make.organization()
    facility = make.facility(
        org, name="Main Street Store", address_line1="123 N Main St", postal_code="62701"
    )
    point = make.access_point(facility, kind="loading_dock", code=CODE)
    return SimpleNamespace(
        org=org, facility=facility, point=point, manager=make.manager(org), make=make
    )


def opening(client, headers, number="MA-1"):
    body = {"cad_incident_number": number, "incident_type": "active assailant", "address": ADDRESS}
    response = client.post(INCIDENTS, json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def preplan(client, store, headers):
    return client.get(f"{API}/preplans/{store.facility.id}", headers=headers)


def reveal(client, store, headers):
    return client.post(
        f"{API}/access-points/{store.point.id}/reveal",
        json={"reason": "Forcing entry at the loading dock"},
        headers=headers,
    )


def end(client, incident_id, headers, reason=REASON, etag=None):
    url = f"{INCIDENTS}/{incident_id}/break-glass/end"
    if etag is None:
        etag = client.get(f"{INCIDENTS}/{incident_id}", headers=headers).headers.get("ETag")
    extra = {"If-Match": etag} if etag else {}
    return client.post(url, json={"reason": reason}, headers={**headers, **extra})


def patch_status(client, incident_id, headers, status):
    url = f"{INCIDENTS}/{incident_id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    response = client.patch(url, json={"status": status}, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def assert_no_access(client, store, headers):
    assert_problem(preplan(client, store, headers), 404)
    assert_problem(reveal(client, store, headers), 404)
    lookup = client.get(
        f"{API}/preplans/lookup", query_string={"address": ADDRESS}, headers=headers
    )
    assert lookup.json["status"] == "not_shared" and lookup.json["preplan"] is None


def granted(client, store, headers, number="MA-1") -> dict:
    """An agency's CAD opens a mutual-aid incident at the store: a live grant."""
    incident = opening(client, headers, number)
    assert incident["break_glass"] is True
    assert preplan(client, store, headers).status_code == 200
    return incident


# --- who gets a grant ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "jurisdiction",
    [{}, {"state": "WI"}, {"state": "IL", "county_fips": [COOK]}],
    ids=["none on record", "another state", "another county"],
)
def test_an_agency_user_outside_the_jurisdiction_is_recorded_but_granted_nothing(
    app, client, make, store, jurisdiction
):
    agency = make.agency(**jurisdiction)
    officer = make.officer(agency)
    incidents_before = count(app, Incident)

    incident = opening(client, officer)

    assert count(app, Incident) == incidents_before + 1  # never lose an incident
    assert (incident["match_status"], incident["break_glass"]) == ("not_shared", False)
    assert incident["facility_id"] is None and incident["access_expires_at"] is None
    lookup = incident["lookup"]
    assert lookup["registered_match"]["id"] == store.facility.id
    assert lookup["preplan"] is None and lookup["break_glass"] is None
    assert any(note.startswith("no break-glass through this incident") for note in lookup["notes"])
    assert_no_access(client, store, officer)
    assert count(app, Notification) == 0
    # The attempt is an event at the facility, with why nothing was granted.
    with app.app_context(), transaction.session_scope() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "incident.open"))
        assert event.facility_id == store.facility.id and event.break_glass is False
        refused = event.details["break_glass_refused_because"]
        expected = "agency_has_no_jurisdiction" if not jurisdiction else "outside_jurisdiction"
        assert refused == expected

    # The agency's CAD is how mutual aid is dispatched: it is granted at once.
    cad = make.headers(make.cad_client(agency))
    by_cad = granted(client, store, cad, number="MA-2")
    assert by_cad["lookup"]["preplan"]["facility"]["id"] == store.facility.id
    assert reveal(client, store, officer).json["break_glass"] is True


@pytest.mark.parametrize(
    "jurisdiction",
    [{"state": "IL"}, {"state": "IL", "county_fips": [COOK, SANGAMON]}],
    ids=["the whole state", "its county"],
)
def test_an_agency_user_whose_jurisdiction_covers_the_facility_is_granted(
    client, make, store, jurisdiction
):
    officer = make.officer(make.agency(**jurisdiction))

    incident = granted(client, store, officer)

    assert incident["facility_id"] == store.facility.id and incident["access_expires_at"]
    assert incident["lookup"]["break_glass"]["incident_id"] == incident["id"]
    revealed = reveal(client, store, officer)
    assert revealed.status_code == 200 and revealed.json["code"] == CODE


# --- who may reveal ---------------------------------------------------------------------------


def test_an_ordinary_incident_under_a_data_sharing_mou_reveals_nothing(app, client, make, store):
    agency = make.agency(state="IL")
    make.mou(store.org, agency, scopes=("data_sharing",))
    for headers in (make.officer(agency), make.headers(make.cad_client(agency))):
        incident = opening(client, headers, number=f"X-{count(app, Incident)}")
        assert incident["match_status"] == "matched" and incident["break_glass"] is False

        response = reveal(client, store, headers)

        body = assert_problem(response, 403)
        assert "break-glass" in body["detail"] and CODE not in response.get_data(as_text=True)
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "access_point.reveal")
        ).all()
        assert [e.details["refused_because"] for e in events] == ["not_allowed"] * 2
    # Each incident told the partner it was opened; nothing break-glass happened.
    assert count(app, Notification, Notification.kind != "incident_opened") == 0
    assert count(app, Notification, Notification.kind == "incident_opened") == 2


def test_the_mous_key_scope_still_reveals_without_an_incident(client, make, store):
    agency = make.agency()
    make.mou(store.org, agency, scopes=("data_sharing", "access_codes"))

    response = reveal(client, store, make.officer(agency))

    assert response.status_code == 200
    assert (response.json["code"], response.json["break_glass"]) == (CODE, False)


# --- ending a grant early -----------------------------------------------------------------------


def test_the_facilitys_manager_ends_a_grant_early(app, client, make, store):
    cad = make.headers(make.cad_client(make.agency()))
    incident = granted(client, store, cad)
    etag = client.get(f"{INCIDENTS}/{incident['id']}", headers=store.manager).headers["ETag"]

    response = end(client, incident["id"], store.manager, etag=etag)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] != etag
    body = response.json
    assert body["break_glass_ended_at"] and body["break_glass_end_reason"] == REASON
    assert body["break_glass_ended_by"].startswith("user:")
    assert (body["status"], body["break_glass"]) == ("open", True)
    # Nothing opens through that incident any more, for any of the agency's accounts.
    assert_no_access(client, store, cad)
    # The agency sees on its incident when, by whom and why.
    seen = client.get(f"{INCIDENTS}/{incident['id']}", headers=cad).json
    assert seen["break_glass_end_reason"] == REASON
    assert seen["break_glass_ended_by"] == body["break_glass_ended_by"]
    with app.app_context(), transaction.session_scope() as session:
        (event,) = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident.break_glass_end")
        ).all()
        assert (event.record_id, event.facility_id) == (incident["id"], store.facility.id)
        assert event.details["reason"] == REASON and event.break_glass is True
        kinds = session.scalars(select(Notification.kind).order_by(Notification.id)).all()
        assert kinds == ["break_glass_access", "break_glass_ended"]


def test_an_administrator_ends_a_grant_too(client, make, store):
    cad = make.headers(make.cad_client(make.agency()))
    incident = granted(client, store, cad)

    assert end(client, incident["id"], make.admin()).status_code == 200

    assert_no_access(client, store, cad)


@pytest.mark.parametrize(
    "case",
    [
        "stale login",
        "no If-Match",
        "stale If-Match",
        "no reason",
        "blank reason",
        "short reason",
        "long reason",
        "unknown field",
        "another organization's manager",
        "the agency itself",
    ],
)
def test_a_refused_end_changes_nothing(app, client, make, store, case):
    agency = make.agency()
    cad = make.headers(make.cad_client(agency))
    incident = granted(client, store, cad)
    url = f"{INCIDENTS}/{incident['id']}/break-glass/end"
    etag = client.get(f"{INCIDENTS}/{incident['id']}", headers=store.manager).headers["ETag"]
    manager = {**store.manager, "If-Match": etag}
    stale_login = make.headers(make.user("facility_manager", organization=store.org), fresh=False)
    requests = {
        "stale login": ({**stale_login, "If-Match": etag}, {"reason": REASON}, 401),
        "no If-Match": (store.manager, {"reason": REASON}, 428),
        "stale If-Match": ({**store.manager, "If-Match": '"incident-1-v99"'}, None, 412),
        "no reason": (manager, {}, 422),
        "blank reason": (manager, {"reason": "   "}, 422),
        "short reason": (manager, {"reason": "ok"}, 422),
        "long reason": (manager, {"reason": "x" * 501}, 422),
        "unknown field": (manager, {"reason": REASON, "ended_at": "2020-01-01"}, 422),
        "another organization's manager": (
            {**make.manager(make.organization()), "If-Match": etag},
            None,
            404,
        ),
        "the agency itself": ({**make.officer(agency), "If-Match": etag}, None, 403),
    }
    headers, payload, status = requests[case]

    body = {"reason": REASON} if payload is None else payload
    response = client.post(url, json=body, headers=headers)

    assert_problem(response, status)
    row = fetch(app, Incident, incident["id"])
    assert row.break_glass_ended_at is None and row.break_glass_end_reason is None
    assert preplan(client, store, cad).status_code == 200
    assert count(app, AuditEvent, AuditEvent.action == "incident.break_glass_end") == 0


def test_only_a_live_grant_can_be_ended(app, client, make, store):
    cad = make.headers(make.cad_client(make.agency()))
    incident = granted(client, store, cad)
    assert end(client, incident["id"], store.manager).status_code == 200
    assert_problem(end(client, incident["id"], store.manager), 409)  # already ended

    expired = opening(client, make.headers(make.cad_client(make.agency())), number="MA-2")
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            update(Incident).where(Incident.id == expired["id"]).values(access_expires_at=utcnow())
        )
    assert_problem(end(client, expired["id"], store.manager), 409)

    ordinary = make.agency()
    make.mou(store.org, ordinary)
    matched = opening(client, make.headers(make.cad_client(ordinary)), number="MA-3")
    assert_problem(end(client, matched["id"], store.manager), 409)
    assert count(app, AuditEvent, AuditEvent.action == "incident.break_glass_end") == 1


# --- closing and re-opening -------------------------------------------------------------------


def test_reopening_a_closed_break_glass_incident_restores_nothing(app, client, make, store):
    cad = make.headers(make.cad_client(make.agency()))
    incident = granted(client, store, cad)

    closed = patch_status(client, incident["id"], cad, "closed")
    assert closed["break_glass_ended_at"] == closed["closed_at"]
    reopened = patch_status(client, incident["id"], cad, "open")

    assert reopened["status"] == "open" and reopened["closed_at"] is None
    assert reopened["break_glass_ended_at"] == closed["closed_at"]
    assert "re-opening it does not restore" in reopened["break_glass_end_reason"]
    assert_no_access(client, store, cad)
    assert_problem(end(client, incident["id"], store.manager), 409)


def test_reopening_one_closed_before_this_rule_restores_nothing_either(app, client, make, store):
    cad = make.headers(make.cad_client(make.agency()))
    incident = granted(client, store, cad)
    with app.app_context(), transaction.session_scope() as session:
        # Closed as the registry used to close it: no end recorded.
        session.execute(
            update(Incident)
            .where(Incident.id == incident["id"])
            .values(status="closed", closed_at=utcnow(), closed_by="cad:1", version=2)
        )

    reopened = patch_status(client, incident["id"], cad, "open")

    assert reopened["break_glass_ended_at"] and reopened["break_glass_ended_by"] == "cad:1"
    assert_no_access(client, store, cad)
