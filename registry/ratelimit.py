"""Rate limits: a budget per client for the whole API, and budgets for password
and client-secret attempts:

| budget | counts | setting |
| --- | --- | --- |
| per address | refused attempts only | REGISTRY_LOGIN_RATE_LIMIT |
| per address | every attempt | REGISTRY_LOGIN_ADDRESS_RATE_LIMIT |
| per account name (passwords only) | every attempt | REGISTRY_LOGIN_RATE_LIMIT |

A dispatch centre or precinct behind one address, thirty people signing in at shift change, must
not lock itself out: its successes are not counted against the address, only its refusals (an
address spraying guesses across many accounts is still stopped). Guessing at one account meets
the per-account-name budget and the account's own lockout (auth/passwords.py). The generous
every-attempt budget bounds the password hashing (~50 ms of CPU and 64 MiB each) one address can
ask for, and the refusals that arrive together: a refusal is counted once it is answered, so
parallel guesses pass the refusal budget's check before any of them is counted.

A refusal is a 401 (the JSON login, CAD client tokens, the console's sign-in) or the OAuth2
form's 400 invalid_grant (auth/oauth.py).

Counters live in REGISTRY_RATELIMIT_STORAGE_URI: `memory://` counts in each process (every
gunicorn worker separately), `redis://…` shares them between workers and machines. A storage
outage lets requests through and is logged: dispatch must not stop because Redis did.
A breach is a 429 problem with Retry-After (errors.problem_response). Health checks are exempt:
they are outside /api; so are requests that name no route (a 404 or 405).

The budgets below (BUDGETS) are spent in plain calls over the `limits` library, the counters
Flask-Limiter itself uses. Flask-Limiter was dropped: it re-parsed, re-filtered and re-keyed its
limits on every request, some 650 Python calls, a quarter of an authenticated request's; here a
CAD client's GET spends one parsed budget with one counter hit.
"""

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from limits import parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from marshmallow import ValidationError

from .api.router import API_PREFIX
from .auth import identity
from .auth.schemas import LoginSchema
from .config import ConfigError
from .errors import TooManyRequests

# The routes that check a password or a client secret. The JSON login reads the username from
# the JSON body; the OAuth2 form (auth/oauth.py) and the web console's sign-in page read it from
# their form's `username` field. The console's page must answer a refused password with 401, or
# the per-address refusal budget does not see it.
LOGIN_ROUTE = f"{API_PREFIX}/auth/login"
OAUTH_TOKEN_ROUTE = f"{API_PREFIX}/auth/oauth-token"
CONSOLE_SIGN_IN_ROUTE = "/console/sign-in"
PASSWORD_ROUTES = (LOGIN_ROUTE, OAUTH_TOKEN_ROUTE, CONSOLE_SIGN_IN_ROUTE)
CREDENTIAL_ROUTES = (*PASSWORD_ROUTES, f"{API_PREFIX}/auth/token")
_USERNAME = LoginSchema().fields["username"]


def address_key() -> str:
    # Behind a reverse proxy this is the proxy unless werkzeug's ProxyFix is configured.
    return f"address:{request.remote_addr or 'unknown'}"


def client_key() -> str:
    """The token's subject when the request carries a valid token, the person signed in to a
    web console page (budgets spent by its views: printed PDFs), else the address.

    The token is verified (a forged subject must not spend another client's budget), once for
    the request: the view that authenticates it later decodes nothing again (auth.identity).
    """
    signed_in = g.get("console")  # set by console.web.page once the session is checked
    if signed_in is not None:
        return f"subject:{signed_in.principal.subject}"
    subject = identity.bearer_subject()
    return f"subject:{subject}" if subject is not None else address_key()


def account_name_key() -> str:
    """The username being tried, as an HMAC: the counter's key in the storage names nobody, and
    keeps nothing of a password pasted into the username field.

    The name is read through the login's own username field (trimmed, as the account lookup
    sees it), so a name padded with spaces or tabs spends the plain name's budget. It is
    case-folded on top: the lookup is exact, so folding only joins names of different accounts
    (a stricter limit), never splits one account's attempts.
    """
    name = _username_tried()
    try:
        name = _USERNAME.deserialize(name) if isinstance(name, str) else None
    except ValidationError:
        name = None  # the login refuses it (422) without checking any password
    if name is None:
        return address_key()
    secret = current_app.config["SECRET_KEY"].encode()
    # surrogatepass: a lone surrogate (valid JSON) must not break the key, or the check is skipped.
    name_bytes = name.casefold().encode("utf-8", "surrogatepass")
    digest = hmac.new(secret, name_bytes, hashlib.sha256).hexdigest()
    return f"account:{digest[:32]}"


