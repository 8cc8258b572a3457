"""The audit trail: one row per write and per sensitive read, chained by hash.

Code that writes or shows something calls `record(...)`; the event waits on the session and is
appended when the session commits (a SQLAlchemy `before_commit` hook), in the same transaction
as the change it describes, so the trail and the data never disagree. A rolled-back request
leaves no row, except where a refusal must leave a trace (errors.RegistryError.keep_changes).

Appending updates the chain head first. That UPDATE locks the head row (PostgreSQL) or takes the
write lock (SQLite) until commit, so appends are serialized, `seq` has no gaps, and each row's
`prev_hash` is the hash of the row before it. `verify` recomputes the chain: an edited row no
longer matches its hash, a deleted one leaves a gap, a truncated tail disagrees with the head.
"""

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC

from flask import g, has_request_context, request
from sqlalchemy import event, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..db import utcnow
from .models import GENESIS_HASH, AuditEvent, AuditHead

log = logging.getLogger(__name__)
PENDING = "audit_pending"
WROTE = "audit_wrote"  # the transaction changed data (not only recorded reads)
HEAD_ID = 1
REDACTED = "[redacted]"

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


def _restore_head(session: Session) -> bool:
    """Put the head row back (the migration made it) after whatever events remain, once even
    when appends race here. True when events remained: the head was deleted, not never made."""
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
    # Another append that raced here restored it (and this one read `last` too late to judge).
    return inserted is not None and last is not None


def append(session: Session, events: list[dict]) -> None:
    head = _take_head(session, len(events))
    if head is None:
        if _restore_head(session):
            # Someone deleted the head (and maybe the events after it): the trail says so for
            # good, in the chain itself, besides the log.
            log.warning("audit chain head was missing; restored after the last event")
            events = [
                {
                    **events[0],
                    "actor": "system",
                    "role": None,
                    "action": "audit.head_restored",
                    "record_type": None,
                    "record_id": None,
                    "facility_id": None,
                    "break_glass": False,
                    "changes": {},
                    "details": {"problem": "the chain head row was missing"},
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
    # Core, not the ORM's bulk path: the rows are plain dicts and this runs on every request.
    session.execute(AuditEvent.__table__.insert(), rows)


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


def verify(session: Session, batch: int = 5000) -> Verification:
    """Recompute the chain up to its head; report the first row that does not fit.

    The head is read first, so events appended while this runs (every lookup appends one) are
    not judged: the head and the events up to it commit together.
    """
    head = session.execute(select(AuditHead.seq, AuditHead.last_hash)).first()
    if head is None:
        if session.scalar(select(AuditEvent.seq).limit(1)) is not None:
            return Verification(False, 0, GENESIS_HASH, "the chain head is missing", 1)
        return Verification(True, 0, GENESIS_HASH)
    expected_seq, prev_hash = 1, GENESIS_HASH
    while expected_seq <= head.seq:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq >= expected_seq, AuditEvent.seq <= head.seq)
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
                return Verification(False, expected_seq - 1, prev_hash, problem, expected_seq)
            prev_hash, expected_seq = row.hash, expected_seq + 1
        session.expunge_all()
    count = expected_seq - 1
    if count != head.seq or prev_hash != head.last_hash:
        return Verification(
            False,
            count,
            prev_hash,
            f"the chain head names event {head.seq}, but the trail ends at event {count}",
            count + 1,
        )
    return Verification(True, count, prev_hash)
