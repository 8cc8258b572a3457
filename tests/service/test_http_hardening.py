"""HTTP hardening: rate limits (429 problems with Retry-After), security headers on every
response, caching rules, CORS for configured origins, body-size limits and opaque errors."""

import base64
import hashlib
import re
import uuid

import flask
import pytest
from flask_jwt_extended import jwt_manager

from registry.config import ConfigError
from tests import sample_files
from tests.conftest import CLIENT_SECRET, PASSWORD, TEST_KEYS, assert_problem
from tests.file_store import upload

API = "/api/v1"
LOGIN = f"{API}/auth/login"
ME = f"{API}/auth/me"
ORIGIN = "https://dispatch.example.org"


def login(client, username, password=PASSWORD, address="10.0.0.1"):
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_too_many(response):
    body = assert_problem(response, 429)
    assert body["type"].endswith(":too-many-requests")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    return body


# ---------------------------------------------------------------------------------------------
# Rate limits


def test_each_client_has_its_own_budget(build_app, make):
    limited = build_app(REGISTRY_RATE_LIMIT="3/minute")
    client = limited.test_client()
    first, second = make.admin(), make.admin()

    for _ in range(3):
        assert client.get(ME, headers=first).status_code == 200
    refused = client.get(ME, headers=first)

    assert_too_many(refused)
    # The budget is per token subject, across routes: another route is refused too, another
    # caller from the same address is not.
    assert_too_many(client.get(f"{API}/agencies", headers=first))
    assert client.get(ME, headers=second).status_code == 200
    # Health checks are never limited.
    for _ in range(5):
        assert client.get("/healthz").status_code == 200


def test_a_forged_subject_spends_only_the_callers_own_budget(build_app, make):
    limited = build_app(REGISTRY_RATE_LIMIT="3/minute")
    client = limited.test_client()
    cad = make.cad_client(make.agency())
    genuine = make.token(cad)
    header, payload, _signature = genuine.split(".")
    forged = f"{header}.{payload}.{'A' * 43}"  # the CAD client's subject, not its signature

    for _ in range(5):
        assert_problem(
            client.get(ME, headers={"Authorization": f"Bearer {forged}"}),
            401 if _ < 3 else 429,
        )

    assert client.get(ME, headers={"Authorization": f"Bearer {genuine}"}).status_code == 200


def test_anonymous_callers_are_limited_by_address(build_app):
    limited = build_app(REGISTRY_RATE_LIMIT="2/minute")
    client = limited.test_client()

    for _ in range(2):
        assert_problem(client.get(ME, environ_base={"REMOTE_ADDR": "10.0.0.7"}), 401)

    assert_too_many(client.get(ME, environ_base={"REMOTE_ADDR": "10.0.0.7"}))
    assert_problem(client.get(ME, environ_base={"REMOTE_ADDR": "10.0.0.8"}), 401)


