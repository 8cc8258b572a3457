from marshmallow import Schema, fields, validate

from .feed import DEFAULT_LIMIT, MAX_LIMIT


class FeedArgsSchema(Schema):
    since = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**62),
        metadata={
            "description": "Read the changes after this position: 0 from the start, "
            "then the `next` of the page before"
        },
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": "At most this many positions per page"},
    )


class FeedItemSchema(Schema):
    position = fields.Integer(required=True)
    facility_id = fields.Integer(required=True)
    action = fields.String(
        required=True,
        validate=validate.OneOf(("upsert", "remove")),
        metadata={"description": "upsert: keep `preplan` as this facility's; remove: drop it"},
    )
    reason = fields.String(
        allow_none=True,
        validate=validate.OneOf(("deleted", "not_shared")),
        metadata={
            "description": "Why a facility is removed: deleted, or no longer shared "
            "with your agency (an MOU ended, expired, was terminated or narrowed)"
        },
    )
    preplan = fields.Dict(
        allow_none=True,
        metadata={
            "description": "For an upsert: the pre-plan as it is now, the parts every reader "
            "sees alike (facility, contacts, access_points, tactical_points, floor_plans, as "
            "GET /preplans/{id} shows them; no MOUs, no stale marks, never a door code)"
        },
    )


class FeedPageSchema(Schema):
    changes = fields.List(fields.Nested(FeedItemSchema), required=True)
    next = fields.Integer(required=True, metadata={"description": "The `since` to read on from"})
    more = fields.Boolean(
        required=True, metadata={"description": "More changes may be read at once"}
    )
