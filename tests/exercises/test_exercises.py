"""Exercises at a facility and after-action findings with follow-ups (issue 12, item 4): who
records and reads them, what they may name, and the overdue follow-ups report."""

from datetime import UTC, date, datetime, timedelta

import pytest

from registry import transaction
from registry.audit.models import AuditEvent
from registry.exercises.models import Exercise, ExerciseAgency, Finding
from registry.history import FacilityHistory
from registry.idempotency import IdempotencyKey
from registry.incidents.models import Incident
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"


@pytest.fixture
def town(app, make):
    """Organization A with facility `store` (a staging area), sharing with agency X (data
    sharing) and training with agency T (a training MOU only); agency N has no MOU. Another
    organization B has facility `mall`."""
    org, other_org = make.organization(), make.organization()
    x, t, n = make.agency(), make.agency(), make.agency()
    store, mall = make.facility(org), make.facility(other_org)
    make.mou(org, x)
    make.mou(org, t, scopes=("training",))
    staging = make.tactical_point(store, name="Staging B")
    foreign = make.tactical_point(mall, name="Mall lot")
    incident = Incident(
        agency_id=x.id,
        cad_incident_number="INC-1",
        incident_type="active assailant",
        facility_id=store.id,
        match_status="matched",
        candidates=[],
        opened_by="cad:1",
        status="closed",
    )
    with app.app_context(), transaction.session_scope() as session:
        session.add(incident)
        session.flush()
        incident_id = incident.id
    return {
        "org": org,
        "x": x,
        "t": t,
        "n": n,
        "store": store,
        "mall": mall,
        "staging": staging,
        "foreign": foreign,
        "incident_id": incident_id,
        "admin": make.admin(),
        "manager": make.manager(org),
        "other_manager": make.manager(other_org),
        "officer_x": make.officer(x),
        "cad_x": make.headers(make.cad_client(x)),
        "officer_t": make.officer(t),
        "officer_n": make.officer(n),
    }


def exercise_body(town, **fields):
    return {
        "kind": "full_scale",
        "scenario": "active_assailant",
        "held_on": "2026-10-14",
        "title": "Active assailant, store and parking lot",
        "organization_participants": 12,
        "agencies": [{"agency_id": town["x"].id, "participants": 30}],
        **fields,
    }


def record(client, town, who="manager", **fields):
    return client.post(
        f"{API}/facilities/{town['store'].id}/exercises",
        json=exercise_body(town, **fields),
        headers=town[who],
    )


def patch(client, town, path, change, who):
    tag = client.get(path, headers=town["admin"]).headers["ETag"]
    return client.patch(path, json=change, headers={**town[who], "If-Match": tag})


def test_a_manager_records_an_exercise_its_parties_read(client, app, town):
    response = record(client, town)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["total_attendance"] == 42 and body["organization_id"] == town["org"].id
    assert body["agencies"] == [{"agency_id": town["x"].id, "participants": 30}]
    stored = fetch(app, Exercise, body["id"])
    assert (stored.kind, stored.scenario, stored.held_on) == (
        "full_scale",
        "active_assailant",
        date(2026, 10, 14),
    )
    assert count(app, AuditEvent, AuditEvent.action == "exercise.create") == 1
    assert count(app, FacilityHistory, FacilityHistory.record_type == "exercise") == 1
    path = f"{API}/exercises/{body['id']}"
    for who, status in (
        ("officer_x", 200),
        ("cad_x", 200),
        ("manager", 200),
        ("officer_t", 404),
        ("other_manager", 404),
    ):
        assert client.get(path, headers=town[who]).status_code == status, who
    listed = client.get(f"{API}/exercises?agency_id={town['x'].id}", headers=town["officer_x"])
    assert [e["id"] for e in listed.get_json()["items"]] == [body["id"]]


def test_an_agency_records_one_and_is_a_party(client, app, town):
    response = record(client, town, who="officer_x", agencies=[])
    assert response.status_code == 201, response.get_json()
    assert [a["agency_id"] for a in response.get_json()["agencies"]] == [town["x"].id]
    assert (
        client.get(
            f"{API}/exercises/{response.get_json()['id']}", headers=town["manager"]
        ).status_code
        == 200
    )


def test_a_training_mou_is_enough_to_take_part_none_is_not(client, app, town):
    both = [{"agency_id": town["x"].id}, {"agency_id": town["t"].id, "participants": 4}]
    assert record(client, town, agencies=both).status_code == 201
    stranger = [{"agency_id": town["n"].id}]
    assert_problem(record(client, town, agencies=stranger), 422, "agencies")
    twice = [{"agency_id": town["x"].id}, {"agency_id": town["x"].id}]
    assert_problem(record(client, town, agencies=twice), 422, "agencies")
    assert count(app, Exercise) == 1 and count(app, ExerciseAgency) == 2


