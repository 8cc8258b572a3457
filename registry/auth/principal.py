"""Who is calling: a user or a CAD client, with the role and the binding that limit what they see."""

import time
from dataclasses import dataclass
from functools import wraps

from flask import g
from flask_jwt_extended import get_current_user, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from .. import errors
from ..access.roles import Role
from ..api.document import doc


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "cad"
    id: int
    role: Role
    organization_id: int | None = None
    agency_id: int | None = None

    def __post_init__(self):
        # The account row stores the role's value; one that names no role fails here, where
        # the caller is identified, rather than later as a caller whom no rule matches.
        object.__setattr__(self, "role", Role(self.role))

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def subject(self) -> str:
        return f"{self.kind}:{self.id}"


def current_principal() -> Principal:
    return g.principal


def authenticate(refresh: bool = False, fresh: bool = False) -> Principal:
    """Verify the bearer token (any failure is a 401, never a 422 or 500).

    `fresh`: the token must come from a password login minutes ago (or a CAD client's
    credentials), not from a refresh: sensitive actions ask the person to prove it is them.
    """
    try:
        verify_jwt_in_request(refresh=refresh)
        principal = get_current_user()
    except (JWTExtendedException, PyJWTError):
        raise errors.Unauthorized("The token is missing, invalid, expired or revoked.") from None
    g.principal = principal
    if fresh and not is_fresh():
        raise errors.FreshLoginRequired()
    return principal


def is_fresh() -> bool:
    """flask-jwt-extended's `fresh` claim: a boolean, or a timestamp until which it is fresh."""
    fresh = get_jwt().get("fresh", False)
    if isinstance(fresh, bool):
        return fresh
    return isinstance(fresh, int | float) and time.time() < fresh


def login_required(*roles: Role, fresh: bool = False):
    """Require a valid access token, and one of `roles` when given; with `fresh`, a token from
    a recent password login (sensitive actions: reveals, share grants, admin changes).

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
