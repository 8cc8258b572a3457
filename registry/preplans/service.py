"""The CAD lookup as dispatch uses it: find the facility, and bring its pre-plan when certain.

Break-glass: an agency responds to an incident at a facility that does not share with it (a
mutual-aid agency without an MOU). While its incident there is open, it may read that one
pre-plan, read-only (access.break_glass); every such response says so (`break_glass`), every
read is audited, and the facility's organization was told when the incident opened
(incidents.service).
"""

from sqlalchemy.orm import Session

from ..access import break_glass
from ..auth.principal import Principal
from ..facilities.models import RECOVERY_KINDS
from .document import preplan
from .lookup import LookupQuery, LookupResult, lookup
from .schemas import BreakGlassSchema

_break_glass_schema = BreakGlassSchema()


def break_glass_flag(incident) -> dict:
    """The `break_glass` member of a response, serialized."""
    return _break_glass_schema.dump(
        {"incident_id": incident.id, "expires_at": incident.access_expires_at}
    )


def with_break_glass(document: dict, incident) -> dict:
    """A copy of a (shared, cached) pre-plan document, flagged as read through break-glass."""
    return {**document, "break_glass": break_glass_flag(incident)}


def recovery_sites(document: dict) -> list[dict]:
    """The reunification sites and family assistance centres of a (serialized) pre-plan, as
    it shows them, in its order."""
    return [point for point in document["tactical_points"] if point["kind"] in RECOVERY_KINDS]


def attach_preplan(session: Session, principal: Principal, result: LookupResult) -> None:
    """Put the pre-plan of the facility the lookup found on the result (NotFound when the caller
    may not read it), flagged when it is read through break-glass."""
    rendered, decision = preplan(session, principal, result.facility_id)
    result.preplan = rendered.document
    if decision.break_glass:
        result.break_glass = break_glass_flag(decision.incident)
        result.preplan = with_break_glass(rendered.document, decision.incident)


def find_preplan(
    session: Session, principal: Principal, query: LookupQuery, lenient: bool = False
) -> LookupResult:
    """Look up; attach the pre-plan of an unambiguous match the caller may read (by role, MOU
    or a live break-glass grant of its agency there)."""
    result = lookup(session, principal, query, lenient)
    if result.status == "matched" or (
        result.status == "not_shared"
        and break_glass.may_read(session, principal, result.facility_id).allowed
    ):
        attach_preplan(session, principal, result)
    return result
