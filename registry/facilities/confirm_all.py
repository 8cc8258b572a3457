"""Confirm a whole facility as still accurate: the facility and every part of its pre-plan, in
one write (`POST /facilities/{id}/confirm`).

Confirms the facility, its live contacts (the organization's contacts listed there too), access points and tactical points, and the current
revision of each floor plan (confirmation.py says what a confirmation is). Nothing else
changes: `updated_at` keeps saying when each one last changed, while its row version moves (the
record shows its confirmation, so its ETag changes) and the pre-plan's triggers bump
`preplan_version`. Each confirmed record gets a "confirm" row in the facility's history; the
audit trail gets one `facility.confirm` event with the counts.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import flag_modified

from .. import audit, confirmation, db, history
from ..auth.principal import Principal
from ..contacts.models import Contact, contact_listings
from ..floorplans.models import FloorPlan
from .models import AccessPoint, Facility, TacticalPoint


@dataclass
class FacilityConfirmation:
    facility: Facility
    confirmed_at: datetime
    confirmed_by: str
    confirmed: dict[str, int]  # how many of each: facility, contacts, access_points, ...


def parts_of(session: Session, facility: Facility) -> dict[str, list]:
    """What a confirm-all confirms beside the facility, by the pre-plan's names for them."""
    parts = {}
    for name, model, live in (
        ("contacts", Contact, Contact.deleted_at.is_(None)),
        ("access_points", AccessPoint, AccessPoint.deleted_at.is_(None)),
        ("tactical_points", TacticalPoint, TacticalPoint.deleted_at.is_(None)),
        ("floor_plans", FloorPlan, FloorPlan.current),
    ):
        if model is Contact:
            # The organization's contacts listed here too: the manager vouches for the whole
            # pre-plan as responders read it.
            listed = contact_listings()
            here = Contact.id.in_(select(listed.c.id).where(listed.c.facility_id == facility.id))
        else:
            here = model.facility_id == facility.id
        statement = select(model).where(here, live).order_by(model.id)
        if model is Contact:
            statement = statement.options(lazyload(Contact.phone_rows))  # not confirmed apart
        parts[name] = list(session.scalars(statement))
    return parts


def confirm_all(session: Session, principal: Principal, facility: Facility) -> FacilityConfirmation:
    """Confirm the facility and its parts now, by the caller (whom the route has authorized)."""
    now, by = db.utcnow(), confirmation.confirmer(session, principal)
    parts = parts_of(session, facility)
    for record in (facility, *(record for records in parts.values() for record in records)):
        changes = {
            "confirmed_at": [_iso(record.confirmed_at), now.isoformat()],
            "confirmed_by": [record.confirmed_by, by],
        }
        record.confirmed_at, record.confirmed_by = now, by
        # Sent as it is, so the row's onupdate does not stamp a change that was not made.
        flag_modified(record, "updated_at")
        history.record_change(session, principal, facility.id, record, "confirm", changes)
    session.flush()
    counts = {"facility": 1, **{name: len(records) for name, records in parts.items()}}
    audit.record(
        session,
        principal,
        "facility.confirm",
        record=facility,
        facility_id=facility.id,
        details={"confirmed": counts},
    )
    return FacilityConfirmation(facility, now, by, counts)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
