from datetime import timedelta

from flask import current_app
from sqlalchemy import select, true

from .. import access, audit, errors
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..db import utcnow
from ..facilities.models import Facility
from ..notifications.service import notify
from ..preplans.lookup import LookupQuery
from ..preplans.service import attach_break_glass, find_preplan
from .models import Incident

LOOKUP_FIELDS = tuple(LookupQuery.__dataclass_fields__)


class IncidentService(RecordService):
    """Incidents are opened by an agency (a CAD client or an agency user) and belong to it;
    a facility's managers see the incidents at their facilities."""

    model = Incident
    noun = "incident"

    def read_filter(self, principal: Principal):
        if principal.is_admin:
            return true()
        if principal.role in access.AGENCY_ROLES:
            return Incident.agency_id == principal.agency_id
        own = select(Facility.id).where(Facility.organization_id == principal.organization_id)
        return Incident.facility_id.in_(own)

    def may_write(self, principal: Principal, record) -> bool:
        return principal.is_admin or (
            principal.role in access.AGENCY_ROLES and record.agency_id == principal.agency_id
        )

    def open(self, session, principal: Principal, data: dict):
        """Run the lookup for the reported location and record who asked and what matched."""
        if principal.role not in access.AGENCY_ROLES:
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
            # A matched facility; a not_shared one is recorded below, under break-glass.
            facility_id=result.matched_facility_id,
            match_status=result.status,
            candidates=[
                {"facility_id": c.facility_id, "score": c.score, "reasons": c.reasons}
                for c in result.candidates
            ],
            opened_by=principal.subject,
            status="open",
        )
        if result.status == "not_shared":
            self._break_glass(incident, result)
        if incident.facility_id is not None:
            # What the incident lets its agency do at the facility (reveal door codes; read the
            # pre-plan under break-glass) ends when it closes, or at the latest then.
            hours = current_app.config["REGISTRY_BREAK_GLASS_HOURS"]
            incident.access_expires_at = utcnow() + timedelta(hours=hours)
        session.add(incident)
        session.flush()
        audit.record(
            session,
            principal,
            "incident.open",
            record=incident,
            facility_id=incident.facility_id,
            break_glass=incident.break_glass,
            details={
                "cad_incident_number": incident.cad_incident_number,
                "incident_type": incident.incident_type,
                "match_status": result.status,
            },
        )
        if incident.break_glass:
            facility = session.get(Facility, incident.facility_id)
            agency = session.get(Agency, principal.agency_id)
            notify(
                session,
                organization_id=facility.organization_id,
                kind="break_glass_access",
                actor=principal.subject,
                facility_id=facility.id,
                incident_id=incident.id,
                message=(
                    f"{agency.name} opened incident {incident.cad_incident_number} "
                    f"({incident.incident_type}) at {facility.name} and may read its pre-plan "
                    f"until {incident.access_expires_at:%Y-%m-%d %H:%M} UTC or until the "
                    "incident closes."
                ),
            )
            attach_break_glass(session, principal, result, incident)
        incident.lookup = result
        return incident

    def _break_glass(self, incident: Incident, result) -> None:
        """The lookup found one registered facility the agency may not read: the agency is
        responding there, so it may read that pre-plan while the incident is open. Recording the
        facility also lets its managers see the incident."""
        incident.facility_id = result.facility_id
        incident.break_glass = True

    def update(self, session, principal: Principal, record, data: dict):
        new_status = data.get("status")
        if new_status == "closed" and record.status != "closed":
            record.closed_at, record.closed_by = utcnow(), principal.subject
        elif new_status == "open" and record.status == "closed":
            record.closed_at = record.closed_by = None
        return super().update(session, principal, record, data)

    def filters(self, args):
        return [
            getattr(Incident, name) == args[name]
            for name in ("status", "facility_id", "cad_incident_number")
            if args.get(name) is not None
        ]

    def order_by(self):
        return (Incident.opened_at.desc(), Incident.id.desc())


incidents = IncidentService()
