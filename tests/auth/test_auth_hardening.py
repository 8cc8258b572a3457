"""Account lockout, fresh logins for sensitive changes, token cut-off after account changes,
password changes, argon2 parameters and the auditor role."""

import json
import threading
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask_jwt_extended import create_access_token
from sqlalchemy import select, update

from registry import config as registry_config
from registry import transaction
from registry.agencies.models import Agency
from registry.audit.models import AuditEvent
from registry.auth import identity, passwords
from registry.auth import login as auth_login
from registry.auth.models import CadClient, User
from registry.mous.models import Mou
from registry.organizations.models import Organization
from tests.conftest import CLIENT_SECRET, PASSWORD, TEST_KEYS, assert_problem, count, fetch

API = "/api/v1"
LOGIN = f"{API}/auth/login"
TOKEN = f"{API}/auth/token"
REFRESH = f"{API}/auth/refresh"
PASSWORD_CHANGE = f"{API}/auth/password"
ME = f"{API}/auth/me"
WRONG = "Wrong-Guess-Password-77"
NEW_PASSWORD = "a-brand-new-passphrase"


def login(client, username, password=PASSWORD, **kwargs):
    return client.post(LOGIN, json={"username": username, "password": password}, **kwargs)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def set_columns(app, model, record_id, **values) -> None:
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(model).where(model.id == record_id).values(**values))


def audit_events(app, action=None) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        query = select(AuditEvent).order_by(
            AuditEvent.id
        )  # insertion order: seq waits for the sealer
        if action:
            query = query.where(AuditEvent.action == action)
        events = session.scalars(query).all()
        session.expunge_all()
        return events


def all_audit_text(app) -> str:
    return json.dumps(
        [
            [e.actor, e.action, e.record_type, e.record_id, e.details, e.changes]
            for e in audit_events(app)
        ]
    )


def etag(response) -> str:
    return response.headers["ETag"]


# ---------------------------------------------------------------------------------------------
# Lockout


def test_five_failures_lock_the_account_even_for_the_right_password(app, client, make):
    user = make.user()
    refused = [login(client, user.username, WRONG) for _ in range(5)]
    for response in refused:
        assert assert_problem(response, 401)["detail"] == auth_login.LOGIN_REFUSED

    locked = login(client, user.username, PASSWORD)

    # Exactly the answer a wrong password gets: nobody learns the account exists or is locked.
    assert assert_problem(locked, 401)["detail"] == auth_login.LOGIN_REFUSED
    assert locked.get_json() == refused[0].get_json()
    stored = fetch(app, User, user.id)
    minutes = (stored.locked_until - datetime.now(UTC)).total_seconds() / 60
    assert 14 < minutes <= 15
    assert stored.failed_logins == 0  # the count starts again when the lock ends
    assert stored.version == user.version  # the ETag an administrator edits against is unchanged
    failed = audit_events(app, "auth.login_failed")
    assert [e.details["reason"] for e in failed] == ["wrong_password"] * 5 + ["locked"]
    assert {e.actor for e in failed} == {f"user:{user.id}"}
    (lock,) = audit_events(app, "auth.account_locked")
    assert lock.actor == f"user:{user.id}" and lock.record_id == user.id
    assert audit_events(app, "auth.login") == []


def test_the_lock_ends_and_a_success_resets_the_count(app, client, make):
    user = make.user()
    for _ in range(5):
        login(client, user.username, WRONG)
    set_columns(app, User, user.id, locked_until=datetime.now(UTC) - timedelta(seconds=1))

    assert login(client, user.username).status_code == 200

    stored = fetch(app, User, user.id)
    assert (stored.failed_logins, stored.locked_until) == (0, None)
    (success,) = audit_events(app, "auth.login")
    assert success.actor == f"user:{user.id}" and success.role == "admin"


def test_an_administrators_password_reset_unlocks_at_once(app, client, make):
    user = make.user("agency_user", agency=make.agency())
    for _ in range(5):
        login(client, user.username, WRONG)
    admin = make.admin()
    url = f"{API}/users/{user.id}"
    tag = etag(client.get(url, headers=admin))
    reset = client.patch(
        url, json={"password": "A-new-passphrase-42"}, headers={**admin, "If-Match": tag}
    )
    assert reset.status_code == 200, reset.get_data(as_text=True)
    assert login(client, user.username, "A-new-passphrase-42").status_code == 200


