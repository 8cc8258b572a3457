"""The OAuth2 password grant (RFC 6749 section 4.3): the password login of POST /auth/login,
asked the way OAuth2 clients ask, Swagger UI's Authorize dialog among them.

The request is a form (`application/x-www-form-urlencoded`) with grant_type=password, username
and password; the answer is section 5.1's token JSON, or section 5.2's error JSON
(errors.OAuthError). The login is login.login itself: the same lockout, password check, audit
events and rate limits (ratelimit.py reads the username from this form).

Ignored, as section 3.2 asks of parameters a server does not use: `scope` (a token's rights
come from its account's role) and client credentials (`client_id`, `client_secret`, an
`Authorization: Basic` header, which Swagger UI sends empty): the registry's OAuth2 clients are
public ones, and a person's password is what is checked.

The answer carries no refresh token: Swagger UI keeps the whole answer in the browser's
localStorage (to survive reloads) and never refreshes, so a refresh token there would only make
a copy stolen from that browser worth hours instead of minutes.
"""

from marshmallow import ValidationError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from .. import errors
from . import login
from .schemas import LoginSchema

PASSWORD_GRANT = "password"
# Werkzeug parses both into request.form; RFC 6749 names the first, and flask-restx documents
# form parameters as accepting both.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PARAMETERS = ("grant_type", "username", "password")
_LOGIN = LoginSchema()


def read_password_grant(form: MultiDict, mimetype: str) -> tuple[str, str]:
    """The username and password of a password-grant form, as /auth/login reads them (the
    username trimmed); OAuthError `invalid_request` or `unsupported_grant_type` otherwise. The
    errors name parameters, never what was sent in them."""
    if mimetype not in FORM_TYPES:
        raise errors.OAuthError(
            "invalid_request", "Send the parameters as application/x-www-form-urlencoded."
        )
    for name in PARAMETERS:
        if len(form.getlist(name)) > 1:
            raise errors.OAuthError("invalid_request", f"{name} is given more than once.")
    # An empty parameter counts as omitted (section 3.2).
    missing = [name for name in PARAMETERS if not form.get(name)]
    if "grant_type" in missing:
        raise errors.OAuthError("invalid_request", "grant_type is missing.")
    if form["grant_type"] != PASSWORD_GRANT:
        raise errors.OAuthError(
            "unsupported_grant_type",
            "Only grant_type=password is accepted here (CAD clients: POST /auth/token).",
        )
    if missing:
        raise errors.OAuthError("invalid_request", f"Missing: {', '.join(missing)}.")
    try:
        data = _LOGIN.load({"username": form["username"], "password": form["password"]})
    except ValidationError as exc:
        # marshmallow's messages state the rule broken ("Must not be blank."), not the value.
        problems = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in sorted(exc.messages.items())
        )
        raise errors.OAuthError("invalid_request", problems) from None
    return data["username"], data["password"]


def sign_in(session: Session, username: str, password: str) -> dict:
    """An access token for the password (login.login), or OAuthError `invalid_grant` with the
    login's one refusal for every reason; the refusal's audit record and lock are kept."""
    try:
        return login.login(session, username, password, with_refresh=False, via="oauth2")
    except errors.Unauthorized as refused:
        error = errors.OAuthError("invalid_grant", refused.detail)
        error.keep_changes = refused.keep_changes
        raise error from None
