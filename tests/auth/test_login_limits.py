"""Login limits (issue 15, item 8): the per-username rate limit counts the name the login looks
up, not the bytes sent; and the lockout's count is taken before the slow password check, so
parallel guesses get no more password evaluations than the lockout allows. Issue 13: the
per-address limit counts refusals only, so people behind one address all sign in, while guessing
across accounts or at one account is still stopped; the same limits cover the OAuth2 form and the
web console's sign-in page.

Run on both databases: the parallel test needs real concurrency (a file-backed SQLite, or
PostgreSQL with REGISTRY_TEST_DATABASE_URL).
"""

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from registry import transaction
from registry.audit.models import AuditEvent
from registry.auth import passwords
from registry.auth.models import User
from registry.config import ConfigError
from registry.ratelimit import CONSOLE_SIGN_IN_ROUTE
from tests.conftest import PASSWORD, PASSWORD_HASH, assert_problem, fetch
from tests.console.conftest import Console

API = "/api/v1"
LOGIN = f"{API}/auth/login"
OAUTH_TOKEN = f"{API}/auth/oauth-token"
WRONG = "Wrong-Guess-Password-77"
NEW_PASSWORD = "a-brand-new-passphrase"


def login(client, username, password=PASSWORD, address="10.0.0.1"):
    return client.post(
        LOGIN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def audit_events(app, action) -> list[AuditEvent]:
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
        return events


@pytest.fixture
def evaluations(monkeypatch):
    """Counts how often a password is checked against the account's real hash (the factory's
    accounts share PASSWORD_HASH); checks against the dummy hash, which only keep the timing
    even, do not count."""
    calls = []
    original = passwords.verify_secret

    def counting(stored_hash, secret):
        if stored_hash == PASSWORD_HASH:
            calls.append(secret)
        return original(stored_hash, secret)

    monkeypatch.setattr(passwords, "verify_secret", counting)
    return calls


# ---------------------------------------------------------------------------------------------
# The per-username rate limit

# Each logs in as the plain name (the username field is trimmed before the lookup), so each must
# spend the plain name's budget.
VARIANTS = ["  {name}\t", "{name}\n", "\u00a0{name}\u3000", "\u2003{name}"]


@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_a_padded_username_is_the_same_account(client, make, variant):
    user = make.user()

    assert login(client, variant.format(name=user.username)).status_code == 200


@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_padded_usernames_share_the_accounts_limit(build_app, make, variant):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    user = make.user()
    padded = variant.format(name=user.username)

    # From two addresses, so only the per-username limit can be what stops the third.
    assert_problem(login(client, padded, WRONG, "10.3.0.1"), 401)
    assert_problem(login(client, user.username.upper(), WRONG, "10.3.0.2"), 401)

    assert_problem(login(client, user.username, address="10.3.0.3"), 429)
    assert_problem(login(client, padded, address="10.3.0.4"), 429)
    assert login(client, make.user().username, address="10.3.0.5").status_code == 200


# ---------------------------------------------------------------------------------------------
# The lockout's count


def _in_parallel(app, attempts: int, attempt) -> list:
    barrier = threading.Barrier(attempts)
    results = []

    def run():
        client = app.test_client()
        barrier.wait()
        results.append(attempt(client))

    threads = [threading.Thread(target=run) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_parallel_wrong_guesses_get_at_most_the_lockout_in_evaluations(app, make, evaluations):
    user = make.user()
    limit = app.config["REGISTRY_LOCKOUT_ATTEMPTS"]
    guesses = 2 * limit + 1

    statuses = _in_parallel(app, guesses, lambda c: login(c, user.username, WRONG).status_code)

    assert statuses == [401] * guesses
    assert len(evaluations) == limit
    stored = fetch(app, User, user.id)
    assert stored.locked_until > datetime.now(UTC) + timedelta(minutes=14)
    reasons = sorted(e.details["reason"] for e in audit_events(app, "auth.login_failed"))
    assert reasons == ["locked"] * (guesses - limit) + ["wrong_password"] * limit
    assert len(audit_events(app, "auth.account_locked")) == 1
    # Locked: the right password is not even checked.
    assert_problem(login(app.test_client(), user.username), 401)
    assert len(evaluations) == limit


def test_the_last_attempt_can_still_succeed_and_unlocks(app, client, make, evaluations):
    user = make.user()
    limit = app.config["REGISTRY_LOCKOUT_ATTEMPTS"]
    for _ in range(limit - 1):
        assert_problem(login(client, user.username, WRONG), 401)

    assert login(client, user.username).status_code == 200

    stored = fetch(app, User, user.id)
    assert (stored.failed_logins, stored.locked_until) == (0, None)
    assert audit_events(app, "auth.account_locked") == []
    assert len(evaluations) == limit


def test_an_attempt_that_dies_midway_still_counts_and_its_lock_ends(app, make, monkeypatch):
    """The count is committed before the password is checked, whatever becomes of the request;
    and a lock taken by a request that then failed ends like any other."""
    user = make.user()
    limit = app.config["REGISTRY_LOCKOUT_ATTEMPTS"]
    client = app.test_client()
    for _ in range(limit - 1):
        assert_problem(login(client, user.username, WRONG), 401)

    def broken(_stored_hash, _secret):
        raise RuntimeError("worker killed mid-check")

    monkeypatch.setattr(passwords, "verify_secret", broken)
    assert login(client, user.username, WRONG).status_code == 500
    monkeypatch.undo()

    assert fetch(app, User, user.id).locked_until > datetime.now(UTC)
    assert_problem(login(client, user.username), 401)
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert login(client, user.username).status_code == 200


def test_password_change_guesses_are_bounded_by_the_lockout_too(app, client, make, evaluations):
    """A stolen fresh token must not let its holder guess the current password without end."""
    user = make.user()
    headers = make.headers(user)
    limit = app.config["REGISTRY_LOCKOUT_ATTEMPTS"]

    def change(current):
        return client.post(
            f"{API}/auth/password",
            json={"current_password": current, "new_password": NEW_PASSWORD},
            headers=headers,
        )

    for _ in range(limit):
        assert_problem(change(WRONG), 422, "current_password")

    assert_problem(change(PASSWORD), 422, "current_password")
    assert len(evaluations) == limit
    assert login(client, user.username).status_code == 401


# ---------------------------------------------------------------------------------------------
# Per address: refusals count, successes do not (issue 13)


def sign_in_with_form(client, username, password=PASSWORD, address="10.0.0.1"):
    form = {"grant_type": "password", "username": username, "password": password}
    return client.post(OAUTH_TOKEN, data=form, environ_base={"REMOTE_ADDR": address})


def test_thirty_people_behind_one_address_all_sign_in(build_app, make):
    """Shift change at a dispatch centre: thirty colleagues, one address, one minute, with a
    per-address limit far below thirty."""
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="5/minute")
    client = limited.test_client()
    shift = [make.user("agency_user", agency=make.agency()) for _ in range(30)]

    statuses = [
        (login if n % 2 else sign_in_with_form)(client, user.username, address="10.5.0.1")
        for n, user in enumerate(shift)
    ]

    assert [s.status_code for s in statuses] == [200] * 30


def test_refusals_across_many_accounts_from_one_address_are_limited(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="5/minute")
    client = limited.test_client()
    users = [make.user() for _ in range(7)]
    # Successes in between spend nothing of the refusal budget.
    assert login(client, users[0].username, address="10.6.0.1").status_code == 200
    for user in users[1:4]:
        assert_problem(login(client, user.username, WRONG, "10.6.0.1"), 401)
    for user in users[4:6]:
        refused = sign_in_with_form(client, user.username, WRONG, "10.6.0.1")
        assert refused.get_json()["error"] == "invalid_grant"

    # Five refusals, each at another account: the sixth attempt is not even checked.
    assert_problem(login(client, users[6].username, address="10.6.0.1"), 429)
    assert_problem(sign_in_with_form(client, users[6].username, address="10.6.0.1"), 429)
    assert login(client, users[6].username, address="10.6.0.2").status_code == 200


def test_requests_refused_before_any_password_check_are_not_refusals(build_app, make):
    """A malformed request checks no password: it spends only the every-attempt budget."""
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    for n in range(3):
        assert_problem(client.post(LOGIN, json={"username": f"someone{n}"}), 422)
        bad_form = client.post(OAUTH_TOKEN, data={"grant_type": "password", "username": f"x{n}"})
        assert bad_form.get_json()["error"] == "invalid_request"

    assert login(client, make.user().username).status_code == 200


def test_guessing_at_one_account_is_still_stopped(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="5/minute")
    client = limited.test_client()
    user = make.user()
    lockout = limited.config["REGISTRY_LOCKOUT_ATTEMPTS"]

    for _ in range(lockout):
        assert_problem(login(client, user.username, WRONG, "10.7.0.1"), 401)

    assert fetch(limited, User, user.id).locked_until is not None
    assert_problem(login(client, user.username, WRONG, "10.7.0.1"), 429)
    # From elsewhere too: the account name's own budget is spent, and the account is locked.
    assert_problem(login(client, user.username, address="10.7.0.2"), 429)


def test_every_attempt_from_one_address_has_a_generous_cap(build_app, make):
    limited = build_app(REGISTRY_LOGIN_ADDRESS_RATE_LIMIT="3/minute")
    client = limited.test_client()
    users = [make.user() for _ in range(4)]
    for user in users[:3]:
        assert login(client, user.username, address="10.8.0.1").status_code == 200

    assert_problem(sign_in_with_form(client, users[3].username, address="10.8.0.1"), 429)
    assert login(client, users[3].username, address="10.8.0.2").status_code == 200


def test_a_malformed_every_attempt_limit_is_refused_at_start(build_app):
    with pytest.raises(ConfigError, match="REGISTRY_LOGIN_ADDRESS_RATE_LIMIT"):
        build_app(REGISTRY_LOGIN_ADDRESS_RATE_LIMIT="plenty")


# ---------------------------------------------------------------------------------------------
# The web console's sign-in page: the same limits, outside /api


def console_sign_in(client, username, password=PASSWORD, address="10.0.0.1"):
    """The console's sign-in form as a browser sends it: its page (the form's token and cookie),
    then the form, from one address."""
    browser = Console(client)
    browser.get(CONSOLE_SIGN_IN_ROUTE, environ_base={"REMOTE_ADDR": address})
    return browser.post(
        CONSOLE_SIGN_IN_ROUTE,
        {"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_console_shares_the_accounts_budget(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    user = make.user("facility_manager", organization=make.organization())

    assert console_sign_in(client, user.username, WRONG, "10.9.0.1").status_code == 401
    assert (
        console_sign_in(client, f" {user.username.upper()}", WRONG, "10.9.0.2").status_code == 401
    )

    refused = console_sign_in(client, user.username, address="10.9.0.3")
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many login attempts" in refused.get_data(as_text=True)
    assert_problem(login(client, user.username, address="10.9.0.4"), 429)
    other = make.user("facility_manager", organization=make.organization())
    assert console_sign_in(client, other.username, address="10.9.0.5").status_code == 302


def test_the_console_counts_refusals_per_address_not_successes(build_app, make):
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="2/minute")
    client = limited.test_client()
    organization = make.organization()
    users = [make.user("facility_manager", organization=organization) for _ in range(6)]
    for user in users[:3]:
        assert console_sign_in(client, user.username, address="10.10.0.1").status_code == 302
    for user in users[3:5]:
        assert console_sign_in(client, user.username, WRONG, "10.10.0.1").status_code == 401

    assert console_sign_in(client, users[5].username, address="10.10.0.1").status_code == 429
    # One budget per address: the API's login from there is refused too.
    assert_problem(login(client, users[5].username, address="10.10.0.1"), 429)
    assert console_sign_in(client, users[5].username, address="10.10.0.2").status_code == 302


@pytest.mark.parametrize("route", ["json", "oauth", "console"])
def test_a_padded_login_spends_the_accounts_budget_like_any_other(build_app, make, route):
    """The per-account limit reads the username from the whole body: a body padded past what it
    once read (4 KiB) spent a new address's budget on every guess instead."""
    limited = build_app(REGISTRY_LOGIN_RATE_LIMIT="3/minute")
    client = limited.test_client()
    user = make.user("facility_manager", organization=make.organization())
    padding = "x" * 5000
    answers = []
    for n in range(5):
        address = f"10.11.0.{n}"
        if route == "json":
            answer = client.post(
                LOGIN,
                data=json.dumps({"username": user.username, "password": WRONG}) + " " * 5000,
                content_type="application/json",
                environ_base={"REMOTE_ADDR": address},
            )
        elif route == "oauth":
            answer = client.post(
                f"{API}/auth/oauth-token",
                data={
                    "grant_type": "password",
                    "username": user.username,
                    "password": WRONG,
                    "scope": padding,
                },
                environ_base={"REMOTE_ADDR": address},
            )
        else:
            browser = Console(client)
            browser.get(CONSOLE_SIGN_IN_ROUTE, environ_base={"REMOTE_ADDR": address})
            answer = browser.post(
                CONSOLE_SIGN_IN_ROUTE,
                {"username": user.username, "password": WRONG, "pad": padding},
                environ_base={"REMOTE_ADDR": address},
            )
        answers.append(answer.status_code)
    assert answers[3:] == [429, 429], answers
    assert fetch(limited, User, user.id).failed_logins == 3  # the two limited ones checked nothing
