"""The audit trail: one row per write and per sensitive read, chained by hash.

Writing: code that writes or shows something calls `record(...)`; the event waits on the
session, and the transaction boundary (registry.transaction.commit) calls `append`, which
inserts it in the same transaction as the change it describes, so the trail and the data never
disagree. A rolled-back request leaves no row, except where a refusal must leave a trace
(errors.RegistryError.keep_changes). Appending takes no lock: requests on every instance insert
events side by side.

Sealing: an event is inserted unsealed (no `seq`, no hash). The sealer (audit/sealer.py, a
thread in every server process, every REGISTRY_AUDIT_SEAL_INTERVAL seconds) takes the chain
head with SKIP LOCKED, so one sealer works at a time and the others skip that round; it numbers
the committed unsealed events in insertion order, gives each the hash of the one before it, and
moves the head, all in one commit. So `seq` has no gaps and each row's `prev_hash` is the hash of
the row before it. `verify` recomputes the chain: an edited row no longer matches its hash, a
deleted one leaves a gap, a truncated tail disagrees with the head, and a row outside 1..head
(planted past the head, or before the start) is refused too. Events wait unsealed for about one
interval; `verify` and /readyz fail once one has waited longer than
REGISTRY_AUDIT_SEAL_WINDOW_SECONDS, because then no sealer is running.

The head row is made by the migration and nothing deletes it, so a missing head means the trail
was tampered with (wiped with its head, say): verify reports it, and the next sealing puts the
head back after the last surviving event and seals an `audit.head_restored` marker first, so a
wiped trail starts again with that marker, not as a fresh one. A row planted past the head stops
sealing once the head reaches it (its seq is taken): a CRITICAL log line and a failing /readyz,
since no retry can fix it; requests go on, and their events wait unsealed until it is removed.
"""

import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

from flask import g, has_request_context, request
from sqlalchemy import bindparam, case, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import db
from ..db import UTCDateTime, utcnow
from ..errors import RegistryError
from .models import GENESIS_HASH, AuditEvent, AuditHead

log = logging.getLogger(__name__)
PENDING = "audit_pending"
HEAD_ID = 1
CHAIN = ("seq", "prev_hash")  # what sealing adds; the rest of HASHED is written with the event
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


def append(session: Session) -> None:
    """Insert the events this transaction queued, unsealed. Called by the transaction boundary
    (registry.transaction.commit) after the last flush and just before COMMIT, so the events
    commit with what they record, or not at all. Takes no lock: the sealer numbers them later."""
    events = session.info.pop(PENDING, None)
    if not events:
        return
    # On the session's connection, not the ORM's execute: the rows are plain dicts and this
    # runs on every request (the first on the driver, db.execute).
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        db.execute(connection, _INSERT_RELAXING_READS, events[0])
        events = events[1:]
    if events:
        connection.execute(AuditEvent.__table__.insert(), events)


def discard(session: Session) -> None:
    """Forget the events queued by a transaction that rolled back."""
    session.info.pop(PENDING, None)


def _insert_relaxing_reads():
    """INSERT one event, deciding in the same statement (before it writes) whether the
    transaction may commit without waiting for the WAL flush.

    A transaction that only records reads (a lookup, a pre-plan view) has written nothing yet,
    so PostgreSQL has given it no transaction id: it commits asynchronously. A database crash can
    then lose the last fraction of a second of read events, never a data change, and no fsync
    sits on the CAD path. One statement, not a SET and an INSERT: one round trip less.
    """
    table = AuditEvent.__table__
    wrote = func.pg_current_xact_id_if_assigned().is_not(None)
    relax = (
        select(
            func.set_config("synchronous_commit", case((wrote, "on"), else_="off"), True).label(
                "synchronous_commit"
            )
        )
        .cte("relax")
        .prefix_with("MATERIALIZED")
    )
    names = list(EVENT_FIELDS)
    values = [cast(bindparam(name, type_=table.c[name].type), table.c[name].type) for name in names]
    return table.insert().from_select(names, select(*values).select_from(relax))


