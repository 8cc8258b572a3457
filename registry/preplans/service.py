"""The CAD lookup as dispatch uses it: find the facility, and bring its pre-plan when certain.

Break-glass: an agency responds to an incident at a facility that does not share with it (a
mutual-aid agency without an MOU). While its incident there is open, it may read that one
pre-plan, read-only; every such response says so (`break_glass`), every read is audited, and
the facility's organization was told when the incident opened (incidents.service).
"""

from sqlalchemy.orm import Session

from .. import errors
from ..access import break_glass
from ..auth.principal import Principal
from .document import RenderedPreplan, preplan
from .lookup import LookupQuery, LookupResult, lookup
from .schemas import BreakGlassSchema

_break_glass_schema = BreakGlassSchema()


def break_glass_flag(incident) -> dict:
    """The `break_glass` member of a response, serialized."""
    return _break_glass_schema.dump(
        {"incident_id": incident.id, "expires_at": incident.access_expires_at}
    )


def readable_preplan(
    session: Session, principal: Principal, facility_id: int
) -> tuple[RenderedPreplan, object | None]:
    """The pre-plan the caller may read through its role or an MOU, else through its agency's
    open break-glass incident at the facility (returned too); NotFound otherwise."""
    try:
        return preplan(session, principal, facility_id), None
    except errors.NotFound:
        incident = break_glass.live_incident(session, principal, facility_id)
        if incident is None:
            raise
        return preplan(session, principal, facility_id, incident), incident


def with_break_glass(document: dict, incident) -> dict:
    """A copy of a (shared, cached) pre-plan document, flagged as read through break-glass."""
    return {**document, "break_glass": break_glass_flag(incident)}


def attach_break_glass(session: Session, principal: Principal, result: LookupResult, incident):
    result.break_glass = break_glass_flag(incident)
    document = preplan(session, principal, result.facility_id, incident).document
    result.preplan = with_break_glass(document, incident)


def find_preplan(
    session: Session, principal: Principal, query: LookupQuery, lenient: bool = False
) -> LookupResult:
    """Look up; attach the pre-plan of an unambiguous match the caller may read (by role, MOU
    or an open break-glass incident of its agency there)."""
    result = lookup(session, principal, query, lenient)
    if result.status == "matched":
        result.preplan = preplan(session, principal, result.facility_id).document
    elif result.status == "not_shared":
        incident = break_glass.live_incident(session, principal, result.facility_id)
        if incident is not None:
            attach_break_glass(session, principal, result, incident)
    return result
