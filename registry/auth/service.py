"""Authentication and account management, callable without HTTP."""

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app, g
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
)
from flask_jwt_extended.config import config as jwt_config
from sqlalchemy import case, delete, exists, literal, or_, select, update
from sqlalchemy.orm import Session

from .. import audit, db, errors
from ..db import utcnow
from ..fields import MAX_ID
from .models import CadClient, RevokedToken, User
from .passwords import hash_secret, needs_rehash, verify_secret
from .principal import Principal
from .verified_tokens import VerifiedTokens

MIN_PASSWORD_LENGTH = 12
# One answer for every refused login, so nobody learns which usernames exist or are locked.
LOGIN_REFUSED = "Unknown username or wrong password, or the account is temporarily locked."
CLIENT_REFUSED = "Unknown client or wrong secret."
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RegistryJWTManager(JWTManager):
    """flask-jwt-extended, verifying each token once per process (see verified_tokens.py).

    The rate limiter keys a request by its token's subject before the view runs (ratelimit.py),
    so it verifies the token there: an unverified subject would let anyone spend a CAD client's
    budget. The view then authenticates with the same, already verified, claims.
    """

    def _decode_jwt_from_config(self, encoded_token, csrf_value=None, allow_expired=False):
        reusable = csrf_value is None and not allow_expired
        # One map per app: what verifies a token (key, algorithms) is the app's configuration.
        verified = current_app.extensions.get("registry.verified_tokens")
        if verified is None:
            verified = current_app.extensions["registry.verified_tokens"] = VerifiedTokens()
        # Keyed by the key too: a token is only as good as the key that verified it.
        entry = (jwt_config.decode_key, encoded_token)
        claims = verified.get(entry) if reusable else None
        if claims is None:
            claims = super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired)
            if reusable:
                verified.put(entry, claims)
        # A copy: a caller changing its claims must not change what the next request sees.
        return dict(claims)


jwt = RegistryJWTManager()