@pytest.mark.parametrize(
    ("who", "status"),
    [("officer_t", 404), ("officer_n", 404), ("other_manager", 404), ("cad_x", 403)],
)
def test_who_may_not_record_one(client, app, town, who, status):
    # T trains with A but does not read its facilities; N and B's manager know nothing of it.
    assert_problem(record(client, town, who=who, agencies=[]), status)
    assert count(app, Exercise) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "seminar"}, "kind"),
        ({"scenario": "flood"}, "scenario"),
        ({"held_on": "yesterday"}, "held_on"),
        ({"organization_participants": -1}, "organization_participants"),
        ({"organization_participants": 2.5}, "organization_participants"),
        ({"title": ""}, "title"),
        ({"facility_id": 1}, "facility_id"),
        ({"total_attendance": 5}, "total_attendance"),
        ({"agencies": [{"agency_id": 987654}]}, "agencies"),
    ],
)
def test_bad_exercises_are_422(client, app, town, change, field):
    assert_problem(record(client, town, **change), 422, field)
    assert count(app, Exercise) == 0


def test_parties_change_it_with_if_match(client, app, town):
    exercise = record(client, town).get_json()
    path = f"{API}/exercises/{exercise['id']}"
    changed = patch(client, town, path, {"notes": "Radio dead zone in the stockroom"}, "officer_x")
    assert changed.status_code == 200, changed.get_json()
    assert_problem(client.patch(path, json={"notes": "x"}, headers=town["manager"]), 428)
    assert_problem(patch(client, town, path, {"notes": "x"}, "cad_x"), 403)
    assert_problem(patch(client, town, path, {"notes": "x"}, "other_manager"), 404)
    # An agency cannot write itself out of the exercise and keep the pen.
    assert_problem(patch(client, town, path, {"agencies": []}, "officer_x"), 403)
    assert fetch(app, Exercise, exercise["id"]).notes == "Radio dead zone in the stockroom"
    assert count(app, ExerciseAgency) == 1


def finding_body(town, **fields):
    return {
        "text": "Staging area B is too small for two engine companies",
        "item_kind": "tactical_point",
        "item_id": town["staging"].id,
        "follow_up": {
            "owner": "Facilities manager",
            "owner_organization_id": town["org"].id,
            "due_on": (date.today() - timedelta(days=3)).isoformat(),
        },
        **fields,
    }


def test_a_finding_and_its_follow_up(client, app, town):
    exercise = record(client, town).get_json()
    path = f"{API}/exercises/{exercise['id']}/findings"
    response = client.post(path, json=finding_body(town), headers=town["officer_x"])
    assert response.status_code == 201, response.get_json()
    finding = response.get_json()
    assert finding["follow_up"]["status"] == "open" and finding["follow_up"]["overdue"] is True
    assert finding["facility_id"] == town["store"].id
    assert count(app, AuditEvent, AuditEvent.action == "finding.create") == 1
    listed = client.get(path, headers=town["manager"]).get_json()
    assert [f["id"] for f in listed["items"]] == [finding["id"]]
    item = f"{API}/findings/{finding['id']}"
    done = {"follow_up": {**finding_body(town)["follow_up"], "status": "done"}}
    assert patch(client, town, item, done, "manager").status_code == 200
    assert fetch(app, Finding, finding["id"]).follow_up_status == "done"
    cleared = patch(client, town, item, {"follow_up": None, "item_kind": None}, "manager")
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["follow_up"] is None and cleared.get_json()["item_id"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item_id": "foreign"}, "item_id"),
        ({"item_id": 987654}, "item_id"),
        ({"item_kind": None, "item_id": 5}, "item_kind"),
        ({"item_kind": "door"}, "item_kind"),
        ({"text": "  "}, "text"),
        ({"follow_up": {"owner": "X"}}, "follow_up"),
        ({"follow_up": {"owner": "X", "due_on": "2026-01-01", "status": "late"}}, "follow_up"),
        (
            {"follow_up": {"owner": "X", "due_on": "2026-01-01", "owner_agency_id": "n"}},
            "follow_up",
        ),
        (
            {"follow_up": {"owner": "X", "due_on": "2026-01-01", "owner_organization_id": "b"}},
            "follow_up",
        ),
        ({"exercise_id": 1}, "exercise_id"),
    ],
)
def test_bad_findings_are_422(client, app, make, town, change, field):
    exercise = record(client, town).get_json()
    other_org = make.organization()
    if change.get("item_id") == "foreign":
        change["item_id"] = town["foreign"].id
    follow_up = change.get("follow_up") or {}
    if follow_up.get("owner_agency_id") == "n":
        follow_up["owner_agency_id"] = town["n"].id
    if follow_up.get("owner_organization_id") == "b":
        follow_up["owner_organization_id"] = other_org.id
    response = client.post(
        f"{API}/exercises/{exercise['id']}/findings",
        json=finding_body(town, **change),
        headers=town["manager"],
    )
    assert_problem(response, 422, field)
    assert count(app, Finding) == 0


