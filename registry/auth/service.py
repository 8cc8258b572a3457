"""Authentication and account management, callable without HTTP."""

import secrets
from datetime import UTC, datetime

from flask import current_app, g
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
)
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from .. import db, errors
from ..fields import MAX_ID
from .models import CadClient, RevokedToken, User
from .passwords import hash_secret, verify_secret
from .principal import Principal

jwt = JWTManager()
MIN_PASSWORD_LENGTH = 12


def principal_of(record: User | CadClient) -> Principal:
    if isinstance(record, CadClient):
        return Principal("cad", record.id, "cad", agency_id=record.agency_id)
    return Principal("user", record.id, record.role, record.organization_id, record.agency_id)


def _account_of(claims) -> tuple[User | CadClient | None, bool]:
    """The token's account and whether the token is revoked, in one round trip.

    flask-jwt-extended asks both questions on every request (blocklist, then user lookup); this
    is the CAD hot path, so the answer is fetched once and kept for the request.
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


def _tokens_for(principal: Principal, with_refresh: bool) -> dict:
    result = {"token_type": "Bearer", "role": principal.role}
    claims = {}
    if with_refresh:
        refresh = create_refresh_token(identity=principal.subject)
        # The access token names its refresh token, so logout can revoke both.
        claims["rjti"] = decode_token(refresh)["jti"]
        result["refresh_token"] = refresh
    result["access_token"] = create_access_token(
        identity=principal.subject, additional_claims=claims
    )
    result["expires_in"] = _access_lifetime_seconds()
    return result


def _access_lifetime_seconds() -> int:
    return int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds())


def login(session: Session, username: str, password: str) -> dict:
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_secret(user.password_hash if user else None, password)
    if not ok or not user.is_active:
        raise errors.Unauthorized("Unknown username or wrong password.")
    return _tokens_for(principal_of(user), with_refresh=True)


def client_token(session: Session, client_id: str, client_secret: str) -> dict:
    client = session.scalar(select(CadClient).where(CadClient.client_id == client_id))
    ok = verify_secret(client.secret_hash if client else None, client_secret)
    if not ok or not client.is_active:
        raise errors.Unauthorized("Unknown client or wrong secret.")
    return _tokens_for(principal_of(client), with_refresh=False)


def refresh(principal: Principal) -> dict:
    """A new access token for the (already verified, re-read) holder of a refresh token."""
    result = {"token_type": "Bearer", "role": principal.role}
    result["access_token"] = create_access_token(
        identity=principal.subject, additional_claims={"rjti": get_jwt()["jti"]}
    )
    result["expires_in"] = _access_lifetime_seconds()
    return result


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


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.InvalidInput(
            {"password": [f"Must be at least {MIN_PASSWORD_LENGTH} characters."]}
        )


def create_user(session: Session, *, password: str, **fields) -> User:
    check_password_strength(password)
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
