"""Verifying the audit trail's ends (issue 15, item 4; sealing since issue 14): an event beyond
the chain head or before its start, and a missing chain head, break verification; sealing that
collides with a planted event is loud (log, /readyz) while requests go on, their events waiting
unsealed; a trail wiped with its head starts again with a marker that verification names."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from registry import transaction
from registry.audit.models import AuditEvent, AuditHead
from registry.audit.sealer import Sealer
from registry.audit.trail import HASHED, AuditTrailBroken, _digest, verify
from registry.db import utcnow
from tests.conftest import assert_problem, seal

API = "/api/v1"
EVENTS = f"{API}/audit-events"
RESTORED = "audit.head_restored"


def check(app, sealed_first: bool = True):
    if sealed_first:
        seal(app)
    with app.app_context(), transaction.session_scope() as session:
        return verify(session, app.config["REGISTRY_AUDIT_SEAL_WINDOW"])


def actions(app) -> list[tuple[int, str]]:
    """(seq, action) in chain order, after sealing what waits."""
    seal(app)
    with app.app_context(), transaction.session_scope() as session:
        return session.execute(select(AuditEvent.seq, AuditEvent.action).order_by("seq")).all()


def plant(app, seq: int) -> None:
    """Insert an event at `seq` without moving the head, hashed and linked like a real one."""
    with app.app_context(), transaction.session_scope() as session:
        previous = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1))
        row = {
            "seq": seq,
            "at": utcnow(),
            "actor": "user:1",
            "role": "admin",
            "action": "facility.update",
            "record_type": "facility",
            "record_id": 1,
            "facility_id": 1,
            "break_glass": False,
            "changes": {},
            "details": {},
            "request_id": None,
            "client_address": "cli",
            "prev_hash": previous or "0" * 64,
        }
        row["hash"] = _digest({name: row[name] for name in HASHED})
        session.execute(AuditEvent.__table__.insert(), [row])


def wipe(app, head: bool = True) -> None:
    with app.app_context(), transaction.session_scope() as session:
        session.execute(delete(AuditEvent))
        if head:
            session.execute(delete(AuditHead))


@pytest.fixture
def viewed(app, make, client):
    """A facility whose pre-plan its manager viewed three times: events 1-3, sealed."""
    org = make.organization()
    facility = make.facility(org)
    headers = make.manager(org)
    url = f"{API}/preplans/{facility.id}"
    for _ in range(3):
        assert client.get(url, headers=headers).status_code == 200
    assert seal(app) == 3
    return url, headers


# --- events outside the chain ----------------------------------------------------------------


@pytest.mark.parametrize("seq", [4, 1000])
def test_an_event_beyond_the_head_breaks_verification(app, client, make, viewed, seq):
    plant(app, seq)
    auditor = make.headers(make.user("auditor"))
    listed = client.get(EVENTS, headers=auditor).json["items"]
    assert listed[0]["seq"] == seq  # the API shows it, so verification must judge it
    result = check(app)
    assert not result.ok and result.first_bad_seq == seq and result.events == 3
    assert "beyond the chain head" in result.problem
    body = client.get(f"{EVENTS}/verification", headers=auditor).json
    assert body["ok"] is False and body["first_bad_seq"] == seq
    outcome = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert outcome.exit_code == 1 and "BROKEN after 3 good events" in outcome.output


@pytest.mark.parametrize("seq", [0, -5])
def test_an_event_before_the_start_breaks_verification(app, viewed, seq):
    plant(app, seq)
    result = check(app)
    assert not result.ok and result.first_bad_seq == seq
    assert "before the start" in result.problem


def test_sealing_onto_a_planted_event_is_loud_and_resumes_once_it_is_removed(
    app, client, make, viewed, caplog
):
    url, headers = viewed
    plant(app, 4)
    caplog.set_level(logging.ERROR, logger="registry")
    # The request does not depend on the chain: it is served, and its event waits unsealed.
    assert client.get(url, headers=headers).status_code == 200
    with pytest.raises(AuditTrailBroken):
        seal(app)
    assert any(
        r.levelno == logging.CRITICAL and "event 4" in r.getMessage() for r in caplog.records
    )
    # The head did not move, and the waiting event is still waiting.
    with app.app_context(), transaction.session_scope() as session:
        assert session.get(AuditHead, 1).seq == 3
        assert session.scalar(select(func.count()).where(AuditEvent.seq.is_(None))) == 1
    ready = assert_problem(client.get("/readyz"), 503)
    assert ready["type"].endswith("audit-trail-broken")
    assert "audit event 4 lies beyond the chain head" in caplog.text  # the number: log only

    with app.app_context(), transaction.session_scope() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.seq == 4))
    assert client.get("/readyz").status_code == 200
    assert client.get(url, headers=headers).status_code == 200
    assert check(app).ok and check(app).events == 5


def viewed_facility_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def test_a_planted_event_far_ahead_is_already_reported_by_readyz(app, client, viewed, caplog):
    plant(app, 10_000)
    caplog.set_level(logging.ERROR, logger="registry")
    body = assert_problem(client.get("/readyz"), 503)
    assert body["type"].endswith("audit-trail-broken") and "10000" not in body["detail"]
    assert "audit event 10000 lies beyond the chain head" in caplog.text


def test_a_write_while_an_event_is_planted_commits_with_its_event(app, client, make, viewed):
    url, headers = viewed
    plant(app, 4)
    facility_url = f"{API}/facilities/{viewed_facility_id(url)}"
    current = client.get(facility_url, headers=headers)
    response = client.patch(
        facility_url,
        json={"hazards": "Propane"},
        headers={**headers, "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200
    assert client.get(facility_url, headers=headers).json["hazards"] == "Propane"
    with app.app_context(), transaction.session_scope() as session:
        waiting = session.scalars(select(AuditEvent.action).where(AuditEvent.seq.is_(None)))
        assert "facility.update" in list(waiting)


# --- a missing head --------------------------------------------------------------------------


@pytest.mark.parametrize("events_too", [True, False])
def test_a_missing_head_breaks_verification(app, client, make, viewed, events_too):
    if events_too:
        wipe(app)
    else:
        with app.app_context(), transaction.session_scope() as session:
            session.execute(delete(AuditHead))
    result = check(app, sealed_first=False)
    assert not result.ok and "head is missing" in result.problem
    assert result.events == (0 if events_too else 3)
    outcome = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert outcome.exit_code == 1 and "head is missing" in outcome.output
    body = client.get(f"{EVENTS}/verification", headers=make.headers(make.user("auditor"))).json
    assert body["ok"] is False


def test_a_wiped_trail_starts_again_with_a_marker_that_verification_names(
    app, client, make, viewed, caplog
):
    url, headers = viewed
    wipe(app)
    caplog.set_level(logging.ERROR, logger="registry")
    assert client.get(url, headers=headers).status_code == 200
    assert actions(app) == [(1, RESTORED), (2, "preplan.view")]
    assert any("head was missing" in r.getMessage() for r in caplog.records)
    with app.app_context(), transaction.session_scope() as session:
        marker = session.scalar(select(AuditEvent).where(AuditEvent.seq == 1))
        assert marker.details["resumed_after_event"] == 0
    result = check(app)
    assert result.ok and result.events == 2 and result.head_restored_at == [1]
    outcome = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert outcome.exit_code == 0 and "restored at event 1" in outcome.output
    body = client.get(f"{EVENTS}/verification", headers=make.headers(make.user("auditor"))).json
    assert body["ok"] is True and body["head_restored_at"] == [1]


def test_racing_sealers_after_a_wipe_write_one_marker(app, make, viewed):
    url, headers = viewed
    wipe(app)
    failures = []

    def view():
        client = app.test_client()
        for _ in range(3):
            response = client.get(url, headers=headers)
            if response.status_code != 200:
                failures.append(response.status_code)
            seal(app)

    threads = [threading.Thread(target=view) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    trail = actions(app)
    assert [seq for seq, _ in trail] == list(range(1, 14))
    assert trail[0] == (1, RESTORED) and [a for _, a in trail].count(RESTORED) == 1
    assert check(app).ok


def test_an_intact_trail_names_no_restoration(app, viewed):
    result = check(app)
    assert result.ok and result.events == 3 and result.head_restored_at == []


# --- the sealing window -------------------------------------------------------------------------


def test_events_left_unsealed_past_the_window_fail_verification_and_readiness(
    app, client, make, viewed, monkeypatch
):
    url, headers = viewed
    assert client.get(url, headers=headers).status_code == 200
    result = check(app, sealed_first=False)
    assert result.ok and result.events == 3 and result.unsealed == 1  # waiting, in time
    assert client.get("/readyz").status_code == 200
    # As if no sealer had run for longer than the window.
    monkeypatch.setitem(app.config, "REGISTRY_AUDIT_SEAL_WINDOW", timedelta(0))
    result = check(app, sealed_first=False)
    assert not result.ok and "no sealer is keeping up" in result.problem
    assert result.unsealed == 1 and result.oldest_unsealed_at is not None
    ready = assert_problem(client.get("/readyz"), 503)
    assert ready["type"].endswith("audit-trail-unsealed")
    outcome = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert outcome.exit_code == 1 and "no sealer is keeping up" in outcome.output
    # A sealer catches up, and the trail is whole again.
    assert seal(app) == 1
    assert check(app, sealed_first=False).ok
    assert client.get("/readyz").status_code == 200


def test_the_sealer_thread_seals_what_requests_append(app, client, viewed):
    url, headers = viewed
    for _ in range(5):
        assert client.get(url, headers=headers).status_code == 200
    sealer = Sealer(app, interval=0.01).start()
    try:
        deadline = time.monotonic() + 30
        while check(app, sealed_first=False).events < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sealer.stop()
    result = check(app, sealed_first=False)
    assert result.ok and result.events == 8 and result.unsealed == 0
