"""Every reveal attempt by a known caller is audited (issue 15, item 10): refusals for a stale
login or a bad body too, each with why it was refused, committed although the answer is an
error; and never with the secret or the raw body."""

import json
import logging

import pytest
from sqlalchemy import select

from registry import transaction
from registry.audit.models import AuditEvent
from registry.db import utcnow
from tests.conftest import assert_problem

API = "/api/v1"
CODE = "Door-8841#"
KEY_LOCATION = "Lock box behind the north pillar, 2nd hook"
REASON = "Engine 4 at the loading dock, smoke showing"


def reveal(client, point_id, headers, payload=None, **kwargs):
    if "data" not in kwargs:
        kwargs["json"] = {"reason": REASON} if payload is None else payload
    return client.post(f"{API}/access-points/{point_id}/reveal", headers=headers, **kwargs)


def reveal_events(app) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "access_point.reveal")
            .order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return events


def trail_text(app) -> str:
    with app.app_context(), transaction.session_scope() as session:
        rows = session.execute(select(AuditEvent.details, AuditEvent.changes)).all()
        return json.dumps([list(r) for r in rows])


@pytest.fixture
def point(make):
    org = make.organization()
    facility = make.facility(org)
    point = make.access_point(facility, code=CODE, key_location=KEY_LOCATION)
    point.manager_account = make.user("facility_manager", organization=org)
    return point


def test_a_stale_login_is_refused_and_audited(client, app, make, point):
    stale = make.headers(point.manager_account, fresh=False)

    response = reveal(client, point.id, stale)

    assert assert_problem(response, 401)["type"].endswith("fresh-login-required")
    (event,) = reveal_events(app)
    assert event.actor == f"user:{point.manager_account.id}"
    assert (event.record_id, event.facility_id) == (point.id, point.facility_id)
    assert event.details == {
        "reason": REASON,
        "outcome": "refused",
        "refused_because": "fresh_login_required",
        "incident_id": None,
    }


BAD_BODIES = {
    "no reason": {},
    "empty reason": {"reason": ""},
    "blank reason": {"reason": "   "},
    "short reason": {"reason": "ab"},
    "long reason holding the code": {"reason": CODE * 60},
    "reason not text": {"reason": 5},
    "unknown field": {"why": "fire"},
    "the code as a field name": {"reason": REASON, CODE: KEY_LOCATION},
}


@pytest.mark.parametrize("payload", list(BAD_BODIES.values()), ids=list(BAD_BODIES))
def test_a_bad_body_is_refused_and_audited_without_the_body(client, app, make, point, payload):
    response = reveal(client, point.id, make.headers(point.manager_account), payload)

    assert_problem(response, 422)
    (event,) = reveal_events(app)
    assert (event.record_id, event.facility_id) == (point.id, point.facility_id)
    assert event.details["outcome"] == "refused"
    assert event.details["refused_because"] == "invalid_request"
    # Only the schema's own field names: an unknown one is text the caller chose.
    assert set(event.details["invalid_fields"]) <= {"reason", "(unknown field)"}
    assert event.details["reason"] is None
    text = trail_text(app)
    assert CODE not in text and KEY_LOCATION not in text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": "not json", "content_type": "application/json"},
        {"data": "reason=fire", "content_type": "application/x-www-form-urlencoded"},
    ],
    ids=["not JSON", "not a JSON body"],
)
def test_a_body_that_is_not_json_is_refused_and_audited(client, app, make, point, kwargs):
    response = reveal(client, point.id, make.headers(point.manager_account), **kwargs)

    assert response.status_code in (400, 415)
    (event,) = reveal_events(app)
    assert event.details["refused_because"] == "invalid_request"
    assert event.details["invalid_fields"] == []


def test_the_refusal_says_why_for_points_missing_or_not_theirs(client, app, make, point):
    stranger = make.headers(make.user("facility_manager", organization=make.organization()))
    deleted = make.access_point(make.facility(make.organization()), deleted_at=utcnow())

    assert_problem(reveal(client, point.id, stranger), 404)
    assert_problem(reveal(client, deleted.id, stranger), 404)
    assert_problem(reveal(client, 987654, stranger, {}), 422)

    because = [(e.record_id, e.details["refused_because"]) for e in reveal_events(app)]
    assert because == [
        (point.id, "not_allowed"),
        (deleted.id, "no_such_access_point"),
        (987654, "invalid_request"),
    ]


def test_a_success_is_audited_as_before(client, app, make, point):
    response = reveal(client, point.id, make.headers(point.manager_account))

    assert response.status_code == 200
    (event,) = reveal_events(app)
    assert event.details == {"reason": REASON, "outcome": "revealed", "incident_id": None}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}],
    ids=["no token", "bad token"],
)
def test_nobody_known_leaves_no_row(client, app, point, headers):
    """Without a valid token there is nobody to name: a 401 like any other route's."""
    assert_problem(reveal(client, point.id, headers), 401)
    assert reveal_events(app) == []


def test_refusals_log_neither_the_secret_nor_the_body(client, app, make, point, caplog):
    caplog.set_level(logging.DEBUG)
    headers = make.headers(point.manager_account)
    stale = make.headers(point.manager_account, fresh=False)

    reveal(client, point.id, stale, {"reason": CODE * 60})
    reveal(client, point.id, headers, {"reason": CODE * 60})
    reveal(client, point.id, headers, {CODE: KEY_LOCATION})

    assert len(reveal_events(app)) == 3
    assert CODE not in caplog.text and KEY_LOCATION not in caplog.text
    assert CODE not in trail_text(app) and KEY_LOCATION not in trail_text(app)
