"""Registration cannot hijack a match.

Without this, any facility manager could register a facility at another organization's address
(the established facility then looks ambiguous, and an agency's break-glass there is lost) or
just beside its position (a position lookup would then serve the newcomer's text). A new or
moved facility that shares another organization's address, or stands within the certain-match
distance of another organization's facility, is held `pending` for an administrator; both
organizations are told; and until it is approved the CAD lookup does not see it at all
(preplans/lookup.py matches approved facilities only).
"""

import math

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from .. import audit, errors
from ..addresses import gazetteer
from ..auth.principal import Principal
from ..notifications.service import notify
from ..preplans.lookup import CERTAIN_DISTANCE_M, EARTH_RADIUS_M
from .models import Facility

_WATCHED = ("address_key", "address_key_core", "postal_code", "city_key", "state", "lat", "lon")


def _moved(facility: Facility) -> bool:
    state = inspect(facility)
    if state.pending or state.transient:
        return True
    return any(state.attrs[name].history.has_changes() for name in _WATCHED)


def same_place(one: Facility, other) -> bool:
    """Could a dispatcher's text name both? Same state, and the same ZIP or a town name they
    share (a registered city or a postal name USPS accepts: "Orlando" and "Lake Buena Vista")."""
    if one.state != other.state:
        return False
    zips = ((one.postal_code or "")[:5], (other.postal_code or "")[:5])
    if zips[0] == zips[1]:
        return True
    names = gazetteer.locality_names(one.city, one.state, zips[0])
    return bool(names & gazetteer.locality_names(other.city, other.state, zips[1]))


def others_at(session: Session, facility: Facility, address_key_core: str) -> list[Facility]:
    """Other organizations' live, approved facilities at this number and street root in the
    same place as `facility` (the address a lookup could read as theirs)."""
    with session.no_autoflush:
        rows = session.scalars(
            select(Facility).where(
                *_others(facility),
                Facility.address_key_core == address_key_core,
                Facility.state == facility.state,
            )
        )
        return [row for row in rows if same_place(facility, row)]


def _others(facility: Facility) -> list:
    others = [
        Facility.organization_id != facility.organization_id,
        Facility.deleted_at.is_(None),
        Facility.review_status == "approved",
    ]
    if facility.id is not None:
        others.append(Facility.id != facility.id)
    return others


def conflicts(session: Session, facility: Facility) -> list[Facility]:
    """Other organizations' live, approved facilities at this address (or one of its address
    aliases' addresses) or within the certain-match distance of its position."""
    found = {}
    if facility.address_key_core:
        found.update((f.id, f) for f in others_at(session, facility, facility.address_key_core))
    if facility.lat is not None and facility.lon is not None:
        dlat = math.degrees(CERTAIN_DISTANCE_M / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(facility.lat)), 1e-6)
        with session.no_autoflush:
            near = session.scalars(
                select(Facility).where(
                    *_others(facility),
                    Facility.lat.between(facility.lat - dlat, facility.lat + dlat),
                    Facility.lon.between(facility.lon - dlon, facility.lon + dlon),
                )
            )
            found.update((f.id, f) for f in near)
    return list(found.values())


def hold_if_contested(
    session: Session, principal: Principal, facility: Facility, restoring: bool = False
) -> None:
    """Called by the facility service after the match keys are derived (before the flush), and
    when a deleted facility is restored (someone else may have registered there since).
    Administrators are the reviewers: what they register, move or restore is approved."""
    if principal.is_admin or not (restoring or _moved(facility)):
        return
    rivals = conflicts(session, facility)
    if not rivals:
        return
    facility.review_status = "pending"
    facility._review_rivals = rivals  # told once the facility has its id (see notify_review)


def notify_review(session: Session, principal: Principal, facility: Facility) -> None:
    """Tell both organizations that a registration waits for review (after the flush)."""
    rivals = getattr(facility, "_review_rivals", None)
    if not rivals:
        return
    facility._review_rivals = None
    where = facility.normalized_address or "its position"
    for organization_id in {facility.organization_id, *(r.organization_id for r in rivals)}:
        notify(
            session,
            organization_id=organization_id,
            kind="facility_review",
            message=(
                f"Facility {facility.id} ({facility.name}) at {where} shares an address or "
                f"position with another organization's facility; an administrator must approve "
                f"it before dispatch can find it."
            ),
            actor=principal.subject,
            facility_id=facility.id,
        )


def approve(session: Session, principal: Principal, facility: Facility) -> Facility:
    """An administrator approves a held facility: from now on the lookup sees it."""
    if not principal.is_admin:
        raise errors.Forbidden("Only an administrator approves a held facility.")
    if facility.review_status != "pending":
        raise errors.Conflict("This facility is not waiting for review.")
    facility.review_status = "approved"
    session.flush()
    audit.record(
        session,
        principal,
        "facility.approve",
        record=facility,
        facility_id=facility.id,
        changes={"review_status": ["pending", "approved"]},
    )
    for organization_id in {
        facility.organization_id,
        *(r.organization_id for r in conflicts(session, facility)),
    }:
        notify(
            session,
            organization_id=organization_id,
            kind="facility_review",
            message=f"Facility {facility.id} ({facility.name}) was approved by an administrator.",
            actor=principal.subject,
            facility_id=facility.id,
        )
    return facility
