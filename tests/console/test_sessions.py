"""Signing in to the console, the session behind its cookie, and the checks every form gets
(issue 13, item 2)."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from registry import transaction
from registry.auth.login import LOGIN_REFUSED
from registry.auth.models import User
from registry.console.models import ConsoleSession
from registry.facilities.models import Facility
from tests.conftest import PASSWORD, audit_events, count, fetch, set_columns


def sessions_of(app, user) -> list[ConsoleSession]:
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(
            select(ConsoleSession).where(ConsoleSession.user_id == user.id)
        ).all()
        session.expunge_all()
        return rows


def cookie(console, name="registry_console"):
    return console.client.get_cookie(name)


@pytest.fixture
def manager(make):
    return make.user("facility_manager", organization=make.organization())


def test_the_start_page_leads_to_the_sign_in_and_to_the_api_docs(client):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'href="/console/sign-in"' in html and 'href="/api/v1/docs"' in html


def test_a_manager_signs_in_and_lands_on_the_facilities(app, console, manager):
    response = console.sign_in(manager)

    assert response.status_code == 302 and response.headers["Location"] == "/console/"
    assert console.get("/console/").headers["Location"] == "/console/facilities"
    assert console.get("/console/facilities").status_code == 200
    (login,) = audit_events(app, "auth.login")
    assert login.actor == f"user:{manager.id}" and login.details == {"via": "console"}


def test_the_cookie_is_httponly_and_samesite_and_only_its_hash_is_stored(app, console, manager):
    response = console.sign_in(manager)
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("registry_console=")
    )
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    token = cookie(console).value
    (stored,) = sessions_of(app, manager)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.token_hash, stored.csrf_token)


def test_in_production_the_cookie_is_secure_and_host_only(build_app, make):
    production = build_app(REGISTRY_ENV="production")
    manager = make.user("facility_manager", organization=make.organization())
    client = production.test_client()
    page = client.get("/console/sign-in", base_url="https://registry.example")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/console/sign-in",
        data={"csrf_token": token, "username": manager.username, "password": PASSWORD},
        base_url="https://registry.example",
    )
    header = next(h for h in response.headers.getlist("Set-Cookie") if "registry_console=" in h)
    assert header.startswith("__Host-registry_console=")
    assert "Secure" in header and "HttpOnly" in header and "Domain" not in header


def test_a_wrong_password_is_refused_on_the_form_and_counted(app, console, manager):
    page = console.sign_in(manager, password="not-the-password")

    assert page.status_code == 401
    assert LOGIN_REFUSED in console.html
    assert cookie(console) is None
    assert fetch(app, User, manager.id).failed_logins == 1
    (failed,) = audit_events(app, "auth.login_failed")
    assert failed.details == {"reason": "wrong_password"}


def test_the_lockout_is_the_apis_even_for_the_right_password(app, console, manager):
    for _ in range(app.config["REGISTRY_LOCKOUT_ATTEMPTS"]):
        console.sign_in(manager, password="wrong")
    page = console.sign_in(manager)
    assert page.status_code == 401 and LOGIN_REFUSED in console.html
    assert sessions_of(app, manager) == []


def test_empty_fields_are_named_beside_them(console):
    console.get("/console/sign-in")
    page = console.post("/console/sign-in", {"username": "", "password": ""})
    assert page.status_code == 422
    assert console.errors() == {"username": "Required.", "password": "Required."}


def test_the_sign_in_form_must_come_from_its_own_page(app, console, manager):
    # No sign-in cookie: a form posted from another site cannot sign the browser in.
    page = console.client.post(
        "/console/sign-in",
        data={"csrf_token": "made-up", "username": manager.username, "password": PASSWORD},
    )
    assert page.status_code == 403
    assert sessions_of(app, manager) == []


@pytest.mark.parametrize(
    "target, lands_on",
    [
        ("/console/account", "/console/account"),
        ("//evil.example/console/", "/console/"),
        ("https://evil.example/", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/api/v1/facilities", "/console/"),
    ],
)
def test_after_signing_in_only_a_console_page_is_next(console, manager, target, lands_on):
    console.get("/console/sign-in", query_string={"next": target})
    page = console.post(
        "/console/sign-in",
        {"username": manager.username, "password": PASSWORD, "next": target},
    )
    assert page.headers["Location"] == lands_on


def test_a_page_without_a_session_asks_to_sign_in_and_comes_back(console, manager):
    page = console.get("/console/facilities?view=all")
    assert page.status_code == 302
    assert page.headers["Location"] == "/console/sign-in?next=/console/facilities?view%3Dall"


def test_signing_out_ends_the_session_for_a_copied_cookie_too(app, console, other_console, manager):
    console.sign_in(manager)
    stolen = cookie(console).value
    console.get("/console/facilities")

    page = console.post("/console/sign-out")

    assert page.status_code == 302
    assert sessions_of(app, manager) == []
    other_console.client.set_cookie("registry_console", stolen)
    assert other_console.get("/console/facilities").status_code == 302
    assert [e.details for e in audit_events(app, "auth.logout")] == [{"via": "console"}]


@pytest.mark.parametrize(
    "column, age",
    [("last_seen_at", timedelta(minutes=31)), ("created_at", None)],
)
def test_an_idle_or_old_session_has_ended(app, console, manager, column, age):
    console.sign_in(manager)
    (stored,) = sessions_of(app, manager)
    now = datetime.now(UTC)
    if column == "last_seen_at":
        set_columns(app, ConsoleSession, stored.id, last_seen_at=now - age)
    else:
        set_columns(app, ConsoleSession, stored.id, expires_at=now - timedelta(seconds=1))
    assert console.get("/console/facilities").status_code == 302


@pytest.mark.parametrize(
    "change",
    [
        {"is_active": False},
        # A password change, deactivation or new role binding cuts off tokens and sessions.
        {"tokens_valid_after": "now"},
    ],
)
def test_an_account_change_ends_its_sessions_at_the_next_request(app, console, manager, change):
    console.sign_in(manager)
    assert console.get("/console/facilities").status_code == 200
    if change.get("tokens_valid_after") == "now":
        change = {"tokens_valid_after": datetime.now(UTC)}
    set_columns(app, User, manager.id, **change)
    assert console.get("/console/facilities").status_code == 302


def test_a_busy_session_is_kept_alive(app, console, manager):
    console.sign_in(manager)
    (stored,) = sessions_of(app, manager)
    earlier = datetime.now(UTC) - timedelta(minutes=20)
    set_columns(app, ConsoleSession, stored.id, last_seen_at=earlier)
    console.get("/console/facilities")
    (seen,) = sessions_of(app, manager)
    assert seen.last_seen_at > earlier + timedelta(minutes=19)


def facility_form(console, facility, **fields):
    console.get(f"/console/facilities/{facility.id}")
    version = console.html.split('name="version" value="')[1].split('"')[0]
    return {"version": version, **fields}


@pytest.mark.parametrize(
    "csrf, headers",
    [
        ("", {}),
        ("forged-token", {}),
        (None, {"Origin": "https://evil.example"}),
        (None, {"Origin": "null"}),
    ],
)
def test_a_form_without_the_sessions_token_or_from_elsewhere_changes_nothing(
    app, console, make, csrf, headers
):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall")
    console.sign_in(make.user("facility_manager", organization=organization))
    data = facility_form(console, facility, name="Renamed")

    page = console.post(f"/console/facilities/{facility.id}", data, csrf=csrf, headers=headers)

    assert page.status_code == 403 and page.mimetype == "text/html"
    assert fetch(app, Facility, facility.id).name == "Harbor Mall"


def test_another_sessions_token_does_not_pass(app, console, other_console, make):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall")
    console.sign_in(make.user("facility_manager", organization=organization))
    other_console.sign_in(make.user("facility_manager", organization=organization))
    other_console.get("/console/facilities")
    data = facility_form(console, facility, name="Renamed")

    page = console.post(f"/console/facilities/{facility.id}", data, csrf=other_console.csrf())

    assert page.status_code == 403
    assert fetch(app, Facility, facility.id).name == "Harbor Mall"


def test_pages_forbid_inline_script_framing_and_caching(console, manager):
    console.sign_in(manager)
    page = console.get("/console/facilities")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "form-action 'self'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "<script>" not in console.html and " style=" not in console.html


def test_a_configured_tile_source_is_the_one_other_origin_allowed(build_app, make):
    app = build_app(REGISTRY_MAP_TILE_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    page = app.test_client().get("/console/sign-in")
    assert (
        "img-src 'self' data: blob: https://*.tiles.example.org;"
        in page.headers["Content-Security-Policy"]
    )


def test_another_roles_page_is_refused_as_a_page(console, make):
    console.sign_in(make.user("agency_user", agency=make.agency()))
    page = console.get("/console/facilities")
    assert page.status_code == 403 and page.mimetype == "text/html"
    assert "not for your role" in console.html


def test_an_unknown_console_page_is_a_page_too(console, manager):
    console.sign_in(manager)
    page = console.get("/console/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_the_api_is_untouched_by_a_console_cookie(console, manager, client):
    console.sign_in(manager)
    # A bearer token is still what the API wants: a cookie alone authenticates nothing there.
    response = console.client.get("/api/v1/facilities")
    assert response.status_code == 401
    assert count(console.client.application, ConsoleSession) == 1


def test_changing_ones_password_ends_the_session_and_the_new_one_signs_in(app, console, manager):
    console.sign_in(manager)
    console.get("/console/account")
    assert "At least 12 characters" in console.html and "{{" not in console.html

    page = console.post(
        "/console/account",
        {"current_password": PASSWORD, "new_password": "a-new-long-passphrase-42"},
    )

    assert page.headers["Location"] == "/console/sign-in?password_changed=1"
    assert console.get("/console/facilities").status_code == 302
    assert console.sign_in(manager, "a-new-long-passphrase-42").status_code == 302
    assert len(audit_events(app, "auth.password_changed")) == 1


def test_a_wrong_current_password_is_said_beside_it_and_counted(app, console, manager):
    console.sign_in(manager)
    console.get("/console/account")

    page = console.post("/console/account", {"current_password": "not-it", "new_password": "short"})
    assert page.status_code == 422
    assert set(console.errors()) == {"new_password"}  # judged first, spends no attempt
    page = console.post(
        "/console/account",
        {"current_password": "not-it", "new_password": "a-new-long-passphrase-42"},
    )
    assert page.status_code == 422
    assert console.errors() == {"current_password": "This is not your current password."}
    assert fetch(app, User, manager.id).failed_logins == 1
    assert console.get("/console/facilities").status_code == 200  # still signed in