def test_cad_tokens_stay_fresh_for_their_whole_life(app, client, make):
    """A CAD client presents its secret for every token; a reveal late in the token's life,
    mid-incident, must not be refused for freshness."""
    cad = make.cad_client(make.agency())
    token = client.post(
        f"{API}/auth/token", json={"client_id": cad.client_id, "client_secret": CLIENT_SECRET}
    ).get_json()["access_token"]
    assert claims_of(token)["fresh"] is True


def test_failures_must_be_in_a_row(app, client, make):
    user = make.user()
    for _ in range(4):
        login(client, user.username, WRONG)
    assert login(client, user.username).status_code == 200
    for _ in range(4):
        login(client, user.username, WRONG)

    assert login(client, user.username).status_code == 200
    assert audit_events(app, "auth.account_locked") == []


def test_parallel_wrong_guesses_all_count(app, make):
    user = make.user()
    guesses = 4
    barrier = threading.Barrier(guesses)
    statuses = []

    def guess():
        client = app.test_client()
        barrier.wait()
        statuses.append(login(client, user.username, WRONG).status_code)

    threads = [threading.Thread(target=guess) for _ in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [401] * guesses
    # Each guess read the same count before any wrote; a read-modify-write would store 1.
    assert fetch(app, User, user.id).failed_logins == guesses
    assert len(audit_events(app, "auth.login_failed")) == guesses


def test_unknown_username_is_audited_without_the_name_or_password(app, client):
    pasted = "my-Password-Pasted-Here!"

    assert_problem(login(client, pasted, WRONG), 401)

    (event,) = audit_events(app, "auth.login_failed")
    assert event.actor == "anonymous" and event.record_id is None
    assert event.details == {"reason": "unknown_username", "username_length": len(pasted)}
    text = all_audit_text(app)
    assert pasted not in text and WRONG not in text


def test_no_password_reaches_the_audit_trail(app, client, make):
    user = make.user()
    login(client, user.username, WRONG)
    login(client, user.username)

    text = all_audit_text(app)
    assert WRONG not in text and PASSWORD not in text


@pytest.mark.parametrize("who", ["wrong secret", "unknown client", "inactive client"])
def test_cad_client_failures_are_audited(app, client, make, who):
    agency = make.agency()
    if who == "wrong secret":
        cad = make.cad_client(agency)
        client_id, secret, actor = cad.client_id, WRONG, f"cad:{cad.id}"
    elif who == "unknown client":
        client_id, secret, actor = "cad-nobody", WRONG, "anonymous"
    else:
        cad = make.cad_client(agency, is_active=False)
        client_id, secret, actor = cad.client_id, CLIENT_SECRET, f"cad:{cad.id}"

    response = client.post(TOKEN, json={"client_id": client_id, "client_secret": secret})

    assert_problem(response, 401)
    (event,) = audit_events(app, "auth.client_token_failed")
    assert event.actor == actor
    assert secret not in all_audit_text(app)
    if who == "unknown client":
        assert event.details == {"reason": "unknown_client", "client_id_length": len(client_id)}


# ---------------------------------------------------------------------------------------------
# Fresh logins


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_login_and_client_tokens_are_fresh_refreshed_ones_are_not(app, client, make):
    user, cad = make.user(), make.cad_client(make.agency())
    tokens = login(client, user.username).json
    cad_token = client.post(
        TOKEN, json={"client_id": cad.client_id, "client_secret": CLIENT_SECRET}
    ).json["access_token"]
    refreshed = client.post(REFRESH, headers=bearer(tokens["refresh_token"])).json["access_token"]

    window = app.config["REGISTRY_FRESH_LOGIN_MINUTES"] * 60
    claims = claims_of(tokens["access_token"])
    assert claims["fresh"] == pytest.approx(claims["iat"] + window, abs=2)
    assert claims_of(cad_token)["fresh"] is True  # for its whole life, see below
    assert claims_of(refreshed)["fresh"] is False


@pytest.fixture
def records(make):
    """One of each record the fresh-only routes change."""
    organization, agency = make.organization(), make.agency()
    return {
        "user": make.user("agency_user", agency=agency),
        "cad_client": make.cad_client(agency),
        "organization": organization,
        "agency": agency,
        "mou": make.mou(organization, agency, status="draft"),
        "mou_proposed": make.mou(organization, agency, status="proposed"),
        "mou_active": make.mou(organization, agency),
        # Referenced by nothing, so deleting them is not a conflict.
        "spare_organization": make.organization(),
        "spare_agency": make.agency(),
    }


# (method, path template, body); {x} is the id of records[x], If-Match is added for PATCH/DELETE
# and the steps of an MOU's lifecycle.
FRESH_ONLY = [
    ("POST", "/users", {"username": "new-admin", "password": NEW_PASSWORD, "role": "admin"}),
    ("PATCH", "/users/{user}", {"role": "admin", "agency_id": None}),
    ("DELETE", "/users/{user}", None),
    ("POST", "/cad-clients", {"client_id": "cad-new", "agency_id": "{agency}", "name": "CAD"}),
    ("PATCH", "/cad-clients/{cad_client}", {"is_active": False}),
    ("DELETE", "/cad-clients/{cad_client}", None),
    ("POST", "/organizations", {"name": "New partner"}),
    ("PATCH", "/organizations/{organization}", {"name": "Renamed partner"}),
    ("DELETE", "/organizations/{spare_organization}", None),
    ("POST", "/agencies", {"name": "New agency", "agency_type": "fire"}),
    ("PATCH", "/agencies/{agency}", {"name": "Renamed agency"}),
    ("DELETE", "/agencies/{spare_agency}", None),
    (
        "POST",
        "/mous",
        {
            "organization_id": "{organization}",
            "agency_id": "{agency}",
            "title": "Another MOU",
            "effective_date": "2026-01-01",
            "scopes": ["training"],
        },
    ),
    ("PATCH", "/mous/{mou}", {"title": "Renamed MOU"}),
    ("DELETE", "/mous/{mou}", None),
    # Each step of an MOU's lifecycle (an admin names the party it acts for).
    ("POST", "/mous/{mou}/propose", {}),
    ("POST", "/mous/{mou_proposed}/accept", {"party": "agency"}),
    ("POST", "/mous/{mou_active}/terminate", {"party": "agency", "reason": "Ended"}),
    ("POST", "/mous/{mou_active}/renew", {"party": "organization"}),
]
# Steps on a record: If-Match is the record's.
STEPS = ("/propose", "/accept", "/terminate", "/renew")
FRESH_IDS = [f"{method}-{path}" for method, path, _ in FRESH_ONLY]


def _fill(value, records):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return records[value[1:-1]].id
    if isinstance(value, dict):
        return {k: _fill(v, records) for k, v in value.items()}
    return value


def _send(client, records, method, path, payload, headers):
    url = API + path.format(**{name: record.id for name, record in records.items()})
    headers = dict(headers)
    if method in ("PATCH", "DELETE") or url.endswith(STEPS):
        record_url = url.rsplit("/", 1)[0] if url.endswith(STEPS) else url
        current = client.get(record_url, headers=headers)  # reading needs no fresh login
        assert current.status_code == 200, current.json
        headers["If-Match"] = etag(current)
    return client.open(url, method=method, json=_fill(payload, records), headers=headers)


@pytest.mark.parametrize(("method", "path", "payload"), FRESH_ONLY, ids=FRESH_IDS)
def test_sensitive_changes_need_a_fresh_login(app, client, make, records, method, path, payload):
    admin = make.user("admin")
    before = {m: count(app, m) for m in (User, CadClient, Organization, Agency, Mou)}

    response = _send(client, records, method, path, payload, make.headers(admin, fresh=False))

    body = assert_problem(response, 401)
    assert body["type"].endswith(":fresh-login-required")
    assert "insufficient_user_authentication" in response.headers["WWW-Authenticate"]
    assert {m: count(app, m) for m in before} == before


@pytest.mark.parametrize(("method", "path", "payload"), FRESH_ONLY, ids=FRESH_IDS)
def test_the_same_changes_work_with_a_fresh_login(client, make, records, method, path, payload):
    response = _send(client, records, method, path, payload, make.admin())

    assert response.status_code in (200, 201, 204), response.json


def test_a_fresh_login_goes_stale(client, make):
    admin = make.user("admin")
    with make.app.app_context():
        stale = create_access_token(identity=f"user:{admin.id}", fresh=timedelta(seconds=-1))

    response = client.post(f"{API}/organizations", json={"name": "Late"}, headers=bearer(stale))

    assert assert_problem(response, 401)["type"].endswith(":fresh-login-required")


def test_a_refreshed_token_reads_but_does_not_grant(client, make, records):
    tokens = login(client, make.user("admin").username).json
    refreshed = client.post(REFRESH, headers=bearer(tokens["refresh_token"])).json["access_token"]

    for path in ("/users", "/cad-clients", "/organizations", "/agencies", "/mous", "/facilities"):
        assert client.get(API + path, headers=bearer(refreshed)).status_code == 200, path
    refused = client.post(f"{API}/organizations", json={"name": "X"}, headers=bearer(refreshed))
    assert_problem(refused, 401)


def test_dispatch_needs_no_fresh_login(client, make):
    organization, agency = make.organization(), make.agency()
    make.facility(organization, address_line1="123 N Main St")
    make.mou(organization, agency)
    manager = make.user("facility_manager", organization=organization)
    for account in (make.cad_client(agency), make.user("agency_user", agency=agency)):
        headers = make.headers(account, fresh=False)
        lookup = client.get(
            f"{API}/preplans/lookup", query_string={"address": "123 N Main St"}, headers=headers
        )
        assert lookup.status_code == 200, lookup.json
    facility = client.post(
        f"{API}/facilities",
        json={
            "organization_id": organization.id,
            "name": "Second store",
            "facility_type": "retail_store",
            "address_line1": "200 Main St",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "lat": 39.8,
            "lon": -89.6,
        },
        headers=make.headers(manager, fresh=False),
    )
    # Keeping facilities current is everyday work, not an admin change or a share grant.
    assert facility.status_code == 201, facility.json


# ---------------------------------------------------------------------------------------------
# Cut-off: tokens issued before an account change stop working


def _admin_patch(client, make, path, changes):
    admin = make.admin()
    current = client.get(API + path, headers=admin)
    return client.patch(API + path, json=changes, headers={**admin, "If-Match": etag(current)})


def test_admin_password_change_ends_sessions_and_the_new_password_works_at_once(app, client, make):
    user = make.user("agency_user", agency=make.agency())
    tokens = login(client, user.username).json

    changed = _admin_patch(client, make, f"/users/{user.id}", {"password": NEW_PASSWORD})

    assert changed.status_code == 200, changed.json
    assert client.get(ME, headers=bearer(tokens["access_token"])).status_code == 401
    assert client.post(REFRESH, headers=bearer(tokens["refresh_token"])).status_code == 401
    # Very likely in the same second as the change: the token's microseconds decide.
    fresh = login(client, user.username, NEW_PASSWORD)
    assert fresh.status_code == 200, fresh.json
    assert client.get(ME, headers=bearer(fresh.json["access_token"])).status_code == 200
    assert client.post(REFRESH, headers=bearer(fresh.json["refresh_token"])).status_code == 200
    assert_problem(login(client, user.username, PASSWORD), 401)


@pytest.mark.parametrize(
    "changes",
    [{"is_active": False}, {"role": "admin", "agency_id": None}],
    ids=["disabled", "role-changed"],
)
def test_disabling_or_rebinding_a_user_ends_sessions(app, client, make, changes):
    user = make.user("agency_user", agency=make.agency())
    token = login(client, user.username).json["access_token"]

    assert _admin_patch(client, make, f"/users/{user.id}", changes).status_code == 200

    assert_problem(client.get(ME, headers=bearer(token)), 401)
    if changes.get("is_active") is False:
        # Switched on again: the old session stays ended, a new login works.
        assert (
            _admin_patch(client, make, f"/users/{user.id}", {"is_active": True}).status_code == 200
        )
        assert_problem(client.get(ME, headers=bearer(token)), 401)
    assert client.get(ME, headers=make.headers(fetch(app, User, user.id))).status_code == 200


def test_other_user_changes_keep_sessions(client, make):
    user = make.user("agency_user", agency=make.agency())
    token = login(client, user.username).json["access_token"]

    assert (
        _admin_patch(client, make, f"/users/{user.id}", {"full_name": "Pat Doe"}).status_code == 200
    )

    assert client.get(ME, headers=bearer(token)).status_code == 200


def test_disabling_a_cad_client_ends_its_tokens(client, make):
    cad = make.cad_client(make.agency())
    credentials = {"client_id": cad.client_id, "client_secret": CLIENT_SECRET}
    token = client.post(TOKEN, json=credentials).json["access_token"]

    for active in (False, True):
        changed = _admin_patch(client, make, f"/cad-clients/{cad.id}", {"is_active": active})
        assert changed.status_code == 200, changed.json

    assert_problem(client.get(ME, headers=bearer(token)), 401)
    new_token = client.post(TOKEN, json=credentials).json["access_token"]
    assert client.get(ME, headers=bearer(new_token)).status_code == 200


def _microseconds(moment: datetime) -> int:
    return (moment - identity.EPOCH) // timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"iat": 1_800_000_000, "iat_us": 1_800_000_000_400_000}, False),  # earlier that second
        ({"iat": 1_800_000_000, "iat_us": 1_800_000_000_500_000}, False),  # the same microsecond
        ({"iat": 1_800_000_000, "iat_us": 1_800_000_000_500_001}, True),  # later that second
        ({"iat": 1_800_000_000}, False),  # whole seconds only: may be from before the change
        ({"iat": 1_800_000_001}, True),  # its second began after the change
        ({"iat": 1_799_999_999, "iat_us": True}, False),  # not a number: whole seconds decide
    ],
    ids=["before", "same-instant", "after", "seconds-same", "seconds-after", "bogus"],
)
def test_cut_off_within_one_second(claims, accepted):
    cutoff = datetime.fromtimestamp(1_800_000_000, UTC) + timedelta(microseconds=500_000)

    assert identity._issued_after_cutoff(claims, cutoff) is accepted
    assert identity._issued_after_cutoff(claims, None) is True


