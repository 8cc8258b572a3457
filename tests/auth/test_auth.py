"""Authentication through the HTTP API: login, client credentials, refresh, logout, token
failures (with TESTING off and on), configuration safety and the `create-user` command."""

import base64
import json
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask_jwt_extended import create_access_token, create_refresh_token
from sqlalchemy import update

from registry import config as registry_config
from registry import create_app, db, transaction
from registry.auth import login as auth_login
from registry.auth.models import CadClient, RevokedToken, User
from registry.organizations.models import Organization
from tests.conftest import CLIENT_SECRET, PASSWORD, TEST_KEYS, assert_problem, count, fetch

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


# ---------------------------------------------------------------------------------------------
# Helpers


def login(client, username, password=PASSWORD):
    return client.post(LOGIN, json={"username": username, "password": password})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def set_columns(app, model, record_id, **values) -> None:
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(model).where(model.id == record_id).values(**values))


def delete_row(app, model, record_id) -> None:
    with app.app_context(), transaction.session_scope() as session:
        session.delete(session.get(model, record_id))


def _b64(part: dict) -> str:
    raw = json.dumps(part, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_unauthorized(response):
    body = assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), response.headers
    return body


# ---------------------------------------------------------------------------------------------
# POST /auth/login


def test_login_returns_working_token_pair(client, make, app):
    user = make.user("agency_user", agency=make.agency())

    response = login(client, user.username)

    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in", "role"}
    assert body["token_type"] == "Bearer"
    assert body["role"] == "agency_user"
    assert body["expires_in"] == int(app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())
    access, refresh = claims_of(body["access_token"]), claims_of(body["refresh_token"])
    assert access["sub"] == refresh["sub"] == f"user:{user.id}"
    assert access["type"] == "access" and refresh["type"] == "refresh"
    # The access token names its refresh token, so logout can revoke both.
    assert access["rjti"] == refresh["jti"]
    assert access["exp"] - access["iat"] == body["expires_in"]

    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json == {
        "kind": "user",
        "id": user.id,
        "role": "agency_user",
        "organization_id": None,
        "agency_id": user.agency_id,
    }


@pytest.mark.parametrize("who", ["wrong password", "unknown user", "inactive user"])
def test_login_refused_without_echoing_the_password(client, make, who):
    secret = "Sup3r-Secret-Guess-4711"
    if who == "wrong password":
        username, password = make.user().username, secret
    elif who == "unknown user":
        username, password = "nobody-here", secret
    else:
        # The right password, but the account is switched off.
        username, password = make.user(is_active=False).username, PASSWORD

    response = login(client, username, password)

    body = assert_unauthorized(response)
    # One message for every failure: the caller cannot tell which part was wrong.
    assert body["detail"] == auth_login.LOGIN_REFUSED
    assert password.encode() not in response.data
    assert "access_token" not in body


@pytest.mark.parametrize("missing", ["username", "password"])
def test_login_missing_field_is_named(client, make, missing):
    payload = {"username": make.user().username, "password": PASSWORD}
    del payload[missing]

    response = client.post(LOGIN, json=payload)

    body = assert_problem(response, 422, missing)
    assert PASSWORD.encode() not in response.data
    assert set(body["errors"]) == {missing}


def test_login_unknown_field_is_refused(client, make):
    user = make.user("agency_user", agency=make.agency())

    response = client.post(
        LOGIN, json={"username": user.username, "password": PASSWORD, "role": "admin"}
    )

    body = assert_problem(response, 422, "role")
    assert PASSWORD.encode() not in response.data
    assert "username" not in body["errors"] and "password" not in body["errors"]


@pytest.mark.parametrize(
    ("password", "field"),
    [
        ("P" * 201 + "-too-long-secret", "password"),
        (12345678901234, "password"),
        ("Secret-with-NUL-\x00-inside", "password"),
    ],
    ids=["too-long", "not-a-string", "nul"],
)
def test_login_validation_errors_never_echo_the_password(client, make, password, field):
    response = client.post(LOGIN, json={"username": make.user().username, "password": password})

    assert_problem(response, 422, field)
    assert str(password).encode() not in response.data
    assert str(password)[:12].encode() not in response.data


