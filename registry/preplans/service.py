"""The CAD lookup as dispatch uses it: find the facility, and bring its pre-plan when certain.

Break-glass: an agency responds to an incident at a facility that does not share with it (a
mutual-aid agency without an MOU). While its incident there is open, it may read that one
pre-plan, read-only (access.break_glass); every such response says so (`break_glass`), every
read is audited, and the facility's organization was told when the incident opened
(incidents.service).
"""

from sqlalchemy.orm import Session

from .. import audit
from ..access import break_glass
from ..auth.principal import Principal
from ..facilities.models import RECOVERY_KINDS
from .document import RenderedPreplan, preplan
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


def run_lookup(
    session: Session, principal: Principal, args: dict, via: str | None = None
) -> LookupResult:
    """The lookup as a person or a dispatch system asks it (`args`: LookupQuerySchema's
    fields), recorded in the audit trail as `preplan.lookup` (`via`: "console" for the web
    console's search box, noted on the event)."""
    result = find_preplan(session, principal, LookupQuery(**args))
    audit.record(
        session,
        principal,
        "preplan.lookup",
        record_type="facility",
        record_id=result.facility_id,
        facility_id=result.facility_id,
        break_glass=result.break_glass is not None,
        details={
            # The calling number may be a 911 caller's own phone, and facility managers read
            # their facilities' trail: it is noted as given, not kept.
            "query": {k: ("given" if k == "phone" else v) for k, v in args.items()},
            "status": result.status,
            # How many, not which: the other candidates are not this facility's business.
            "candidates": len(result.candidates),
            "hidden_matches": result.hidden_matches,
            **({"via": via} if via else {}),
        },
    )
    return result


def read_preplan(
    session: Session, principal: Principal, facility_id: int, format: str
) -> tuple[RenderedPreplan, break_glass.Decision]:
    """A facility's pre-plan read by `principal` (document.preplan: NotFound when it may not),
    recorded in the audit trail as `preplan.view` in `format` (json, geojson, html, pdf, or
    console: the web console's pre-plan page), flagged when read through break-glass."""
    rendered, decision = preplan(session, principal, facility_id)
    incident = decision.incident
    audit.record(
        session,
        principal,
        "preplan.view",
        record_type="facility",
        record_id=facility_id,
        facility_id=facility_id,
        break_glass=incident is not None,
        details={"format": format, "incident_id": incident.id if incident is not None else None},
    )
    return rendered, decision