def test_tokens_carry_their_issue_time_in_microseconds(client, make):
    before = _microseconds(datetime.now(UTC))
    claims = claims_of(login(client, make.user().username).json["access_token"])
    after = _microseconds(datetime.now(UTC))

    assert before <= claims["iat_us"] <= after
    assert claims["iat_us"] // 1_000_000 == claims["iat"]


# ---------------------------------------------------------------------------------------------
# POST /auth/password


def change(client, headers, current=PASSWORD, new=NEW_PASSWORD):
    return client.post(
        PASSWORD_CHANGE, json={"current_password": current, "new_password": new}, headers=headers
    )


def test_change_own_password(app, client, make):
    user = make.user("facility_manager", organization=make.organization())
    tokens = login(client, user.username).json
    other_session = login(client, user.username).json

    response = change(client, bearer(tokens["access_token"]))

    assert response.status_code == 204, response.json
    assert response.data == b""
    for token in (tokens["access_token"], other_session["access_token"]):
        assert_problem(client.get(ME, headers=bearer(token)), 401)
    assert_problem(client.post(REFRESH, headers=bearer(tokens["refresh_token"])), 401)
    assert_problem(login(client, user.username, PASSWORD), 401)
    again = login(client, user.username, NEW_PASSWORD)
    assert again.status_code == 200
    assert client.get(ME, headers=bearer(again.json["access_token"])).status_code == 200
    (event,) = audit_events(app, "auth.password_changed")
    assert event.actor == f"user:{user.id}"
    assert NEW_PASSWORD not in all_audit_text(app) and PASSWORD not in all_audit_text(app)


