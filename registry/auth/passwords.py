"""Passwords and client secrets: how they are hashed, how strong a password must be, how many
wrong ones in a row lock an account, how a user changes theirs, and accounts created with one.

Hashing is argon2id with RFC 9106's second recommended option (the "low memory" one: t=3,
m=64 MiB, p=4, 16-byte salt, 32-byte hash), named explicitly so a library upgrade cannot change
it silently. About 50 ms per hash here; a login verifies one hash. Hashes made with other
parameters are replaced at the next successful login (`needs_rehash`).

Every password guess, at login (login.py) or when changing a password, is counted against the
account before the password is checked (`take_attempt`), so guesses in parallel get no more
checks than the lockout allows.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask import current_app
from sqlalchemy import case, literal, or_, update
from sqlalchemy.orm import Session

from .. import audit, db, errors
from ..db import utcnow
from .models import CadClient, User
from .principal import Principal

MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
# Verifying against this when the user does not exist keeps login timing the same either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


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


def keep_updated_at(model) -> dict:
    """Values for an UPDATE of a counter or a rehash that leave `updated_at` as it was."""
    # Such UPDATE statements neither bump the row version (the ETag an administrator edits
    # against) nor should they move `updated_at`.
    return {"updated_at": model.updated_at}


@dataclass(frozen=True)
class Attempt:
    """A password attempt counted against an account: its number in the current run of
    attempts without success, and the lock it started when it was the last one allowed."""

    number: int
    locked_until: datetime | None


def take_attempt(account) -> Attempt | None:
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
            **keep_updated_at(User),
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


def record_lock(session: Session, user: User, attempt: Attempt) -> None:
    """The attempt that spent the count failed too: the lock it took stands."""
    audit.record(
        session,
        None,
        "auth.account_locked",
        record=user,
        actor=f"user:{user.id}",
        details={"failed_logins": attempt.number, "locked_until": attempt.locked_until.isoformat()},
    )


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
    attempt = take_attempt(User.id == user.id)
    if attempt is None:
        audit.record(session, principal, "auth.password_change_failed", record=user)
        raise errors.InvalidInput(
            {"current_password": ["Too many wrong passwords in a row; try again later."]}
        ).keeping_changes()
    if not verify_secret(user.password_hash, current_password):
        audit.record(session, principal, "auth.password_change_failed", record=user)
        if attempt.locked_until is not None:
            record_lock(session, user, attempt)
        raise errors.InvalidInput(
            {"current_password": ["This is not your current password."]}
        ).keeping_changes()
    # An UPDATE, not the ORM: the loaded count predates the attempt taken above, so assigning
    # 0 might look like no change and be skipped.
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=0, locked_until=None, **keep_updated_at(User))
    )
    user.password_hash = hash_secret(new_password)
    user.tokens_valid_after = utcnow()
    session.flush()
    audit.record(session, principal, "auth.password_changed", record=user)


def create_user(session: Session, *, password: str, **fields) -> User:
    """A user with a password strong enough (the command line and the demo data; the API goes
    through accounts.UserService)."""
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
