"""The change feed for CAD mirrors: `GET /changes?since=<position>`.

A CAD system keeps its own premise table; the feed tells it, in commit order, which facilities'
pre-plans to fetch again or drop. Three steps:

1. **Capture** (database triggers, migration 0016): every change to a pre-plan bumps its
   facility's `preplan_version` (0002, 0005, 0015), and each bump, a new facility, a deleted
   one, and every change to an MOU, its facility list or its scopes writes a `FeedChange` row
   in the same transaction, naming the facility (for an MOU, each facility it covered before
   and covers after, with the MOU's agency). A rolled-back change leaves no row.
2. **Numbering** (`number_committed`, at the start of each read): committed rows without a
   position get the next positions, in one statement, under a lock that one numbering at a time
   holds. A row is numbered only once it is committed, and later numbers are always higher, so
   a reader that has read up to N never misses a row that commits later with a smaller id (a
   long transaction), and never sees one twice. The days MOUs start or stop granting (their
   effective date, the day after their expiry, the day a renewal takes over) write their rows
   here too: access changes with the date, with no write to catch.
3. **Reading** (`page`): each numbered row becomes, for the caller, one of
   - `upsert` with the facility's pre-plan as it is now (the parts every reader sees alike:
     facility, contacts, access and tactical points, floor plans; no door codes, no MOUs), when
     the caller reads that facility;
   - `remove` (`reason`: `deleted`) for a facility the caller reads that was deleted;
   - `remove` (`reason`: `not_shared`) when a change of one of the caller's agency's MOUs left
     the facility no longer shared with it (ended, expired, terminated, narrowed);
   - nothing, for a facility the caller never read (its id is not told).
   Within a page a facility appears once, at its last position. A mirror that applies the
   pages in order (upsert: replace, remove: drop) holds what the registry shares with it.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection, func, insert, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import errors
from ..access import visibility
from ..access.roles import AGENCY_ROLES
from ..auth.principal import Principal
from ..facilities.models import Facility
from ..mous.models import GRANTING, Mou, mou_facilities
from ..preplans import document
from .models import FeedChange, FeedClock

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
# The PostgreSQL advisory lock one numbering at a time holds (an arbitrary constant).
NUMBERING_LOCK = 0x5EED_F00D


@dataclass
class FeedItem:
    position: int
    facility_id: int
    action: str  # upsert | remove
    reason: str | None = None  # for a removal: deleted | not_shared
    preplan: dict | None = None


@dataclass
class FeedPage:
    changes: list[FeedItem]
    next: int  # the cursor to read on from: the last position this page covered
    more: bool  # another page may follow at once


def number_committed(connection: Connection, today: date) -> None:
    """Write the rows of MOU days up to `today`, then number every committed row, in the
    caller's transaction (commit it at once: the lock is held until then)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NUMBERING_LOCK})
    # SQLite has no such lock, and needs none: it runs one writer at a time, the numbering is
    # one statement, and the days are claimed by a conditional write (_write_mou_days).
    _write_mou_days(connection, today)
    unnumbered = (
        select(
            FeedChange.id,
            func.row_number().over(order_by=FeedChange.id).label("n"),
        )
        .where(FeedChange.position.is_(None))
        .subquery()
    )
    numbered = select(func.coalesce(func.max(FeedChange.position), 0)).scalar_subquery()
    connection.execute(
        update(FeedChange)
        .where(FeedChange.id == unnumbered.c.id)
        .values(position=numbered + unnumbered.c.n)
    )