def _username_tried():
    """The username field of a password login as sent (None when it has none).

    Read from the whole body, however large (Flask's MAX_CONTENT_LENGTH bounds it), and parsed
    once: the view reads the same parsed body, so the name counted here is the name whose
    password is checked. (A body padded past a smaller cap here once escaped this limit.)"""
    if request.path == LOGIN_ROUTE:
        payload = request.get_json(silent=True)
        return payload.get("username") if isinstance(payload, dict) else None
    return request.form.get("username")


def _refused(response) -> bool:
    """Whether a credential route's answer refused the password or secret (see the module's
    docstring); only these spend the per-address refusal budget."""
    if response.status_code == 401:
        return True
    if request.path == OAUTH_TOKEN_ROUTE and response.status_code == 400:
        body = response.get_json(silent=True)
        return isinstance(body, dict) and body.get("error") == "invalid_grant"
    return False


def _in_api() -> bool:
    # Routed requests only, as Flask-Limiter counted them: a CAD client's mistyped URL (404) or
    # wrong method (405) must not spend its dispatch centre's budget.
    return request.endpoint is not None and request.path.startswith("/api/")


def _credentials() -> bool:
    return request.method == "POST" and request.path in CREDENTIAL_ROUTES


def _password_login() -> bool:
    # Per account name for people only: a CAD client's id is no secret, and counting attempts
    # at it would let anyone lock dispatch out of its tokens; its secret is 32 random bytes.
    return request.method == "POST" and request.path in PASSWORD_ROUTES


def _is_cad() -> bool:
    return client_key().startswith("subject:cad:")


@dataclass(frozen=True)
class Budget:
    """One budget of the table in the module's docstring: when it applies to a request, whose
    counter it spends (`key`), and whether every request counts or only refused ones."""

    setting: str
    scope: str
    applies: Callable[[], bool]
    key: Callable[[], str]
    message: str
    refusals_only: bool = False


TOO_MANY_ATTEMPTS = "Too many login attempts; wait before trying again (see Retry-After)."

BUDGETS = (
    # Budgets span every route (one counter per scope and key, not one per route).
    Budget(
        "REGISTRY_RATE_LIMIT",
        "api",
        lambda: _in_api() and not _is_cad(),
        client_key,
        "Too many requests; slow down (see Retry-After).",
    ),
    # A CAD client speaks for a whole dispatch centre during an attack: its own, larger
    # budget, there to stop a leaked token from flooding the service, not dispatch.
    Budget(
        "REGISTRY_CAD_RATE_LIMIT",
        "api-cad",
        lambda: _in_api() and _is_cad(),
        client_key,
        "Too many requests from this CAD client (see Retry-After).",
    ),
    # Both per address also on the console's sign-in page, outside /api.
    Budget(
        "REGISTRY_LOGIN_RATE_LIMIT",
        "refused-credentials-by-address",
        _credentials,
        address_key,
        TOO_MANY_ATTEMPTS,
        refusals_only=True,
    ),
    Budget(
        "REGISTRY_LOGIN_ADDRESS_RATE_LIMIT",
        "credentials-by-address",
        _credentials,
        address_key,
        TOO_MANY_ATTEMPTS,
    ),
    Budget(
        "REGISTRY_LOGIN_RATE_LIMIT",
        "credentials-by-account",
        _password_login,
        account_name_key,
        TOO_MANY_ATTEMPTS,
    ),
)

# Every setting read here, checked at start.
SETTINGS = (
    *dict.fromkeys(b.setting for b in BUDGETS),
    "REGISTRY_PDF_RATE_LIMIT",
    "REGISTRY_PACK_RATE_LIMIT",
)


class Limiter:
    """The app's counters (the `limits` library's fixed window: one counter per key and window,
    the cheapest on the CAD path), with every budget's limit string parsed once.

    A counter is named by `identifiers`. The request budgets' are the prefix, the key and the
    scope, and the PDF and pack budgets' the prefix, the scope and the key, as Flask-Limiter
    named them before: a rolling upgrade on a shared Redis keeps counting the same counters."""

    def __init__(self, app: Flask):
        config = app.config
        self.prefix = config["REGISTRY_RATELIMIT_KEY_PREFIX"]
        # wrap_exceptions: an outage is a StorageError, told apart from a bug.
        self.storage = storage_from_string(
            config["REGISTRY_RATELIMIT_STORAGE_URI"], wrap_exceptions=True
        )
        self.counter = FixedWindowRateLimiter(self.storage)
        self.items = {name: _parsed(config, name) for name in SETTINGS}

    def request_identifiers(self, budget: Budget, key: str) -> tuple[str, ...]:
        # Flask-Limiter left an empty prefix out.
        return (self.prefix, key, budget.scope) if self.prefix else (key, budget.scope)

    def spend(self, setting: str, identifiers: tuple[str, ...], message: str) -> None:
        """Count one request against the budget `setting`; TooManyRequests, with Retry-After,
        once one of its windows is full."""
        for item in self.items[setting]:
            if not self.counter.hit(item, *identifiers):
                raise TooManyRequests(message, self._seconds_left(item, identifiers))

    def check(self, setting: str, identifiers: tuple[str, ...], message: str) -> None:
        """`spend` without counting: for a budget counted once the answer is known."""
        for item in self.items[setting]:
            if not self.counter.test(item, *identifiers):
                raise TooManyRequests(message, self._seconds_left(item, identifiers))

    def count(self, setting: str, identifiers: tuple[str, ...]) -> None:
        for item in self.items[setting]:
            self.counter.hit(item, *identifiers)

    def _seconds_left(self, item, identifiers) -> int:
        """Retry-After: when the full window ends."""
        reset_at = self.counter.get_window_stats(item, *identifiers).reset_time
        return math.ceil(reset_at - time.time())


