"""The audit trail: one row per write and per sensitive read, chained by hash.

Code that writes or shows something calls `record(...)`; the event waits on the session and is
appended when the session commits (a SQLAlchemy `before_commit` hook), in the same transaction
as the change it describes, so the trail and the data never disagree. A rolled-back request
leaves no row, except where a refusal must leave a trace (errors.RegistryError.keep_changes).

Appending updates the chain head first. That UPDATE locks the head row (PostgreSQL) or takes the
write lock (SQLite) until commit, so appends are serialized, `seq` has no gaps, and each row's
`prev_hash` is the hash of the row before it. `verify` recomputes the chain: an edited row no
longer matches its hash, a deleted one leaves a gap, a truncated tail disagrees with the head, and
a row outside 1..head (planted past the head, or before the start) is refused too.

The head row is made by the migration and nothing deletes it, so a missing head means the trail
was tampered with (wiped with its head, say): verify reports it, and the next append puts the head
back after the last surviving event and writes an `audit.head_restored` marker first, so a wiped
trail starts again with that marker, not as a fresh one. We do not refuse to append instead: that
would stop every pre-plan view on the CAD path until an operator came. A row planted past the head
does stop appends once the head reaches it (its seq is taken); that is a 503 `audit-trail-broken`,
a CRITICAL log line and a failing /readyz, since no retry can fix it.
"""

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from http import HTTPStatus

from flask import g, has_request_context, request
from sqlalchemy import event, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import RegistryError
from .models import GENESIS_HASH, AuditEvent, AuditHead

log = logging.getLogger(__name__)
PENDING = "audit_pending"
WROTE = "audit_wrote"  # the transaction changed data (not only recorded reads)
HEAD_ID = 1
REDACTED = "[redacted]"
RESTORED = "audit.head_restored"  # the marker an append writes when it had to restore the head

# What the hash covers: every column but the surrogate key and the hash itself.
HASHED = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "record_type",
    "record_id",
    "facility_id",
    "break_glass",
    "changes",
    "details",
    "request_id",
    "client_address",
    "prev_hash",
)


def record_type_of(record) -> str:
    """AccessPoint -> access_point."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(record).__name__).lower()


def record(
    session: Session,
    principal,
    action: str,
    *,
    record=None,
    record_type: str | None = None,
    record_id: int | None = None,
    facility_id: int | None = None,
    changes: dict | None = None,
    details: dict | None = None,
    break_glass: bool = False,
    actor: str | None = None,
) -> None:
    """Queue an audit event on `session`; it is written when the session commits.

    `principal` is the caller (None for an anonymous one, e.g. a failed login; `actor` then
    names it). Never put a secret's value in `changes` or `details`.
    """
    if record is not None:
        record_type = record_type or record_type_of(record)
        record_id = record_id if record_id is not None else record.id
    session.info.setdefault(PENDING, []).append(
        {
            "at": utcnow(),
            "actor": actor or (principal.subject if principal is not None else "anonymous"),
            "role": principal.role if principal is not None else None,
            "action": action,
            "record_type": record_type,
            "record_id": record_id,
            "facility_id": facility_id,
            "break_glass": break_glass,
            # JSON round trip: what is hashed now is exactly what the database gives back.
            "changes": _json_safe(changes or {}),
            "details": _json_safe(details or {}),
            **_request_context(),
        }
    )


def request_id() -> str | None:
    """The caller's X-Request-ID when it is sane, else one we make; echoed on the response."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if re.fullmatch(r"[\w.:-]{1,64}", given) else uuid.uuid4().hex
    return g.request_id


def _request_context() -> dict:
    if not has_request_context():
        return {"request_id": None, "client_address": "cli"}
    return {"request_id": request_id(), "client_address": (request.remote_addr or "")[:64]}


def _json_safe(value):
    return json.loads(json.dumps(value, default=str))