def test_validation_error_on_another_field_does_not_echo_the_password(client):
    secret = "Another-Secret-Value-0815"

    response = client.post(LOGIN, json={"username": "u" * 81, "password": secret})

    assert_problem(response, 422, "username")
    assert secret.encode() not in response.data


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("username=admin&password=Form-Secret-123", "application/x-www-form-urlencoded", 415),
        ('{"username": "admin", "password": "Form-Secret-123"}', "text/plain", 415),
        ('{"username": "admin", "password": "Form-Secret-123"', "application/json", 400),
        ('["admin", "Form-Secret-123"]', "application/json", 422),
    ],
    ids=["form", "text-plain", "broken-json", "json-array"],
)
def test_login_non_json_body(client, data, content_type, status):
    response = client.post(LOGIN, data=data, content_type=content_type)

    assert_problem(response, status)
    assert b"Form-Secret-123" not in response.data


def test_login_without_body(client):
    assert_problem(client.post(LOGIN), 415)


# ---------------------------------------------------------------------------------------------
# POST /auth/token (CAD client credentials)


def test_cad_client_gets_an_access_token_only(client, make, app):
    agency = make.agency()
    cad = make.cad_client(agency)

    response = client.post(TOKEN, json={"client_id": cad.client_id, "client_secret": CLIENT_SECRET})

    assert response.status_code == 200, response.json
    body = response.json
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer"
    assert body["role"] == "cad"
    assert body["expires_in"] == int(app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())
    assert claims_of(body["access_token"])["sub"] == f"cad:{cad.id}"
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json == {
        "kind": "cad",
        "id": cad.id,
        "role": "cad",
        "organization_id": None,
        "agency_id": agency.id,
    }
    # Without a refresh token there is nothing to refresh with: the access token is refused there.
    assert_unauthorized(client.post(REFRESH, headers=bearer(body["access_token"])))


@pytest.mark.parametrize("who", ["wrong secret", "unknown client", "inactive client"])
def test_cad_client_refused(client, make, who):
    agency = make.agency()
    if who == "wrong secret":
        client_id, secret = make.cad_client(agency).client_id, "Wrong-Client-Secret-77"
    elif who == "unknown client":
        client_id, secret = "cad-unknown", "Wrong-Client-Secret-77"
    else:
        client_id, secret = make.cad_client(agency, is_active=False).client_id, CLIENT_SECRET

    response = client.post(TOKEN, json={"client_id": client_id, "client_secret": secret})

    body = assert_unauthorized(response)
    assert body["detail"] == "Unknown client or wrong secret."
    assert secret.encode() not in response.data


def test_cad_token_missing_secret_is_named(client, make):
    cad = make.cad_client(make.agency())

    response = client.post(TOKEN, json={"client_id": cad.client_id})

    assert_problem(response, 422, "client_secret")


def test_user_credentials_do_not_work_as_client_credentials(client, make):
    user = make.user()

    response = client.post(TOKEN, json={"client_id": user.username, "client_secret": PASSWORD})

    assert_unauthorized(response)


# ---------------------------------------------------------------------------------------------
# POST /auth/refresh


def test_refresh_returns_a_new_working_access_token(client, make):
    user = make.user()
    tokens = login(client, user.username).json

    response = client.post(REFRESH, headers=bearer(tokens["refresh_token"]))

    assert response.status_code == 200, response.json
    body = response.json
    assert "refresh_token" not in body
    assert body["token_type"] == "Bearer" and body["role"] == "admin"
    new_access = body["access_token"]
    assert new_access != tokens["access_token"]
    claims = claims_of(new_access)
    assert claims["type"] == "access"
    assert claims["sub"] == f"user:{user.id}"
    assert claims["rjti"] == claims_of(tokens["refresh_token"])["jti"]
    me = client.get(ME, headers=bearer(new_access))
    assert me.status_code == 200 and me.json["id"] == user.id


def test_refresh_refuses_an_access_token(client, make):
    tokens = login(client, make.user().username).json

    assert_unauthorized(client.post(REFRESH, headers=bearer(tokens["access_token"])))


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/agencies"), ("GET", ME), ("POST", LOGOUT)],
)
def test_refresh_token_is_not_an_access_token(client, make, method, path):
    make.agency()
    tokens = login(client, make.user().username).json

    assert_unauthorized(client.open(path, method=method, headers=bearer(tokens["refresh_token"])))
    assert count(client.application, RevokedToken) == 0


