"""Break-glass (issue 5, item 3): a mutual-aid agency without an MOU responds to an incident at a
registered facility. The lookup tells it that a registered facility matches (id and name only);
opening an incident there lets that agency read that one pre-plan, read-only, while the incident
is open and for at most REGISTRY_BREAK_GLASS_HOURS; every response says so, every read is
audited, and the facility's organization is told.

The cast is incident_cast's `world`: agency X shares organization A; agency Y shares nothing.
"""

from datetime import timedelta

import pytest
from sqlalchemy import update

from registry import db, errors
from registry.audit.models import AuditEvent
from registry.auth.identity import principal_of
from registry.db import utcnow
from registry.idempotency import IdempotencyKey
from registry.incidents.models import Incident
from registry.notifications.models import Notification
from registry.preplans.document import preplan
from tests import sample_files
from tests.conftest import assert_problem, count
from tests.file_store import created, upload
from tests.preplans import incident_cast
from tests.preplans.incident_cast import INCIDENTS, STORE_ADDRESS, opened

world = incident_cast.world  # the fixture

API = "/api/v1"
LOOKUP = f"{API}/preplans/lookup"


def preplan_url(facility_id: int) -> str:
    return f"{API}/preplans/{facility_id}"


@pytest.fixture
def incident(client, world):
    """Agency Y's CAD opens an incident at the store it has no MOU for."""
    return opened(client, world.headers["cad_y"])


def test_the_lookup_names_the_registered_facility_and_nothing_else(client, world):
    response = client.get(
        LOOKUP, query_string={"address": STORE_ADDRESS}, headers=world.headers["cad_y"]
    )
    body = response.json
    assert body["status"] == "not_shared"
    assert body["registered_match"] == {"id": world.store.id, "name": "Main Street Store"}
    assert body["preplan"] is None and body["break_glass"] is None
    assert "Propane" not in response.get_data(as_text=True)
    # Not readable before an incident is opened.
    assert_problem(client.get(preplan_url(world.store.id), headers=world.headers["cad_y"]), 404)


