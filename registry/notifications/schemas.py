from marshmallow import Schema, fields

from ..api.pagination import PageArgsSchema
from ..fields import Id, OneOf
from .models import NOTIFICATION_KINDS


class NotificationSchema(Schema):
    id = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    organization_id = fields.Integer(allow_none=True)
    agency_id = fields.Integer(allow_none=True)
    facility_id = fields.Integer(allow_none=True)
    incident_id = fields.Integer(allow_none=True)
    mou_id = fields.Integer(allow_none=True)
    kind = OneOf(NOTIFICATION_KINDS, required=True)
    actor = fields.String(required=True)
    message = fields.String(required=True)
    delivered_at = fields.AwareDateTime(allow_none=True)


class NotificationFiltersSchema(PageArgsSchema):
    organization_id = Id(strict=False)
    agency_id = Id(strict=False)
    facility_id = Id(strict=False)
    incident_id = Id(strict=False)
    mou_id = Id(strict=False)
    kind = OneOf(NOTIFICATION_KINDS)
