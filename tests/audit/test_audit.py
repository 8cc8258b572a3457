"""The audit trail (issue 5, item 4): one row per write and per sensitive read, with who, role,
action, before/after (secrets redacted), request id, client address and time; chained by hash so
that an edited or deleted row is detected; searchable by auditors and admins, and by facility
managers for their own facilities."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from registry import db, transaction
from registry.audit import trail as audit_trail
from registry.audit.models import AuditEvent, AuditHead
from registry.audit.trail import HASHED, _digest, verify
from registry.db import utcnow
from registry.facilities.models import Facility
from tests.conftest import PASSWORD, assert_problem, count, seal

API = "/api/v1"
EVENTS = f"{API}/audit-events"


def events(app, *where) -> list[AuditEvent]:
    """The events in chain order, after sealing what waits."""
    seal(app)
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(select(AuditEvent).where(*where).order_by(AuditEvent.seq)).all()
        session.expunge_all()
        return rows


def check(app, sealed_first: bool = True):
    if sealed_first:
        seal(app)
    with app.app_context(), transaction.session_scope() as session:
        return verify(session, app.config["REGISTRY_AUDIT_SEAL_WINDOW"])


@pytest.fixture
def site(make):
    org = make.organization()
    facility = make.facility(org, name="Riverside Mall")
    return org, facility


def test_a_write_records_who_what_before_after_and_where(app, client, make, site):
    org, facility = site
    manager = make.user("facility_manager", organization=org)
    headers = make.headers(manager, **{"X-Request-ID": "cad-req-42"})
    url = f"{API}/facilities/{facility.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    response = client.patch(url, json={"hazards": "Propane"}, headers={**headers, "If-Match": etag})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] == "cad-req-42"
    [row] = events(app, AuditEvent.action == "facility.update")
    assert (row.actor, row.role) == (f"user:{manager.id}", "facility_manager")
    assert (row.record_type, row.record_id, row.facility_id) == (
        "facility",
        facility.id,
        facility.id,
    )
    assert row.changes["hazards"] == [None, "Propane"]
    assert row.request_id == "cad-req-42"
    assert row.client_address == "127.0.0.1"
    assert abs(row.at - utcnow()) < timedelta(minutes=1)


def test_writes_outside_facilities_are_recorded_and_secrets_redacted(app, client, make):
    admin = make.headers(make.user("admin"))
    created = client.post(
        f"{API}/users",
        json={"username": "planner", "password": "a-long-passphrase-1", "role": "admin"},
        headers=admin,
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    org = client.post(f"{API}/organizations", json={"name": "Acme"}, headers=admin)
    assert org.status_code == 201
    [user_event] = events(app, AuditEvent.action == "user.create")
    assert user_event.changes["username"] == [None, "planner"]
    text = str(user_event.changes)
    assert "a-long-passphrase-1" not in text and "$argon2" not in text
    assert events(app, AuditEvent.action == "organization.create")[0].changes["name"] == [
        None,
        "Acme",
    ]


def test_a_new_cad_client_is_recorded_without_its_secret(app, client, make):
    admin = make.user("admin")
    agency = make.agency()
    created = client.post(
        f"{API}/cad-clients",
        json={"client_id": "county-cad", "agency_id": agency.id, "name": "County CAD"},
        headers=make.headers(admin),
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    [row] = events(app, AuditEvent.action == "cad_client.create")
    assert (row.actor, row.record_id) == (f"user:{admin.id}", created.get_json()["id"])
    assert row.changes["client_id"] == [None, "county-cad"]
    text = str(row.changes)
    assert created.get_json()["client_secret"] not in text and "$argon2" not in text


def test_a_refused_write_leaves_no_row(app, client, make, site):
    org, _ = site
    before = count(app, AuditEvent)
    response = client.post(f"{API}/facilities", json={"name": ""}, headers=make.manager(org))
    assert_problem(response, 422)
    assert count(app, AuditEvent) == before


def test_sensitive_reads_are_recorded(app, client, make, site):
    org, facility = site
    agency = make.agency()
    make.mou(org, agency)
    cad = make.cad_client(agency)
    headers = make.headers(cad)
    assert client.get(f"{API}/preplans/{facility.id}", headers=headers).status_code == 200
    found = client.get(
        f"{API}/preplans/lookup",
        query_string={"address": f"{facility.address_line1}, Springfield IL 62701"},
        headers=headers,
    )
    assert found.json["status"] == "matched"
    opened = client.post(
        f"{API}/incidents",
        json={
            "cad_incident_number": "A-1",
            "incident_type": "fire",
            "address": f"{facility.address_line1}, Springfield IL 62701",
        },
        headers=headers,
    )
    assert opened.status_code == 201
    rows = events(app, AuditEvent.actor == f"cad:{cad.id}")
    assert [r.action for r in rows] == ["preplan.view", "preplan.lookup", "incident.open"]
    assert all(r.facility_id == facility.id and r.role == "cad" for r in rows)
    assert rows[1].details["status"] == "matched"
    assert rows[1].details["query"]["address"].startswith(facility.address_line1)
    assert rows[2].details["cad_incident_number"] == "A-1"


def test_the_chain_verifies_and_detects_an_edited_row(app, client, make, site):
    org, facility = site
    headers = make.manager(org)
    for _ in range(3):
        client.get(f"{API}/preplans/{facility.id}", headers=headers)
    result = check(app)
    assert result.ok and result.events == 3
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(actor="user:999"))
    result = check(app)
    assert not result.ok and result.first_bad_seq == 2
    assert "changed" in result.problem


def test_the_chain_detects_a_deleted_row_and_a_cut_tail(app, client, make, site):
    org, facility = site
    headers = make.manager(org)
    for _ in range(4):
        client.get(f"{API}/preplans/{facility.id}", headers=headers)
    seal(app)
    with app.app_context(), transaction.session_scope() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    result = check(app)
    assert not result.ok and "head" in result.problem
    with app.app_context(), transaction.session_scope() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    result = check(app)
    assert not result.ok and result.first_bad_seq == 2 and "missing" in result.problem


def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link(app, client, make, site):
    org, facility = site
    headers = make.manager(org)
    for _ in range(3):
        client.get(f"{API}/preplans/{facility.id}", headers=headers)
    seal(app)
    with app.app_context(), transaction.session_scope() as session:
        row = session.scalar(select(AuditEvent).where(AuditEvent.seq == 1))
        row.actor = "user:999"
        row.hash = _digest({name: getattr(row, name) for name in HASHED})
    result = check(app)
    assert not result.ok and result.first_bad_seq == 2


def test_the_verify_command_exits_non_zero_when_broken(app, client, make, site):
    org, facility = site
    client.get(f"{API}/preplans/{facility.id}", headers=make.manager(org))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify"])
    # Not sealed yet, and only just committed: waiting, not broken.
    assert result.exit_code == 0 and "intact: 0 events" in result.output
    assert "1 newer events wait to be sealed" in result.output
    result = runner.invoke(args=["audit", "seal"])
    assert result.exit_code == 0 and "sealed 1 events" in result.output
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 1 events" in result.output
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(AuditEvent).values(details={"forged": True}))
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN" in result.output


def test_verification_over_http_for_auditors(client, make):
    auditor = make.headers(make.user("auditor"))
    body = client.get(f"{EVENTS}/verification", headers=auditor).json
    assert body["ok"] is True
    org = make.organization()
    assert_problem(client.get(f"{EVENTS}/verification", headers=make.manager(org)), 403)


def test_concurrent_appends_keep_one_gapless_chain(app, make, site):
    org, facility = site
    headers = make.manager(org)
    errors = []

    def view():
        client = app.test_client()
        for _ in range(5):
            response = client.get(f"{API}/preplans/{facility.id}", headers=headers)
            if response.status_code != 200:
                errors.append(response.status_code)

    threads = [threading.Thread(target=view) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = check(app)
    assert result.ok and result.events == 30, [(e.seq, e.action, e.actor) for e in events(app)]
    assert [r.seq for r in events(app)] == list(range(1, 31))
    with app.app_context(), transaction.session_scope() as session:
        assert session.get(AuditHead, 1).seq == 30


# --- searching the trail ----------------------------------------------------------------------


@pytest.fixture
def trail(app, client, make, site):
    """Views of two organizations' facilities by two callers, at known times."""
    org, facility = site
    other_org = make.organization()
    other = make.facility(other_org, name="Elsewhere")
    manager = make.user("facility_manager", organization=org)
    admin = make.user("admin")
    client.get(f"{API}/preplans/{facility.id}", headers=make.headers(manager))
    client.get(f"{API}/preplans/{other.id}", headers=make.headers(admin))
    client.get(f"{API}/preplans/{facility.id}", headers=make.headers(admin))
    seal(app)
    return facility, other, manager, admin


