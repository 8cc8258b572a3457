"""Announcements the clock brings, found by a scan the worker runs every few minutes (and once
per `--once` run): an active MOU ending within 30 days (told to both parties), an active MOU
past its expiry date (both parties), a facility whose pre-plan has gone stale (its
organization).

Each is written once: its notification carries an `announcement_key` naming what it announces,
unique in the database, so a scan that runs again, or on two workers at once, adds nothing.
"""

from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import confirmation, db, transaction
from ..facilities.models import Facility
from ..mous.models import PARTIES, Mou
from ..reports.freshness import PARTS
from .models import Notification
from .service import notify

ENDING_SOON_DAYS = 30
# An MOU that expired longer ago than this when the scan first saw it (a new deployment, a
# worker that was down for months) is not announced any more: the news is old.
EXPIRED_LOOKBACK_DAYS = 30
ACTOR = "registry"


def announce_all() -> int:
    """Run every scan; how many notifications were written. Each announcement is written in
    its own short transaction, so one that another worker wrote meanwhile (its key taken)
    costs nothing else."""
    with transaction.session_scope() as session:
        wanted = mou_ends(session) + stale_data(session)
    written = 0
    for key, notification in wanted:
        try:
            with transaction.session_scope() as session:
                notify(session, actor=ACTOR, announcement_key=key, **notification)
        except IntegrityError:  # another worker's scan wrote it meanwhile
            continue
        written += 1
    return written


def _known(session: Session, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(
        session.scalars(
            select(Notification.announcement_key).where(Notification.announcement_key.in_(keys))
        )
    )


def mou_ends(session: Session) -> list[tuple[str, dict]]:
    """The MOU announcements due and not yet written: (key, notification)."""
    today = db.utc_today()
    mous = session.scalars(
        select(Mou).where(
            Mou.status == "active",
            Mou.expiry_date.is_not(None),
            Mou.expiry_date >= today - timedelta(days=EXPIRED_LOOKBACK_DAYS),
            Mou.expiry_date <= today + timedelta(days=ENDING_SOON_DAYS),
        )
    ).all()
    wanted = []
    for mou in mous:
        expired = mou.expiry_date < today
        kind = "mou_expired" if expired else "mou_ending_soon"
        for party in PARTIES:
            key = f"{kind}:mou:{mou.id}:{mou.expiry_date}:{party}"
            wanted.append((key, kind, party, mou))
    known = _known(session, [key for key, *_ in wanted])
    due = []
    for key, kind, party, mou in wanted:
        if key in known:
            continue
        recipient = (
            {"organization_id": mou.organization_id}
            if party == "organization"
            else {"agency_id": mou.agency_id}
        )
        message = _mou_message(mou, kind, today)
        due.append((key, {"kind": kind, "mou_id": mou.id, "message": message, **recipient}))
    return due


def _mou_message(mou: Mou, kind: str, today: date) -> str:
    if kind == "mou_expired":
        return (
            f'The MOU "{mou.title}" (id {mou.id}) expired on {mou.expiry_date}: it no longer '
            f"grants access. Renew it (POST /mous/{mou.id}/renew) to agree new terms."
        )
    days = (mou.expiry_date - today).days
    return (
        f'The MOU "{mou.title}" (id {mou.id}) ends on {mou.expiry_date}, in {days} days. '
        f"Renew it (POST /mous/{mou.id}/renew) to keep sharing without a gap."
    )


def stale_data(session: Session) -> list[tuple[str, dict]]:
    """The stale-data announcements due and not yet written: (key, notification). A facility whose pre-plan holds a stale part (the facility itself, a live contact,
    access point or tactical point, a current floor plan): told once per episode, keyed by the
    day its oldest stale part went stale ("never" for a part never confirmed), so confirming
    everything and going stale again later is news again."""
    today = db.utc_today()
    max_ages = confirmation.max_ages(current_app.config)
    # facility id -> [the earliest confirmation among its stale parts of each kind, or None]
    oldest: dict[int, list] = {}
    live_facility = Facility.deleted_at.is_(None)
    cutoff = confirmation.stale_by_cutoff(today, max_ages["facility"], 0)
    for facility_id, confirmed_at in session.execute(
        select(Facility.id, Facility.confirmed_at).where(
            live_facility, (Facility.confirmed_at.is_(None)) | (Facility.confirmed_at < cutoff)
        )
    ):
        oldest.setdefault(facility_id, []).append((confirmed_at, max_ages["facility"]))
    for kind, (model, live, _name) in PARTS.items():
        cutoff = confirmation.stale_by_cutoff(today, max_ages[kind], 0)
        stale = (model.confirmed_at.is_(None)) | (model.confirmed_at < cutoff)
        rows = session.execute(
            select(
                model.facility_id,
                func.count(),
                func.count(model.confirmed_at),
                func.min(model.confirmed_at),
            )
            .join(Facility, Facility.id == model.facility_id)
            .where(live, stale, live_facility)
            .group_by(model.facility_id)
        )
        for facility_id, parts, confirmed, earliest in rows:
            entry = oldest.setdefault(facility_id, [])
            if confirmed < parts:
                entry.append((None, max_ages[kind]))
            if earliest is not None:
                entry.append((earliest, max_ages[kind]))
    wanted = {}
    for facility_id, stale_parts in oldest.items():
        days = [
            confirmation.due_on(at, max_age) + timedelta(days=1)
            for at, max_age in stale_parts
            if at is not None
        ]
        since = "never" if any(at is None for at, _ in stale_parts) else min(days).isoformat()
        wanted[f"data_stale:facility:{facility_id}:{since}"] = (
            facility_id,
            since,
            len(stale_parts),
        )
    known = _known(session, list(wanted))
    fresh = [key for key in wanted if key not in known]
    if not fresh:
        return []
    facilities = {
        f.id: f
        for f in session.scalars(
            select(Facility).where(Facility.id.in_([wanted[key][0] for key in fresh]))
        )
    }
    due = []
    for key in fresh:
        facility_id, since, _ = wanted[key]
        facility = facilities[facility_id]
        when = "parts never confirmed" if since == "never" else f"stale since {since}"
        message = (
            f"The pre-plan of {facility.name} holds stale information ({when}). Confirm what "
            f"is still accurate: GET /reports/freshness?organization_id="
            f"{facility.organization_id} lists it."
        )
        due.append(
            (
                key,
                {
                    "kind": "data_stale",
                    "organization_id": facility.organization_id,
                    "facility_id": facility_id,
                    "message": message,
                },
            )
        )
    return due