def test_refused_logins_are_limited_per_address(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    users = [make.user() for _ in range(4)]

    # A success is not counted against the address (tests/auth/test_login_limits.py).
    assert login(client, users[0].username).status_code == 200
    assert login(client, users[1].username, "Wrong-Password-123").status_code == 401
    assert login(client, users[2].username, "Wrong-Password-123").status_code == 401

    assert_too_many(login(client, users[3].username))
    assert login(client, users[3].username, address="10.0.0.2").status_code == 200


def test_login_attempts_are_limited_per_username(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    user = make.user()

    for address in ("10.1.0.1", "10.1.0.2"):
        assert login(client, user.username, "Wrong-Password-123", address).status_code == 401

    # A third address does not help: the account name is what is being guessed at.
    assert_too_many(login(client, user.username.upper(), address="10.1.0.3"))
    assert login(client, make.user().username, address="10.1.0.3").status_code == 200


def test_odd_usernames_are_limited_too(build_app):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="1/minute")
    client = limited.test_client()
    # A lone surrogate is valid JSON but cannot be encoded as UTF-8 as it is.
    body = '{"username": "\\ud800x", "password": "Wrong-Password-123"}'

    def attempt(address):
        return client.post(
            LOGIN, data=body, content_type="application/json", environ_base={"REMOTE_ADDR": address}
        )

    attempt("10.2.0.1")

    assert_too_many(attempt("10.2.0.2"))


def test_client_credentials_are_limited_per_address(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="1/minute")
    client = limited.test_client()
    cad = make.cad_client(make.agency())
    credentials = {"client_id": cad.client_id, "client_secret": "Wrong-Secret-1234"}

    assert_problem(client.post(f"{API}/auth/token", json=credentials), 401)

    assert_too_many(client.post(f"{API}/auth/token", json=credentials))


def test_nobody_can_lock_a_cad_client_out_of_its_tokens(build_app, make):
    """Client ids are no secret: wrong secrets from elsewhere must not spend the budget of the
    dispatch centre that holds the right one."""
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    cad = make.cad_client(make.agency())
    wrong = {"client_id": cad.client_id, "client_secret": "Wrong-Secret-1234"}
    for n in range(5):
        address = f"10.9.0.{n}"
        assert_problem(
            client.post(f"{API}/auth/token", json=wrong, environ_base={"REMOTE_ADDR": address}),
            401,
        )
    right = {"client_id": cad.client_id, "client_secret": CLIENT_SECRET}
    response = client.post(
        f"{API}/auth/token", json=right, environ_base={"REMOTE_ADDR": "10.8.0.1"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_cad_clients_have_their_own_larger_budget(build_app, make):
    limited = build_app(REGISTRY_RATE_LIMIT="2/minute", REGISTRY_CAD_RATE_LIMIT="4/minute")
    client = limited.test_client()
    agency = make.agency()
    cad = make.headers(make.cad_client(agency))
    officer = make.officer(agency)
    for _ in range(2):
        assert client.get(ME, headers=officer).status_code == 200
    assert_too_many(client.get(ME, headers=officer))
    for _ in range(4):
        assert client.get(ME, headers=cad).status_code == 200
    assert_too_many(client.get(ME, headers=cad))


def test_behind_trusted_proxies_the_forwarded_address_counts(build_app, app, make):
    limited = build_app(REGISTRY_RATE_LIMIT="1/minute", REGISTRY_TRUSTED_PROXIES=1)
    client = limited.test_client()

    def call(forwarded):
        return client.get(
            ME,
            headers={"X-Forwarded-For": forwarded},
            environ_base={"REMOTE_ADDR": "10.0.0.254"},  # the load balancer
        )

    assert_problem(call("198.51.100.1"), 401)
    assert_problem(call("198.51.100.2"), 401)  # another client behind the same balancer
    assert_too_many(call("198.51.100.1"))


def test_counter_keys_never_hold_the_username(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="5/minute")
    client = limited.test_client()
    pasted = "Pasted-Password-In-Username"

    login(client, pasted)

    storage = limited.extensions["registry.limiter"].storage
    keys = " ".join(storage.storage)
    assert "credentials-by-account" in keys
    assert pasted not in keys and pasted.casefold() not in keys


def test_the_token_is_decoded_once_per_request(build_app, make, monkeypatch):
    limited = build_app()
    client = limited.test_client()
    headers = make.admin()
    calls = []
    original = jwt_manager._decode_jwt

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(jwt_manager, "_decode_jwt", counting)

    assert client.get(ME, headers=headers).status_code == 200

    assert len(calls) == 1


def test_invalid_rate_limits_are_refused_at_start(build_app):
    with pytest.raises(ConfigError, match="REGISTRY_RATE_LIMIT"):
        build_app(REGISTRY_RATE_LIMIT="lots")


def test_limits_shared_through_redis(build_app, make):
    redis = pytest.importorskip("redis")
    server = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.exceptions.RedisError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    prefix = f"registry-test-{uuid.uuid4().hex}"
    settings = {
        "REGISTRY_RATE_LIMIT": "2/minute",
        "REGISTRY_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "REGISTRY_RATELIMIT_KEY_PREFIX": prefix,
    }
    # Two apps stand for two gunicorn workers: they share one budget through Redis.
    first, second = build_app(**settings).test_client(), build_app(**settings).test_client()
    headers = make.admin()
    try:
        assert first.get(ME, headers=headers).status_code == 200
        assert second.get(ME, headers=headers).status_code == 200

        assert_too_many(first.get(ME, headers=headers))
        assert any(prefix.encode() in key for key in server.keys("*"))
    finally:
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)
        server.close()


def test_a_limits_storage_outage_lets_requests_through_and_is_logged(build_app, make, caplog):
    # Nothing listens on port 1: every count fails. Dispatch must not stop because Redis did.
    limited = build_app(
        REGISTRY_RATE_LIMIT="1/minute", REGISTRY_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0"
    )
    client = limited.test_client()
    headers = make.admin()

    for _ in range(3):
        assert client.get(ME, headers=headers).status_code == 200
    assert "the rate limits could not be counted" in caplog.text
    # The login budgets too: a refused password is still answered as one.
    assert_problem(login(client, "nobody", "Wrong-password-123"), 401)


def test_unrouted_requests_spend_no_budget(build_app, make):
    # As Flask-Limiter counted: a CAD client's mistyped URL (404) or wrong method (405) must not
    # spend its dispatch centre's budget.
    limited = build_app(REGISTRY_RATE_LIMIT="2/minute")
    client = limited.test_client()
    headers = make.admin()

    for _ in range(3):
        assert_problem(client.get(f"{API}/no-such-thing", headers=headers), 404)
        assert_problem(client.get(LOGIN, headers=headers), 405)
    assert client.get(ME, headers=headers).status_code == 200
    assert client.get(ME, headers=headers).status_code == 200
    assert_too_many(client.get(ME, headers=headers))


# ---------------------------------------------------------------------------------------------
# Security headers


def assert_security_headers(response):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", ME, 200),
        ("GET", f"{API}/organizations/999999", 404),
        ("GET", f"{API}/no-such-thing", 404),
        ("GET", "/no-such-page", 404),
        ("DELETE", ME, 405),
        ("GET", "/healthz", 200),
        ("GET", f"{API}/swagger.json", 200),
        ("POST", f"{API}/organizations", 422),
    ],
)
def test_every_response_carries_the_security_headers(client, make, method, path, status):
    response = client.open(path, method=method, json={"unknown": 1}, headers=make.admin())

    assert response.status_code == status
    assert_security_headers(response)
    assert (
        response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    )
    assert "Strict-Transport-Security" not in response.headers  # development


