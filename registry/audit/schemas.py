from marshmallow import Schema, ValidationError, fields, validates_schema

from ..api.pagination import PageArgsSchema
from ..fields import Id, Text, UTCDateTime


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    seq = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "Position in the chain; null until sealed (within a second)"},
    )
    at = fields.AwareDateTime(required=True)
    actor = fields.String(required=True, metadata={"example": "user:12"})
    role = fields.String(allow_none=True)
    action = fields.String(required=True, metadata={"example": "preplan.view"})
    record_type = fields.String(allow_none=True)
    record_id = fields.Integer(allow_none=True)
    facility_id = fields.Integer(allow_none=True)
    break_glass = fields.Boolean(required=True)
    changes = fields.Dict(
        required=True, metadata={"description": "field -> [before, after]; secrets redacted"}
    )
    details = fields.Dict(required=True)
    request_id = fields.String(allow_none=True)
    client_address = fields.String(allow_none=True)
    prev_hash = fields.String(required=True, allow_none=True)
    hash = fields.String(required=True, allow_none=True)


class AuditFiltersSchema(PageArgsSchema):
    actor = Text(120, metadata={"example": "cad:3"})
    action = Text(60, metadata={"description": "Exact, or a prefix ending in '.': 'facility.'"})
    facility_id = Id(strict=False)
    record_type = Text(40)
    record_id = Id(strict=False)
    break_glass = fields.Boolean()
    since = UTCDateTime(metadata={"description": "From this time (inclusive)"})
    until = UTCDateTime(metadata={"description": "Before this time"})

    @validates_schema
    def _range(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("Must be after since.", "until")


class AuditVerificationSchema(Schema):
    ok = fields.Boolean(required=True)
    events = fields.Integer(required=True, metadata={"description": "Events checked"})
    head_hash = fields.String(
        required=True, metadata={"description": "Hash of the last event; keep it elsewhere"}
    )
    problem = fields.String(allow_none=True)
    first_bad_seq = fields.Integer(allow_none=True)
    head_restored_at = fields.List(
        fields.Integer(),
        required=True,
        metadata={
            "description": "Events where the chain head had been deleted and was restored "
            "(an audit.head_restored marker): events before each may be gone"
        },
    )
    unsealed = fields.Integer(
        required=True, metadata={"description": "Events committed but not sealed yet"}
    )
    oldest_unsealed_at = fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "When the oldest of them happened; the trail fails when it "
            "is older than the sealing window"
        },
    )
