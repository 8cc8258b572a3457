from marshmallow import fields, validate

from ..api.pagination import PageArgsSchema
from ..fields import Id, OneOf, RecordSchema, Text
from .models import MOU_SCOPES, MOU_STATUSES


class MouSchema(RecordSchema):
    organization_id = Id(required=True)
    agency_id = Id(required=True)
    title = Text(200, required=True)
    status = OneOf(MOU_STATUSES, load_default="draft")
    effective_date = fields.Date(required=True)
    expiry_date = fields.Date(allow_none=True)
    scopes = fields.List(
        OneOf(MOU_SCOPES),
        required=True,
        validate=validate.Length(min=1, max=len(MOU_SCOPES)),
        metadata={"description": "`data_sharing` lets the agency read the facilities' pre-plans"},
    )
    covers_all_facilities = fields.Boolean(
        load_default=True,
        metadata={"description": "false: only the facilities in facility_ids"},
    )
    facility_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=10_000))
    notes = Text(5000, allow_none=True)
    in_force = fields.Boolean(
        dump_only=True, metadata={"description": "Active and within its dates today (UTC)"}
    )


class MouFiltersSchema(PageArgsSchema):
    organization_id = Id(strict=False)
    agency_id = Id(strict=False)
    status = OneOf(MOU_STATUSES)
    scope = OneOf(MOU_SCOPES)
    in_force = fields.Boolean(metadata={"description": "Only MOUs in force today"})