def _parsed(config, name: str):
    try:
        return tuple(parse_many(config[name]))
    except ValueError:
        raise ConfigError(f"{name} must read like 1200/minute, not {config[name]!r}") from None


def register_rate_limits(app: Flask) -> Limiter:
    """Count every request against the budgets that apply to it, before any view runs, and the
    refused credential attempts once their answer is known."""
    limiter = Limiter(app)
    if app.config["REGISTRY_ENV"] == "production" and app.config[
        "REGISTRY_RATELIMIT_STORAGE_URI"
    ].startswith("memory://"):
        app.logger.warning(
            "rate limits are counted per worker process; set REGISTRY_RATELIMIT_STORAGE_URI "
            "to a redis:// URL to share them"
        )
    app.extensions["registry.limiter"] = limiter
    app.before_request(spend_request_budgets)
    app.after_request(count_refusal)
    return limiter


def spend_request_budgets() -> None:
    """Before the view: spend every budget that applies to this request (a CAD GET spends
    one). A budget of refusals is only checked here; `count_refusal` counts it."""
    limiter = current_app.extensions["registry.limiter"]
    g.refusal_budgets = []
    try:
        for budget in BUDGETS:
            if not budget.applies():
                continue
            spent = (budget.setting, limiter.request_identifiers(budget, budget.key()))
            if budget.refusals_only:
                limiter.check(*spent, budget.message)
                g.refusal_budgets.append(spent)
            else:
                limiter.spend(*spent, budget.message)
    except StorageError:  # requests go on (see the module's docstring)
        current_app.logger.exception("the rate limits could not be counted; going ahead")


def count_refusal(response):
    """After a credential route's answer: a refusal spends the per-address refusal budget."""
    held = g.get("refusal_budgets")
    if held and _refused(response):
        limiter = current_app.extensions["registry.limiter"]
        try:
            for spent in held:
                limiter.count(*spent)
        except StorageError:
            current_app.logger.exception("a refused attempt could not be counted")
    return response


def spend_pdf_budget() -> None:
    """Count a printed pre-plan as PDF against the caller's own budget (REGISTRY_PDF_RATE_LIMIT,
    per client_key); TooManyRequests once it is spent.

    A PDF costs a worker about 0.1 s of CPU, a hundred JSON answers' worth: under the general
    budget alone one client could keep every worker printing while dispatch waits. The view
    calls this once it knows the answer is a PDF (the limiter's own hooks run before the view
    has read Accept).
    """
    _spend(
        "REGISTRY_PDF_RATE_LIMIT",
        "pdf",
        "Too many printed pre-plans as PDF; wait, or print the HTML page (see Retry-After).",
    )


def spend_pack_budget() -> None:
    """Count an offline pack against the caller's own budget (REGISTRY_PACK_RATE_LIMIT, per
    client_key); TooManyRequests once it is spent.

    A pack reads every pre-plan its agency sees and streams every floor plan they list: one
    holds a worker for seconds to minutes. An agency needs a few a day, not a loop of them. The
    view calls this once the request is known to be good (a refused one spends nothing).
    """
    _spend(
        "REGISTRY_PACK_RATE_LIMIT",
        "pack",
        "Too many offline packs for now; wait before the next one (see Retry-After).",
    )


def _spend(setting: str, scope: str, message: str) -> None:
    """Spend one from the caller's budget named by `setting`. Like the request budgets, a
    storage outage lets the request through (logged)."""
    limiter = current_app.extensions["registry.limiter"]
    try:
        limiter.spend(setting, (limiter.prefix, scope, client_key()), message)
    except StorageError:
        current_app.logger.exception("the %s budget could not be counted; going ahead", scope)