def test_unauthenticated_errors_carry_them_too(client):
    response = client.get(ME)

    assert_problem(response, 401)
    assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_docs_page_may_run_its_own_script(client):
    page = client.get(f"{API}/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert_security_headers(page)
    policy = page.headers["Content-Security-Policy"]

    inline = re.findall(rb"<script[^>]*>(.*?)</script>", page.data, re.DOTALL)
    started_by = [s for s in inline if b"SwaggerUIBundle(" in s]
    assert len(started_by) == 1
    digest = base64.b64encode(hashlib.sha256(started_by[0]).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("style-src")[0]
    assert "connect-src 'self'" in policy
    # The files it loads are served by the app itself.
    for src in re.findall(rb'src="([^"]+)"', page.data):
        assert src.startswith(b"/swaggerui/"), src
        with client.get(src.decode()) as script:
            assert script.status_code == 200


def test_production_adds_strict_transport_security(build_app, monkeypatch):
    monkeypatch.setenv("REGISTRY_JWT_SECRET", TEST_KEYS["JWT_SECRET_KEY"])
    monkeypatch.setenv("REGISTRY_SECRET_KEY", TEST_KEYS["SECRET_KEY"])
    production = build_app(REGISTRY_ENV="production")

    response = production.test_client().get("/healthz")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert_security_headers(response)


# ---------------------------------------------------------------------------------------------
# Caching


def test_tagged_reads_revalidate_everything_else_is_not_stored(client, make):
    admin = make.admin()
    organization = make.organization()
    url = f"{API}/organizations/{organization.id}"

    first = client.get(url, headers=admin)
    again = client.get(url, headers={**admin, "If-None-Match": first.headers["ETag"]})
    tokens = login(client, make.user().username)

    assert first.headers["Cache-Control"] == "private, no-cache"
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "private, no-cache"
    assert client.get(f"{API}/organizations", headers=admin).headers["Cache-Control"] == (
        "private, no-cache"
    )
    assert tokens.headers["Cache-Control"] == "no-store"  # tokens in the body
    assert client.get(ME, headers=admin).headers["Cache-Control"] == "no-store"
    assert client.get(f"{API}/no-such-thing", headers=admin).headers["Cache-Control"] == "no-store"


def test_preplans_still_revalidate(client, make):
    organization, agency = make.organization(), make.agency()
    facility = make.facility(organization)
    make.mou(organization, agency)
    officer = make.officer(agency)
    url = f"{API}/preplans/{facility.id}"

    first = client.get(url, headers=officer)
    again = client.get(url, headers={**officer, "If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200 and again.status_code == 304
    assert "no-store" not in first.headers["Cache-Control"]
    assert "no-cache" in again.headers["Cache-Control"]


def test_file_downloads_keep_their_own_policy(client, make):
    organization, agency = make.organization(), make.agency()
    facility = make.facility(organization)
    make.mou(organization, agency)
    uploaded = upload(client, make.admin(), facility.id, sample_files.png(), name="plan.png")
    assert uploaded.status_code == 201, uploaded.json

    with client.get(uploaded.json["url"], headers=make.officer(agency)) as download:
        assert download.status_code == 200
        assert download.headers["Content-Security-Policy"] == "sandbox"
        assert download.headers["Cache-Control"] == "private, no-cache"
        assert download.headers["X-Frame-Options"] == "DENY"


# ---------------------------------------------------------------------------------------------
# CORS


@pytest.fixture
def cors_client(build_app):
    return build_app(REGISTRY_CORS_ORIGINS=[ORIGIN]).test_client()


def test_preflight_for_an_allowed_origin(cors_client):
    response = cors_client.options(
        f"{API}/organizations/1",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, If-Match, Idempotency-Key, Content-Type",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"authorization", "if-match", "idempotency-key", "content-type"} <= allowed
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_an_allowed_origin_reads_etag_location_and_retry_after(cors_client, make):
    response = cors_client.get(ME, headers={**make.admin(), "Origin": ORIGIN})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Location", "Retry-After"} <= exposed
    # Errors too: a browser client must be able to read its 401.
    refused = cors_client.get(ME, headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "https://dispatch.example.org.evil"]
)
def test_other_origins_get_no_cors_headers(cors_client, make, origin):
    preflight = cors_client.options(
        ME, headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    response = cors_client.get(ME, headers={**make.admin(), "Origin": origin})

    for answer in (preflight, response):
        assert "Access-Control-Allow-Origin" not in answer.headers


def test_no_cors_unless_configured(client, make):
    response = client.get(ME, headers={**make.admin(), "Origin": ORIGIN})

    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("origin", ["*", "https://*.example.org", "https://ok.example.org/path"])
def test_wildcard_or_malformed_origins_are_refused_at_start(build_app, origin):
    with pytest.raises(ConfigError, match="REGISTRY_CORS_ORIGINS"):
        build_app(REGISTRY_CORS_ORIGINS=[origin])


# ---------------------------------------------------------------------------------------------
# Body size and opaque errors


@pytest.mark.parametrize("path", [f"{API}/organizations", LOGIN])
def test_an_oversized_json_body_is_413(client, make, app, path):
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    body = b'{"name": "' + b"x" * too_big + b'"}'

    response = client.post(path, data=body, content_type="application/json", headers=make.admin())

    assert_problem(response, 413)
    assert_security_headers(response)
    assert b"xxxxxxxx" not in response.data


def test_an_unexpected_error_shows_no_trace_or_sql(build_app):
    broken = build_app()

    @broken.get("/broken")
    def _broken():
        raise RuntimeError("SELECT password_hash FROM users WHERE id = 1")

    response = broken.test_client().get("/broken")

    body = assert_problem(response, 500)
    assert b"SELECT" not in response.data and b"Traceback" not in response.data
    assert b"password_hash" not in response.data
    assert body["type"].endswith(":internal-error")
    assert_security_headers(response)


def test_no_flask_cookie_session_is_kept(app, client, make):
    # The API is stateless and the console's sessions live in the database: nothing may start
    # keeping state in Flask's signed cookie unnoticed.
    response = client.get(ME, headers=make.admin())

    assert "Set-Cookie" not in response.headers
    with app.test_request_context(ME), pytest.raises(RuntimeError, match="session is unavailable"):
        flask.session["key"] = "value"
