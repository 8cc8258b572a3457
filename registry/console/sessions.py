"""Who is signed in to the web console: a server-side session behind an HttpOnly cookie.

Signing in checks the password exactly as the API's login does (auth.login.check_password:
lockout, argon2, audit), then stores a session row; the cookie carries only a random token,
the row its SHA-256. On every request, in this order:

1. the cookie names a session row that has not expired: idle for less than
   REGISTRY_CONSOLE_IDLE_MINUTES, younger than REGISTRY_CONSOLE_SESSION_HOURS;
2. its user is active, and the session began after the user's cut-off (`tokens_valid_after`:
   a password change, deactivation or role change ends sessions as it ends tokens);
3. a form (any POST) carries the session's CSRF token (`csrf_token`), compared in constant time,
   and comes from this site (an `Origin` header, when the browser sends one, is ours).

Sensitive actions (revealing a code, MOU changes) want the password given within
REGISTRY_FRESH_LOGIN_MINUTES, as the API wants a fresh token: `confirm_password` re-checks it.
What the database decides is read on every request, as for bearer tokens, so signing out or
deactivating an account applies to the very next request.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, request
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from .. import audit, errors
from ..auth import login
from ..auth.models import User
from ..auth.principal import Principal
from ..db import utcnow
from .models import ConsoleSession

# How often a session's last request is written down (not on every page: a write per click).
SEEN_EVERY = timedelta(seconds=60)
PASSWORD_AGAIN = "Enter your password again to do this."


@dataclass(frozen=True)
class SignedIn:
    """The person behind this request's console session."""

    session_id: int
    principal: Principal
    username: str
    full_name: str | None
    csrf_token: str
    password_at: datetime

    @property
    def is_fresh(self) -> bool:
        window = timedelta(minutes=current_app.config["REGISTRY_FRESH_LOGIN_MINUTES"])
        return utcnow() < self.password_at + window


def cookie_name() -> str:
    # The __Host- prefix makes browsers refuse the cookie unless it is Secure, for this host
    # only and path /: no subdomain can plant one. Plain HTTP in development cannot use it.
    production = current_app.config["REGISTRY_ENV"] == "production"
    return "__Host-registry_console" if production else "registry_console"


def cookie_options() -> dict:
    return {
        "httponly": True,
        "samesite": "Lax",  # sent on links into the console, never on another site's forms
        "secure": current_app.config["REGISTRY_ENV"] == "production",
        "path": "/",
    }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetimes() -> tuple[timedelta, timedelta]:
    config = current_app.config
    return (
        timedelta(minutes=config["REGISTRY_CONSOLE_IDLE_MINUTES"]),
        timedelta(hours=config["REGISTRY_CONSOLE_SESSION_HOURS"]),
    )


def sign_in(session: Session, username: str, password: str) -> str:
    """Check the password (the API login's rules and audit) and open a session; the cookie's
    token. Raises errors.Unauthorized(login.LOGIN_REFUSED) when the password is refused."""
    principal = login.check_password(session, username, password, via="console")
    now = utcnow()
    idle, longest = _lifetimes()
    # Expired sessions go when anyone signs in: the table holds live ones and a few stale ones.
    session.execute(
        delete(ConsoleSession).where(
            or_(ConsoleSession.expires_at <= now, ConsoleSession.last_seen_at <= now - idle)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_digest(token),
            user_id=principal.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            password_at=now,
            last_seen_at=now,
            expires_at=now + longest,
        )
    )
    return token


def current(session: Session) -> SignedIn | None:
    """Steps 1 and 2 for this request's cookie: who is signed in, or None."""
    token = request.cookies.get(cookie_name())
    if not token or len(token) > 100:
        return None
    now = utcnow()
    idle, _ = _lifetimes()
    row = session.execute(
        select(ConsoleSession, User)
        .join(User, User.id == ConsoleSession.user_id)
        .where(
            ConsoleSession.token_hash == _digest(token),
            ConsoleSession.expires_at > now,
            ConsoleSession.last_seen_at > now - idle,
        )
    ).first()
    if row is None:
        return None
    console_session, user = row
    cutoff = user.tokens_valid_after
    if not user.is_active or (cutoff is not None and console_session.created_at <= cutoff):
        return None
    if now - console_session.last_seen_at > SEEN_EVERY:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == console_session.id)
            .values(last_seen_at=now)
        )
    principal = Principal("user", user.id, user.role, user.organization_id, user.agency_id)
    return SignedIn(
        console_session.id,
        principal,
        user.username,
        user.full_name,
        console_session.csrf_token,
        console_session.password_at,
    )


def sign_out(session: Session, signed_in: SignedIn) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.id == signed_in.session_id))
    audit.record(session, signed_in.principal, "auth.logout", details={"via": "console"})


def confirm_password(
    session: Session, signed_in: SignedIn, password: str | None, field: str = "password"
) -> None:
    """Step for sensitive actions: fine when the password was given within the fresh-login
    window; else `password` (asked for again on the form, in the box `field`) must be right,
    and renews it. `field` names that box where "password" is taken by the form's own field
    (an administrator setting another person's password).

    A wrong one counts towards the lockout like any login (check_password)."""
    if signed_in.is_fresh:
        return
    if not password:
        raise errors.InvalidInput({field: [PASSWORD_AGAIN]})
    try:
        login.check_password(session, signed_in.username, password, via="console")
    except errors.Unauthorized:
        # Raised again as a field's error, still keeping the failed attempt's count and event.
        raise errors.InvalidInput(
            {field: ["That is not your password (or the account is locked)."]}
        ).keeping_changes() from None
    session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.id == signed_in.session_id)
        .values(password_at=utcnow())
    )


def check_form(signed_in: SignedIn | None, sent_token: str | None, expected: str | None) -> None:
    """Step 3: a POST carries the form's token and comes from this site; 403 otherwise.

    `expected` is the session's token, or for the sign-in form (no session yet) the token of
    the sign-in cookie (a double-submit check, so no other site can sign a browser in)."""
    if not same_origin():
        raise errors.Forbidden("This form was sent from another site.")
    if not expected or not sent_token or not hmac.compare_digest(sent_token, expected):
        raise errors.Forbidden(
            "This form has expired or did not come from this site; reload the page and send it "
            "again."
        )


def same_origin() -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        # Browsers send Origin on every form POST; without one (an older client) the token
        # check alone decides. "null" (a sandboxed frame, a page under no-referrer) is refused:
        # the console's pages send Referrer-Policy same-origin, so its own forms never say it.
        return True
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == request.host_url.rstrip("/")
