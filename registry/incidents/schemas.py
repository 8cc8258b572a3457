from marshmallow import fields

from ..api import PageArgsSchema
from ..fields import Id, Latitude, Longitude, OneOf, RecordSchema, Text
from ..preplans.schemas import LookupQuerySchema, LookupResultSchema
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
            "description": "The facility does not share with your agency; while this incident "
            "is open (until access_expires_at) your agency may read its pre-plan"
        },
    )
    access_expires_at = fields.AwareDateTime(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Until when (and only while open) the incident lets your agency "
            "reveal the facility's door codes and, under break-glass, read its pre-plan"
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


class IncidentFiltersSchema(PageArgsSchema):
    status = OneOf(INCIDENT_STATUSES)
    facility_id = Id(strict=False)
    cad_incident_number = Text(50)
