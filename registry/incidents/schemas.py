from marshmallow import Schema, fields, validate

from ..api.pagination import PageArgsSchema
from ..fields import Id, Latitude, Longitude, OneOf, RecordSchema, Text
from ..preplans.schemas import (
    LookupQuerySchema,
    LookupResultSchema,
    PreplanTacticalPointSchema,
    Serialized,
)
from .models import INCIDENT_STATUSES, MATCH_STATUSES


class IncidentSchema(RecordSchema):
    cad_incident_number = Text(50, required=True, metadata={"example": "SPD-2026-001234"})
    incident_type = Text(80, required=True, metadata={"example": "active assailant"})
    address = Text(300, allow_none=True)
    lat = Latitude(allow_none=True)
    lon = Longitude(allow_none=True)
    agency_id = fields.Integer(dump_only=True, allow_none=True)
    facility_id = fields.Integer(dump_only=True, allow_none=True)
    match_status = OneOf(MATCH_STATUSES, dump_only=True)
    opened_by = fields.String(dump_only=True)
    opened_at = fields.AwareDateTime(dump_only=True)
    status = OneOf(INCIDENT_STATUSES, dump_only=True)
    closed_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    closed_by = fields.String(dump_only=True, allow_none=True)
    notes = Text(5000, allow_none=True)
    break_glass = fields.Boolean(
        dump_only=True,
        metadata={
            "description": "Break-glass was granted: the facility does not share with your "
            "agency, and while this incident is open (until access_expires_at, unless "
            "break_glass_ended_at) your agency may read its pre-plan and reveal its door codes. "
            "Granted to a CAD client, or to an agency user whose agency's jurisdiction covers "
            "the facility; otherwise the lookup's notes say why not"
        },
    )
    access_expires_at = fields.AwareDateTime(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Under break-glass: until when (and only while open) the grant "
            "lasts. Null for an incident that grants nothing"
        },
    )
    break_glass_ended_at = fields.AwareDateTime(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "When the grant ended before its time: ended by the facility's "
            "organization, or the incident was closed (re-opening does not restore it)"
        },
    )
    break_glass_ended_by = fields.String(dump_only=True, allow_none=True)
    break_glass_end_reason = fields.String(dump_only=True, allow_none=True)
    recovery_sites = fields.List(
        Serialized(PreplanTacticalPointSchema),
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "The facility's reunification sites and family assistance centres "
            "as its pre-plan shows them (address, capacity, who opens them, whom to call), "
            "read now with the pre-plan's rules: by your role or MOU, or through your agency's "
            "live break-glass grant there (audited as a pre-plan view). Null when the incident "
            "has no facility or you may not read its pre-plan (a grant ends when its incident "
            "closes). On one incident (read, changed, opened), not in lists or replays."
        },
    )


class IncidentOpenSchema(IncidentSchema, LookupQuerySchema):
    """The body of POST /incidents: the incident, and any of the ways in the lookup takes
    (the lookup's own fields and rules, so the two never drift apart)."""


class IncidentOpenedSchema(IncidentSchema):
    lookup = fields.Nested(LookupResultSchema, required=True)


class IncidentChangeSchema(RecordSchema):
    status = OneOf(INCIDENT_STATUSES)
    notes = Text(5000, allow_none=True)


class BreakGlassEndSchema(Schema):
    reason = Text(
        500,
        required=True,
        validate=validate.Length(min=3),
        metadata={"description": "Why the grant ends now; the agency sees it on the incident"},
    )


class IncidentFiltersSchema(PageArgsSchema):
    status = OneOf(INCIDENT_STATUSES)
    facility_id = Id(strict=False)
    cad_incident_number = Text(50)
