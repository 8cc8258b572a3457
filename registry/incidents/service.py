import hashlib
import json
from datetime import timedelta

from flask import current_app

from .. import audit, errors
from ..access import break_glass, visibility, writes
from ..access.roles import AGENCY_ROLES
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..db import utcnow
from ..facilities.models import Facility
from ..notifications.service import notify
from ..preplans.document import preplan
from ..preplans.lookup import LookupQuery, jurisdiction_of
from ..preplans.service import attach_preplan, find_preplan, recovery_sites
from .models import Incident

LOOKUP_FIELDS = tuple(LookupQuery.__dataclass_fields__)
# What the lookup result's notes say when an incident at a not-shared facility grants nothing.
NO_GRANT = {
    "outside_jurisdiction": "no break-glass through this incident: the facility is outside your "
    "agency's jurisdiction (your agency's CAD may open a mutual-aid incident there)",
    "agency_has_no_jurisdiction": "no break-glass through this incident: your agency has no "
    "jurisdiction on record (your agency's CAD may open a mutual-aid incident there)",
}
# Closing a break-glass incident ends its grant for good: re-opening it continues the record,
# never the access (a new grant needs a new incident, which checks the opener again and tells
# the facility's organization again).
ENDED_BY_CLOSING = "the incident was closed; re-opening it does not restore break-glass"


