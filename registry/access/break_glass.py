"""Break-glass: the one way past the visibility rules.

A mutual-aid agency without an MOU responds to an incident at a facility that does not share
with it. Opening an incident there (incidents.service) grants break-glass when `grant_refused`
allows; while that grant is live, the agency may read that one facility's pre-plan, read-only,
download the floor plans it lists, and reveal its door codes. Every such response is flagged
(`break_glass` in the body, the `Registry-Break-Glass` header), every read is audited, and the
facility's organization is told. Nothing else opens: not the facility record, not other
facilities, not writes.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..db import utcnow
from ..facilities.models import Facility
from ..fields import MAX_ID
from ..incidents.models import Incident
from .roles import AGENCY_ROLES, Role

# Response header naming the incident through which a break-glass read was allowed.
HEADER = "Registry-Break-Glass"


def header_value(incident: Incident) -> str:
    return f"incident={incident.id}"


def live_grant():
    """SQL: an incident whose break-glass grant can be used now: a break-glass incident that is
    open, has not expired and was not ended early (closing one ends its grant for good, so a
    re-opened incident grants nothing: incidents.service)."""
    return (
        Incident.break_glass.is_(True)
        & (Incident.status == "open")
        & (Incident.access_expires_at > utcnow())
        & Incident.break_glass_ended_at.is_(None)
    )


def live_incident(session: Session, principal: Principal, facility_id: int) -> Incident | None:
    """The caller's agency's incident at the facility with a live break-glass grant, or None.

    A grant lasts at most REGISTRY_BREAK_GLASS_HOURS from opening, and only while it is live.
    Any other incident gives nothing: it is a record, not a key.
    """
    if principal.role not in AGENCY_ROLES or not 0 < facility_id <= MAX_ID:
        return None
    return session.scalar(
        select(Incident)
        .where(
            Incident.agency_id == principal.agency_id,
            Incident.facility_id == facility_id,
            live_grant(),
        )
        .order_by(Incident.opened_at.desc())
        .limit(1)
    )


def grant_refused(principal: Principal, facility: Facility, jurisdiction) -> str | None:
    """Why opening an incident at `facility` (registered, not shared with the caller's agency)
    grants no break-glass, or None when it does.

    A CAD client may always be granted: it is the dispatch system itself, provisioned by an
    administrator, and mutual aid is dispatched through it. A person (an agency user) only where
    their agency serves, by `jurisdiction` (preplans.lookup.jurisdiction_of; none: no grant),
    so that an account anywhere cannot open any facility's pre-plan and codes by itself.
    """
    if principal.role == Role.CAD:
        return None
    if jurisdiction is None:
        return "agency_has_no_jurisdiction"
    if not jurisdiction.covers(facility.state, facility.county_fips):
        return "outside_jurisdiction"
    return None