def test_deactivation_applies_to_refresh_and_existing_access_tokens(client, make, app):
    user = make.user()
    tokens = login(client, user.username).json
    assert client.get("/api/v1/agencies", headers=bearer(tokens["access_token"])).status_code == 200

    set_columns(app, User, user.id, is_active=False)

    assert_unauthorized(client.post(REFRESH, headers=bearer(tokens["refresh_token"])))
    assert_unauthorized(client.get("/api/v1/agencies", headers=bearer(tokens["access_token"])))
    assert_unauthorized(login(client, user.username))

    # Reactivated: the same tokens work again (nothing about them was revoked).
    set_columns(app, User, user.id, is_active=True)
    assert client.get(ME, headers=bearer(tokens["access_token"])).status_code == 200


def test_deactivated_cad_client_token_is_refused(client, make, app):
    cad = make.cad_client(make.agency())
    token = client.post(
        TOKEN, json={"client_id": cad.client_id, "client_secret": CLIENT_SECRET}
    ).json["access_token"]
    assert client.get(ME, headers=bearer(token)).status_code == 200

    set_columns(app, CadClient, cad.id, is_active=False)

    assert_unauthorized(client.get(ME, headers=bearer(token)))


def test_role_change_applies_to_existing_token(client, make, app):
    organization = make.organization()
    user = make.user()
    token = login(client, user.username).json["access_token"]
    created = client.post(
        "/api/v1/organizations", json={"name": "Before demotion"}, headers=bearer(token)
    )
    assert created.status_code == 201, created.json

    set_columns(app, User, user.id, role="facility_manager", organization_id=organization.id)

    refused = client.post(
        "/api/v1/organizations", json={"name": "After demotion"}, headers=bearer(token)
    )
    assert_problem(refused, 403)
    assert count(app, Organization, Organization.name == "After demotion") == 0
    me = client.get(ME, headers=bearer(token))
    assert me.json["role"] == "facility_manager"
    assert me.json["organization_id"] == organization.id


# ---------------------------------------------------------------------------------------------
# POST /auth/logout


def test_logout_revokes_access_and_refresh_token(client, make, app):
    user = make.user()
    tokens = login(client, user.username).json
    other_session = login(client, user.username).json
    access = bearer(tokens["access_token"])

    response = client.post(LOGOUT, headers=access)

    assert response.status_code == 204
    assert response.data == b""
    revoked = {
        claims_of(tokens["access_token"])["jti"],
        claims_of(tokens["refresh_token"])["jti"],
    }
    assert count(app, RevokedToken) == 2
    assert count(app, RevokedToken, RevokedToken.jti.in_(revoked)) == 2
    assert_unauthorized(client.get(ME, headers=access))
    assert_unauthorized(client.get("/api/v1/agencies", headers=access))
    assert_unauthorized(client.post(REFRESH, headers=bearer(tokens["refresh_token"])))
    assert_unauthorized(client.post(LOGOUT, headers=access))
    # Another session of the same user is not affected.
    assert client.get(ME, headers=bearer(other_session["access_token"])).status_code == 200
    assert client.post(REFRESH, headers=bearer(other_session["refresh_token"])).status_code == 200


def test_logout_with_a_refreshed_access_token_revokes_the_refresh_token(client, make):
    tokens = login(client, make.user().username).json
    refreshed = client.post(REFRESH, headers=bearer(tokens["refresh_token"])).json["access_token"]

    assert client.post(LOGOUT, headers=bearer(refreshed)).status_code == 204

    assert_unauthorized(client.get(ME, headers=bearer(refreshed)))
    assert_unauthorized(client.post(REFRESH, headers=bearer(tokens["refresh_token"])))


def test_logout_of_cad_client(client, make):
    cad = make.cad_client(make.agency())
    token = client.post(
        TOKEN, json={"client_id": cad.client_id, "client_secret": CLIENT_SECRET}
    ).json["access_token"]

    assert client.post(LOGOUT, headers=bearer(token)).status_code == 204

    assert_unauthorized(client.get(ME, headers=bearer(token)))