# What `record` fills in; the sealer adds the rest.
EVENT_FIELDS = tuple(name for name in HASHED if name not in CHAIN)
_INSERT_RELAXING_READS = _insert_relaxing_reads()


class AuditTrailBroken(RegistryError):
    """Sealing found its sequence number taken: a row was planted past the chain head."""

    status, slug = HTTPStatus.SERVICE_UNAVAILABLE, "audit-trail-broken"


def _lock_head(session: Session):
    """(seq, last_hash) of the head, locked until this transaction ends; None when another
    sealer holds it or when it is missing (`_head_exists` tells which)."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a no-op write takes the database's write lock instead.
        session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq))
    return session.execute(
        select(AuditHead.seq, AuditHead.last_hash)
        .where(AuditHead.id == HEAD_ID)
        .with_for_update(skip_locked=True)
    ).first()


def _head_exists(session: Session) -> bool:
    return session.scalar(select(AuditHead.id).where(AuditHead.id == HEAD_ID)) is not None


def _restore_head(session: Session) -> tuple[int, str] | None:
    """Put the head row back (the migration made it) after the last sealed event, followed by a
    sealed marker, once even when sealers race here. Returns the (seq, hash) the marker
    followed, or None when a racing sealer restored it first."""
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.seq.is_not(None))
        .order_by(AuditEvent.seq.desc())
        .limit(1)
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
    if inserted is None:
        return None
    marker = {**_restored_marker(seq), "seq": seq + 1, "prev_hash": last_hash}
    marker["hash"] = _digest(marker)
    session.execute(AuditEvent.__table__.insert(), [marker])
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == HEAD_ID)
        .values(seq=seq + 1, last_hash=marker["hash"])
    )
    return seq, last_hash


def _restored_marker(resumed_after: int) -> dict:
    # Someone deleted the head (and maybe every event with it): the trail says so for good, in
    # the chain itself, besides the log. Without the marker a wiped trail would look new.
    return {
        "at": utcnow(),
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
        "request_id": None,
        "client_address": None,
    }


_SEAL = (
    update(AuditEvent.__table__)
    .where(AuditEvent.__table__.c.id == bindparam("event_id"))
    .values(
        seq=bindparam("chain_seq"), prev_hash=bindparam("chain_prev"), hash=bindparam("chain_hash")
    )
)


def seal(session: Session, batch: int = 2000) -> int:
    """Number and chain up to `batch` unsealed events, oldest first, in one transaction of
    `session` (the caller commits). Returns how many it sealed: 0 when there were none, or when
    another sealer holds the head (sealers never wait for each other).

    Events are sealed in the order they were inserted among those committed; one that commits
    late (a long transaction) is sealed on a later pass, after events inserted after it. The
    chain's order is the sealing order; `at` still says when each happened.
    """
    head = _lock_head(session)
    if head is None:
        if _head_exists(session):
            return 0  # another sealer is at work
        restored = _restore_head(session)
        if restored is not None:
            log.error(
                "audit chain head was missing; restored after event %d and marked with %s "
                "(events after it, if there were any, are gone)",
                restored[0],
                RESTORED,
            )
        head = _lock_head(session)
        if head is None:
            return 0
    seq, prev_hash = head
    columns = AuditEvent.__table__.c
    unsealed = session.execute(
        select(columns.id, *(columns[name] for name in EVENT_FIELDS))
        .where(columns.seq.is_(None))
        .order_by(columns.id)
        .limit(batch)
    ).mappings()
    updates = []
    for row in unsealed:
        seq += 1
        chained = {**row, "seq": seq, "prev_hash": prev_hash}
        prev_hash = _digest(chained)
        updates.append(
            {
                "event_id": row["id"],
                "chain_seq": seq,
                "chain_prev": chained["prev_hash"],
                "chain_hash": prev_hash,
            }
        )
    if not updates:
        return 0
    try:
        session.execute(_SEAL, updates)
    except IntegrityError as error:
        # Only one sealer holds the head, so only a row written around it takes a seq.
        log.critical(
            "audit sealing stopped: event %d..%d is already taken, a row lies beyond the chain "
            "head; no event is sealed until it is removed (see 'flask audit verify')",
            updates[0]["chain_seq"],
            updates[-1]["chain_seq"],
        )
        raise AuditTrailBroken(
            "The audit trail cannot be sealed; the operators have been alerted."
        ) from error
    session.execute(
        update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=seq, last_hash=prev_hash)
    )
    return len(updates)


def seal_all(session_factory, batch: int = 2000) -> int:
    """Seal until nothing is waiting (or another sealer has the head); each batch commits."""
    total = 0
    while True:
        with session_factory() as session, session.begin():
            sealed = seal(session, batch)
        total += sealed
        if sealed < batch:
            return total


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
    # Committed events not yet sealed, and when the oldest of them happened.
    unsealed: int = 0
    oldest_unsealed_at: datetime | None = None


@dataclass
class Ends:
    head_seq: int | None
    head_hash: str | None
    beyond: int | None  # the first event past the head
    before: int | None  # the first event numbered below 1
    last: int | None  # the highest sealed number
    oldest_unsealed_at: datetime | None


def _ends(session) -> Ends:
    """The chain's ends in one statement: one statement reads one snapshot, and the sealer
    moves the head and numbers its events in one commit, so an event past the head here was not
    numbered by the sealer."""
    head_seq = select(AuditHead.seq).where(AuditHead.id == HEAD_ID).scalar_subquery()
    head_hash = select(AuditHead.last_hash).where(AuditHead.id == HEAD_ID).scalar_subquery()
    beyond = select(func.min(AuditEvent.seq)).where(AuditEvent.seq > head_seq).scalar_subquery()
    before = select(func.min(AuditEvent.seq)).where(AuditEvent.seq < 1).scalar_subquery()
    last = select(func.max(AuditEvent.seq)).scalar_subquery()
    oldest = select(func.min(AuditEvent.at)).where(AuditEvent.seq.is_(None)).scalar_subquery()
    row = session.execute(select(head_seq, head_hash, beyond, before, last, oldest)).one()
    oldest_at = UTCDateTime().process_result_value(row[5], None)  # SQLite: a bare aggregate
    return Ends(*row[:5], oldest_at)


@dataclass
class Health:
    """What /readyz reports about the trail: a number taken past the head stops sealing, and
    events left unsealed past the window mean no sealer is running."""

    beyond: int | None
    unsealed_since: datetime | None


def health(connection, window: timedelta) -> Health:
    """Cheap (index lookups), for /readyz."""
    ends = _ends(connection)
    late = ends.oldest_unsealed_at
    return Health(ends.beyond, late if late is not None and late < utcnow() - window else None)


def verify(session: Session, window: timedelta, batch: int = 5000) -> Verification:
    """Recompute the sealed chain up to its head; report the first row that does not fit, and
    the events still waiting to be sealed.

    The head is read first, so events sealed while this runs are not judged: the head and the
    events up to it commit together. Without a head the events present are still walked, to say
    how many are good, and the trail is broken. Unsealed events are not part of the chain yet:
    they pass while the oldest is younger than `window` (the sealer runs every fraction of a
    second), and fail the trail once one is older, since no sealer is keeping up. Until it is
    sealed an event is only as safe as the database's permissions make it (see README).
    """
    ends = _ends(session)
    head_seq, head_hash, beyond, before = ends.head_seq, ends.head_hash, ends.beyond, ends.before
    last = ends.last
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
    unsealed = session.scalar(select(func.count()).where(AuditEvent.seq.is_(None)))
    oldest = ends.oldest_unsealed_at
    if problem is None and oldest is not None and oldest < utcnow() - window:
        problem = (
            f"{unsealed} events wait to be sealed, the oldest since {oldest.isoformat()}: "
            "no sealer is keeping up"
        )
        first_bad = None
    if problem is not None:
        return Verification(False, count, prev_hash, problem, first_bad, [], unsealed, oldest)
    restored = session.scalars(
        select(AuditEvent.seq)
        .where(AuditEvent.action == RESTORED, AuditEvent.seq <= head_seq)
        .order_by(AuditEvent.seq)
    ).all()
    return Verification(True, count, prev_hash, None, None, list(restored), unsealed, oldest)


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