def test_opening_an_incident_grants_the_preplan_flagged(app, client, world, incident):
    assert incident["match_status"] == "not_shared"
    assert incident["break_glass"] is True
    assert incident["facility_id"] == world.store.id
    lookup = incident["lookup"]
    assert lookup["break_glass"]["incident_id"] == incident["id"]
    assert lookup["preplan"]["facility"]["id"] == world.store.id
    assert lookup["preplan"]["break_glass"]["incident_id"] == incident["id"]

    for headers in (world.headers["cad_y"], world.headers["officer_y"]):
        response = client.get(preplan_url(world.store.id), headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["facility"]["hazards"] == "Propane cages at the loading dock"
        assert response.json["break_glass"]["incident_id"] == incident["id"]
        assert response.headers["Registry-Break-Glass"] == f"incident={incident['id']}"
        geojson = client.get(preplan_url(world.store.id) + "?format=geojson", headers=headers)
        assert geojson.json["break_glass"]["incident_id"] == incident["id"]
        assert geojson.headers["Registry-Break-Glass"] == f"incident={incident['id']}"

    # A later lookup during the incident brings the flagged pre-plan too.
    body = client.get(
        LOOKUP, query_string={"address": STORE_ADDRESS}, headers=world.headers["cad_y"]
    ).json
    assert body["preplan"]["break_glass"]["incident_id"] == incident["id"]

    # Every read is audited and flagged.
    with app.app_context():
        views = (
            db.session()
            .scalars(AuditEvent.__table__.select().where(AuditEvent.action == "preplan.view"))
            .all()
        )
    assert len(views) == 4


def test_the_owner_is_told_once_per_incident(app, client, world, incident):
    client.get(preplan_url(world.store.id), headers=world.headers["cad_y"])
    with app.app_context():
        rows = db.session().query(Notification).all()
        assert [(n.kind, n.organization_id, n.facility_id, n.incident_id) for n in rows] == [
            ("break_glass_access", world.org.id, world.store.id, incident["id"])
        ]
    listed = client.get(f"{API}/notifications", headers=world.headers["manager"]).json
    assert listed["total"] == 1 and "Main Street Store" in listed["items"][0]["message"]
    assert (
        client.get(f"{API}/notifications", headers=world.headers["other_manager"]).json["total"]
        == 0
    )
    # The facility's managers see the incident at their facility.
    seen = client.get(f"{INCIDENTS}/{incident['id']}", headers=world.headers["manager"])
    assert seen.status_code == 200


def test_it_is_scoped_to_that_facility_and_read_only(client, world, incident):
    headers = world.headers["cad_y"]
    # Not the annex next door, not the facility record or its parts through other routes.
    assert_problem(client.get(preplan_url(world.annex.id), headers=headers), 404)
    assert_problem(client.get(f"{API}/facilities/{world.store.id}", headers=headers), 404)
    officer = world.headers["officer_y"]
    response = client.patch(
        f"{API}/facilities/{world.store.id}",
        json={"hazards": "none"},
        headers={**officer, "If-Match": '"facility-1-v1"'},
    )
    assert response.status_code in (403, 404)
    # Another agency gets nothing from Y's incident.
    other = opened(client, world.headers["cad_x"], number="X-1")
    assert other["break_glass"] is False


def test_closing_the_incident_ends_it(client, world, incident):
    headers = world.headers["cad_y"]
    url = f"{INCIDENTS}/{incident['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    closed = client.patch(url, json={"status": "closed"}, headers={**headers, "If-Match": etag})
    assert closed.status_code == 200, closed.get_data(as_text=True)
    assert_problem(client.get(preplan_url(world.store.id), headers=headers), 404)
    body = client.get(LOOKUP, query_string={"address": STORE_ADDRESS}, headers=headers).json
    assert body["status"] == "not_shared" and body["preplan"] is None


def test_the_time_limit_ends_it(app, client, world, incident):
    with app.app_context():
        session = db.session()
        session.execute(
            update(Incident)
            .where(Incident.id == incident["id"])
            .values(access_expires_at=utcnow() - timedelta(seconds=1))
        )
        session.commit()
    assert_problem(client.get(preplan_url(world.store.id), headers=world.headers["cad_y"]), 404)


def test_the_limit_comes_from_configuration(app, client, world, incident):
    hours = app.config["REGISTRY_BREAK_GLASS_HOURS"]
    with app.app_context():
        row = db.session().get(Incident, incident["id"])
        assert row.access_expires_at - row.opened_at == pytest.approx(
            timedelta(hours=hours), abs=timedelta(seconds=5)
        )


def test_an_agency_that_shares_gets_no_break_glass(client, world):
    body = opened(client, world.headers["cad_x"])
    assert body["match_status"] == "matched" and body["break_glass"] is False
    # An ordinary incident grants nothing (no reveals either: issue 15.12), so nothing expires.
    assert body["access_expires_at"] is None
    assert body["lookup"]["break_glass"] is None
    assert "break_glass" not in body["lookup"]["preplan"]
    # The partner is told of the incident at its facility, and of nothing break-glass.
    app = client.application
    assert count(app, Notification, Notification.kind != "incident_opened") == 0
    assert count(app, Notification, Notification.incident_id == body["id"]) == 1


def test_the_floor_plans_it_lists_can_be_downloaded_flagged(app, client, make, world):
    plan = created(upload(client, world.headers["manager"], world.store.id, sample_files.pdf()))
    url = f"{API}/floor-plans/{plan['id']}/file"
    headers = world.headers["cad_y"]
    assert_problem(client.get(url, headers=headers), 404)  # no incident yet
    incident = opened(client, headers)
    listed = incident["lookup"]["preplan"]["floor_plans"]
    assert [p["id"] for p in listed] == [plan["id"]]
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    assert response.headers["Registry-Break-Glass"] == f"incident={incident['id']}"
    response.close()
    preview = client.get(f"{API}/floor-plans/{plan['id']}/preview", headers=headers)
    assert preview.status_code == 200
    preview.close()
    assert_problem(client.get(url + "?version=9", headers=headers), 404)
    rows = [
        e
        for e in client.get(
            f"{API}/audit-events",
            query_string={"action": "floor_plan.", "break_glass": "true"},
            headers=make.admin(),
        ).json["items"]
    ]
    assert [e["action"] for e in rows] == ["floor_plan.preview", "floor_plan.download"]
    assert all(e["break_glass"] for e in rows)
    # Another agency's plan metadata and other routes stay closed.
    assert_problem(client.get(f"{API}/floor-plans/{plan['id']}", headers=headers), 404)


def test_a_retried_opening_replays_no_preplan(app, client, world):
    """A replay skips access checks and the audit trail, so it must not carry the pre-plan:
    after the incident closes, a retry with the same key must not read it."""
    headers = {**world.headers["cad_y"], "Idempotency-Key": "open-1"}
    body = {"cad_incident_number": "Y-9", "incident_type": "fire", "address": STORE_ADDRESS}
    first = client.post(INCIDENTS, json=body, headers=headers)
    assert first.status_code == 201 and first.json["lookup"]["preplan"] is not None
    url = f"{INCIDENTS}/{first.json['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    client.patch(url, json={"status": "closed"}, headers={**headers, "If-Match": etag})
    views = count(app, AuditEvent, AuditEvent.action == "preplan.view")
    again = client.post(INCIDENTS, json=body, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"]
    assert again.json["lookup"]["preplan"] is None
    assert "Propane" not in again.get_data(as_text=True)
    assert any("/preplans/" in note for note in again.json["lookup"]["notes"])
    assert count(app, AuditEvent, AuditEvent.action == "preplan.view") == views
    with app.app_context():
        stored = db.session().query(IdempotencyKey).one()
        assert "Propane" not in stored.body


def test_the_preplan_renderer_finds_the_grant_itself(app, make, world, incident):
    """The renderer takes no incident or flag from its caller (nothing to hand it that opens a
    facility): it reads the caller's own live grant (access.break_glass.decide), so a grant
    opens its one facility to its one agency, and another agency reads as itself."""
    # A third agency, like Y without an MOU, but without an incident of its own.
    cad_z = make.cad_client(make.agency())
    with app.app_context():
        session = db.session()
        caller = principal_of(world.cad_y)
        rendered, decision = preplan(session, caller, world.store.id)
        assert rendered.document["facility"]["id"] == world.store.id
        assert (decision.reason, decision.incident.id) == ("break_glass", incident["id"])
        with pytest.raises(errors.NotFound):
            preplan(session, caller, world.annex.id)  # another facility
        _, as_other_agency = preplan(session, principal_of(world.cad_x), world.store.id)
        assert (as_other_agency.reason, as_other_agency.incident) == ("data_sharing_mou", None)
        with pytest.raises(errors.NotFound):
            preplan(session, principal_of(cad_z), world.store.id)  # Y's grant is Y's alone
