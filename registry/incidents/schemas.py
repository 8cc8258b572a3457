from marshmallow import ValidationError, fields, validate, validates_schema

from ..api import PageArgsSchema
from ..facilities.schemas import POSTAL_CODE
from ..fields import Id, Latitude, Longitude, OneOf, RecordSchema, Text
from ..preplans.schemas import MAX_RADIUS_M, LookupResultSchema
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


class IncidentOpenSchema(IncidentSchema):
    """The body of POST /incidents: the incident, and what to look the facility up by."""

    radius_m = fields.Integer(
        load_only=True, load_default=150, validate=validate.Range(min=1, max=MAX_RADIUS_M)
    )
    phone = Text(40, load_only=True)
    name = Text(200, load_only=True, metadata={"description": "A place name or alias"})
    city = Text(100, load_only=True, metadata={"description": "Narrows a name or address"})
    postal_code = Text(10, load_only=True, validate=POSTAL_CODE)

    @validates_schema
    def _somewhere(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("Send lat and lon together.", "lat")
        if not (
            data.get("address")
            or data.get("lat") is not None
            or data.get("phone")
            or data.get("name")
        ):
            raise ValidationError("Send an address, lat+lon, a phone or a place name.", "address")


class IncidentOpenedSchema(IncidentSchema):
    lookup = fields.Nested(LookupResultSchema, required=True)


class IncidentChangeSchema(RecordSchema):
    status = OneOf(INCIDENT_STATUSES)
    notes = Text(5000, allow_none=True)


class IncidentFiltersSchema(PageArgsSchema):
    status = OneOf(INCIDENT_STATUSES)
    facility_id = Id(strict=False)
    cad_incident_number = Text(50)
