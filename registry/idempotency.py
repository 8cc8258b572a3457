"""Idempotent creates (IETF httpapi "The Idempotency-Key HTTP Header Field").

A POST with `Idempotency-Key` is stored with its response in the same transaction as the record
it creates. A repeat with the same key and the same request replays that response; the same key
with a different request is a 422. Concurrent repeats wait on the key's unique index until the
first commits, then replay it, so retries from a flaky link create exactly one record. Requests
that fail are rolled back with their key, so they can be retried. Keys belong to the caller and
are kept for KEY_LIFETIME.
"""

import hashlib
import hmac
import json
from datetime import datetime, timedelta
from functools import wraps

from flask import Response, current_app, request
from sqlalchemy import JSON, Integer, String, Text, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from . import db, errors
from .api.document import doc
from .auth.identity import current_principal
from .db import Base, UTCDateTime, utcnow
from .multipart import read_upload

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    subject: Mapped[str] = mapped_column(String(40), primary_key=True)  # "user:12" / "cad:3"
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # method, path and body
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


def _key_from_header() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    # The draft makes it a structured-field string ("..."); bare tokens are accepted too.
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise errors.BadRequest(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters."
        )
    return key


def _multipart_fingerprint() -> str:
    """Fields, and each file's name and SHA-256 read from its spooled part: an upload is never
    held in memory whole (its limits were applied by the form decorator outside this one)."""
    form, uploads = read_upload()
    fields = sorted(form.items(multi=True))
    files = []
    for name, part in sorted(uploads.items(multi=True), key=lambda item: item[0]):
        digest = hashlib.sha256()
        for chunk in iter(lambda part=part: part.stream.read(1 << 20), b""):
            digest.update(chunk)
        part.stream.seek(0)
        files.append([name, part.filename, digest.hexdigest()])
    return json.dumps([fields, files])


def _fingerprint() -> str:
    if request.mimetype == "multipart/form-data":
        body = _multipart_fingerprint()
    else:
        try:
            # The same JSON with other spacing or key order is the same request.
            body = json.dumps(json.loads(request.get_data(cache=True) or b"null"), sort_keys=True)
        except (ValueError, RecursionError):
            body = request.get_data(cache=True).decode("utf-8", "replace")
    text = f"{request.method} {request.path}\n{body}"
    # Keyed: a body may carry an access point's code, and a plain hash of a short code is
    # guessed in a moment by anyone who can read this table.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise errors.InvalidInput(
            {"Idempotency-Key": ["Already used for a different request."]},
            "This Idempotency-Key was used with another request; use a new key.",
        )
    response = Response(stored.body, status=stored.status, headers=stored.headers or {})
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _claim(session, subject: str, key: str) -> None:
    """PostgreSQL: refuse a repeat while the first request with the key is still running.

    The key row commits with the change, so it cannot say "in progress" to anyone else; a
    transaction-scoped advisory lock does. (SQLite runs one writer at a time: a repeat waits for
    the first to commit, then replays it.)
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"{subject}\n{key}".encode()).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    if not session.scalar(select(func.pg_try_advisory_xact_lock(lock_id))):
        raise errors.Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )


def idempotent(view=None, *, kept=None):
    """Make a POST view safe to retry with an Idempotency-Key (place it inside login_required,
    and inside `form` for uploads).

    `kept(body) -> body`: what of a JSON response may be stored and replayed. A replay skips the
    view, so it skips the access checks and the audit trail: anything only some callers may read
    at some times (an incident's pre-plan) must not be kept.
    """
    if view is None:
        return lambda view: idempotent(view, kept=kept)

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = _key_from_header()
        if key is None:
            return view(*args, **kwargs)
        session, subject, fingerprint = db.session(), current_principal().subject, _fingerprint()
        _claim(session, subject, key)
        stored = session.get(IdempotencyKey, (subject, key))
        if stored is not None and stored.expires_at > utcnow():
            return _replay(stored, fingerprint)
        session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.subject == subject, IdempotencyKey.expires_at <= utcnow()
            )
        )
        record = IdempotencyKey(
            subject=subject, key=key, fingerprint=fingerprint, expires_at=utcnow() + KEY_LIFETIME
        )
        session.add(record)
        try:
            # Claim the key first: a concurrent repeat waits here until this request commits.
            session.flush()
        except IntegrityError:
            session.rollback()
            stored = session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.subject == subject, IdempotencyKey.key == key
                )
            )
            if stored is None:  # the first request failed and released the key: try again
                raise errors.ServiceUnavailable(
                    "A request with this key just failed; retry."
                ) from None
            return _replay(stored, fingerprint)
        response = view(*args, **kwargs)
        record.status = response.status_code
        record.body = response.get_data(as_text=True)
        if kept is not None and response.is_json:
            record.body = json.dumps(kept(response.get_json()))
        record.headers = {h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers}
        session.flush()
        return response

    return doc(
        params={
            "Idempotency-Key": {
                "in": "header",
                "type": "string",
                "required": False,
                "description": "Retry-safe create: the same key and body replay the first response",
            }
        },
        responses={
            "409": "The first request with this key is still running",
            "422": "Key reused with a different request",
        },
    )(wrapper)
