"""POST /auth/oauth-token: the OAuth2 password grant (RFC 6749 section 4.3) Swagger UI's
Authorize dialog logs in with. The same login as POST /auth/login (lockout, audit, rate limits),
asked with a form, answered in OAuth2's JSON."""

import jwt
import pytest
from sqlalchemy import select

from registry import transaction
from registry.audit.models import AuditEvent
from registry.auth import login as auth_login
from registry.auth.models import User
from tests.conftest import PASSWORD, assert_problem, fetch

API = "/api/v1"
OAUTH_TOKEN = f"{API}/auth/oauth-token"
LOGIN = f"{API}/auth/login"
ME = f"{API}/auth/me"
WRONG = "Wrong-Guess-Password-77"


def sign_in(client, username, password=PASSWORD, address="10.0.0.1", **extra):
    form = {"grant_type": "password", "username": username, "password": password, **extra}
    return client.post(OAUTH_TOKEN, data=form, environ_base={"REMOTE_ADDR": address})


def assert_oauth_error(response, error: str) -> dict:
    """RFC 6749 section 5.2: 400, JSON with `error` and a description, not cached."""
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error and body["error_description"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    return body


def audit_events(app, action) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return events


def assert_untouched(app, user) -> None:
    """No attempt was counted and nothing was audited: the password was never looked at."""
    stored = fetch(app, User, user.id)
    assert (stored.failed_logins, stored.locked_until) == (0, None)
    assert audit_events(app, "auth.login") == []
    assert audit_events(app, "auth.login_failed") == []


# ---------------------------------------------------------------------------------------------
# The right password


def test_the_right_password_gets_a_fresh_access_token(app, client, make):
    user = make.user("agency_user", agency=make.agency())

    response = sign_in(client, user.username)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    # No refresh token: Swagger UI keeps this answer in localStorage and never refreshes.
    assert set(body) == {"access_token", "token_type", "expires_in", "role"}
    assert body["token_type"] == "Bearer" and body["role"] == "agency_user"
    assert body["expires_in"] == int(app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == f"user:{user.id}" and claims["fresh"]
    me = client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["id"] == user.id


def test_it_is_audited_like_a_login(app, client, make):
    user = make.user()

    assert sign_in(client, user.username).status_code == 200

    (event,) = audit_events(app, "auth.login")
    assert event.actor == f"user:{user.id}" and event.record_id == user.id
    assert event.details == {"via": "oauth2"}


def test_swagger_uis_own_request_works(client, make):
    """What Swagger UI's Authorize sends by default: an empty scope, empty client credentials
    in an `Authorization: Basic` header; all ignored."""
    user = make.user()

    response = client.post(
        OAUTH_TOKEN,
        data=f"grant_type=password&scope=&username={user.username}&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
        headers={
            "Authorization": "Basic Og==",
            "Accept": "application/json, text/plain, */*",
            "X-Requested-With": "XMLHttpRequest",
        },
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["token_type"] == "Bearer"


def test_the_username_is_trimmed_as_the_login_does(client, make):
    user = make.user()

    assert sign_in(client, f"  {user.username}\t").status_code == 200


# ---------------------------------------------------------------------------------------------
# Refused credentials: invalid_grant, one answer for every reason, audited


@pytest.mark.parametrize("who", ["wrong password", "unknown user", "inactive user"])
def test_refused_credentials_are_an_invalid_grant(app, client, make, who):
    if who == "wrong password":
        username, password, reason = make.user().username, WRONG, "wrong_password"
    elif who == "unknown user":
        username, password, reason = "nobody-here", WRONG, "unknown_username"
    else:
        username, password, reason = make.user(is_active=False).username, PASSWORD, "inactive"

    response = sign_in(client, username, password)

    body = assert_oauth_error(response, "invalid_grant")
    assert body["error_description"] == auth_login.LOGIN_REFUSED
    assert password.encode() not in response.data
    (event,) = audit_events(app, "auth.login_failed")
    assert event.details["reason"] == reason
    assert audit_events(app, "auth.login") == []


def test_failures_lock_the_account_like_the_login(app, client, make):
    """Failures here and at /auth/login are one count: the lockout is the account's."""
    user = make.user()
    limit = app.config["REGISTRY_LOCKOUT_ATTEMPTS"]
    for _ in range(limit - 1):
        assert_oauth_error(sign_in(client, user.username, WRONG), "invalid_grant")
    assert_problem(client.post(LOGIN, json={"username": user.username, "password": WRONG}), 401)

    locked = sign_in(client, user.username)

    assert_oauth_error(locked, "invalid_grant")
    assert fetch(app, User, user.id).locked_until is not None
    reasons = [e.details["reason"] for e in audit_events(app, "auth.login_failed")]
    assert reasons == ["wrong_password"] * limit + ["locked"]
    assert len(audit_events(app, "auth.account_locked")) == 1


def test_a_success_resets_the_count(app, client, make):
    user = make.user()
    for _ in range(2):
        sign_in(client, user.username, WRONG)
    assert fetch(app, User, user.id).failed_logins == 2

    assert sign_in(client, user.username).status_code == 200

    assert fetch(app, User, user.id).failed_logins == 0


# ---------------------------------------------------------------------------------------------
# Requests that are not a password grant: refused before any password is checked


@pytest.mark.parametrize("grant_type", ["client_credentials", "authorization_code", "PASSWORD"])
def test_another_grant_type_is_unsupported(app, client, make, grant_type):
    user = make.user()

    response = client.post(
        OAUTH_TOKEN,
        data={"grant_type": grant_type, "username": user.username, "password": PASSWORD},
    )

    assert_oauth_error(response, "unsupported_grant_type")
    assert_untouched(app, user)


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"username": "{name}", "password": PASSWORD}, "grant_type"),
        ({"grant_type": "", "username": "{name}", "password": PASSWORD}, "grant_type"),
        ({"grant_type": "password", "password": PASSWORD}, "username"),
        ({"grant_type": "password", "username": "{name}"}, "password"),
        ({"grant_type": "password", "username": "", "password": PASSWORD}, "username"),
        ({"grant_type": "password", "username": "{name}", "password": ""}, "password"),
        ({"grant_type": "password", "username": "   ", "password": PASSWORD}, "username"),
        ({"grant_type": "password", "username": "u" * 81, "password": PASSWORD}, "username"),
        ({"grant_type": "password", "username": "{name}", "password": "p" * 201}, "password"),
        ({"grant_type": "password", "username": "a\x00b", "password": PASSWORD}, "username"),
    ],
    ids=[
        "no-grant-type",
        "empty-grant-type",
        "no-username",
        "no-password",
        "empty-username",
        "empty-password",
        "blank-username",
        "long-username",
        "long-password",
        "nul-username",
    ],
)
def test_missing_or_invalid_fields_are_an_invalid_request(app, client, make, form, named):
    user = make.user()
    form = {key: value.format(name=user.username) for key, value in form.items()}

    response = client.post(OAUTH_TOKEN, data=form)

    body = assert_oauth_error(response, "invalid_request")
    assert named in body["error_description"]
    assert PASSWORD.encode() not in response.data and b"p" * 201 not in response.data
    assert_untouched(app, user)


