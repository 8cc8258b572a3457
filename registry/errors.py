"""The one place that turns errors into responses: RFC 9457 `application/problem+json`.

Domain code raises `RegistryError` subclasses; library exceptions (marshmallow, JWT, SQLAlchemy,
Werkzeug) are mapped here. The body is always built here from known-safe parts: never from an
exception's `.data` (marshmallow keeps the raw input there, so a failed login would echo the
password) and never from `str(exception)` of an unexpected error (it may hold SQL).
"""

import json
import logging
import re
import sqlite3
from http import HTTPStatus

from flask import Response, current_app
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError
from marshmallow import ValidationError
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class RegistryError(Exception):
    """A failure the caller can act on; carries its HTTP status.

    `keep_changes`: commit what the request wrote before failing (a failed-login count, the
    audit record of a refused reveal) instead of rolling it back.
    """

    status = HTTPStatus.BAD_REQUEST
    slug = "bad-request"
    keep_changes = False
    extensions: dict | None = None  # RFC 9457 extension members beside the standard ones

    def __init__(self, detail: str | None = None, errors: dict | None = None, headers=None):
        super().__init__(detail or self.status.phrase)
        self.detail = detail or self.status.phrase
        self.errors = errors
        self.headers = headers or {}

    def keeping_changes(self) -> "RegistryError":
        self.keep_changes = True
        return self


class BadRequest(RegistryError):
    status, slug = HTTPStatus.BAD_REQUEST, "bad-request"


class Unauthorized(RegistryError):
    status, slug = HTTPStatus.UNAUTHORIZED, "unauthorized"

    def __init__(self, detail=None):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="registry"'})


class FreshLoginRequired(RegistryError):
    status, slug = HTTPStatus.UNAUTHORIZED, "fresh-login-required"

    def __init__(self, detail=None):
        super().__init__(
            detail or "This action needs a fresh login: log in again with your password.",
            headers={
                "WWW-Authenticate": 'Bearer realm="registry", error="insufficient_user_authentication"'
            },
        )


class Forbidden(RegistryError):
    status, slug = HTTPStatus.FORBIDDEN, "forbidden"


class NotFound(RegistryError):
    status, slug = HTTPStatus.NOT_FOUND, "not-found"


class NotAcceptable(RegistryError):
    status, slug = HTTPStatus.NOT_ACCEPTABLE, "not-acceptable"


class Conflict(RegistryError):
    status, slug = HTTPStatus.CONFLICT, "conflict"


class PreconditionFailed(RegistryError):
    status, slug = HTTPStatus.PRECONDITION_FAILED, "stale-version"


class PreconditionRequired(RegistryError):
    status, slug = HTTPStatus.PRECONDITION_REQUIRED, "if-match-required"


class UnsupportedMediaType(RegistryError):
    status, slug = HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type"


class ContentTooLarge(RegistryError):
    status, slug = HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "content-too-large"


class RangeNotSatisfiable(RegistryError):
    status, slug = HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "range-not-satisfiable"


class InvalidInput(RegistryError):
    """Field-level validation failure; `errors` maps each field to its messages."""

    status, slug = HTTPStatus.UNPROCESSABLE_ENTITY, "validation-error"

    def __init__(self, errors: dict, detail: str = "The request has invalid fields."):
        super().__init__(detail, errors=errors)


class RowsRefused(RegistryError):
    """A bulk file with bad rows (registry/imports): 422, and every error by row and column in
    the problem's `row_errors` member (a list, where `errors` is a map by field)."""

    status, slug = HTTPStatus.UNPROCESSABLE_ENTITY, "invalid-rows"

    def __init__(self, detail: str, row_errors: list[dict], error_count: int | None = None):
        super().__init__(detail)
        self.extensions = {
            "row_errors": row_errors,
            "error_count": len(row_errors) if error_count is None else error_count,
        }


class TooManyRequests(RegistryError):
    status, slug = HTTPStatus.TOO_MANY_REQUESTS, "too-many-requests"

    def __init__(self, detail=None, retry_after: int = 60):
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})


