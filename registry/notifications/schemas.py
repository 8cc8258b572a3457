from marshmallow import Schema, fields, validate

from ..api.pagination import DeletedArgsSchema, PageArgsSchema
from ..fields import Id, OneOf, RecordSchema, Text
from .models import CHANNELS, DELIVERY_STATUSES, NOTIFICATION_KINDS
from .senders import webhook_id


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


class SubscriptionSchema(RecordSchema):
    organization_id = Id(
        allow_none=True,
        metadata={"description": "The owner, when an organization (a manager's default: its own)"},
    )
    agency_id = Id(
        allow_none=True,
        metadata={"description": "The owner, when an agency (an agency user's default: its own)"},
    )
    channel = OneOf(CHANNELS, required=True)
    url = Text(
        2000,
        allow_none=True,
        metadata={
            "description": "webhook: where to POST (https; see the README's SSRF rule)",
            "example": "https://hooks.example.com/registry",
        },
    )
    email = Text(254, allow_none=True, metadata={"example": "security-desk@example.com"})
    kinds = fields.List(
        OneOf(NOTIFICATION_KINDS),
        load_default=list,
        validate=validate.Length(max=len(NOTIFICATION_KINDS)),
        metadata={"description": "The kinds sent; empty: every kind"},
    )
    active = fields.Boolean(load_default=True)
    description = Text(200, allow_none=True)
    created_by = fields.String(dump_only=True)


class NewSubscriptionSchema(SubscriptionSchema):
    secret = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "webhook: the signing secret (whsec_...), shown once: store it now"
        },
    )


class SubscriptionPatchSchema(RecordSchema):
    """What changes on a subscription: not its owner or channel (make a new one)."""

    url = Text(2000, allow_none=True, metadata={"description": "webhook: where to POST"})
    email = Text(254, allow_none=True)
    kinds = fields.List(
        OneOf(NOTIFICATION_KINDS),
        validate=validate.Length(max=len(NOTIFICATION_KINDS)),
        metadata={"description": "The kinds sent; empty: every kind"},
    )
    active = fields.Boolean()
    description = Text(200, allow_none=True)


class SubscriptionFiltersSchema(DeletedArgsSchema):
    organization_id = Id(strict=False)
    agency_id = Id(strict=False)
    channel = OneOf(CHANNELS)
    active = fields.Boolean()


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    notification_id = fields.Integer(required=True)
    subscription_id = fields.Integer(required=True)
    kind = fields.String(
        required=True, attribute="notification.kind", metadata={"description": "The notification's"}
    )
    webhook_id = fields.Method(
        "_webhook_id",
        required=True,
        metadata={"description": "The webhook-id header it is sent with (the same every attempt)"},
    )
    created_at = fields.AwareDateTime(required=True)
    status = OneOf(DELIVERY_STATUSES, required=True)
    attempts = fields.Integer(required=True)
    next_attempt_at = fields.AwareDateTime(required=True)
    last_attempt_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)

    def _webhook_id(self, delivery):
        return webhook_id(delivery)


class DeliveryFiltersSchema(PageArgsSchema):
    status = OneOf(DELIVERY_STATUSES)
    subscription_id = Id(strict=False)
    notification_id = Id(strict=False)


class ReplayArgsSchema(Schema):
    subscription_id = Id(strict=False, metadata={"description": "Only this subscription's"})


class ReplayedSchema(Schema):
    replayed = fields.Integer(required=True, metadata={"description": "Deliveries made pending"})