def test_revoked_refresh_token_is_kept_until_it_expires(client, make, app):
    tokens = login(client, make.user().username).json
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204

    refresh_claims = claims_of(tokens["refresh_token"])
    row = fetch(app, RevokedToken, refresh_claims["jti"])
    assert row is not None
    assert row.expires_at >= datetime.fromtimestamp(refresh_claims["exp"], UTC)


def test_refresh_stays_revoked_after_the_access_token_expired(client, make, monkeypatch):
    """Logout prunes expired revocations; the refresh token outlives its access token, so its
    revocation must survive the pruning until the refresh token itself expires."""
    first = make.user()
    second = make.user()
    tokens = login(client, first.username).json
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204

    # Twenty minutes later (access tokens live 15, refresh tokens 12 hours) someone else logs out.
    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(minutes=20)

    monkeypatch.setattr(auth_login, "datetime", Later)
    other = login(client, second.username).json
    assert client.post(LOGOUT, headers=bearer(other["access_token"])).status_code == 204

    assert_unauthorized(client.post(REFRESH, headers=bearer(tokens["refresh_token"])))


# ---------------------------------------------------------------------------------------------
# GET /auth/me


@pytest.mark.parametrize("role", ["admin", "facility_manager", "agency_user", "cad"])
def test_me_shows_the_principal(client, make, role):
    organization, agency = make.organization(), make.agency()
    if role == "cad":
        account = make.cad_client(agency)
        expected = {"kind": "cad", "organization_id": None, "agency_id": agency.id}
    else:
        account = make.user(
            role,
            organization=organization if role == "facility_manager" else None,
            agency=agency if role == "agency_user" else None,
        )
        expected = {
            "kind": "user",
            "organization_id": organization.id if role == "facility_manager" else None,
            "agency_id": agency.id if role == "agency_user" else None,
        }

    response = client.get(ME, headers=make.headers(account))

    assert response.status_code == 200
    assert response.json == {"id": account.id, "role": role, **expected}


# ---------------------------------------------------------------------------------------------
# Token failures: every one a 401 problem with WWW-Authenticate, never 422/428/500, with TESTING
# off (the session app) and on (a second app on the same database).


@pytest.fixture(scope="module")
def testing_app(app):
    testing = create_app(
        {"REGISTRY_DATABASE_URL": app.config["REGISTRY_DATABASE_URL"], "TESTING": True, **TEST_KEYS}
    )
    yield testing
    with testing.app_context():
        db.engine().dispose()


@pytest.fixture(params=["production-mode", "testing-mode"])
def any_client(request, app, testing_app):
    chosen = app if request.param == "production-mode" else testing_app
    assert chosen.testing is (request.param == "testing-mode")
    assert not chosen.debug
    return chosen.test_client()


def _valid_claims(make, account=None) -> dict:
    return claims_of(make.token(account or make.user()))


def _unsigned(claims: dict) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def _signed(claims: dict, key=TEST_KEYS["JWT_SECRET_KEY"], algorithm="HS256") -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about short HMAC keys for HS512
        return jwt.encode(claims, key, algorithm=algorithm)


def _with_app_context(make, build):
    with make.app.app_context():
        return build()


def _tampered(make) -> str:
    """A manager's valid token whose subject is rewritten to an admin, signature kept."""
    admin = make.user("admin")
    token = make.token(make.user("facility_manager", organization=make.organization()))
    header, _payload, signature = token.split(".")
    claims = claims_of(token)
    claims["sub"] = f"user:{admin.id}"
    return f"{header}.{_b64(claims)}.{signature}"


def _deleted_user(make) -> str:
    user = make.user()
    token = make.token(user)
    delete_row(make.app, User, user.id)
    return token


def _arabic_digits(make) -> str:
    # int() reads Arabic-Indic digits too: a subject must be ASCII digits only.
    user = make.user()
    digits = str(user.id).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    return _signed({**_valid_claims(make, user), "sub": f"user:{digits}"})


