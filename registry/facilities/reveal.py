"""Revealing an access point's secrets: who may, the audited reveal, and why a refusal.

Nobody reads a secret back through the API's records: they show `has_code` and
`has_key_location`. `reveal` is the one way to the values: allowed to the people who hold the
keys (the facility's managers, agencies whose MOU has a key scope) and to an agency with a live
break-glass grant there (access.break_glass.may_reveal decides), audited every time (refusals
too), and under break-glass the facility's organization is told. The values themselves are
opened by sealing.py.
"""

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, errors
from ..access.break_glass import may_reveal
from ..auth.principal import Principal
from ..encryption import UnreadableSecret
from ..fields import MAX_ID
from ..incidents.models import Incident
from ..notifications.service import notify
from .models import AccessPoint, Facility
from .schemas import RevealRequestSchema
from .sealing import FIELDS, open_secret

_REQUEST_FIELDS = frozenset(RevealRequestSchema().fields)


@dataclass
class Revealed:
    access_point_id: int
    code: str | None
    key_location: str | None
    break_glass: bool
    incident_id: int | None


def _invalid_fields(problem: errors.RegistryError) -> list[str]:
    """The request fields a refused body got wrong, for the audit row. Only the schema's own
    names: any other is text the caller chose (a code pasted as a field name, say)."""
    return sorted(
        {name if name in _REQUEST_FIELDS else "(unknown field)" for name in problem.errors or {}}
    )


def reveal(
    session: Session,
    principal: Principal,
    point_id: int,
    load_request: Callable[[], dict],
    fresh: bool,
    facility_id: int | None = None,
) -> Revealed:
    """An access point's code and key location, for those who may open its doors.

    Every attempt by a known caller is audited, refused ones with why (`refused_because`), and
    a refused or failed one keeps its audit row (keeping_changes). The answers come in the
    API's usual order: a stale login (`fresh` false: 401), then the body (`load_request`, which
    raises 400/415/422), then the access point (404/403), then the stored values (409). The row
    keeps the reason only from a valid body, never the body itself. `facility_id`: the pre-plan
    the caller reveals from (the web console's page); a point of another facility is not
    found there, and that refusal is audited like any other.
    """
    point = None
    if 0 < point_id <= MAX_ID:
        point = session.scalar(
            select(AccessPoint)
            .join(Facility, Facility.id == AccessPoint.facility_id)
            .where(
                AccessPoint.id == point_id,
                AccessPoint.deleted_at.is_(None),
                Facility.deleted_at.is_(None),
            )
        )
    if point is not None and facility_id is not None and point.facility_id != facility_id:
        point = None
    facility = point.facility if point is not None else None
    try:
        reason, invalid_request = load_request()["reason"], None
    except errors.RegistryError as problem:
        reason, invalid_request = None, problem

    def attempt(outcome: str, incident: Incident | None = None, break_glass: bool = False, **more):
        audit.record(
            session,
            principal,
            "access_point.reveal",
            record_type="access_point",
            # An id past the column's range names nothing and would not fit the audit row.
            record_id=point_id if 0 < point_id <= MAX_ID else None,
            facility_id=facility.id if facility else None,
            details={
                "reason": reason,
                "outcome": outcome,
                "incident_id": incident.id if incident else None,
                **more,
            },
            break_glass=break_glass,
        )

    if not fresh:
        attempt("refused", refused_because="fresh_login_required")
        raise errors.FreshLoginRequired().keeping_changes()
    if invalid_request is not None:
        attempt(
            "refused",
            refused_because="invalid_request",
            invalid_fields=_invalid_fields(invalid_request),
        )
        raise invalid_request.keeping_changes()
    if point is None:
        attempt("refused", refused_because="no_such_access_point")
        raise errors.NotFound(
            f"No access point with id {point_id} is visible to you."
        ).keeping_changes()
    decision = may_reveal(session, principal, facility)
    incident, break_glass = decision.incident, decision.break_glass
    if not decision.allowed:
        attempt("refused", refused_because="not_allowed")
        if decision.reason == "not_shared":  # the caller must not learn the point exists
            raise errors.NotFound(
                f"No access point with id {point_id} is visible to you."
            ).keeping_changes()
        raise errors.Forbidden(
            "Only the facility's managers, agencies whose MOU covers key holding or access "
            "codes, and agencies with a live break-glass incident there may reveal its codes."
        ).keeping_changes()

    try:
        values = {field: open_secret(point, field) for field in FIELDS}
    except UnreadableSecret as exc:
        attempt("unreadable", incident, break_glass)
        raise exc.keeping_changes() from None
    attempt("revealed", incident, break_glass)
    if break_glass:
        revealed = " and ".join(f.replace("_", " ") for f in FIELDS if values[f]) or "secrets"
        notify(
            session,
            organization_id=facility.organization_id,
            kind="break_glass_reveal",
            actor=principal.subject,
            facility_id=facility.id,
            incident_id=incident.id,
            message=(
                f"During incident {incident.cad_incident_number} ({incident.incident_type}), "
                f"{principal.subject} revealed the {revealed} of {point.name} at "
                f"{facility.name}. Reason given: {reason}"
            ),
        )
    return Revealed(
        point.id, values["code"], values["key_location"], break_glass, incident and incident.id
    )
