"""Correction reports (issue 12, item 5): a responder who reads a pre-plan reports a wrong item;
the facility's managers answer and resolve it; every reader of the pre-plan sees the report on
its item until it is resolved, from a worker's cache and from the stored rendering alike."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from registry import transaction
from registry.audit.models import AuditEvent
from registry.contacts.models import ContactAssignment
from registry.corrections.models import Correction
from registry.facilities.models import AccessPoint, Facility
from registry.history import FacilityHistory
from registry.idempotency import IdempotencyKey
from registry.incidents.models import Incident
from registry.notifications.models import Notification
from registry.preplans.document import cache
from registry.preplans.models import StoredPreplan
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"


# As one worker reading again, and as if every read came to a new worker (its cache empty, so
# the stored rendering is all there is).
@pytest.fixture(params=["one worker", "a new worker each read"])
def site(make, request):
    cache.clear()
    org, agency, other_agency = make.organization(), make.agency(), make.agency()
    facility = make.facility(org)
    other_facility = make.facility(org)
    confirmed = datetime.now(UTC) - timedelta(days=40)
    point = make.access_point(facility, name="Door A", confirmed_at=confirmed, confirmed_by="pat")
    contact = make.contact(facility_id=facility.id, name="Night guard")
    foreign_point = make.access_point(other_facility, name="Door Z")
    make.mou(org, agency)
    make.mou(org, other_agency)
    return {
        "org": org,
        "agency": agency,
        "facility": facility,
        "point": point,
        "contact": contact,
        "foreign_point": foreign_point,
        "officer": make.officer(agency),
        "cad": make.headers(make.cad_client(agency)),
        "other_officer": make.officer(other_agency),
        "manager": make.manager(org),
        "other_manager": make.manager(make.organization()),
        "admin": make.admin(),
        "new_worker": request.param == "a new worker each read",
    }


def read(client, site, who="officer"):
    if site["new_worker"]:
        cache.clear()
    response = client.get(f"{API}/preplans/{site['facility'].id}", headers=site[who])
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"], response.get_json()


def door(document):
    return next(p for p in document["access_points"] if p["name"] == "Door A")


def report(client, site, who="officer", **fields):
    body = {
        "item_kind": "access_point",
        "item_id": site["point"].id,
        "discrepancy": "wrong",
        "problem": "Door A is chained shut from inside.",
        "observed": "Use the loading dock east of it.",
        **fields,
    }
    return client.post(
        f"{API}/facilities/{site['facility'].id}/corrections", json=body, headers=site[who]
    )


def step(client, site, correction_id, name, body, who="manager"):
    path = f"{API}/corrections/{correction_id}"
    tag = client.get(path, headers=site[who]).headers["ETag"]
    return client.post(f"{path}/{name}", json=body, headers={**site[who], "If-Match": tag})


def preplan_version(app, site) -> int:
    return fetch(app, Facility, site["facility"].id).preplan_version


def test_a_report_is_stored_told_audited_and_kept_in_the_history(client, app, site):
    before = preplan_version(app, site)
    response = report(client, site)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "open" and body["item_name"] == "Door A"
    assert (body["agency_id"], body["facility_id"]) == (site["agency"].id, site["facility"].id)
    row = fetch(app, Correction, body["id"])
    assert (row.item_kind, row.item_id, row.discrepancy) == (
        "access_point",
        site["point"].id,
        "wrong",
    )
    assert row.observed == "Use the loading dock east of it." and row.incident_id is None
    assert preplan_version(app, site) > before
    told = count(
        app,
        Notification,
        Notification.kind == "correction_reported",
        Notification.organization_id == site["org"].id,
        Notification.facility_id == site["facility"].id,
    )
    assert told == 1
    assert count(app, AuditEvent, AuditEvent.action == "correction.report") == 1
    assert (
        count(
            app,
            FacilityHistory,
            FacilityHistory.record_type == "correction",
            FacilityHistory.action == "report",
        )
        == 1
    )


def test_every_reader_sees_the_open_report_until_it_is_resolved(client, app, site):
    etag, before = read(client, site)
    _, manager_before = read(client, site, "manager")
    assert door(before)["open_corrections"] == [] == before["facility"]["open_corrections"]
    assert door(manager_before)["open_corrections"] == []
    correction = report(client, site).get_json()

    for who in ("officer", "other_officer", "manager", "admin", "cad"):
        new_etag, after = read(client, site, who)
        shown = door(after)["open_corrections"]
        assert [(c["id"], c["status"], c["discrepancy"]) for c in shown] == [
            (correction["id"], "open", "wrong")
        ], who
        # Whoever reported it is not shown to every reader (other agencies read it too).
        assert "agency_id" not in shown[0] and "reporter_name" not in shown[0]
        assert [c["open_corrections"] for c in after["contacts"]] == [[]]
    assert new_etag != etag
    # A client holding the old pre-plan is not told 304.
    stale = client.get(
        f"{API}/preplans/{site['facility'].id}", headers={**site["officer"], "If-None-Match": etag}
    )
    assert stale.status_code == 200
    with app.app_context(), transaction.session_scope() as session:
        stored = session.get(StoredPreplan, site["facility"].id)
        assert str(correction["id"]) in stored.document

    answered = step(client, site, correction["id"], "answer", {"response": "Checking today."})
    assert answered.status_code == 200, answered.get_json()
    _, after = read(client, site, "other_officer")
    assert [(c["status"], c["response"]) for c in door(after)["open_corrections"]] == [
        ("acknowledged", "Checking today.")
    ]

    resolved = step(
        client, site, correction["id"], "resolve", {"resolution": "fixed", "reason": "Unchained"}
    )
    assert resolved.status_code == 200, resolved.get_json()
    for who in ("officer", "other_officer", "manager"):
        _, after = read(client, site, who)
        assert door(after)["open_corrections"] == [], who


def test_a_report_on_the_facility_itself_shows_on_the_facility(client, site):
    read(client, site)
    response = report(client, site, item_kind="facility", item_id=None, discrepancy="outdated")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["item_id"] == site["facility"].id
    _, after = read(client, site)
    assert [c["discrepancy"] for c in after["facility"]["open_corrections"]] == ["outdated"]
    assert door(after)["open_corrections"] == []


def test_a_report_changed_outside_the_api_shows_too(client, app, site):
    correction = report(client, site).get_json()
    etag, _ = read(client, site)
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text("UPDATE corrections SET status = 'resolved', resolution = 'fixed' WHERE id = :id"),
            {"id": correction["id"]},
        )
    new_etag, after = read(client, site)
    assert new_etag != etag and door(after)["open_corrections"] == []


def test_resolving_as_fixed_confirms_nothing(client, app, site):
    correction = report(client, site).get_json()
    before = fetch(app, AccessPoint, site["point"].id)
    step(client, site, correction["id"], "resolve", {"resolution": "fixed"})
    after = fetch(app, AccessPoint, site["point"].id)
    assert (after.confirmed_at, after.confirmed_by, after.version) == (
        before.confirmed_at,
        before.confirmed_by,
        before.version,
    )
    _, document = read(client, site)
    assert door(document)["stale"] is False and door(document)["age_days"] == 40


def test_the_reporting_agency_is_told_of_each_answer(client, app, site):
    correction = report(client, site).get_json()
    step(client, site, correction["id"], "answer", {"response": "We will look."})
    rejected = step(
        client,
        site,
        correction["id"],
        "resolve",
        {"resolution": "rejected", "reason": "The chain is a fire marshal's order; use Door B."},
    )
    body = rejected.get_json()
    assert (body["status"], body["resolution"]) == ("resolved", "rejected")
    assert body["resolution_reason"].startswith("The chain") and body["resolved_by"]
    notes = client.get(f"{API}/notifications?kind=correction_answered", headers=site["officer"])
    assert notes.get_json()["total"] == 2
    assert count(app, AuditEvent, AuditEvent.action == "correction.resolve") == 1
    # The reporter reads the answer; the managers' other agency does not see the report.
    assert client.get(f"{API}/corrections/{body['id']}", headers=site["officer"]).status_code == 200
    assert_problem(
        client.get(f"{API}/corrections/{body['id']}", headers=site["other_officer"]), 404
    )


def test_a_resolved_report_takes_no_more_steps(client, app, site):
    correction = report(client, site).get_json()
    step(client, site, correction["id"], "resolve", {"resolution": "fixed"})
    before = fetch(app, Correction, correction["id"])
    for name, body in (("answer", {"response": "Again"}), ("resolve", {"resolution": "fixed"})):
        assert_problem(step(client, site, correction["id"], name, body), 409)
    assert fetch(app, Correction, correction["id"]).version == before.version


def test_steps_need_if_match_and_the_managers(client, app, site):
    correction = report(client, site).get_json()
    path = f"{API}/corrections/{correction['id']}"
    body = {"response": "Seen"}
    assert_problem(client.post(f"{path}/answer", json=body, headers=site["manager"]), 428)
    stale = {**site["manager"], "If-Match": '"correction-1-v0"'}
    assert_problem(client.post(f"{path}/answer", json=body, headers=stale), 412)
    tag = client.get(path, headers=site["officer"]).headers["ETag"]
    assert_problem(
        client.post(f"{path}/answer", json=body, headers={**site["officer"], "If-Match": tag}), 403
    )
    assert_problem(
        client.post(
            f"{path}/answer", json=body, headers={**site["other_manager"], "If-Match": tag}
        ),
        404,
    )
    assert fetch(app, Correction, correction["id"]).status == "open"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item_id": 987654}, "item_id"),
        ("foreign", "item_id"),
        ("deleted", "item_id"),
        ({"item_kind": "facility", "item_id": 987654}, "item_id"),
        ({"item_kind": "contact"}, "item_id"),  # a point's id is no contact's
        ({"item_kind": "door"}, "item_kind"),
        ({"discrepancy": "bad"}, "discrepancy"),
        ({"problem": "   "}, "problem"),
        ({"problem": "x" * 5001}, "problem"),
        ({"status": "resolved"}, "status"),
        ({"agency_id": 1}, "agency_id"),
    ],
)
def test_bad_reports_are_422_and_store_nothing(client, app, site, change, field):
    if change == "foreign":
        change = {"item_id": site["foreign_point"].id}
    elif change == "deleted":
        with app.app_context(), transaction.session_scope() as session:
            session.get(AccessPoint, site["point"].id).deleted_at = datetime.now(UTC)
        change = {}
    before = preplan_version(app, site)
    assert_problem(report(client, site, **change), 422, field)
    assert count(app, Correction) == 0 and count(app, Notification) == 0
    assert preplan_version(app, site) == before


def test_rejecting_needs_a_reason(client, app, site):
    correction = report(client, site).get_json()
    assert_problem(
        step(client, site, correction["id"], "resolve", {"resolution": "rejected"}), 422, "reason"
    )
    assert fetch(app, Correction, correction["id"]).status == "open"


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_only_responders_report(client, app, site, who):
    assert_problem(report(client, site, who=who), 403)
    assert count(app, Correction) == 0


def test_a_facility_the_caller_may_not_read_is_not_found(client, app, make, site):
    outsider = make.officer(make.agency())
    response = client.post(
        f"{API}/facilities/{site['facility'].id}/corrections",
        json={"item_kind": "facility", "discrepancy": "wrong", "problem": "x"},
        headers=outsider,
    )
    assert_problem(response, 404)
    assert_problem(
        client.get(f"{API}/facilities/{site['facility'].id}/corrections", headers=outsider), 404
    )
    assert count(app, Correction) == 0


def test_a_cad_client_reports_and_a_retry_is_replayed(client, app, site):
    headers = {**site["cad"], "Idempotency-Key": "dr-1"}
    site = {**site, "retry": headers}
    first = report(client, site, who="retry")
    again = report(client, site, who="retry")
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and count(app, Correction) == 1
    assert count(app, IdempotencyKey) == 1


def test_break_glass_readers_report_flagged(client, app, make, site):
    """A mutual-aid agency reading through its break-glass grant reports like any reader; the
    report names the incident and its audit event is flagged."""
    agency = make.agency()
    cad = make.cad_client(agency)
    with app.app_context(), transaction.session_scope() as session:
        incident = Incident(
            agency_id=agency.id,
            cad_incident_number="MA-1",
            incident_type="active assailant",
            facility_id=site["facility"].id,
            match_status="not_shared",
            candidates=[],
            opened_by=f"cad:{cad.id}",
            status="open",
            break_glass=True,
            access_expires_at=datetime.now(UTC) + timedelta(hours=2),
        )
        session.add(incident)
        session.flush()
        incident_id = incident.id
    response = report(client, {**site, "mutual_aid": make.headers(cad)}, who="mutual_aid")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["incident_id"] == incident_id
    with app.app_context(), transaction.session_scope() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "correction.report"))
        assert event.break_glass is True


def test_lists_filter_and_follow_visibility(client, site):
    first = report(client, site).get_json()
    report(client, site, who="other_officer", item_kind="contact", item_id=site["contact"].id)
    step(client, site, first["id"], "resolve", {"resolution": "fixed"})
    mine = client.get(f"{API}/corrections", headers=site["officer"]).get_json()
    assert [c["id"] for c in mine["items"]] == [first["id"]]
    managed = client.get(
        f"{API}/facilities/{site['facility'].id}/corrections?unresolved=true",
        headers=site["manager"],
    ).get_json()
    assert [c["item_kind"] for c in managed["items"]] == ["contact"]
    assert client.get(f"{API}/corrections", headers=site["other_manager"]).get_json()["total"] == 0


def test_the_printed_page_marks_the_reported_item_while_open(client, site):
    path = f"{API}/preplans/{site['facility'].id}?format=html"
    assert "REPORTED" not in client.get(path, headers=site["officer"]).get_data(as_text=True)
    correction = report(client, site, discrepancy="unsafe").get_json()
    page = client.get(path, headers=site["officer"]).get_data(as_text=True)
    assert "REPORTED UNSAFE by responders" in page
    step(client, site, correction["id"], "resolve", {"resolution": "fixed"})
    assert "REPORTED" not in client.get(path, headers=site["officer"]).get_data(as_text=True)


def test_an_organizations_contact_the_facility_lists_can_be_reported(client, app, make, site):
    """A regional director listed at the store (a contact assignment) is an item of its
    pre-plan; the same person not listed at another store is not one of that store's."""
    director = make.contact(organization_id=site["org"].id, name="Regional director")
    with app.app_context(), transaction.session_scope() as session:
        session.add(
            ContactAssignment(contact_id=director.id, facility_id=site["facility"].id, call_order=1)
        )
    response = report(client, site, item_kind="contact", item_id=director.id)
    assert response.status_code == 201, response.get_json()
    _, document = read(client, site)
    shown = {c["id"]: c["open_corrections"] for c in document["contacts"]}
    assert [c["id"] for c in shown[director.id]] == [response.get_json()["id"]]
    elsewhere = client.post(
        f"{API}/facilities/{site['foreign_point'].facility_id}/corrections",
        json={
            "item_kind": "contact",
            "item_id": director.id,
            "discrepancy": "wrong",
            "problem": "x",
        },
        headers=site["officer"],
    )
    assert_problem(elsewhere, 422, "item_id")


def feed_from(client, site, since):
    """The changes after `since` for the officer's agency, to the end; and the next position."""
    changes = []
    while True:
        page = client.get(f"{API}/changes?since={since}", headers=site["officer"]).get_json()
        changes += page["changes"]
        since = page["next"]
        if not page["more"]:
            return changes, since


def test_a_cad_mirror_learns_of_each_report_from_the_change_feed(client, site):
    _, since = feed_from(client, site, 0)
    correction = report(client, site).get_json()
    changes, since = feed_from(client, site, since)
    upserts = [c for c in changes if c["facility_id"] == site["facility"].id]
    assert upserts and upserts[-1]["action"] == "upsert"
    assert [c["id"] for c in door(upserts[-1]["preplan"])["open_corrections"]] == [correction["id"]]
    step(client, site, correction["id"], "resolve", {"resolution": "fixed"})
    changes, _ = feed_from(client, site, since)
    assert door(changes[-1]["preplan"])["open_corrections"] == []