def test_changing_a_password_needs_a_fresh_login(client, make):
    user = make.user()

    response = change(client, make.headers(user, fresh=False))

    assert assert_problem(response, 401)["type"].endswith(":fresh-login-required")
    assert login(client, user.username).status_code == 200


def test_wrong_current_password_counts_as_a_failed_login(app, client, make):
    user = make.user()

    response = change(client, make.headers(user), current=WRONG)

    assert_problem(response, 422, "current_password")
    assert WRONG.encode() not in response.data and NEW_PASSWORD.encode() not in response.data
    assert fetch(app, User, user.id).failed_logins == 1
    assert len(audit_events(app, "auth.password_change_failed")) == 1
    assert login(client, user.username).status_code == 200


@pytest.mark.parametrize(
    ("new", "field"),
    [
        ("short-pw", "new_password"),
        (PASSWORD, "new_password"),
        ("{username}-is-long", "new_password"),
    ],
    ids=["too-short", "unchanged", "contains-username"],
)
def test_weak_new_passwords_are_refused(app, client, make, new, field):
    user = make.user()

    response = change(client, make.headers(user), new=new.format(username=user.username))

    assert_problem(response, 422, field)
    assert fetch(app, User, user.id).password_hash == user.password_hash


def test_cad_clients_have_no_password_to_change(client, make):
    cad = make.cad_client(make.agency())

    assert_problem(change(client, make.headers(cad), current=CLIENT_SECRET), 403)


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": PASSWORD}, {"new_password": NEW_PASSWORD}],
    ids=["empty", "no-new", "no-current"],
)
def test_password_change_body_is_validated_after_the_token(client, make, body):
    assert_problem(client.post(PASSWORD_CHANGE, json=body), 401)
    response = client.post(PASSWORD_CHANGE, json=body, headers=make.admin())
    assert_problem(response, 422)
    assert PASSWORD.encode() not in response.data