def test_a_repeated_parameter_is_an_invalid_request(app, client, make):
    user = make.user()

    response = client.post(
        OAUTH_TOKEN,
        data=f"grant_type=password&username={user.username}&password={PASSWORD}&password=x",
        content_type="application/x-www-form-urlencoded",
    )

    body = assert_oauth_error(response, "invalid_request")
    assert "password" in body["error_description"]
    assert_untouched(app, user)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (
            '{"grant_type": "password", "username": "{name}", "password": "{pw}"}',
            "application/json",
        ),
        ("grant_type=password&username={name}&password={pw}", "text/plain"),
        ("", None),
    ],
    ids=["json", "text-plain", "no-body"],
)
def test_anything_but_a_form_is_an_invalid_request(app, client, make, data, content_type):
    user = make.user()
    data = data.replace("{name}", user.username).replace("{pw}", PASSWORD)

    response = client.post(OAUTH_TOKEN, data=data, content_type=content_type)

    body = assert_oauth_error(response, "invalid_request")
    assert "x-www-form-urlencoded" in body["error_description"]
    assert_untouched(app, user)


def test_the_password_never_travels_in_the_query_string(app, client, make):
    """Parameters in the URL are not read: a password there would land in access logs."""
    user = make.user()

    response = client.post(
        f"{OAUTH_TOKEN}?grant_type=password&username={user.username}&password={PASSWORD}",
        data={"scope": ""},
    )

    assert_oauth_error(response, "invalid_request")
    assert_untouched(app, user)


# ---------------------------------------------------------------------------------------------
# Rate limits: the same budgets as the JSON login


def test_it_spends_the_accounts_login_budget(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    user = make.user()

    # From three addresses: only the per-account limit can stop the third attempt.
    assert_problem(
        client.post(
            LOGIN,
            json={"username": user.username, "password": WRONG},
            environ_base={"REMOTE_ADDR": "10.4.0.1"},
        ),
        401,
    )
    assert_oauth_error(sign_in(client, user.username.upper(), WRONG, "10.4.0.2"), "invalid_grant")

    refused = sign_in(client, f" {user.username}", address="10.4.0.3")

    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    assert sign_in(client, make.user().username, address="10.4.0.3").status_code == 200
