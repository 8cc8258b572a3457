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


def live_break_glass(incident_model):
    """SQL: an incident whose break-glass grant can be used now: a break-glass incident that is
    open, has not expired and was not ended early (closing one ends its grant for good, so a
    re-opened incident grants nothing: incidents.service)."""
    return (
        incident_model.break_glass.is_(True)
        & (incident_model.status == "open")
        & (incident_model.access_expires_at > utcnow())
        & incident_model.break_glass_ended_at.is_(None)
    )


def break_glass_incident(session, principal: Principal, facility_id: int):
    """The caller's agency's incident at the facility with a live break-glass grant, or None.

    A grant lets that agency read the facility's pre-plan, read-only, and reveal its door codes
    (facilities.secrets), for at most REGISTRY_BREAK_GLASS_HOURS from opening and only while the
    grant is live. Any other incident gives nothing: it is a record, not a key.
    """
    from .incidents.models import Incident

    if principal.role not in AGENCY_ROLES or not 0 < facility_id <= MAX_ID:
        return None
    return session.scalar(
        select(Incident)
        .where(
            Incident.agency_id == principal.agency_id,
            Incident.facility_id == facility_id,
            live_break_glass(Incident),
        )
        .order_by(Incident.opened_at.desc())
        .limit(1)
    )


def break_glass_refused(principal: Principal, facility: Facility, jurisdiction) -> str | None:
    """Why opening an incident at `facility` (registered, not shared with the caller's agency)
    grants no break-glass, or None when it does.

    A CAD client may always be granted: it is the dispatch system itself, provisioned by an
    administrator, and mutual aid is dispatched through it. A person (an agency user) only where
    their agency serves, by `jurisdiction` (preplans.lookup.jurisdiction_of; none: no grant),
    so that an account anywhere cannot open any facility's pre-plan and codes by itself.
    """
    if principal.role == "cad":
        return None
    if jurisdiction is None:
        return "agency_has_no_jurisdiction"
    if not jurisdiction.covers(facility.state, facility.county_fips):
        return "outside_jurisdiction"
    return None