def _write_mou_days(connection: Connection, today: date) -> None:
    """Rows for each facility an MOU covers, on each day since the last numbering when it
    started or stopped granting (it ends after its expiry day; a renewed one on the day its
    renewal takes over)."""
    checked = connection.scalar(select(FeedClock.checked_through).where(FeedClock.id == 1))
    if checked is None:
        # The first numbering: the rows of every facility say what is shared from now on. Two
        # first numberings at once (SQLite) both try; one row stays.
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(
            dialect.insert(FeedClock).values(id=1, checked_through=today).on_conflict_do_nothing()
        )
        return
    if checked >= today:
        return
    # Claim the days (since, today]: a numbering that read the same `checked` and claimed them
    # first wrote their rows, and this one writes none.
    claimed = connection.execute(
        update(FeedClock)
        .where(FeedClock.id == 1, FeedClock.checked_through == checked)
        .values(checked_through=today)
    ).rowcount
    if not claimed:
        return
    since, until = checked + timedelta(days=1), today
    mous = connection.execute(
        select(Mou.id, Mou.effective_date, Mou.expiry_date, Mou.superseded_on).where(
            Mou.status.in_(GRANTING),
            or_(
                Mou.effective_date.between(since, until),
                Mou.expiry_date.between(since - timedelta(days=1), until - timedelta(days=1)),
                Mou.superseded_on.between(since, until),
            ),
        )
    ).all()
    for mou in mous:
        ends = mou.expiry_date + timedelta(days=1) if mou.expiry_date is not None else None
        for day in sorted({mou.effective_date, ends, mou.superseded_on} - {None}):
            if since <= day <= until:
                connection.execute(
                    insert(FeedChange).from_select(
                        ["facility_id", "agency_id", "mou_id", "boundary"],
                        _covered_facilities(mou.id, day),
                    )
                )


def _covered_facilities(mou_id: int, day: date):
    listed = select(mou_facilities.c.facility_id).where(mou_facilities.c.mou_id == Mou.id)
    return (
        select(Facility.id, Mou.agency_id, Mou.id, literal(day))
        .join(Mou, Mou.organization_id == Facility.organization_id)
        .where(Mou.id == mou_id, or_(Mou.covers_all_facilities, Facility.id.in_(listed)))
        .order_by(Facility.id)
    )


def last_position(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(FeedChange.position), 0)))


def page(session: Session, principal: Principal, since: int, limit: int) -> FeedPage:
    """The changes after position `since` that concern the caller (numbered first: see
    `number_committed`, which the route runs in a transaction of its own)."""
    if since > last_position(session):
        raise errors.InvalidInput(
            {"since": ["No change has this position yet: start at 0, or read on from `next`."]}
        )
    rows = session.execute(
        select(FeedChange.position, FeedChange.facility_id, FeedChange.agency_id)
        .where(FeedChange.position > since)
        .order_by(FeedChange.position)
        .limit(limit)
    ).all()
    facility_ids = {row.facility_id for row in rows}
    # The facilities the caller reads (deleted or not), and whether each is deleted.
    readable = dict(
        session.execute(
            select(Facility.id, Facility.deleted_at.is_not(None)).where(
                Facility.id.in_(facility_ids), visibility.facilities(principal)
            )
        ).all()
    )
    latest: dict[int, FeedItem] = {}
    for row in rows:
        item = _item_for(principal, row, readable)
        if item is not None:
            latest.pop(row.facility_id, None)  # once per page, at its last position
            latest[row.facility_id] = item
    upserted = [item.facility_id for item in latest.values() if item.action == "upsert"]
    parts = document.shared_parts(session, upserted)
    for facility_id in upserted:
        latest[facility_id].preplan = parts[facility_id]
    cursor = rows[-1].position if rows else since
    return FeedPage(list(latest.values()), cursor, len(rows) == limit)


def _item_for(principal: Principal, row, readable: dict[int, bool]) -> FeedItem | None:
    if row.facility_id in readable:
        if readable[row.facility_id]:
            return FeedItem(row.position, row.facility_id, "remove", "deleted")
        return FeedItem(row.position, row.facility_id, "upsert")
    if principal.role in AGENCY_ROLES and row.agency_id == principal.agency_id:
        # A change of one of its own MOUs: the agency may have read it until now.
        return FeedItem(row.position, row.facility_id, "remove", "not_shared")
    if principal.is_admin:  # an admin reads every facility: this one is gone altogether
        return FeedItem(row.position, row.facility_id, "remove", "deleted")
    return None
