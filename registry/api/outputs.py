"""What a view answers: a record serialized with its ETag, or 304 when the caller has it.

Every record carries its row version; `etag_of` makes it the entity tag, `returns` adds it to
the response, and `require_if_match` refuses a write unless the caller sends the tag it last
read, so no edit is silently lost.
"""

import json
from functools import wraps

from flask import Response, request

from .. import db, errors
from .document import doc, doc_model


def etag_of(record) -> str | None:
    """A record's entity tag, from its row version (None for results that are not records).

    A record whose response shows more than its row (an incident shows its facility's recovery
    sites, read for the caller) carries `shown_digest`, a digest of that part, and the tag names
    it too: nobody is told 304 over an old copy, and If-Match compares what the caller saw."""
    if getattr(record, "version", None) is None:
        return None
    tag = f"{type(record).__name__.lower()}-{record.id}-v{record.version}"
    shown = getattr(record, "shown_digest", None)
    return f"{tag}-{shown}" if shown else tag


def conditional(
    body,
    tag: str | None,
    status: int = 200,
    mimetype="application/json",
    vary=None,
    weak: bool = False,
):
    """A response carrying `tag` as its ETag, or 304 when the client already has it.

    `body` is sent as JSON; a function instead is called for the bytes, only when the client
    lacks them (a costly representation, such as a printed pre-plan). `weak`: what is sent
    under one tag is the same in meaning, not byte for byte (a print says when it was made).
    """
    headers = {"ETag": f'{"W/" if weak else ""}"{tag}"'} if tag else {}
    if vary:
        headers["Vary"] = vary
    if tag and request.method == "GET":
        matches = request.if_none_match.contains_weak if weak else request.if_none_match.contains
        if matches(tag):
            return Response(status=304, headers=headers)
    data = body() if callable(body) else json.dumps(body)
    return Response(data, status=status, mimetype=mimetype, headers=headers)


def require_if_match(record) -> None:
    """Refuse a write unless the caller proves it read the current version."""
    if not request.if_match or request.if_match.star_tag:
        raise errors.PreconditionRequired(
            "Send If-Match with the ETag you last read, so edits are never silently lost."
        )
    if not request.if_match.contains(etag_of(record)):
        raise errors.PreconditionFailed(
            "The record was changed since you read it; reload it and apply your change again."
        )


def returns(schema_cls, status: int = 200, description: str = "Success"):
    """Serialize the view's return value with `schema_cls`, adding the record's ETag."""
    model = doc_model(schema_cls)
    schema = schema_cls()

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            record = view(*args, **kwargs)
            if isinstance(record, Response):
                return record  # the view chose another representation (e.g. GeoJSON)
            # The flush makes the row version current before it becomes the ETag.
            db.session().flush()
            return conditional(schema.dump(record), etag_of(record), status)

        return doc(responses={str(status): (description, model)})(wrapper)

    return decorator