def listed(client, headers, **params):
    response = client.get(EVENTS, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_auditors_and_admins_search_by_actor_facility_action_and_time(client, make, trail):
    facility, other, _manager, admin = trail
    auditor = make.headers(make.user("auditor"))
    body = listed(client, auditor)
    assert body["total"] == 3
    assert [e["seq"] for e in body["items"]] == [3, 2, 1]  # newest first
    assert listed(client, auditor, actor=f"user:{admin.id}")["total"] == 2
    assert listed(client, auditor, facility_id=facility.id)["total"] == 2
    assert listed(client, auditor, action="preplan.view")["total"] == 3
    assert listed(client, auditor, action="preplan.")["total"] == 3
    assert listed(client, auditor, action="facility.")["total"] == 0
    now = utcnow()
    assert listed(client, auditor, since=(now - timedelta(minutes=5)).isoformat())["total"] == 3
    assert listed(client, auditor, until=(now - timedelta(minutes=5)).isoformat())["total"] == 0
    assert listed(client, make.admin(), facility_id=other.id)["total"] == 1


def test_a_facility_manager_sees_only_its_facilities_trail(client, make, trail):
    facility, other, manager, _admin = trail
    body = listed(client, make.headers(manager))
    assert body["total"] == 2
    assert {e["facility_id"] for e in body["items"]} == {facility.id}
    # Who read it, not from which network address.
    assert {e["client_address"] for e in body["items"]} == {None}
    assert listed(client, make.headers(manager), facility_id=other.id)["total"] == 0


@pytest.mark.parametrize("role", ["agency_user", "cad"])
def test_agencies_do_not_read_the_trail(client, make, trail, role):
    agency = make.agency()
    account = make.cad_client(agency) if role == "cad" else make.user("agency_user", agency=agency)
    assert_problem(client.get(EVENTS, headers=make.headers(account)), 403)


def test_bad_search_parameters_are_refused(client, make):
    auditor = make.headers(make.user("auditor"))
    for params in (
        {"since": "yesterday"},
        {"since": "2026-01-02T00:00:00+00:00", "until": "2026-01-01T00:00:00+00:00"},
        {"since": "2026-01-02T00:00:00"},  # no time zone: ambiguous
        {"facility_id": "0"},
        {"per_page": "1000"},
    ):
        assert_problem(client.get(EVENTS, query_string=params, headers=auditor), 422)


def test_an_auditor_reads_the_trail_and_nothing_else(client, make, site):
    _org, facility = site
    auditor = make.headers(make.user("auditor"))
    assert_problem(client.get(f"{API}/facilities/{facility.id}", headers=auditor), 404)
    assert_problem(client.get(f"{API}/preplans/{facility.id}", headers=auditor), 404)
    assert client.get(f"{API}/facilities", headers=auditor).json["total"] == 0
    assert_problem(client.post(f"{API}/organizations", json={"name": "X"}, headers=auditor), 403)


def test_a_failed_login_leaves_no_password_in_the_trail(app, client, make):
    user = make.user("admin", username="dispatcher")
    client.post(f"{API}/auth/login", json={"username": "dispatcher", "password": "Wrong-guess-1"})
    client.post(f"{API}/auth/login", json={"username": "dispatcher", "password": PASSWORD})
    text = " ".join(str((e.changes, e.details, e.actor)) for e in events(app))
    assert "Wrong-guess-1" not in text and PASSWORD not in text
    assert user.id


def test_the_create_user_command_is_recorded(app, monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", "a-long-passphrase-2")
    result = app.test_cli_runner().invoke(
        args=["create-user", "--role", "auditor", "--username", "reviewer"]
    )
    assert result.exit_code == 0, result.output
    [row] = events(app, AuditEvent.action == "user.create")
    assert (row.actor, row.role, row.client_address) == ("cli", None, "cli")
    assert row.changes["role"] == [None, "auditor"]
    assert "a-long-passphrase-2" not in str(row.changes) and "$argon2" not in str(row.changes)


def test_a_lookup_keeps_no_calling_number(app, client, make, site):
    org, facility = site
    agency = make.agency()
    make.mou(org, agency)
    headers = make.headers(make.cad_client(agency))
    response = client.get(
        f"{API}/preplans/lookup",
        query_string={"phone": "+1 217 555 0199", "address": f"{facility.address_line1}, 62701"},
        headers=headers,
    )
    assert response.status_code == 200
    [row] = events(app, AuditEvent.action == "preplan.lookup")
    assert row.details["query"]["phone"] == "given"
    assert "0199" not in str(row.details)


@pytest.fixture
def statements(app, monkeypatch):
    """The SQL the app sends, in order: through SQLAlchemy, and on the driver (the CAD read's
    statements on PostgreSQL, db.first_row and db.execute)."""
    seen = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    on_driver = db._on_driver

    def note_on_driver(connection, statement, values):
        seen.append(db._driver_form(connection.dialect, statement)[0])
        return on_driver(connection, statement, values)

    monkeypatch.setattr(db, "_on_driver", note_on_driver)
    engine = app.extensions["registry.engine"]
    sa_event.listen(engine, "before_cursor_execute", note)
    yield seen
    sa_event.remove(engine, "before_cursor_execute", note)


def test_an_event_commits_in_the_transaction_it_records(app, client, make, site, statements):
    org, facility = site
    headers = make.manager(org)
    url = f"{API}/facilities/{facility.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    statements.clear()
    response = client.patch(url, json={"hazards": "x"}, headers={**headers, "If-Match": etag})
    assert response.status_code == 200
    update_at = next(i for i, s in enumerate(statements) if s.startswith("UPDATE facilities"))
    insert_at = next(i for i, s in enumerate(statements) if "INSERT INTO audit_events" in s)
    # Same transaction: nothing ends it between the change and its event, and the head row is
    # not touched on the request path (the sealer moves it).
    between = statements[update_at:insert_at]
    assert not [s for s in between if s.startswith(("COMMIT", "ROLLBACK"))]
    assert not [s for s in statements if "audit_head" in s]


@pytest.mark.parametrize("writes", [False, True])
def test_only_transactions_that_just_record_reads_skip_the_wal_flush(app, make, site, writes):
    """A pre-plan view commits without waiting for the WAL flush; a data change never does."""
    if app.extensions["registry.engine"].dialect.name != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    _org, facility = site
    with app.app_context(), transaction.session_scope() as session:
        if writes:
            session.execute(
                update(Facility).where(Facility.id == facility.id).values(hazards="Propane")
            )
        else:
            session.get(Facility, facility.id)
        audit_trail.record(session, None, "preplan.view", record_type="facility", record_id=1)
        audit_trail.append(session)
        setting = session.scalar(text("SHOW synchronous_commit"))
    assert setting == ("on" if writes else "off")


def test_events_appended_during_verification_are_not_an_alarm(app, client, make, site):
    """verify reads the head first: a lookup appending, or a sealer sealing, meanwhile is not
    tampering."""
    org, facility = site
    headers = make.manager(org)
    for _ in range(3):
        client.get(f"{API}/preplans/{facility.id}", headers=headers)
    seal(app)
    real_scalars = Session.scalars
    appended = []

    def scalars_then_append(self, *args, **kwargs):
        result = real_scalars(self, *args, **kwargs)
        if not appended:
            appended.append(client.get(f"{API}/preplans/{facility.id}", headers=headers))
            appended.append(seal(app))
        return result

    with app.app_context(), transaction.session_scope() as session:
        Session.scalars = scalars_then_append
        try:
            result = audit_trail.verify(session, app.config["REGISTRY_AUDIT_SEAL_WINDOW"])
        finally:
            Session.scalars = real_scalars
    assert appended and appended[0].status_code == 200 and appended[1] == 1
    assert result.ok and result.events == 3
    assert check(app).events == 4


def test_a_deleted_head_is_reported_and_then_recorded_in_the_chain(app, client, make, site):
    org, facility = site
    headers = make.manager(org)
    for _ in range(3):
        client.get(f"{API}/preplans/{facility.id}", headers=headers)
    seal(app)
    with app.app_context(), transaction.session_scope() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 3))
        session.execute(delete(AuditHead))
    result = check(app, sealed_first=False)
    assert not result.ok and "head is missing" in result.problem
    # The next sealing puts the head back and says so in the trail itself.
    client.get(f"{API}/preplans/{facility.id}", headers=headers)
    actions = [e.action for e in events(app)]
    assert actions[-2:] == ["audit.head_restored", "preplan.view"]
    assert check(app).ok
