"""Logging in and out: tokens for a password or a client secret, refresh, logout.

Every refusal is one answer that names nothing (`LOGIN_REFUSED`, `CLIENT_REFUSED`) and is kept
in the audit trail with its reason. A password attempt is counted against the account before
the password is checked (passwords.take_attempt), so guesses in parallel get no more checks than
the lockout allows. What a token is checked for on later requests is identity.py's job.
"""

from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .. import audit, errors
from . import passwords
from .identity import current_claims, principal_of
from .models import CadClient, RevokedToken, User
from .principal import Principal

# One answer for every refused login, so nobody learns which usernames exist or are locked.
LOGIN_REFUSED = "Unknown username or wrong password, or the account is temporarily locked."
CLIENT_REFUSED = "Unknown client or wrong secret."


def issue_access_token(subject: str, fresh: bool, claims: dict | None = None) -> str:
    """An access token; `fresh` ones (from presented credentials) allow sensitive actions for
    REGISTRY_FRESH_LOGIN_MINUTES. A CAD client's token is fresh for its whole life: the client
    presents its secret for every token, and a reveal at minute 12 of an attack must not fail."""
    window = timedelta(minutes=current_app.config["REGISTRY_FRESH_LOGIN_MINUTES"])
    if fresh and subject.startswith("cad:"):
        window = True
    return create_access_token(
        identity=subject, fresh=window if fresh else False, additional_claims=claims
    )


def _tokens_for(principal: Principal, with_refresh: bool) -> dict:
    """Tokens for credentials presented just now (password or client secret): fresh."""
    result = {"token_type": "Bearer", "role": principal.role}
    claims = {}
    if with_refresh:
        refresh = create_refresh_token(identity=principal.subject)
        # The access token names its refresh token, so logout can revoke both.
        claims["rjti"] = decode_token(refresh)["jti"]
        result["refresh_token"] = refresh
    result["access_token"] = issue_access_token(principal.subject, fresh=True, claims=claims)
    result["expires_in"] = _access_lifetime_seconds()
    return result


def _access_lifetime_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def login(
    session: Session,
    username: str,
    password: str,
    with_refresh: bool = True,
    via: str | None = None,
) -> dict:
    """Tokens for a user's password (see `check_password`). `with_refresh=False`: the access
    token alone (the OAuth2 form, oauth.py)."""
    principal = check_password(session, username, password, via)
    return _tokens_for(principal, with_refresh=with_refresh)


def check_password(
    session: Session, username: str, password: str, via: str | None = None
) -> Principal:
    """The principal of a user whose password is right: the API's login, its OAuth2 form
    (`via="oauth2"`) and the web console's sign-in (`via="console"`; `via` is noted on the audit
    event) all ask here.

    5 attempts in a row without success (REGISTRY_LOCKOUT_ATTEMPTS) lock the account for
    REGISTRY_LOCKOUT_MINUTES, and a success resets the count. The attempt is counted before the
    password is checked (`take_attempt`), so parallel guesses get no more checks than the lockout
    allows. Every refusal is Unauthorized(LOGIN_REFUSED), kept in the audit trail.
    """
    attempt = passwords.take_attempt(User.username == username)
    user = session.scalar(select(User).where(User.username == username))
    # The real hash is checked only for a counted attempt; otherwise the dummy one, so the
    # answer takes as long for unknown, locked and inactive accounts.
    checked = user is not None and attempt is not None and user.is_active
    ok = passwords.verify_secret(user.password_hash if checked else None, password)
    if user is None:
        # The submitted name is not kept (people paste passwords into it), only its length.
        audit.record(
            session,
            None,
            "auth.login_failed",
            details={"reason": "unknown_username", "username_length": len(username)},
        )
        raise errors.Unauthorized(LOGIN_REFUSED).keeping_changes()
    if not user.is_active:
        reason = "inactive"
    elif attempt is None:
        reason = "locked"  # even the right password: the lock is what stops guessing
    elif not ok:
        reason = "wrong_password"
    else:
        reason = None
    if reason is not None:
        audit.record(
            session,
            None,
            "auth.login_failed",
            record=user,
            actor=f"user:{user.id}",
            details={"reason": reason},
        )
        if reason == "wrong_password" and attempt.locked_until is not None:
            passwords.record_lock(session, user, attempt)
        raise errors.Unauthorized(LOGIN_REFUSED).keeping_changes()
    changes = {"failed_logins": 0, "locked_until": None}
    if passwords.needs_rehash(user.password_hash):
        # The hashing parameters were raised since this hash was made.
        changes["password_hash"] = passwords.hash_secret(password)
    session.execute(
        update(User).where(User.id == user.id).values(**changes, **passwords.keep_updated_at(User))
    )
    principal = principal_of(user)
    details = {"via": via} if via else None
    audit.record(session, principal, "auth.login", record=user, details=details)
    return principal


def client_token(session: Session, client_id: str, client_secret: str) -> dict:
    """A fresh access token for a CAD client's secret (no refresh token: it asks again)."""
    client = session.scalar(select(CadClient).where(CadClient.client_id == client_id))
    ok = passwords.verify_secret(client.secret_hash if client else None, client_secret)
    if not ok or not client.is_active:
        if client is None:
            actor, details = None, {"reason": "unknown_client", "client_id_length": len(client_id)}
        else:
            actor = f"cad:{client.id}"
            details = {"reason": "wrong_secret" if not ok else "inactive"}
        audit.record(
            session,
            None,
            "auth.client_token_failed",
            record=client,
            actor=actor,
            details=details,
        )
        raise errors.Unauthorized(CLIENT_REFUSED).keeping_changes()
    if passwords.needs_rehash(client.secret_hash):
        session.execute(
            update(CadClient)
            .where(CadClient.id == client.id)
            .values(
                secret_hash=passwords.hash_secret(client_secret),
                **passwords.keep_updated_at(CadClient),
            )
        )
    return _tokens_for(principal_of(client), with_refresh=False)


def refresh(principal: Principal) -> dict:
    """A new access token for the (already verified, re-read) holder of a refresh token.

    Not fresh: a refresh token proves a login hours ago, not that the person is still there.
    """
    result = {"token_type": "Bearer", "role": principal.role}
    result["access_token"] = issue_access_token(
        principal.subject, fresh=False, claims={"rjti": current_claims()["jti"]}
    )
    result["expires_in"] = _access_lifetime_seconds()
    return result


def logout(session: Session) -> None:
    """Revoke the presented token and the refresh token paired with it."""
    claims = current_claims()
    revoke = {claims["jti"]: datetime.fromtimestamp(claims["exp"], UTC)}
    if claims.get("rjti"):
        # The refresh token outlives this access token. It was issued before now, so it expires
        # no later than now + its lifetime; keep the revocation until then.
        refresh_lifetime = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
        revoke.setdefault(claims["rjti"], datetime.now(UTC) + refresh_lifetime)
    for jti, expires_at in revoke.items():
        if session.get(RevokedToken, jti) is None:
            session.add(RevokedToken(jti=jti, expires_at=expires_at))
    # Keep the table small: rows for tokens that expired on their own are useless.
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at < datetime.now(UTC)))
    session.flush()