# ---------------------------------------------------------------------------------------------
# argon2


def test_hashes_use_the_rfc_9106_low_memory_parameters():
    params = passwords._hasher
    expected = RFC_9106_LOW_MEMORY
    assert (params.time_cost, params.memory_cost, params.parallelism) == (
        expected.time_cost,
        expected.memory_cost,
        expected.parallelism,
    )
    assert passwords.hash_secret("x" * 12).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_an_old_hash_is_replaced_at_login(app, client, make):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user = make.user(password_hash=weak)
    assert passwords.needs_rehash(weak)

    assert login(client, user.username).status_code == 200

    stored = fetch(app, User, user.id)
    assert stored.password_hash != weak
    assert not passwords.needs_rehash(stored.password_hash)
    assert stored.version == user.version
    assert login(client, user.username).status_code == 200


def test_an_old_client_secret_hash_is_replaced(app, client, make):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(CLIENT_SECRET)
    cad = make.cad_client(make.agency(), secret_hash=weak)
    credentials = {"client_id": cad.client_id, "client_secret": CLIENT_SECRET}

    assert client.post(TOKEN, json=credentials).status_code == 200

    assert not passwords.needs_rehash(fetch(app, CadClient, cad.id).secret_hash)
    assert client.post(TOKEN, json=credentials).status_code == 200