def test_findings_of_an_incident(client, app, town):
    path = f"{API}/incidents/{town['incident_id']}/findings"
    body = finding_body(town)
    body["follow_up"] = {**body["follow_up"], "owner_agency_id": town["x"].id}
    body["follow_up"].pop("owner_organization_id")
    by_agency = client.post(path, json=body, headers=town["officer_x"])
    assert by_agency.status_code == 201, by_agency.get_json()
    by_manager = client.post(path, json={"text": "The door held"}, headers=town["manager"])
    assert by_manager.status_code == 201
    assert_problem(client.post(path, json={"text": "x"}, headers=town["cad_x"]), 403)
    for who in ("officer_t", "other_manager"):
        assert_problem(client.post(path, json={"text": "x"}, headers=town[who]), 404)
        assert_problem(client.get(path, headers=town[who]), 404)
    assert client.get(path, headers=town["cad_x"]).get_json()["total"] == 2
    assert count(app, Finding) == 2
    # Reading an incident's findings is no pre-plan view.
    assert count(app, AuditEvent, AuditEvent.action == "preplan.view") == 0


def test_a_retried_finding_is_created_once(client, app, town):
    exercise = record(client, town).get_json()
    headers = {**town["manager"], "Idempotency-Key": "f-1"}
    path = f"{API}/exercises/{exercise['id']}/findings"
    first = client.post(path, json={"text": "Radios"}, headers=headers)
    again = client.post(path, json={"text": "Radios"}, headers=headers)
    assert first.get_json() == again.get_json() and count(app, Finding) == 1
    assert count(app, IdempotencyKey) == 1


def test_the_report_lists_overdue_follow_ups(client, app, town):
    exercise = record(client, town).get_json()
    path = f"{API}/exercises/{exercise['id']}/findings"
    today = datetime.now(UTC).date()
    made = {}
    for name, days, status in (
        ("late", -3, "open"),
        ("late_working", -1, "in_progress"),
        ("late_done", -9, "done"),
        ("due_soon", 5, "open"),
    ):
        body = finding_body(town, text=name)
        body["follow_up"] = {**body["follow_up"], "due_on": str(today + timedelta(days=days))}
        body["follow_up"]["status"] = status
        made[name] = client.post(path, json=body, headers=town["manager"]).get_json()["id"]
    report = client.get(f"{API}/reports/follow-ups", headers=town["manager"]).get_json()
    assert [i["text"] for i in report["items"]] == ["late", "late_working"]
    assert report["items"][0]["days_overdue"] == 3 and report["items"][0]["overdue"] is True
    soon = client.get(
        f"{API}/reports/follow-ups?due_within_days=7", headers=town["officer_x"]
    ).get_json()
    assert [i["text"] for i in soon["items"]] == ["late", "late_working", "due_soon"]
    assert soon["items"][-1]["overdue"] is False
    for who in ("officer_t", "other_manager"):
        assert client.get(f"{API}/reports/follow-ups", headers=town[who]).get_json()["total"] == 0
    assert_problem(client.get(f"{API}/reports/follow-ups", headers=town["cad_x"]), 403)
    owned = client.get(
        f"{API}/reports/follow-ups?organization_id={town['org'].id}", headers=town["admin"]
    ).get_json()
    assert owned["total"] == 2
    assert_problem(
        client.get(f"{API}/reports/follow-ups?due_within_days=366", headers=town["admin"]),
        422,
        "due_within_days",
    )


def test_deleting_an_exercise_takes_its_findings(client, app, town):
    exercise = record(client, town).get_json()
    client.post(
        f"{API}/exercises/{exercise['id']}/findings", json={"text": "x"}, headers=town["manager"]
    )
    path = f"{API}/exercises/{exercise['id']}"
    tag = client.get(path, headers=town["manager"]).headers["ETag"]
    assert client.delete(path, headers={**town["officer_t"], "If-Match": tag}).status_code == 404
    assert client.delete(path, headers={**town["manager"], "If-Match": tag}).status_code == 204
    assert count(app, Exercise) == count(app, Finding) == count(app, ExerciseAgency) == 0
    assert count(app, AuditEvent, AuditEvent.action == "exercise.delete") == 1
