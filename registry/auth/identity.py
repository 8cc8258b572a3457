"""Who is calling: from the bearer token to its account to the principal, on every request.

A route asks with `@login_required(*roles, fresh=...)` (or `authenticate()`), then works for
`current_principal()`. The checks, in this order; the first that fails decides the answer:

1. An `Authorization: Bearer <token>` header is there and the token verifies: signed with our
   key, not expired, not before its `nbf` (PyJWT through flask-jwt-extended's `decode_token`).
   Its signature is checked once per process (verified_tokens.py), its time on every use. The
   rate limiter asks first, before the view, to count the request against the token's subject
   (`bearer_subject`, no database).
2. It is the right type: an access token, or a refresh token for /auth/refresh only.
3. It is not revoked. One query reads the account's columns and whether the token's `jti` is
   listed in revoked_tokens (logout). Also revoked: a token without a `jti` or with a malformed
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
Within one request, what was found is kept in `g.identity` (one `RequestIdentity`): the limiter
and the view both want the token's claims, and views ask for the caller.

flask-jwt-extended issues the tokens (login.py) and decodes them; the checks above are made here
in plain calls rather than through its request decorators and loader callbacks, which also
decoded every token's header and walked several layers per request on the CAD hot path.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, wraps

from flask import current_app, g, request
from flask_jwt_extended import JWTManager, decode_token
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from sqlalchemy import bindparam, exists, literal, select

from .. import db, errors
from ..access.roles import Role
from ..api.document import ACCESS_TOKEN, doc
from ..fields import MAX_ID
from .models import CadClient, RevokedToken, User
from .principal import Principal
from .verified_tokens import VerifiedTokens

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NOT_YET = object()  # a question this request has not asked yet (None is an answer)
UNAUTHORIZED = "The token is missing, invalid, expired or revoked."


@dataclass
class RequestIdentity:
    """What this request has learnt about its caller so far (kept on `g.identity`)."""

    claims: object = _NOT_YET  # dict, or None when no bearer token verifies (step 1)
    principal: Principal | None = None


def _this_request() -> RequestIdentity:
    if "identity" not in g:
        g.identity = RequestIdentity()
    return g.identity


# Issues tokens (login.py) and decodes them (step 1); configured from JWT_* in config.py.
jwt = JWTManager()


@jwt.additional_claims_loader
def _issued_at_microseconds(_identity) -> dict:
    # `iat` has whole seconds, too coarse for the cut-off after a password change (see
    # _issued_after_cutoff).
    return {"iat_us": time.time_ns() // 1000}


def _bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, as flask-jwt-extended reads it
    (one Bearer credential among comma-separated ones), or None."""
    header = request.headers.get("Authorization", "").strip().strip(",")
    credentials = [c.split() for c in header.split(",")]
    bearer = [parts for parts in credentials if parts and parts[0] == "Bearer"]
    if len(bearer) != 1 or len(bearer[0]) != 2:
        return None
    return bearer[0][1]


def _verified(token: str) -> dict | None:
    """Step 1 for one token: its claims when it verifies, else None."""
    # One map per app: what verifies a token (key, algorithms) is the app's configuration.
    verified = current_app.extensions.get("registry.verified_tokens")
    if verified is None:
        verified = current_app.extensions["registry.verified_tokens"] = VerifiedTokens()
    # Keyed by the key too: a token is only as good as the key that verified it.
    entry = (jwt_config.decode_key, token)
    claims = verified.get(entry)
    if claims is None:
        try:
            claims = decode_token(token)
        except (JWTExtendedException, PyJWTError):
            return None
        verified.put(entry, claims)
    return claims


def request_claims() -> dict | None:
    """The claims of the request's bearer token when it verifies (step 1), else None. A copy
    per request: a caller changing them must not change what the next request sees."""
    seen = _this_request()
    if seen.claims is _NOT_YET:
        token = _bearer_token()
        claims = _verified(token) if token is not None else None
        seen.claims = dict(claims) if claims is not None else None
    return seen.claims


def bearer_subject() -> str | None:
    """The subject of the request's bearer token when it verifies (step 1 only), else None.

    For the rate limiter, which must key a request before the view runs: an unverified subject
    would let anyone spend a CAD client's budget. No database: a revoked token still spends its
    subject's budget, and the view refuses it.
    """
    claims = request_claims()
    subject = claims.get("sub") if claims is not None else None
    return subject if isinstance(subject, str) else None


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


@lru_cache(maxsize=2)
def _account_statement(model):
    """Step 3 and 4's one query (built once per account kind): the account's columns a principal
    needs, and whether the token's `jti` is revoked. Columns, not the mapped object: nothing in
    the request needs the ORM's copy."""
    revoked = exists().where(RevokedToken.jti == bindparam("jti")).label("revoked")
    if model is CadClient:
        role, organization_id = literal("cad"), literal(None)
    else:
        role, organization_id = User.role, User.organization_id
    return select(
        model.id,
        role.label("role"),
        organization_id.label("organization_id"),
        model.agency_id,
        model.is_active,
        model.tokens_valid_after,
        revoked,
    ).where(model.id == bindparam("account_id"))


def _principal_for(claims: dict) -> Principal | None:
    """Steps 3 and 4: the principal of a verified token's account, or None when the token is
    revoked or its account is gone or inactive. Unrevocable tokens (no `jti`) are refused."""
    kind, _, raw_id = str(claims.get("sub", "")).partition(":")
    model = {"user": User, "cad": CadClient}.get(kind)
    # ASCII digits only (int() also reads other scripts' digits), no larger than a key can be.
    valid_id = raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10
    jti = claims.get("jti")
    if model is None or not valid_id or int(raw_id) > MAX_ID or not jti or not isinstance(jti, str):
        return None
    parameters = {"jti": jti, "account_id": int(raw_id)}
    row = db.first_row(db.session().connection(), _account_statement(model), parameters)
    if row is None or row.revoked or not row.is_active:
        return None
    if not _issued_after_cutoff(claims, row.tokens_valid_after):
        return None
    return Principal(kind, row.id, row.role, row.organization_id, row.agency_id)


def authenticate(refresh: bool = False, fresh: bool = False) -> Principal:
    """Steps 1 to 5 for the request's bearer token (any failure is a 401, never a 422 or 500)."""
    claims = request_claims()
    wanted_type = "refresh" if refresh else "access"
    if claims is None or claims.get("type") != wanted_type:
        raise errors.Unauthorized(UNAUTHORIZED)
    principal = _principal_for(claims)
    if principal is None:
        raise errors.Unauthorized(UNAUTHORIZED)
    _this_request().principal = principal
    if fresh and not is_fresh():
        raise errors.FreshLoginRequired()
    return principal


def current_principal() -> Principal:
    """The caller `authenticate` found for this request."""
    return g.identity.principal


def current_claims() -> dict:
    """The claims of the token `authenticate` accepted for this request."""
    return g.identity.claims


def is_fresh() -> bool:
    """flask-jwt-extended's `fresh` claim: a boolean, or a timestamp until which it is fresh."""
    fresh = current_claims().get("fresh", False)
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
        return doc(security=ACCESS_TOKEN, responses=responses)(wrapper)

    return decorator