ACCESS_FAILURES = {
    "no-header": lambda make: {},
    "bearer-without-token": lambda make: {"Authorization": "Bearer"},
    "bearer-space": lambda make: {"Authorization": "Bearer "},
    "garbage": lambda make: bearer("garbage"),
    "three-garbage-parts": lambda make: bearer("a.b.c"),
    "basic-scheme": lambda make: {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
    "token-without-scheme": lambda make: {"Authorization": make.token(make.user())},
    "other-key": lambda make: bearer(
        _signed(_valid_claims(make), key="another-key-0123456789-0123456789-abcdef")
    ),
    "alg-none": lambda make: bearer(_unsigned(_valid_claims(make))),
    "alg-none-with-signature": lambda make: bearer(
        _unsigned(_valid_claims(make)) + make.token(make.user()).split(".")[2]
    ),
    "alg-hs512": lambda make: bearer(_signed(_valid_claims(make), algorithm="HS512")),
    "expired": lambda make: bearer(
        _with_app_context(
            make,
            lambda: create_access_token(
                identity=f"user:{make.user().id}", expires_delta=timedelta(seconds=-60)
            ),
        )
    ),
    "not-yet-valid": lambda make: bearer(
        _signed({**_valid_claims(make), "nbf": int(datetime.now(UTC).timestamp()) + 3600})
    ),
    "deleted-user": lambda make: bearer(_deleted_user(make)),
    "tampered-subject": lambda make: bearer(_tampered(make)),
    "refresh-token": lambda make: bearer(
        _with_app_context(make, lambda: create_refresh_token(identity=f"user:{make.user().id}"))
    ),
    "unknown-subject-kind": lambda make: bearer(_signed({**_valid_claims(make), "sub": "robot:1"})),
    "non-numeric-subject": lambda make: bearer(_signed({**_valid_claims(make), "sub": "user:abc"})),
    "huge-subject-id": lambda make: bearer(
        _signed({**_valid_claims(make), "sub": "user:" + "9" * 30})
    ),
    "unicode-digit-subject": lambda make: bearer(_arabic_digits(make)),
    "integer-subject": lambda make: bearer(_signed({**_valid_claims(make), "sub": 1})),
    "no-subject": lambda make: bearer(
        _signed({k: v for k, v in _valid_claims(make).items() if k != "sub"})
    ),
}

# Each would answer something other than 401 (422, 428, 404 ...) if the token were not checked
# first.
PROTECTED = [
    ("GET", ME, None),
    ("GET", "/api/v1/agencies?per_page=100000", None),
    ("POST", "/api/v1/organizations", {"unknown": "field"}),
    ("PATCH", "/api/v1/facilities/999999", {"occupancy": -1}),
    ("DELETE", "/api/v1/users/999999", None),
    ("POST", LOGOUT, None),
]
PROTECTED_IDS = [f"{method}-{path.split('?')[0]}" for method, path, _ in PROTECTED]


@pytest.mark.parametrize("case", list(ACCESS_FAILURES))
@pytest.mark.parametrize(("method", "path", "payload"), PROTECTED, ids=PROTECTED_IDS)
def test_token_failures_are_401(any_client, make, app, case, method, path, payload):
    headers = ACCESS_FAILURES[case](make)
    organizations = count(app, Organization)

    response = any_client.open(path, method=method, json=payload, headers=headers)

    assert_unauthorized(response)
    assert count(app, RevokedToken) == 0
    assert count(app, Organization) == organizations


@pytest.mark.parametrize(("method", "path", "payload"), PROTECTED, ids=PROTECTED_IDS)
def test_valid_token_passes_the_same_routes(any_client, make, method, path, payload):
    """The control for the failures above: with a good token the route answers something else."""
    response = any_client.open(path, method=method, json=payload, headers=make.admin())

    assert response.status_code != 401, response.json


REFRESH_FAILURES = {
    "no-header": lambda make: {},
    "bearer-without-token": lambda make: {"Authorization": "Bearer"},
    "garbage": lambda make: bearer("garbage"),
    "access-token": lambda make: make.headers(make.user()),
    "other-key": lambda make: bearer(
        _signed(
            {**_valid_claims(make), "type": "refresh"},
            key="another-key-0123456789-0123456789-abcdef",
        )
    ),
    "alg-none": lambda make: bearer(_unsigned({**_valid_claims(make), "type": "refresh"})),
    "expired": lambda make: bearer(
        _with_app_context(
            make,
            lambda: create_refresh_token(
                identity=f"user:{make.user().id}", expires_delta=timedelta(seconds=-60)
            ),
        )
    ),
    "deleted-user": lambda make: bearer(_deleted_refresh(make)),
}


def _deleted_refresh(make) -> str:
    user = make.user()
    with make.app.app_context():
        token = create_refresh_token(identity=f"user:{user.id}")
    delete_row(make.app, User, user.id)
    return token


@pytest.mark.parametrize("case", list(REFRESH_FAILURES))
def test_refresh_failures_are_401(any_client, make, case):
    response = any_client.post(REFRESH, headers=REFRESH_FAILURES[case](make))

    body = assert_unauthorized(response)
    assert "access_token" not in body


# ---------------------------------------------------------------------------------------------
# Configuration safety


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("REGISTRY_ENV", "REGISTRY_JWT_SECRET", "REGISTRY_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    # Field-encryption keys are tested in test_secrets; given here, only the key under test
    # is missing.
    monkeypatch.delenv("REGISTRY_FIELD_KEY_ID", raising=False)
    monkeypatch.setenv("REGISTRY_FIELD_KEYS", TEST_KEYS["REGISTRY_FIELD_KEYS"])
    # The pack-signing key likewise (tested in test_offline_pack).
    monkeypatch.setenv("REGISTRY_PACK_SIGNING_KEY", TEST_KEYS["REGISTRY_PACK_SIGNING_KEY"])
    # Development keys would be generated here, never into the checkout's instance/.
    monkeypatch.setattr(registry_config, "INSTANCE_DIR", tmp_path / "instance")
    return monkeypatch


GOOD_JWT = "j" * 32
GOOD_FLASK = "f" * 40


def test_production_requires_a_jwt_secret(clean_env, tmp_path):
    clean_env.setenv("REGISTRY_ENV", "production")
    clean_env.setenv("REGISTRY_SECRET_KEY", GOOD_FLASK)

    with pytest.raises(registry_config.ConfigError, match="REGISTRY_JWT_SECRET"):
        registry_config.load_config({"REGISTRY_DATABASE_URL": "sqlite://"})
    assert not (tmp_path / "instance").exists()


def test_production_requires_a_flask_secret(clean_env):
    clean_env.setenv("REGISTRY_JWT_SECRET", GOOD_JWT)

    with pytest.raises(registry_config.ConfigError, match="REGISTRY_SECRET_KEY"):
        registry_config.load_config({"REGISTRY_ENV": "production"})


def test_production_with_both_secrets(clean_env):
    clean_env.setenv("REGISTRY_ENV", "production")
    clean_env.setenv("REGISTRY_JWT_SECRET", GOOD_JWT)
    clean_env.setenv("REGISTRY_SECRET_KEY", GOOD_FLASK)

    config = registry_config.load_config({"REGISTRY_DATABASE_URL": "sqlite://"})

    assert config["REGISTRY_ENV"] == "production"
    assert config["JWT_SECRET_KEY"] == GOOD_JWT
    assert config["SECRET_KEY"] == GOOD_FLASK
    assert config["JWT_DECODE_ALGORITHMS"] == ["HS256"]


@pytest.mark.parametrize("env", ["production", "development"])
def test_short_jwt_key_from_environment_is_refused(clean_env, env):
    clean_env.setenv("REGISTRY_ENV", env)
    clean_env.setenv("REGISTRY_JWT_SECRET", "j" * 31)
    clean_env.setenv("REGISTRY_SECRET_KEY", GOOD_FLASK)

    with pytest.raises(registry_config.ConfigError, match="32 bytes"):
        registry_config.load_config()


def test_short_jwt_key_from_overrides_is_refused(clean_env):
    clean_env.setenv("REGISTRY_SECRET_KEY", GOOD_FLASK)

    with pytest.raises(registry_config.ConfigError, match="32 bytes"):
        registry_config.load_config({"JWT_SECRET_KEY": "short-key"})


def test_jwt_key_of_exactly_32_bytes_is_accepted(clean_env):
    clean_env.setenv("REGISTRY_ENV", "production")
    clean_env.setenv("REGISTRY_JWT_SECRET", "é" * 16)  # 16 characters, 32 bytes
    clean_env.setenv("REGISTRY_SECRET_KEY", GOOD_FLASK)

    assert registry_config.load_config()["JWT_SECRET_KEY"] == "é" * 16


def test_jwt_key_equal_to_secret_key_is_refused(clean_env):
    clean_env.setenv("REGISTRY_ENV", "production")
    clean_env.setenv("REGISTRY_JWT_SECRET", GOOD_JWT)
    clean_env.setenv("REGISTRY_SECRET_KEY", GOOD_JWT)

    with pytest.raises(registry_config.ConfigError, match="differ"):
        registry_config.load_config()


def test_jwt_key_equal_to_secret_key_in_overrides_is_refused(clean_env):
    with pytest.raises(registry_config.ConfigError, match="differ"):
        registry_config.load_config({"JWT_SECRET_KEY": GOOD_JWT, "SECRET_KEY": GOOD_JWT})


def test_development_generates_distinct_persistent_keys(clean_env, tmp_path):
    first = registry_config.load_config()
    second = registry_config.load_config()

    assert first["REGISTRY_ENV"] == "development"
    assert len(first["JWT_SECRET_KEY"].encode()) >= 32
    assert first["JWT_SECRET_KEY"] != first["SECRET_KEY"]
    assert (first["JWT_SECRET_KEY"], first["SECRET_KEY"]) == (
        second["JWT_SECRET_KEY"],
        second["SECRET_KEY"],
    )
    for path in (tmp_path / "instance").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


# ---------------------------------------------------------------------------------------------
# flask create-user (a fixed point)


NEW_PASSWORD = "a-long-enough-password"


def test_cli_create_user_with_password_from_environment(app, client, monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", NEW_PASSWORD)

    result = app.test_cli_runner().invoke(
        args=["create-user", "--role", "admin", "--username", "ops-admin"]
    )

    assert result.exit_code == 0, result.output
    assert "created user ops-admin" in result.output
    assert NEW_PASSWORD not in result.output
    with app.app_context(), transaction.session_scope() as session:
        user = session.query(User).filter_by(username="ops-admin").one()
        assert (user.role, user.is_active, user.organization_id, user.agency_id) == (
            "admin",
            True,
            None,
            None,
        )
        assert NEW_PASSWORD not in user.password_hash
    response = login(client, "ops-admin", NEW_PASSWORD)
    assert response.status_code == 200, response.json
    assert response.json["role"] == "admin"


def test_cli_create_facility_manager(app, client, make, monkeypatch):
    organization = make.organization()
    monkeypatch.setenv("REGISTRY_PASSWORD", NEW_PASSWORD)

    result = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--role",
            "facility_manager",
            "--username",
            "store-security",
            "--organization-id",
            str(organization.id),
        ]
    )

    assert result.exit_code == 0, result.output
    tokens = login(client, "store-security", NEW_PASSWORD).json
    me = client.get(ME, headers=bearer(tokens["access_token"])).json
    assert me["role"] == "facility_manager"
    assert me["organization_id"] == organization.id


def test_cli_create_user_with_prompted_password(app, client, monkeypatch):
    monkeypatch.delenv("REGISTRY_PASSWORD", raising=False)

    result = app.test_cli_runner().invoke(
        args=["create-user", "--role", "admin", "--username", "prompted"],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    assert login(client, "prompted", NEW_PASSWORD).status_code == 200


def test_cli_create_user_refuses_a_short_password(app, client, monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", "short-pw")

    result = app.test_cli_runner().invoke(
        args=["create-user", "--role", "admin", "--username", "weak"]
    )

    assert result.exit_code != 0
    assert count(app, User) == 0
    assert_unauthorized(login(client, "weak", "short-pw"))


def test_cli_create_user_refuses_a_manager_without_organization(app, monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", NEW_PASSWORD)

    result = app.test_cli_runner().invoke(
        args=["create-user", "--role", "facility_manager", "--username", "orphan"]
    )

    assert result.exit_code != 0
    assert count(app, User) == 0