@jwt.additional_claims_loader
def _issued_at_microseconds(_identity) -> dict:
    # `iat` has whole seconds, too coarse for the cut-off after a password change (see
    # _issued_after_cutoff).
    return {"iat_us": time.time_ns() // 1000}


def _issued_after_cutoff(claims, cutoff: datetime | None) -> bool:
    """Whether a token was issued after its account's cut-off (`tokens_valid_after`: the password
    changed, the account was disabled or re-bound). Only such tokens are accepted.

    Strictly after: the cut-off is taken when the change is made, so a token from that very
    microsecond may predate it. Tokens carry their issue time in microseconds (`iat_us`), so a
    login in the same second as a password change works while a token from earlier in that second
    is refused. A token with only `iat` (whole seconds, rounded down) may come from any moment of
    its second, so it passes only when that second began after the cut-off.
    """
    if cutoff is None:
        return True
    cutoff_us = (cutoff - EPOCH) // timedelta(microseconds=1)
    issued_us = claims.get("iat_us")
    if type(issued_us) is not int:
        issued_us = int(claims.get("iat", 0)) * 1_000_000
    return issued_us > cutoff_us


def principal_of(record: User | CadClient) -> Principal:
    if isinstance(record, CadClient):
        return Principal("cad", record.id, "cad", agency_id=record.agency_id)
    return Principal("user", record.id, record.role, record.organization_id, record.agency_id)


def _account_of(claims) -> tuple[User | CadClient | None, bool]:
    """The token's account and whether the token is revoked, in one round trip.

    flask-jwt-extended asks both questions on every request (blocklist, then user lookup); this
    is the CAD hot path, so the answer is fetched once and kept for the request. A token issued
    before the account's `tokens_valid_after` counts as revoked: that column is on the same row.
    """
    cached = g.get("token_account")
    if cached is not None and cached[0] == claims.get("jti"):
        return cached[1], cached[2]
    kind, _, raw_id = str(claims.get("sub", "")).partition(":")
    model = {"user": User, "cad": CadClient}.get(kind)
    # ASCII digits only (int() also reads other scripts' digits), no larger than a key can be.
    valid_id = raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10
    if model is None or not valid_id or int(raw_id) > MAX_ID or not claims.get("jti"):
        # Unrevocable tokens (no jti) are refused outright.
        account, revoked = None, True
    else:
        revoked_flag = exists().where(RevokedToken.jti == claims["jti"])
        row = (
            db.session()
            .execute(select(model, revoked_flag.label("revoked")).where(model.id == int(raw_id)))
            .first()
        )
        account, revoked = (row[0], row.revoked) if row else (None, False)
        if account is not None and not _issued_after_cutoff(claims, account.tokens_valid_after):
            revoked = True
    g.token_account = (claims.get("jti"), account, revoked)
    return account, revoked


@jwt.token_in_blocklist_loader
def _is_revoked(_header, claims) -> bool:
    return _account_of(claims)[1]


@jwt.user_lookup_loader
def _load_principal(_header, claims) -> Principal | None:
    # Re-read the account on every request: deactivation and role changes apply at once.
    account, _ = _account_of(claims)
    if account is None or not account.is_active:
        return None
    return principal_of(account)


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


def _keep_updated_at(model) -> dict:
    # Counters and rehashes are written with UPDATE statements, which neither bump the row
    # version (the ETag an administrator edits against) nor should move `updated_at`.
    return {"updated_at": model.updated_at}


def login(session: Session, username: str, password: str) -> dict:
    """Tokens for a user's password; 5 attempts in a row without success
    (REGISTRY_LOCKOUT_ATTEMPTS) lock the account for REGISTRY_LOCKOUT_MINUTES, and a success
    resets the count.

    The attempt is counted before the password is checked (`_take_attempt`), so parallel guesses
    get no more checks than the lockout allows.
    """
    attempt = _take_attempt(User.username == username)
    user = session.scalar(select(User).where(User.username == username))
    # The real hash is checked only for a counted attempt; otherwise the dummy one, so the
    # answer takes as long for unknown, locked and inactive accounts.
    checked = user is not None and attempt is not None and user.is_active
    ok = verify_secret(user.password_hash if checked else None, password)
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
            _record_lock(session, user, attempt)
        raise errors.Unauthorized(LOGIN_REFUSED).keeping_changes()
    changes = {"failed_logins": 0, "locked_until": None}
    if needs_rehash(user.password_hash):
        # The hashing parameters were raised since this hash was made.
        changes["password_hash"] = hash_secret(password)
    session.execute(
        update(User).where(User.id == user.id).values(**changes, **_keep_updated_at(User))
    )
    principal = principal_of(user)
    audit.record(session, principal, "auth.login", record=user)
    return _tokens_for(principal, with_refresh=True)


@dataclass(frozen=True)
class Attempt:
    """A password attempt counted against an account: its number in the current run of
    attempts without success, and the lock it started when it was the last one allowed."""

    number: int
    locked_until: datetime | None


def _take_attempt(account) -> Attempt | None:
    """Count one password attempt at the active user `account` (a WHERE clause), or None when
    the account is locked (or not there): then no password may be checked.

    One conditional UPDATE, committed at once on its own connection, before the slow password
    check: parallel guesses each take their own number, and none is checked once the count is
    spent, where counting after the check let every guess in flight be checked. Committed apart
    from the request, it stands whatever becomes of the request; a success resets it.

    The attempt that spends the count locks the account at once (count back to 0, locked for
    REGISTRY_LOCKOUT_MINUTES): its own check may still succeed, and a success lifts the lock.
    A lock taken by a request that then died ends like any other.
    """
    config = current_app.config
    limit = config["REGISTRY_LOCKOUT_ATTEMPTS"]
    now = utcnow()
    lock_ends = now + timedelta(minutes=config["REGISTRY_LOCKOUT_MINUTES"])
    spends_the_count = User.failed_logins + 1 >= limit
    # Both right-hand sides read the row as it was before this UPDATE (SQL semantics).
    statement = (
        update(User)
        .where(account, User.is_active, or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(
            failed_logins=case((spends_the_count, 0), else_=User.failed_logins + 1),
            locked_until=case(
                (spends_the_count, literal(lock_ends, User.locked_until.type)),
                else_=User.locked_until,
            ),
            **_keep_updated_at(User),
        )
        .returning(User.failed_logins, User.locked_until)
    )
    with db.engine().begin() as connection:
        row = connection.execute(statement).first()
    if row is None:
        return None
    if row.failed_logins == 0:
        return Attempt(limit, row.locked_until)
    return Attempt(row.failed_logins, None)


def _record_lock(session: Session, user: User, attempt: Attempt) -> None:
    """The attempt that spent the count failed too: the lock it took stands."""
    audit.record(
        session,
        None,
        "auth.account_locked",
        record=user,
        actor=f"user:{user.id}",
        details={"failed_logins": attempt.number, "locked_until": attempt.locked_until.isoformat()},
    )


def client_token(session: Session, client_id: str, client_secret: str) -> dict:
    client = session.scalar(select(CadClient).where(CadClient.client_id == client_id))
    ok = verify_secret(client.secret_hash if client else None, client_secret)
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
    if needs_rehash(client.secret_hash):
        session.execute(
            update(CadClient)
            .where(CadClient.id == client.id)
            .values(secret_hash=hash_secret(client_secret), **_keep_updated_at(CadClient))
        )
    return _tokens_for(principal_of(client), with_refresh=False)


def refresh(principal: Principal) -> dict:
    """A new access token for the (already verified, re-read) holder of a refresh token.

    Not fresh: a refresh token proves a login hours ago, not that the person is still there.
    """
    result = {"token_type": "Bearer", "role": principal.role}
    result["access_token"] = issue_access_token(
        principal.subject, fresh=False, claims={"rjti": get_jwt()["jti"]}
    )
    result["expires_in"] = _access_lifetime_seconds()
    return result


def change_password(
    session: Session, principal: Principal, current_password: str, new_password: str
) -> None:
    """A user replaces their own password; every token issued before stops working."""
    if principal.kind != "user":
        raise errors.Forbidden("Only users have passwords; an administrator replaces CAD clients.")
    user = session.get(User, principal.id)
    # The new password is judged first: a refusal for it must not spend an attempt.
    if new_password == current_password:
        raise errors.InvalidInput({"new_password": ["Must differ from the current password."]})
    check_password_strength(new_password, field="new_password", username=user.username)
    # A guess like any other: counted toward the lockout before the check, and traced.
    attempt = _take_attempt(User.id == user.id)
    if attempt is None:
        audit.record(session, principal, "auth.password_change_failed", record=user)
        raise errors.InvalidInput(
            {"current_password": ["Too many wrong passwords in a row; try again later."]}
        ).keeping_changes()
    if not verify_secret(user.password_hash, current_password):
        audit.record(session, principal, "auth.password_change_failed", record=user)
        if attempt.locked_until is not None:
            _record_lock(session, user, attempt)
        raise errors.InvalidInput(
            {"current_password": ["This is not your current password."]}
        ).keeping_changes()
    # An UPDATE, not the ORM: the loaded count predates the attempt taken above, so assigning
    # 0 might look like no change and be skipped.
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=0, locked_until=None, **_keep_updated_at(User))
    )
    user.password_hash = hash_secret(new_password)
    user.tokens_valid_after = utcnow()
    session.flush()
    audit.record(session, principal, "auth.password_changed", record=user)


def logout(session: Session) -> None:
    """Revoke the presented token and the refresh token paired with it."""
    claims = get_jwt()
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


def check_password_strength(
    password: str, field: str = "password", username: str | None = None
) -> None:
    """Length is what makes a password strong (NIST SP 800-63B); one built from the username is
    the first thing a guesser tries."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Must be at least {MIN_PASSWORD_LENGTH} characters.")
    if username and username.casefold() in password.casefold():
        problems.append("Must not contain the username.")
    if problems:
        raise errors.InvalidInput({field: problems})


def create_user(session: Session, *, password: str, **fields) -> User:
    check_password_strength(password, username=fields.get("username"))
    user = User(password_hash=hash_secret(password), **fields)
    session.add(user)
    session.flush()
    return user


def create_cad_client(
    session: Session, secret: str | None = None, **fields
) -> tuple[CadClient, str]:
    """Create a client; the secret is returned once and only its hash is kept."""
    secret = secret or secrets.token_urlsafe(32)
    client = CadClient(secret_hash=hash_secret(secret), **fields)
    session.add(client)
    session.flush()
    return client, secret