def _digest(row: dict) -> str:
    content = {name: row[name] for name in HASHED}
    content["at"] = row["at"].astimezone(UTC).isoformat(timespec="microseconds")
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _take_head(session: Session, count: int) -> tuple[int, str] | None:
    """Reserve `count` sequence numbers; returns (last seq before them, hash of that row), or
    None when there was no head row (it is put back first)."""
    statement = (
        update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(seq=AuditHead.seq + count)
        .returning(AuditHead.seq, AuditHead.last_hash)
    )
    row = session.execute(statement).first()
    return (row.seq - count, row.last_hash) if row is not None else None


class AuditTrailBroken(RegistryError):
    """An append found its sequence number taken: a row was planted past the chain head."""

    # Not a 409: the request was fine, and no retry helps until an operator removes the row.
    status, slug = HTTPStatus.SERVICE_UNAVAILABLE, "audit-trail-broken"


def _restore_head(session: Session) -> int | None:
    """Put the head row back (the migration made it) after whatever events remain, once even
    when appends race here. Returns the event it resumed after (0: none remained), or None when
    a racing append restored it first."""
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, last_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
    dialect_insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[
        session.get_bind().dialect.name
    ]
    inserted = session.execute(
        dialect_insert(AuditHead.__table__)
        .values(id=HEAD_ID, seq=seq, last_hash=last_hash)
        .on_conflict_do_nothing()
        .returning(AuditHead.__table__.c.id)
    ).first()
    # None: another append that raced here restored it (and wrote the marker).
    return seq if inserted is not None else None


def append(session: Session, events: list[dict]) -> None:
    head = _take_head(session, len(events))
    if head is None:
        resumed_after = _restore_head(session)
        if resumed_after is not None:
            # Someone deleted the head (and maybe every event with it): the trail says so for
            # good, in the chain itself, besides the log. Without the marker a wiped trail would
            # look like a new one.
            log.error(
                "audit chain head was missing; restored after event %d and marked with %s "
                "(events after it, if there were any, are gone)",
                resumed_after,
                RESTORED,
            )
            events = [
                {
                    **events[0],
                    "actor": "system",
                    "role": None,
                    "action": RESTORED,
                    "record_type": None,
                    "record_id": None,
                    "facility_id": None,
                    "break_glass": False,
                    "changes": {},
                    "details": {
                        "problem": "the chain head row was missing",
                        "resumed_after_event": resumed_after,
                    },
                },
                *events,
            ]
        head = _take_head(session, len(events))
    seq, prev_hash = head
    rows = []
    for event_ in events:
        seq += 1
        row = {**event_, "seq": seq, "prev_hash": prev_hash}
        row["hash"] = prev_hash = _digest(row)
        rows.append(row)
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(last_hash=prev_hash))
    try:
        # Core, not the ORM's bulk path: the rows are plain dicts and this runs on every request.
        session.execute(AuditEvent.__table__.insert(), rows)
    except IntegrityError as error:
        # Appends are serialized by the head, so only a row written around it takes a seq.
        log.critical(
            "audit append failed: event %d..%d is already taken, a row lies beyond the chain "
            "head; every audited request fails until it is removed (see 'flask audit verify')",
            rows[0]["seq"],
            rows[-1]["seq"],
        )
        raise AuditTrailBroken(
            "The audit trail cannot record this request, so it was not carried out; "
            "the operators have been alerted."
        ) from error


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    events = session.info.pop(PENDING, None)
    if not events:
        return
    # Commit flushes only after this hook: flush now, so a pending change counts as a write.
    session.flush()
    if not session.info.pop(WROTE, False) and session.get_bind().dialect.name == "postgresql":
        # The transaction only records reads (a lookup, a pre-plan view): commit it without
        # waiting for the WAL flush. A database crash can lose the last fraction of a second of
        # read events (never a data change, never a link of the chain: the WAL is replayed in
        # order); in exchange the head row's lock is not held through an fsync on the CAD path.
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    append(session, events)