# ---------------------------------------------------------------------------------------------
# The auditor role


def test_an_auditor_has_no_binding(client, make):
    admin, organization = make.admin(), make.organization()
    body = {"username": "auditor-1", "password": NEW_PASSWORD, "role": "auditor"}

    bound = client.post(
        f"{API}/users", json={**body, "organization_id": organization.id}, headers=admin
    )
    created = client.post(f"{API}/users", json=body, headers=admin)

    assert_problem(bound, 422, "organization_id")
    assert created.status_code == 201, created.json
    tokens = login(client, "auditor-1", NEW_PASSWORD).json
    me = client.get(ME, headers=bearer(tokens["access_token"])).json
    assert me["role"] == "auditor"
    assert (me["organization_id"], me["agency_id"]) == (None, None)
    # Not an administrator: account management stays closed.
    assert_problem(client.get(f"{API}/users", headers=bearer(tokens["access_token"])), 403)


# ---------------------------------------------------------------------------------------------
# Configuration


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("REGISTRY_ENV", "REGISTRY_JWT_SECRET", "REGISTRY_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(registry_config, "INSTANCE_DIR", tmp_path / "instance")
    return monkeypatch


def test_production_never_uses_a_development_key(clean_env, tmp_path):
    # A checkout that ran in development has keys under instance/; production must not take them.
    development = registry_config.load_config()
    assert (tmp_path / "instance" / "jwt.key").exists()
    clean_env.setenv("REGISTRY_ENV", "production")
    clean_env.setenv("REGISTRY_SECRET_KEY", "f" * 40)
    clean_env.setenv("REGISTRY_FIELD_KEYS", TEST_KEYS["REGISTRY_FIELD_KEYS"])
    clean_env.setenv("REGISTRY_PACK_SIGNING_KEY", TEST_KEYS["REGISTRY_PACK_SIGNING_KEY"])

    with pytest.raises(registry_config.ConfigError, match="REGISTRY_JWT_SECRET"):
        registry_config.load_config()
    clean_env.setenv("REGISTRY_JWT_SECRET", "j" * 40)
    assert registry_config.load_config()["JWT_SECRET_KEY"] != development["JWT_SECRET_KEY"]


def test_token_lifetimes_default_short_access_longer_refresh(clean_env):
    config = registry_config.load_config()

    assert config["JWT_ACCESS_TOKEN_EXPIRES"] == timedelta(minutes=15)
    assert config["JWT_REFRESH_TOKEN_EXPIRES"] == timedelta(hours=12)
    assert config["REGISTRY_FRESH_LOGIN_MINUTES"] == 10
    assert (config["REGISTRY_LOCKOUT_ATTEMPTS"], config["REGISTRY_LOCKOUT_MINUTES"]) == (5, 15)
