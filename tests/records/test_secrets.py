"""Access-point secrets (issue 5, items 1 and 2): door codes and key locations are stored only
encrypted and bound to their row, never shown by reads, history, audit, logs or errors, and
revealed only through the audited, fresh-login `POST /access-points/{id}/reveal` to those who may
open the doors (or, flagged and notified, under an agency's live break-glass grant). Keys rotate without
downtime and without touching the ETag.
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text, update

from registry import config as registry_config
from registry import create_app, db, transaction
from registry.audit.models import AuditEvent
from registry.auth.principal import Principal
from registry.db import Base, utcnow
from registry.demo import load_demo
from registry.encryption import Keyring, new_key_spec
from registry.facilities import rotation, sealing
from registry.facilities.models import AccessPoint
from registry.facilities.service import access_points
from registry.idempotency import IdempotencyKey
from registry.incidents.models import Incident
from registry.notifications.models import Notification
from tests.conftest import TEST_KEYS, assert_problem, count, fetch

API = "/api/v1"
CODE = "Door-8841#"
KEY_LOCATION = "Lock box behind the north pillar, 2nd hook"
OTHER_CODE = "Gate-5519*"
REASON = "Engine 4 at the loading dock, smoke showing"
NEW_KEY = new_key_spec("test2")


def reveal(client, point_id, headers, reason=REASON):
    return client.post(
        f"{API}/access-points/{point_id}/reveal", json={"reason": reason}, headers=headers
    )


def raw_row(app, point_id) -> dict:
    with app.app_context(), db.engine().connect() as connection:
        row = connection.execute(
            text(
                "SELECT code_ciphertext, code_key_id, key_location_ciphertext, "
                "key_location_key_id, version, updated_at FROM access_points WHERE id = :id"
            ),
            {"id": point_id},
        )
        return dict(row.mappings().one())


def database_text(app) -> str:
    """Every value of every table, as text (bytes decoded loosely), to search for plaintext."""
    parts = []
    with app.app_context(), db.engine().connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        value = bytes(value).decode("latin-1")
                    parts.append(str(value))
    return "\n".join(parts)


def audit_events(app, action=None) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = session.scalars(query).all()
        session.expunge_all()
        return rows


@dataclass
class Site:
    org: object
    facility: object
    point: object
    manager: dict


@pytest.fixture
def site(make):
    org = make.organization()
    facility = make.facility(org)
    point = make.access_point(facility, kind="loading_dock", code=CODE, key_location=KEY_LOCATION)
    manager = make.headers(make.user("facility_manager", organization=org))
    return Site(org, facility, point, manager)


# ---------------------------------------------------------------------------------------------
# Storage: encrypted, bound to the row, never in clear


def test_create_and_update_store_only_ciphertext(client, app, make):
    org = make.organization()
    facility = make.facility(org)
    headers = make.manager(org)

    path = f"{API}/facilities/{facility.id}/access-points"
    payload = {"kind": "key_box", "name": "Knox box", "code": CODE, "key_location": KEY_LOCATION}
    created = client.post(path, json=payload, headers={**headers, "Idempotency-Key": "k-1"})

    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["has_code"] is True and body["has_key_location"] is True
    assert "code" not in body and "key_location" not in body
    assert CODE not in created.get_data(as_text=True)
    assert body["version"] == 1  # sealing after the INSERT does not bump the ETag
    row = raw_row(app, body["id"])
    assert row["code_key_id"] == row["key_location_key_id"] == "test1"
    assert CODE.encode() not in bytes(row["code_ciphertext"])
    assert KEY_LOCATION.encode() not in bytes(row["key_location_ciphertext"])
    assert len(bytes(row["code_ciphertext"])) == 12 + len(CODE) + 16  # nonce + text + tag
    assert row["version"] == 1
    read = client.get(f"{API}/access-points/{body['id']}", headers=headers)
    assert read.headers["ETag"] == created.headers["ETag"]

    patched = client.patch(
        f"{API}/access-points/{body['id']}",
        json={"code": OTHER_CODE},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )

    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["version"] == 2
    after = raw_row(app, body["id"])
    assert after["code_ciphertext"] != row["code_ciphertext"]
    assert after["key_location_ciphertext"] == row["key_location_ciphertext"]  # not sent
    dump = database_text(app)
    for secret in (CODE, OTHER_CODE, KEY_LOCATION):
        assert secret not in dump
    # The retry fingerprint of the create is keyed: a plain hash of the body would let anyone
    # who reads the table try every short code.
    request_text = f"POST {path}\n{json.dumps(payload, sort_keys=True)}".encode()
    with app.app_context(), transaction.session_scope() as session:
        stored = session.scalar(select(IdempotencyKey.fingerprint))
    assert stored != hashlib.sha256(request_text).hexdigest()
    assert stored == hmac.new(TEST_KEYS["SECRET_KEY"].encode(), request_text, "sha256").hexdigest()


def test_empty_or_null_clears_a_secret(client, app, make, site):
    headers = make.manager(site.org)
    url = f"{API}/access-points/{site.point.id}"
    etag = client.get(url, headers=headers).headers["ETag"]

    response = client.patch(
        url, json={"code": "  ", "key_location": None}, headers={**headers, "If-Match": etag}
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["has_code"] is False
    assert response.get_json()["has_key_location"] is False
    row = raw_row(app, site.point.id)
    assert row["code_ciphertext"] is None and row["code_key_id"] is None
    assert row["key_location_ciphertext"] is None and row["key_location_key_id"] is None
    revealed = reveal(client, site.point.id, site.manager).get_json()
    assert (revealed["code"], revealed["key_location"]) == (None, None)


def test_a_ciphertext_copied_to_another_row_or_field_does_not_decrypt(
    client, app, make, site, caplog
):
    other_org = make.organization()
    elsewhere = make.access_point(make.facility(other_org), code=OTHER_CODE)
    sibling = make.access_point(site.facility, code=OTHER_CODE)
    admin = make.headers(make.user("admin"))
    source = raw_row(app, site.point.id)
    with app.app_context(), db.engine().begin() as connection:
        for target in (elsewhere.id, sibling.id):
            connection.execute(
                update(AccessPoint)
                .where(AccessPoint.id == target)
                .values(code_ciphertext=source["code_ciphertext"], code_key_id="test1")
            )
    caplog.set_level(logging.ERROR, logger="registry.facilities.sealing")

    for target in (elsewhere.id, sibling.id):
        response = reveal(client, target, admin)
        body = assert_problem(response, 409)
        assert body["type"].endswith("secret-unreadable")
        assert "enter it again" in body["detail"]
        assert CODE not in response.get_data(as_text=True)
        assert OTHER_CODE not in response.get_data(as_text=True)
    assert f"access point {elsewhere.id}: stored code" in caplog.text
    assert CODE not in caplog.text

    # The same row, the other field: bound to the field name too.
    with app.app_context(), db.engine().begin() as connection:
        connection.execute(
            update(AccessPoint)
            .where(AccessPoint.id == site.point.id)
            .values(key_location_ciphertext=source["code_ciphertext"])
        )
    assert_problem(reveal(client, site.point.id, admin), 409)
    outcomes = [e.details["outcome"] for e in audit_events(app, "access_point.reveal")]
    assert outcomes == ["unreadable"] * 3


def test_a_secret_under_a_key_no_longer_configured_is_a_clear_409(client, app, make, site):
    with app.app_context(), db.engine().begin() as connection:
        connection.execute(
            update(AccessPoint).where(AccessPoint.id == site.point.id).values(code_key_id="gone")
        )

    body = assert_problem(reveal(client, site.point.id, site.manager), 409)
    assert body["type"].endswith("secret-unreadable")


def test_moving_an_access_point_seals_its_secrets_for_the_new_facility(app, make, site, ctx):
    new_home = make.facility(site.org)
    admin = make.user("admin")
    session = db.session()
    point = session.get(AccessPoint, site.point.id)

    access_points.update(
        session, Principal("user", admin.id, "admin"), point, {"facility_id": new_home.id}
    )
    session.commit()

    point = session.get(AccessPoint, site.point.id)
    assert point.facility_id == new_home.id
    assert sealing.open_secret(point, "code") == CODE
    assert sealing.open_secret(point, "key_location") == KEY_LOCATION


def test_a_secret_is_no_attribute_to_set_or_read(make, site, ctx):
    """Sealing is an explicit call: assigning `code` raises instead of quietly storing nothing,
    and reading it back takes the audited reveal."""
    point = db.session().get(AccessPoint, site.point.id)

    with pytest.raises(AttributeError, match="sealing"):
        point.code = OTHER_CODE
    with pytest.raises(AttributeError, match="reveal"):
        point.key_location  # noqa: B018 - the read is the test
    with pytest.raises(AttributeError, match="sealing"):
        AccessPoint(facility_id=site.facility.id, kind="gate", name="Gate", code=CODE)

    assert not db.session().dirty
    assert sealing.open_secret(point, "code") == CODE


# ---------------------------------------------------------------------------------------------
# Masked everywhere


def test_reads_lists_preplans_history_and_audit_never_show_a_secret(client, app, make, site):
    headers = make.manager(site.org)
    url = f"{API}/access-points/{site.point.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    assert (
        client.patch(
            url, json={"code": OTHER_CODE}, headers={**headers, "If-Match": etag}
        ).status_code
        == 200
    )
    created = client.post(
        f"{API}/facilities/{site.facility.id}/access-points",
        json={"kind": "gate", "name": "Yard gate", "code": CODE, "lat": 39.8, "lon": -89.6},
        headers=headers,
    )
    assert created.status_code == 201

    responses = {
        "item": client.get(url, headers=headers),
        "list": client.get(f"{API}/facilities/{site.facility.id}/access-points", headers=headers),
        "preplan": client.get(f"{API}/preplans/{site.facility.id}", headers=headers),
        "geojson": client.get(f"{API}/preplans/{site.facility.id}?format=geojson", headers=headers),
        "history": client.get(f"{API}/facilities/{site.facility.id}/history", headers=headers),
    }
    for name, response in responses.items():
        assert response.status_code == 200, name
        shown = response.get_data(as_text=True)
        for secret in (CODE, OTHER_CODE, KEY_LOCATION):
            assert secret not in shown, name
        assert "ciphertext" not in shown and "key_id" not in shown, name

    item = responses["item"].get_json()
    assert (item["has_code"], item["has_key_location"]) == (True, True)
    assert {p["id"]: p["has_code"] for p in responses["list"].get_json()["items"]} == {
        site.point.id: True,
        created.get_json()["id"]: True,
    }
    preplan_points = responses["preplan"].get_json()["access_points"]
    assert all(p["has_code"] is True for p in preplan_points)

    changes = [
        entry["changes"]
        for entry in responses["history"].get_json()["items"]
        if entry["record_type"] == "access_point"
    ]
    # Newest first: the create, the update (the code changed, value withheld).
    assert changes[0]["code"] == [None, "[redacted]"]
    assert changes[1] == {"code": ["[redacted]", "[redacted]"]}
    (audited,) = audit_events(app, "access_point.update")
    assert audited.changes == {"code": ["[redacted]", "[redacted]"]}
    for event in audit_events(app):
        stored = f"{event.changes} {event.details}"
        for secret in (CODE, OTHER_CODE, KEY_LOCATION):
            assert secret not in stored


def test_an_update_that_does_not_touch_a_secret_does_not_mention_it(client, make, site):
    headers = make.manager(site.org)
    url = f"{API}/access-points/{site.point.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    client.patch(url, json={"name": "Dock 2"}, headers={**headers, "If-Match": etag})

    history = client.get(f"{API}/facilities/{site.facility.id}/history", headers=headers)

    assert history.get_json()["items"][0]["changes"] == {"name": ["Main entrance", "Dock 2"]}


def test_bad_input_is_a_problem_that_never_echoes_the_code(client, app, make, site):
    headers = make.manager(site.org)
    long_code = "Z9" * 60  # 120 characters: over the cap
    before = count(app, AccessPoint)

    responses = [
        client.post(
            f"{API}/facilities/{site.facility.id}/access-points",
            json={"kind": "portal", "name": "X", "code": long_code},
            headers=headers,
        ),
        client.post(
            f"{API}/facilities/{site.facility.id}/access-points",
            json={"kind": "gate", "name": "X", "code": long_code, "key_location": 7},
            headers=headers,
        ),
    ]
    url = f"{API}/access-points/{site.point.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    responses.append(
        client.patch(url, json={"code": long_code}, headers={**headers, "If-Match": etag})
    )
    responses.append(
        client.patch(url, json={"code": ["1234"]}, headers={**headers, "If-Match": etag})
    )

    for response in responses:
        body = assert_problem(response, 422)
        assert long_code not in response.get_data(as_text=True)
        assert "1234" not in response.get_data(as_text=True)
        assert "code" in body["errors"] or "kind" in body["errors"]
    assert count(app, AccessPoint) == before
    assert raw_row(app, site.point.id)["version"] == 1
    assert secrets_of(app, site.point.id) == (CODE, KEY_LOCATION)


def secrets_of(app, point_id) -> tuple:
    with app.app_context():
        point = db.session().get(AccessPoint, point_id)
        return sealing.open_secret(point, "code"), sealing.open_secret(point, "key_location")


def test_logs_never_carry_a_secret(client, make, site, caplog):
    caplog.set_level(logging.DEBUG)
    headers = make.manager(site.org)
    created = client.post(
        f"{API}/facilities/{site.facility.id}/access-points",
        json={"kind": "gate", "name": "Yard gate", "code": CODE, "key_location": KEY_LOCATION},
        headers=headers,
    )
    etag = created.headers["ETag"]
    client.patch(
        f"{API}/access-points/{created.get_json()['id']}",
        json={"code": OTHER_CODE},
        headers={**headers, "If-Match": etag},
    )
    assert reveal(client, created.get_json()["id"], site.manager).get_json()["code"] == OTHER_CODE

    for secret in (CODE, OTHER_CODE, KEY_LOCATION):
        assert secret not in caplog.text


# ---------------------------------------------------------------------------------------------
# Reveal: who may


def test_a_manager_reveals_with_no_store_and_an_audit_row(client, app, site):
    response = reveal(client, site.point.id, site.manager)

    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "access_point_id": site.point.id,
        "code": CODE,
        "key_location": KEY_LOCATION,
        "break_glass": False,
        "incident_id": None,
    }
    (event,) = audit_events(app, "access_point.reveal")
    assert event.record_type == "access_point" and event.record_id == site.point.id
    assert event.facility_id == site.facility.id
    assert event.details == {"reason": REASON, "outcome": "revealed", "incident_id": None}
    assert event.break_glass is False
    assert count(app, Notification) == 0


def _cast(make, site, role: str, scopes=None, **mou_fields):
    """The caller for one matrix row, with its agency's MOU with the site's organization."""
    if role == "admin":
        return make.headers(make.user("admin"))
    if role == "own_manager":
        return site.manager
    if role == "other_manager":
        return make.headers(make.user("facility_manager", organization=make.organization()))
    agency = make.agency()
    if scopes is not None:
        make.mou(site.org, agency, scopes=scopes, **mou_fields)
    if role == "cad":
        return make.headers(make.cad_client(agency))
    return make.headers(make.user("agency_user", agency=agency))


YESTERDAY = date.today() - timedelta(days=1)
MATRIX = {
    # name: (role, MOU scopes or None for no MOU, extra MOU fields, expected status)
    "admin": ("admin", None, {}, 200),
    "facility manager of the organization": ("own_manager", None, {}, 200),
    "facility manager of another organization": ("other_manager", None, {}, 404),
    "officer, no MOU": ("agency_user", None, {}, 404),
    "CAD, no MOU": ("cad", None, {}, 404),
    "officer, data sharing only": ("agency_user", ("data_sharing",), {}, 403),
    "CAD, data sharing only": ("cad", ("data_sharing",), {}, 403),
    "officer, data sharing and key holding": (
        "agency_user",
        ("data_sharing", "key_holding"),
        {},
        200,
    ),
    "CAD, data sharing and access codes": ("cad", ("data_sharing", "access_codes"), {}, 200),
    "officer, key holding without data sharing": ("agency_user", ("key_holding",), {}, 200),
    "officer, access codes in a draft MOU": (
        "agency_user",
        ("data_sharing", "access_codes"),
        {"status": "draft"},
        404,
    ),
    "officer, access codes in an expired MOU": (
        "agency_user",
        ("data_sharing", "access_codes"),
        {"effective_date": YESTERDAY - timedelta(days=30), "expiry_date": YESTERDAY},
        404,
    ),
    "CAD, key holding, MOU for another facility": (
        "cad",
        ("key_holding",),
        {"facilities": "another"},
        404,
    ),
}


@pytest.mark.parametrize("name", list(MATRIX))
def test_reveal_matrix(client, app, make, site, name):
    role, scopes, mou_fields, expected = MATRIX[name]
    if mou_fields.get("facilities") == "another":
        mou_fields = {"facilities": [make.facility(site.org)]}
    headers = _cast(make, site, role, scopes, **mou_fields)

    response = reveal(client, site.point.id, headers)

    if expected == 200:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["code"] == CODE
        assert response.get_json()["break_glass"] is False
    else:
        assert_problem(response, expected)
        assert CODE not in response.get_data(as_text=True)
    (event,) = audit_events(app, "access_point.reveal")
    assert event.details["outcome"] == ("revealed" if expected == 200 else "refused")
    assert event.details["reason"] == REASON
    assert event.record_id == site.point.id
    assert count(app, Notification) == 0


def test_a_deleted_or_unknown_access_point_is_not_found_and_audited(client, app, make, site):
    deleted = make.access_point(site.facility, code=CODE, deleted_at=utcnow())

    for point_id in (deleted.id, 987654, 2**40):
        assert_problem(reveal(client, point_id, site.manager), 404)
    assert [e.details["outcome"] for e in audit_events(app, "access_point.reveal")] == [
        "refused"
    ] * 3


def _incident(make, site, agency_id, **fields):
    values = {
        "agency_id": agency_id,
        "cad_incident_number": f"24-{make._next():05d}",
        "incident_type": "Active attacker",
        "facility_id": site.facility.id,
        "match_status": "matched",
        "opened_by": "cad:1",
        "status": "open",
    }
    with make.app.app_context(), transaction.session_scope() as session:
        incident = Incident(**{**values, **fields})
        session.add(incident)
        session.flush()
        session.expunge(incident)
    return incident


def break_glass_fields():
    return {
        "match_status": "not_shared",
        "break_glass": True,
        "access_expires_at": utcnow() + timedelta(hours=2),
    }


@pytest.mark.parametrize("role", ["agency_user", "cad"])
def test_a_break_glass_incident_reveals_flagged_and_tells_the_organization(
    client, app, make, site, role
):
    agency = make.agency()
    incident = _incident(make, site, agency.id, **break_glass_fields())
    account = make.cad_client(agency) if role == "cad" else make.user("agency_user", agency=agency)

    response = reveal(client, site.point.id, make.headers(account))

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "access_point_id": site.point.id,
        "code": CODE,
        "key_location": KEY_LOCATION,
        "break_glass": True,
        "incident_id": incident.id,
    }
    (event,) = audit_events(app, "access_point.reveal")
    assert event.break_glass is True
    assert event.details == {"reason": REASON, "outcome": "revealed", "incident_id": incident.id}
    with app.app_context(), transaction.session_scope() as session:
        (note,) = session.scalars(select(Notification)).all()
        assert (note.kind, note.organization_id) == ("break_glass_reveal", site.org.id)
        assert (note.facility_id, note.incident_id) == (site.facility.id, incident.id)
        assert note.actor.startswith(role.split("_")[0] if role == "cad" else "user")
        assert REASON in note.message and CODE not in note.message


@pytest.mark.parametrize(
    "fields",
    [
        {
            "match_status": "not_shared",
            "break_glass": True,
            "access_expires_at": utcnow() + timedelta(hours=2),
            "status": "closed",
        },
        {
            "match_status": "not_shared",
            "break_glass": True,
            "access_expires_at": utcnow() - timedelta(minutes=1),
        },
        # An ordinary incident reveals nothing at all (issue 15.12), expired or not.
        {"access_expires_at": utcnow() - timedelta(minutes=1)},
        {"access_expires_at": None},
    ],
    ids=["closed", "break-glass expired", "normal match expired", "no expiry recorded"],
)
def test_a_closed_or_expired_incident_reveals_nothing(client, app, make, site, fields):
    agency = make.agency()
    _incident(make, site, agency.id, **fields)
    officer = make.headers(make.user("agency_user", agency=agency))

    assert_problem(reveal(client, site.point.id, officer), 404)
    assert count(app, Notification) == 0
    (event,) = audit_events(app, "access_point.reveal")
    assert event.details["outcome"] == "refused"


def test_another_agencys_incident_or_another_facility_does_not_count(client, make, site):
    mine, theirs = make.agency(), make.agency()
    _incident(make, site, theirs.id, **break_glass_fields())
    other_facility = make.facility(site.org)
    with make.app.app_context(), transaction.session_scope() as session:
        session.add(
            Incident(
                agency_id=mine.id,
                cad_incident_number="24-99999",
                incident_type="Fire",
                facility_id=other_facility.id,
                opened_by="cad:1",
                status="open",
                **break_glass_fields(),
            )
        )

    officer = make.headers(make.user("agency_user", agency=mine))

    assert_problem(reveal(client, site.point.id, officer), 404)


def test_reveal_needs_a_fresh_login(client, app, make, site):
    stale = make.headers(make.user("facility_manager", organization=site.org), fresh=False)

    response = reveal(client, site.point.id, stale)

    body = assert_problem(response, 401)
    assert body["type"].endswith("fresh-login-required")
    assert CODE not in response.get_data(as_text=True)
    assert_problem(reveal(client, site.point.id, {}), 401)


@pytest.mark.parametrize(
    "payload",
    [{}, {"reason": ""}, {"reason": "ab"}, {"reason": "x" * 501}, {"reason": 5}, {"why": "fire"}],
)
def test_reveal_needs_a_reason(client, app, site, payload):
    response = client.post(
        f"{API}/access-points/{site.point.id}/reveal", json=payload, headers=site.manager
    )

    assert_problem(response, 422)
    assert CODE not in response.get_data(as_text=True)
    # Refused, and audited as such (tests/audit/test_reveal_audit.py).
    (event,) = audit_events(app, "access_point.reveal")
    assert event.details["refused_because"] == "invalid_request"


# ---------------------------------------------------------------------------------------------
# Key rotation


@pytest.fixture
def rotated_app(app):
    """The same database, with a new active key and the old one still listed."""
    new_app = create_app(
        {
            "REGISTRY_DATABASE_URL": app.config["REGISTRY_DATABASE_URL"],
            "REGISTRY_STORAGE_DIR": app.config["REGISTRY_STORAGE_DIR"],
            **TEST_KEYS,
            "REGISTRY_FIELD_KEYS": f"{NEW_KEY},{TEST_KEYS['REGISTRY_FIELD_KEYS']}",
        }
    )
    yield new_app
    with new_app.app_context():
        db.engine().dispose()


def test_rotation_moves_every_row_to_the_new_key_without_touching_versions(
    app, make, site, rotated_app
):
    old_points = [site.point.id] + [
        make.access_point(site.facility, name=f"Door {i}", code=f"{i}{i}{i}{i}").id
        for i in range(4)
    ]
    etag = (
        make.app.test_client()
        .get(f"{API}/access-points/{site.point.id}", headers=make.manager(site.org))
        .headers["ETag"]
    )
    before = {point_id: raw_row(app, point_id) for point_id in old_points}
    client = rotated_app.test_client()
    runner = rotated_app.test_cli_runner()

    # During rotation: old rows still read, new writes use the new key.
    assert reveal(client, site.point.id, site.manager).get_json()["code"] == CODE
    created = client.post(
        f"{API}/facilities/{site.facility.id}/access-points",
        json={"kind": "gate", "name": "New gate", "code": OTHER_CODE},
        headers=make.manager(site.org),
    ).get_json()
    assert raw_row(app, created["id"])["code_key_id"] == "test2"
    status = runner.invoke(args=["secrets", "status"])
    assert status.exit_code == 0, status.output
    assert "test1 (not active): 5 codes, 1 key locations" in status.output
    assert "test2 (active): 1 codes, 0 key locations" in status.output

    result = runner.invoke(args=["secrets", "rotate", "--batch-size", "2"])

    assert result.exit_code == 0, result.output
    assert "6 values re-encrypted" in result.output
    for point_id in old_points:
        row = raw_row(app, point_id)
        assert row["code_key_id"] == "test2"
        assert (row["version"], row["updated_at"]) == (
            before[point_id]["version"],
            before[point_id]["updated_at"],
        )
    assert raw_row(app, site.point.id)["key_location_key_id"] == "test2"
    assert "test1" not in runner.invoke(args=["secrets", "status"]).output
    (event,) = audit_events(app, "secrets.rotate")
    assert event.actor == "cli" and event.details["rotated"] == 6
    # The editor's ETag from before the rotation is still current.
    patched = client.patch(
        f"{API}/access-points/{site.point.id}",
        json={"name": "Dock A"},
        headers={**make.manager(site.org), "If-Match": etag},
    )
    assert patched.status_code == 200, patched.get_json()

    # The old key can go now.
    only_new = create_app(
        {
            "REGISTRY_DATABASE_URL": app.config["REGISTRY_DATABASE_URL"],
            "REGISTRY_STORAGE_DIR": app.config["REGISTRY_STORAGE_DIR"],
            **TEST_KEYS,
            "REGISTRY_FIELD_KEYS": NEW_KEY,
        }
    )
    try:
        new_client = only_new.test_client()
        revealed = reveal(new_client, site.point.id, site.manager).get_json()
        assert (revealed["code"], revealed["key_location"]) == (CODE, KEY_LOCATION)
        assert reveal(new_client, old_points[2], site.manager).get_json()["code"] == "1111"
    finally:
        with only_new.app_context():
            db.engine().dispose()


def test_rotation_never_overwrites_an_edit_made_meanwhile(
    app, make, site, rotated_app, monkeypatch
):
    opened = Keyring.open

    def open_then_someone_edits(self, ciphertext, key_id, associated_data):
        plaintext = opened(self, ciphertext, key_id, associated_data)
        if associated_data.endswith(b":code") and not edited:
            # A manager saves a new code between the rotation's read and its swap.
            with rotated_app.app_context(), transaction.session_scope() as session:
                sealing.seal(session.get(AccessPoint, site.point.id), {"code": OTHER_CODE})
            edited.append(True)
        return plaintext

    edited = []
    monkeypatch.setattr(Keyring, "open", open_then_someone_edits)

    with rotated_app.app_context():
        counts = rotation.rotate(batch_size=1)

    assert counts == {"rotated": 1, "changed_meanwhile": 1, "unreadable": 0}
    assert secrets_of(rotated_app, site.point.id) == (OTHER_CODE, KEY_LOCATION)
    row = raw_row(app, site.point.id)
    assert (row["code_key_id"], row["key_location_key_id"]) == ("test2", "test2")


def test_rotation_skips_and_reports_a_row_that_does_not_decrypt(app, make, site, rotated_app):
    with app.app_context(), db.engine().begin() as connection:
        connection.execute(
            update(AccessPoint)
            .where(AccessPoint.id == site.point.id)
            .values(key_location_ciphertext=b"\x00" * 40)
        )

    result = rotated_app.test_cli_runner().invoke(args=["secrets", "rotate"])

    assert result.exit_code == 1, result.output
    assert "1 values re-encrypted" in result.output and "1 could not be decrypted" in result.output
    assert raw_row(app, site.point.id)["key_location_key_id"] == "test1"


# ---------------------------------------------------------------------------------------------
# Configuration


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in (
        "REGISTRY_ENV",
        "REGISTRY_JWT_SECRET",
        "REGISTRY_SECRET_KEY",
        "REGISTRY_FIELD_KEYS",
        "REGISTRY_FIELD_KEY_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(registry_config, "INSTANCE_DIR", tmp_path / "instance")
    monkeypatch.setenv("REGISTRY_JWT_SECRET", "j" * 32)
    monkeypatch.setenv("REGISTRY_SECRET_KEY", "f" * 40)
    monkeypatch.setenv("REGISTRY_PACK_SIGNING_KEY", TEST_KEYS["REGISTRY_PACK_SIGNING_KEY"])
    return monkeypatch


def test_production_refuses_to_start_without_field_keys(clean_env, tmp_path):
    clean_env.setenv("REGISTRY_ENV", "production")

    with pytest.raises(registry_config.ConfigError, match="REGISTRY_FIELD_KEYS"):
        registry_config.load_config({"REGISTRY_DATABASE_URL": "sqlite://"})
    with pytest.raises(registry_config.ConfigError, match="REGISTRY_FIELD_KEYS"):
        create_app({"REGISTRY_DATABASE_URL": "sqlite://"})
    assert not (tmp_path / "instance").exists()

    clean_env.setenv("REGISTRY_FIELD_KEYS", NEW_KEY)
    assert registry_config.load_config()["REGISTRY_FIELD_KEYS"] == NEW_KEY


@pytest.mark.parametrize(
    ("keys", "active", "problem"),
    [
        ("k1:" + "A" * 42, None, "exactly 32 bytes"),  # 31 bytes
        ("k1:" + "A" * 44, None, "exactly 32 bytes"),  # 33 bytes
        ("k1:not*base64", None, "base64url"),
        ("just-a-key", None, "id:base64url-key"),
        (f"{NEW_KEY},{NEW_KEY}", None, "twice"),
        (NEW_KEY, "test9", "not in REGISTRY_FIELD_KEYS"),
        (" , ", None, "names no key"),
    ],
)
def test_unusable_keys_are_refused(clean_env, keys, active, problem):
    clean_env.setenv("REGISTRY_FIELD_KEYS", keys)
    if active:
        clean_env.setenv("REGISTRY_FIELD_KEY_ID", active)

    with pytest.raises(registry_config.ConfigError, match=problem):
        registry_config.load_config()


def test_the_active_key_defaults_to_the_first_listed(clean_env):
    second = new_key_spec("b")
    clean_env.setenv("REGISTRY_FIELD_KEYS", f"{NEW_KEY},{second}")
    assert Keyring.parse(f"{NEW_KEY},{second}").active_id == "test2"
    clean_env.setenv("REGISTRY_FIELD_KEY_ID", "b")
    assert registry_config.load_config()["REGISTRY_FIELD_KEY_ID"] == "b"


def test_development_generates_one_persistent_key(clean_env, tmp_path):
    first = registry_config.load_config()["REGISTRY_FIELD_KEYS"]
    second = registry_config.load_config()["REGISTRY_FIELD_KEYS"]

    assert first == second and first.startswith("dev1:")
    assert Keyring.parse(first).active_id == "dev1"
    assert (tmp_path / "instance" / "field-keys.key").stat().st_mode & 0o077 == 0


# ---------------------------------------------------------------------------------------------
# Demo data


def test_the_demo_has_codes_to_reveal(client, app, make, ctx):
    with transaction.session_scope() as session:
        load_demo(session)
    with transaction.session_scope() as session:
        points = session.scalars(select(AccessPoint).where(AccessPoint.code_key_id.is_not(None)))
        # By name: rows come back in no promised order.
        with_code = {p.name: p.id for p in points}
    assert len(with_code) == 2
    dock = with_code["Receiving dock (north)"]
    assert fetch(app, AccessPoint, dock).has_code
    admin = make.headers(make.user("admin"))
    assert reveal(client, dock, admin).get_json()["code"] == "2468#"
