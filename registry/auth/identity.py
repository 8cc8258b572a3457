"""Who is calling: from the bearer token to its account to the principal, on every request.

A route asks with `@login_required(*roles, fresh=...)` (or `authenticate()`), then works for
`current_principal()`. The checks, in this order; the first that fails decides the answer:

1. A bearer token is there and verifies: signed with our key, not expired (flask-jwt-extended).
   Its signature is checked once per process (verified_tokens.py), its time on every use. The
   rate limiter asks first, before the view, to count the request against the token's subject
   (`bearer_subject`, no database).
2. It is the right type: an access token, or a refresh token for /auth/refresh only.
3. It is not revoked. One query reads the account row and whether the token's `jti` is listed
   in revoked_tokens (logout). Also revoked: a token without a `jti` or with a malformed
   subject, and one issued before its account's `tokens_valid_after` cut-off (password changed,
   account disabled, role or binding changed; see `_issued_after_cutoff`).
4. Its account exists and is active. The principal is built from the row just read, so a role
   or binding change applies at once.
   Steps 1 to 4 answer 401 ("missing, invalid, expired or revoked").
5. With `fresh=True` (reveals, share grants, admin changes): the token came from a password
   login minutes ago or from a CAD client's credentials, not from a refresh; 401 otherwise.
6. With `roles`: the principal has one of them; 403 otherwise.

What the database decides is never kept from one request to the next: steps 3 and 4 read it
every time, so a revocation, a deactivation or a cut-off applies to the very next request.
Within one request, what was found is kept in `g.identity` (one `RequestIdentity`), because it
is asked for more than once: the limiter wants the token's subject for each of its limits,
flask-jwt-extended asks for revocation and then for the account (one query answers both), and
views ask for the caller.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import current_app, g, request
from flask_jwt_extended import (
    JWTManager,
    decode_token,
    get_current_user,
    get_jwt,
    verify_jwt_in_request,
)
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from sqlalchemy import exists, select

from .. import db, errors
from ..access.roles import Role
from ..api.document import doc
from ..fields import MAX_ID
from .models import CadClient, RevokedToken, User
from .principal import Principal
from .verified_tokens import VerifiedTokens

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_YET = object()  # a question this request has not asked yet (None is an answer)


@dataclass
class RequestIdentity:
    """What this request has learnt about its caller so far (kept on `g.identity`)."""

    bearer_subject: object = _NOT_YET  # str, or None when no bearer token verifies
    account_jti: str | None = None  # the token whose account was read
    account: User | CadClient | None = None
    revoked: bool = False
    principal: Principal | None = None


def _this_request() -> RequestIdentity:
    if "identity" not in g:
        g.identity = RequestIdentity()
    return g.identity


class RegistryJWTManager(JWTManager):
    """flask-jwt-extended, verifying each token once per process (step 1, see
    verified_tokens.py): the limiter and the view of a request, and every request of a CAD client
    with the same token, reuse the verified claims."""

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


def bearer_subject() -> str | None:
    """The subject of the request's bearer token when it verifies (step 1 only), else None.

    For the rate limiter, which must key a request before the view runs: an unverified subject
    would let anyone spend a CAD client's budget. No database: a revoked token still spends its
    subject's budget, and the view refuses it.
    """
    seen = _this_request()
    if seen.bearer_subject is _NOT_YET:
        subject = None
        parts = request.headers.get("Authorization", "").split()
        if len(parts) == 2 and parts[0] == "Bearer":
            try:
                subject = decode_token(parts[1]).get("sub")
            except (JWTExtendedException, PyJWTError):
                subject = None
        seen.bearer_subject = subject if isinstance(subject, str) else None
    return seen.bearer_subject


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


def principal_of(account: User | CadClient) -> Principal:
    if isinstance(account, CadClient):
        return Principal("cad", account.id, "cad", agency_id=account.agency_id)
    return Principal("user", account.id, account.role, account.organization_id, account.agency_id)


def _account_of(claims) -> tuple[User | CadClient | None, bool]:
    """The token's account and whether the token is revoked (step 3), in one round trip.

    flask-jwt-extended asks both questions on every request (blocklist, then user lookup); this
    is the CAD hot path, so the answer is fetched once and kept for the request. A token issued
    before the account's `tokens_valid_after` counts as revoked: that column is on the same row.
    """
    seen = _this_request()
    if seen.account_jti is not None and seen.account_jti == claims.get("jti"):
        return seen.account, seen.revoked
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
    seen.account_jti, seen.account, seen.revoked = claims.get("jti"), account, revoked
    return account, revoked


@jwt.token_in_blocklist_loader
def _is_revoked(_header, claims) -> bool:
    return _account_of(claims)[1]


@jwt.user_lookup_loader
def _load_principal(_header, claims) -> Principal | None:
    # Step 4: the account as read for this request, so deactivation and role changes apply at once.
    account, _ = _account_of(claims)
    if account is None or not account.is_active:
        return None
    return principal_of(account)


def authenticate(refresh: bool = False, fresh: bool = False) -> Principal:
    """Steps 1 to 5 for the request's bearer token (any failure is a 401, never a 422 or 500)."""
    try:
        verify_jwt_in_request(refresh=refresh)
        principal = get_current_user()
    except (JWTExtendedException, PyJWTError):
        raise errors.Unauthorized("The token is missing, invalid, expired or revoked.") from None
    _this_request().principal = principal
    if fresh and not is_fresh():
        raise errors.FreshLoginRequired()
    return principal


def current_principal() -> Principal:
    """The caller `authenticate` found for this request."""
    return g.identity.principal


def is_fresh() -> bool:
    """flask-jwt-extended's `fresh` claim: a boolean, or a timestamp until which it is fresh."""
    fresh = get_jwt().get("fresh", False)
    if isinstance(fresh, bool):
        return fresh
    return isinstance(fresh, int | float) and time.time() < fresh


def login_required(*roles: Role, fresh: bool = False):
    """Require a valid access token (steps 1 to 4), and one of `roles` when given (step 6); with
    `fresh`, a token from a recent password login (step 5: reveals, share grants, admin changes).

    Put it outside `@body`, so anonymous callers learn nothing about the body's shape.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate(fresh=fresh)
            if roles and principal.role not in roles:
                raise errors.Forbidden("Your role may not do this.")
            return view(*args, **kwargs)

        responses = {
            "401": "Missing, invalid, expired or revoked token"
            + (", or not from a fresh login" if fresh else ""),
            "403": f"Only {', '.join(roles)} may do this" if roles else "Not allowed for you",
            "429": "Too many requests from you (see Retry-After)",
        }
        return doc(security="bearer", responses=responses)(wrapper)

    return decorator