@event.listens_for(Session, "before_flush")
def _note_flushed_changes(session: Session, _context, _instances) -> None:
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state) -> None:
    # Anything but a SELECT counts as a write (UPDATE/DELETE/INSERT statements, locks, SET).
    if not state.is_select:
        state.session.info[WROTE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(WROTE, None)


@dataclass
class Verification:
    ok: bool
    events: int
    head_hash: str
    problem: str | None = None
    first_bad_seq: int | None = None
    # Intact, but the head had been deleted before these events (markers): what came before each
    # may be gone, which only a head hash kept elsewhere can tell.
    head_restored_at: list[int] = field(default_factory=list)


def _ends(session) -> tuple:
    """(head seq, head hash, first event past the head, first event before 1) in one statement:
    one statement reads one snapshot, and an append moves the head and adds its events in one
    commit, so an event past the head here was not written by an append."""
    head_seq = select(AuditHead.seq).where(AuditHead.id == HEAD_ID).scalar_subquery()
    head_hash = select(AuditHead.last_hash).where(AuditHead.id == HEAD_ID).scalar_subquery()
    beyond = select(func.min(AuditEvent.seq)).where(AuditEvent.seq > head_seq).scalar_subquery()
    before = select(func.min(AuditEvent.seq)).where(AuditEvent.seq < 1).scalar_subquery()
    last = select(func.max(AuditEvent.seq)).scalar_subquery()
    return session.execute(select(head_seq, head_hash, beyond, before, last)).one()


def event_beyond_head(connection) -> int | None:
    """The first event past the chain head, if any: appends will fail once the head reaches it.
    Cheap (index lookups), for /readyz."""
    _seq, _hash, beyond, _before, _last = _ends(connection)
    return beyond


def verify(session: Session, batch: int = 5000) -> Verification:
    """Recompute the chain up to its head; report the first row that does not fit.

    The head is read first, so events appended while this runs (every lookup appends one) are
    not judged: the head and the events up to it commit together. Without a head the events
    present are still walked, to say how many are good, and the trail is broken.
    """
    head_seq, head_hash, beyond, before, last = _ends(session)
    walked_to = head_seq if head_seq is not None else last or 0
    count, prev_hash, problem = _walk(session, walked_to, batch)
    first_bad = count + 1
    if problem is None:
        if head_seq is None:
            problem = "the chain head is missing"
        elif count != head_seq:
            problem = f"the chain head names event {head_seq}, but the trail ends at event {count}"
        elif prev_hash != head_hash:
            problem = f"the chain head's hash is not the hash of event {count}"
        elif before is not None:
            problem, first_bad = f"event {before} lies before the start of the chain", before
        elif beyond is not None:
            problem = f"event {beyond} lies beyond the chain head (event {head_seq})"
            first_bad = beyond
    if problem is not None:
        return Verification(False, count, prev_hash, problem, first_bad)
    restored = session.scalars(
        select(AuditEvent.seq)
        .where(AuditEvent.action == RESTORED, AuditEvent.seq <= head_seq)
        .order_by(AuditEvent.seq)
    ).all()
    return Verification(True, count, prev_hash, head_restored_at=list(restored))


def _walk(session: Session, last: int, batch: int) -> tuple[int, str, str | None]:
    """Check events 1..last in order: (good events, hash of the last good one, first problem)."""
    expected_seq, prev_hash = 1, GENESIS_HASH
    while expected_seq <= last:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq >= expected_seq, AuditEvent.seq <= last)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            problem = None
            if row.seq != expected_seq:
                problem = f"event {expected_seq} is missing"
            elif row.prev_hash != prev_hash:
                problem = f"event {row.seq} does not follow the one before it"
            elif _digest({name: getattr(row, name) for name in HASHED}) != row.hash:
                problem = f"event {row.seq} was changed after it was written"
            if problem:
                return expected_seq - 1, prev_hash, problem
            prev_hash, expected_seq = row.hash, expected_seq + 1
        session.expunge_all()
    return expected_seq - 1, prev_hash, None
