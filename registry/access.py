"""Who may read and write what. Every visibility rule is a SQL clause, so lists and single reads
use the same rule and an invisible record is simply not found (404, no existence leak)."""

from functools import lru_cache

from sqlalchemy import exists, false, or_, select, true

from .auth.principal import Principal
from .db import utc_today, utcnow
from .facilities.models import Facility
from .fields import MAX_ID
from .mous.models import Mou, MouScope, mou_facilities

AGENCY_ROLES = ("agency_user", "cad")
# Who may run the CAD lookup: those who dispatch or plan a response. For anyone else it would be
# an oracle (another tenant's manager learning facility names, or whose phone is a liaison's).
LOOKUP_ROLES = ("admin", *AGENCY_ROLES)
# Response header naming the incident through which a break-glass read was allowed.
BREAK_GLASS_HEADER = "Registry-Break-Glass"


def _has_scope(scope: str):
    return exists(select(MouScope.mou_id).where(MouScope.mou_id == Mou.id, MouScope.scope == scope))


def covers_facility(facility_id_column):
    return or_(
        Mou.covers_all_facilities,
        exists(
            select(mou_facilities.c.mou_id)
            .where(
                mou_facilities.c.mou_id == Mou.id,
                mou_facilities.c.facility_id == facility_id_column,
            )
            # The facility is two queries up (facility -> MOU -> this list); auto-correlation
            # only looks one up and would add its own `facilities`, matching any listed facility.
            .correlate_except(mou_facilities)
        ),
    )


def shares_facility(agency_id: int):
    """True for facilities an active data-sharing MOU opens to `agency_id`."""
    return exists(
        select(Mou.id).where(
            Mou.organization_id == Facility.organization_id,
            Mou.agency_id == agency_id,
            Mou.in_force,
            _has_scope("data_sharing"),
            covers_facility(Facility.id),
        )
    )


def shares_organization(agency_id: int, organization_id_column):
    """True for organizations with an active data-sharing MOU (any facility) with `agency_id`."""
    return exists(
        select(Mou.id).where(
            Mou.organization_id == organization_id_column,
            Mou.agency_id == agency_id,
            Mou.in_force,
            _has_scope("data_sharing"),
        )
    )


def scope_of(principal: Principal) -> tuple:
    """What facility visibility depends on: role, binding, and the day (MOUs start and end)."""
    return (principal.role, principal.organization_id, principal.agency_id, utc_today())


def facility_filter(principal: Principal):
    return visibility(*scope_of(principal))


@lru_cache(maxsize=256)
def visibility(role: str, organization_id: int | None, agency_id: int | None, today):
    """The facilities a caller of this scope may read, as a SQL condition. Built once per scope:
    expressions are immutable, and building them costs more than the queries that use them."""
    if role == "admin":
        return true()
    if role == "facility_manager":
        return Facility.organization_id == organization_id
    if role in AGENCY_ROLES:
        return shares_facility(agency_id)
    return false()


def live_facilities(principal: Principal):
    """Ids of the facilities the caller may read that are not deleted (a deleted facility hides
    its points and contacts with it)."""
    return select(Facility.id).where(facility_filter(principal), Facility.deleted_at.is_(None))


def manages_organization(principal: Principal, organization_id: int | None) -> bool:
    """Admins manage every organization's data; a facility manager only its own."""
    return principal.is_admin or (
        principal.role == "facility_manager"
        and organization_id is not None
        and principal.organization_id == organization_id
    )


def open_incident(session, principal: Principal, facility_id: int, break_glass_only: bool):
    """The caller's agency's open incident at the facility whose access has not expired, or None.

    Every incident at a facility gives its agency access for at most REGISTRY_BREAK_GLASS_HOURS
    from opening, and only while open (re-opening a closed one does not extend it): a
    break-glass one to read that pre-plan, read-only; any of them to reveal the door codes.
    """
    from .incidents.models import Incident

    if principal.role not in AGENCY_ROLES or not 0 < facility_id <= MAX_ID:
        return None
    conditions = [
        Incident.agency_id == principal.agency_id,
        Incident.facility_id == facility_id,
        Incident.status == "open",
        Incident.access_expires_at > utcnow(),
    ]
    if break_glass_only:
        conditions.append(Incident.break_glass.is_(True))
    return session.scalar(
        select(Incident)
        .where(*conditions)
        .order_by(Incident.break_glass.desc(), Incident.opened_at.desc())
        .limit(1)
    )


def break_glass_incident(session, principal: Principal, facility_id: int):
    """The open break-glass incident through which the caller's agency may read this facility's
    pre-plan now, or None."""
    return open_incident(session, principal, facility_id, break_glass_only=True)
