from marshmallow import Schema, ValidationError, fields, validates_schema

from ..api.pagination import PageArgsSchema
from ..fields import Id, OneOf, RecordSchema, Text
from ..preplans.items import ITEM_KINDS
from .models import DISCREPANCIES, RESOLUTIONS, STATUSES


class CorrectionSchema(RecordSchema):
    """A correction report: what a responder found wrong in a pre-plan, and the answer."""

    facility_id = fields.Integer(dump_only=True)
    item_kind = OneOf(
        ITEM_KINDS,
        required=True,
        metadata={"description": "What the report is about: the facility itself or one part"},
    )
    item_id = Id(
        allow_none=True,
        metadata={
            "description": "The part's id, as the pre-plan shows it (the facility's own id, or "
            "nothing, for item_kind facility)"
        },
    )
    item_name = fields.String(
        dump_only=True, metadata={"description": "The item's name when it was reported"}
    )
    discrepancy = OneOf(
        DISCREPANCIES,
        required=True,
        metadata={
            "description": "wrong (says what is not so), missing (leaves out what was needed), "
            "outdated (was so once), unsafe (puts responders at risk), other"
        },
    )
    problem = Text(5000, required=True, metadata={"description": "What is wrong"})
    observed = Text(
        5000, allow_none=True, metadata={"description": "What you found instead, on scene"}
    )
    agency_id = fields.Integer(dump_only=True, metadata={"description": "The reporting agency"})
    reporter_name = fields.String(dump_only=True)
    incident_id = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Reported while reading through this break-glass incident"},
    )
    status = OneOf(
        STATUSES,
        dump_only=True,
        metadata={
            "description": "open, acknowledged (the facility's managers answered), resolved "
            "(see resolution). Changed by POST /corrections/{id}/answer and /resolve"
        },
    )
    response = fields.String(dump_only=True, allow_none=True)
    responded_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    responded_by = fields.String(dump_only=True, allow_none=True)
    resolution = OneOf(RESOLUTIONS, dump_only=True, allow_none=True)
    resolution_reason = fields.String(dump_only=True, allow_none=True)
    resolved_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    resolved_by = fields.String(dump_only=True, allow_none=True)


class CorrectionAnswerSchema(Schema):
    response = Text(5000, required=True, metadata={"description": "Your answer to the reporter"})


class CorrectionResolutionSchema(Schema):
    resolution = OneOf(
        RESOLUTIONS,
        required=True,
        metadata={"description": "fixed (the pre-plan was corrected) or rejected"},
    )
    reason = Text(
        5000,
        allow_none=True,
        metadata={"description": "Why (required to reject); for fixed, what was changed"},
    )

    @validates_schema
    def _rejection_says_why(self, data, **kwargs):
        if data.get("resolution") == "rejected" and not data.get("reason"):
            raise ValidationError("Say why the report is rejected.", "reason")


class CorrectionFiltersSchema(PageArgsSchema):
    status = OneOf(STATUSES)
    unresolved = fields.Boolean(metadata={"description": "true: open or acknowledged only"})
    facility_id = Id(strict=False)
    item_kind = OneOf(ITEM_KINDS)
    item_id = Id(strict=False)
    discrepancy = OneOf(DISCREPANCIES)
    agency_id = Id(strict=False, metadata={"description": "The reporting agency"})


class OpenCorrectionSchema(Schema):
    """An unresolved correction report, as the pre-plan shows it on its item to every reader
    (who reported it is left out: the pre-plan is read by other agencies too)."""

    id = fields.Integer(required=True)
    discrepancy = OneOf(DISCREPANCIES, required=True)
    status = OneOf(("open", "acknowledged"), required=True)
    problem = fields.String(required=True)
    observed = fields.String(allow_none=True)
    reported_at = fields.AwareDateTime(required=True, attribute="created_at")
    response = fields.String(allow_none=True, metadata={"description": "The managers' answer"})