class OAuthError(RegistryError):
    """A refusal at the OAuth2 token endpoint (auth/oauth.py), the one error that is not a
    problem: OAuth2 clients (Swagger UI among them) read RFC 6749 section 5.2's JSON,
    `{"error": "invalid_grant", "error_description": ...}`, with 400 for every code this
    registry uses (401 is for client authentication, which it does not ask for)."""

    status, slug = HTTPStatus.BAD_REQUEST, "oauth-error"

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error


class ServiceUnavailable(RegistryError):
    status, slug = HTTPStatus.SERVICE_UNAVAILABLE, "service-unavailable"

    def __init__(self, detail=None):
        super().__init__(detail, headers={"Retry-After": "5"})


def problem(
    status: int, detail: str, slug: str | None = None, errors=None, headers=None, extensions=None
):
    status = HTTPStatus(status)
    body = {
        "type": f"urn:partner-registry:problem:{slug}" if slug else "about:blank",
        "title": status.phrase,
        "status": status.value,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extensions or {})
    response = Response(json.dumps(body), status=status.value, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def oauth_error_response(error: OAuthError) -> Response:
    body = {"error": error.error, "error_description": error.detail}
    return Response(json.dumps(body), status=error.status, mimetype="application/json")


# "UNIQUE constraint failed: organizations.name" (SQLite) / "uq_organizations_name" (PostgreSQL,
# named by db.NAMING_CONVENTION).
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)")


def _conflicting_fields(error: IntegrityError) -> dict | None:
    orig = error.orig
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
    if constraint and constraint.startswith("uq_"):
        table = getattr(orig.diag, "table_name", "") or ""
        field = constraint.removeprefix("uq_").removeprefix(table).strip("_") or constraint
        return {field: ["A record with this value already exists."]}
    match = _SQLITE_UNIQUE.search(str(orig))
    if match:
        cols = [c.split(".")[-1] for c in match.group(1).split(", ")]
        return {c: ["A record with this value already exists."] for c in cols}
    return None


# SQLite reports an unreachable or busy database with these OperationalError messages; any other
# OperationalError (no such table, a syntax error) is a bug, a 500, not an outage.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
)


def _database_unavailable(error: Exception) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if isinstance(error.orig, sqlite3.OperationalError):
        return str(error.orig).lower().startswith(_SQLITE_UNAVAILABLE)
    # psycopg: connection failures, server shutdown, serialization failures, deadlocks.
    return isinstance(error, OperationalError)


def problem_response(error: Exception) -> Response:
    """Map any exception to a problem response (the OAuth2 token endpoint's refusals to their
    own RFC 6749 shape)."""
    if isinstance(error, OAuthError):
        return oauth_error_response(error)
    if isinstance(error, RegistryError):
        return problem(
            error.status, error.detail, error.slug, error.errors, error.headers, error.extensions
        )
    if isinstance(error, ValidationError):
        # Only the messages, never error.data (the raw input).
        return problem(422, "The request has invalid fields.", "validation-error", error.messages)
    if isinstance(error, (JWTExtendedException, PyJWTError)):
        return problem_response(Unauthorized("The access token is missing, invalid or expired."))
    if isinstance(error, StaleDataError):
        return problem_response(
            PreconditionFailed("The record was changed by someone else; reload and retry.")
        )
    if isinstance(error, IntegrityError):
        fields = _conflicting_fields(error)
        detail = (
            "A record with the same unique value already exists."
            if fields
            else "The change conflicts with related records."
        )
        return problem(409, detail, "conflict", fields)
    if _database_unavailable(error):
        log.warning("database unavailable: %s", type(error.orig).__name__)
        return problem_response(ServiceUnavailable("The database is unavailable; retry shortly."))
    if isinstance(error, DataError):
        # Schemas cap every value to its column; this is the net under that, not the rule.
        return problem(422, "A value does not fit the field it was sent for.", "validation-error")
    if isinstance(error, HTTPException):
        detail = error.description or HTTPStatus(error.code).phrase
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return problem(error.code, detail, None, None, headers)
    current_app.logger.exception("unhandled error", exc_info=error)
    return problem(500, "An internal error occurred; it has been logged.", "internal-error")


def register_error_handlers(app) -> None:
    """Errors outside the API's routes (health checks, unknown paths, body-size refusals)."""
    app.register_error_handler(Exception, problem_response)