class IncidentService(RecordService):
    """Incidents are opened by an agency (a CAD client or an agency user) and belong to it;
    a facility's managers see the incidents at their facilities."""

    model = Incident
    noun = "incident"

    def read_filter(self, principal: Principal):
        return visibility.incidents(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.incident(principal, record)

    def get(self, session, principal: Principal, record_id: int, deleted=False):
        """One incident, with its facility's recovery sites as the caller may read them now."""
        incident = super().get(session, principal, record_id, deleted)
        self.show_recovery_sites(session, principal, incident)
        return incident

    # --- recovery sites ---------------------------------------------------------------------
    def show_recovery_sites(self, session, principal: Principal, incident: Incident) -> None:
        """Put the reunification sites and family assistance centres of the incident's
        facility on it (`recovery_sites`), from the facility's pre-plan and by the pre-plan's
        rules (access.break_glass.may_read: by role or MOU, or through a live break-glass grant
        of the caller's agency there), audited as a pre-plan view. None when the incident has
        no facility or the caller may not read its pre-plan."""
        sites = None
        facility_id = incident.facility_id
        if (
            facility_id is not None
            and break_glass.may_read(session, principal, facility_id).allowed
        ):
            rendered, decision = preplan(session, principal, facility_id)
            sites = recovery_sites(rendered.document)
            audit.record(
                session,
                principal,
                "preplan.view",
                record_type="facility",
                record_id=facility_id,
                facility_id=facility_id,
                break_glass=decision.break_glass,
                details={
                    "format": "recovery_sites",
                    "incident_id": decision.incident.id if decision.break_glass else None,
                    "shown_on_incident": incident.id,
                },
            )
        _show(incident, sites)

    def open(self, session, principal: Principal, data: dict):
        """Run the lookup for the reported location and record who asked and what matched."""
        if principal.role not in AGENCY_ROLES:
            raise errors.Forbidden("Incidents are opened by an agency's CAD or staff.")
        lookup_args = {k: data[k] for k in LOOKUP_FIELDS if data.get(k) is not None}
        # Lenient: an incident is recorded even when its address cannot be matched (an
        # intersection, say); the reason travels with the lookup result.
        result = find_preplan(session, principal, LookupQuery(**lookup_args), lenient=True)
        incident = Incident(
            agency_id=principal.agency_id,
            cad_incident_number=data["cad_incident_number"],
            incident_type=data["incident_type"],
            address=data.get("address"),
            lat=data.get("lat"),
            lon=data.get("lon"),
            notes=data.get("notes"),
            # A matched facility; a not_shared one only when break-glass is granted (below).
            facility_id=result.matched_facility_id,
            match_status=result.status,
            candidates=[
                {"facility_id": c.facility_id, "score": c.score, "reasons": c.reasons}
                for c in result.candidates
            ],
            opened_by=principal.subject,
            status="open",
        )
        refused_because = None
        if result.status == "not_shared":
            refused_because = self._break_glass(session, principal, incident, result)
        session.add(incident)
        session.flush()
        audit.record(
            session,
            principal,
            "incident.open",
            record=incident,
            # A refused grant is still an event at that facility: its managers see the attempt.
            facility_id=incident.facility_id or result.facility_id,
            break_glass=incident.break_glass,
            details={
                "cad_incident_number": incident.cad_incident_number,
                "incident_type": incident.incident_type,
                "match_status": result.status,
                **({"break_glass_refused_because": refused_because} if refused_because else {}),
            },
        )
        if incident.facility_id is not None:
            # The joint notification: the partner learns at once that responders are on the way
            # to its facility, and, through break-glass, that they may read its pre-plan.
            facility = session.get(Facility, incident.facility_id)
            agency = session.get(Agency, principal.agency_id)
            opened = (
                f"{agency.name} opened incident {incident.cad_incident_number} "
                f"({incident.incident_type}) at {facility.name}"
            )
            kind, message = "incident_opened", f"{opened}."
            if incident.break_glass:
                kind = "break_glass_access"
                message = (
                    f"{opened} and may read its pre-plan until "
                    f"{incident.access_expires_at:%Y-%m-%d %H:%M} UTC or until the incident "
                    "closes."
                )
            notify(
                session,
                organization_id=facility.organization_id,
                kind=kind,
                actor=principal.subject,
                facility_id=facility.id,
                incident_id=incident.id,
                message=message,
            )
        if incident.break_glass:
            attach_preplan(session, principal, result)  # read through the grant just made
        incident.lookup = result
        # From the pre-plan the opening read (matched, or through the grant just made), if any.
        _show(incident, recovery_sites(result.preplan) if result.preplan is not None else None)
        return incident

    def _break_glass(self, session, principal: Principal, incident: Incident, result) -> str | None:
        """The lookup found one registered facility the agency may not read. A mutual-aid
        response there gets a grant (read that pre-plan, reveal its codes, while the incident is
        open and for at most REGISTRY_BREAK_GLASS_HOURS) when break_glass.may_grant allows;
        recording the facility also lets its managers see the incident. Otherwise the incident
        is recorded all the same, grants nothing, and its lookup notes say why (returned)."""
        facility = session.get(Facility, result.facility_id)
        grant = break_glass.may_grant(principal, facility, jurisdiction_of(session, principal))
        if not grant.allowed:
            result.notes.append(NO_GRANT[grant.reason])
            return grant.reason
        incident.facility_id = facility.id
        incident.break_glass = True
        hours = current_app.config["REGISTRY_BREAK_GLASS_HOURS"]
        incident.access_expires_at = utcnow() + timedelta(hours=hours)
        return None

    def update(self, session, principal: Principal, record, data: dict):
        new_status, old_status = data.get("status"), record.status
        if new_status == "closed" and record.status != "closed":
            record.closed_at, record.closed_by = utcnow(), principal.subject
            self._end_grant_with_close(record)
        elif new_status == "open" and record.status == "closed":
            self._end_grant_with_close(record)  # one closed before closing ended grants
            record.closed_at = record.closed_by = None
        record = super().update(session, principal, record, data)
        if record.status != old_status:
            # Closing ends a break-glass grant: the caller may read less than before.
            self.show_recovery_sites(session, principal, record)
        return record

    def _end_grant_with_close(self, record: Incident) -> None:
        if record.break_glass and record.break_glass_ended_at is None:
            record.break_glass_ended_at = record.closed_at
            record.break_glass_ended_by = record.closed_by
            record.break_glass_end_reason = ENDED_BY_CLOSING

    # --- ending a break-glass grant early ------------------------------------------------------
    def authorize_end(self, session, principal: Principal, record: Incident) -> None:
        """The facility's organization ends a grant at its own facility (its managers, or an
        administrator); the agency closes its incident instead."""
        facility = session.get(Facility, record.facility_id) if record.facility_id else None
        owner = facility.organization_id if facility else None
        if not writes.manages_organization(principal, owner):
            raise errors.Forbidden(
                "Only the facility's managers and administrators end a break-glass grant."
            )

    def end_break_glass(self, session, principal: Principal, record: Incident, reason: str):
        """End the incident's live break-glass grant now, with a reason: from then on neither
        the pre-plan nor the codes open through it. Audited; the organization is told; the
        incident shows when, by whom and why (which is how the agency learns it)."""
        if not record.break_glass or record.facility_id is None:
            raise errors.Conflict("This incident grants no break-glass access.")
        if record.break_glass_ended_at is not None:
            raise errors.Conflict("This incident's break-glass access has already ended.")
        expires_at = record.access_expires_at
        if record.status != "open" or expires_at is None or expires_at <= utcnow():
            raise errors.Conflict(
                "This incident's break-glass access has already ended: the incident is closed "
                "or its time is up."
            )
        record.break_glass_ended_at = utcnow()
        record.break_glass_ended_by = principal.subject
        record.break_glass_end_reason = reason
        record.updated_at = record.break_glass_ended_at  # a new version, hence a new ETag
        session.flush()
        facility = session.get(Facility, record.facility_id)
        agency = session.get(Agency, record.agency_id)
        audit.record(
            session,
            principal,
            "incident.break_glass_end",
            record=record,
            facility_id=facility.id,
            break_glass=True,
            details={
                "reason": reason,
                "agency_id": record.agency_id,
                "cad_incident_number": record.cad_incident_number,
            },
        )
        notify(
            session,
            organization_id=facility.organization_id,
            kind="break_glass_ended",
            actor=principal.subject,
            facility_id=facility.id,
            incident_id=record.id,
            message=(
                f"{principal.subject} ended {agency.name}'s break-glass access to {facility.name} "
                f"through incident {record.cad_incident_number}. Reason given: {reason}"
            ),
        )
        self.show_recovery_sites(session, principal, record)
        return record

    def filters(self, args):
        return [
            getattr(Incident, name) == args[name]
            for name in ("status", "facility_id", "cad_incident_number")
            if args.get(name) is not None
        ]

    def order_by(self):
        return (Incident.opened_at.desc(), Incident.id.desc())


def _show(incident: Incident, sites: list[dict] | None) -> None:
    """Set what the incident's response shows of its facility's recovery sites, and the part of
    its ETag that names them (api.outputs.etag_of): when they change, so does the tag."""
    incident.recovery_sites = sites
    incident.shown_digest = None
    if sites is not None:
        encoded = json.dumps(sites, sort_keys=True, separators=(",", ":")).encode()
        incident.shown_digest = "r" + hashlib.sha256(encoded).hexdigest()[:16]


incidents = IncidentService()
