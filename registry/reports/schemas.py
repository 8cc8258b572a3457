from marshmallow import Schema, fields, validate

from ..api.pagination import PageArgsSchema
from ..confirmation import KINDS
from ..exercises.models import PENDING
from ..fields import Id, OneOf
from ..preplans.items import ITEM_KINDS
from . import follow_ups
from .freshness import DEFAULT_DUE_WITHIN_DAYS, LONGEST_DUE_WITHIN_DAYS, REASONS


class FreshnessReportArgsSchema(PageArgsSchema):
    due_within_days = fields.Integer(
        load_default=DEFAULT_DUE_WITHIN_DAYS,
        validate=validate.Range(min=0, max=LONGEST_DUE_WITHIN_DAYS),
        metadata={"description": "List parts stale now or within this many days (0: now)"},
    )
    organization_id = Id(
        strict=False, metadata={"description": "Only this organization's facilities"}
    )
    agency_id = Id(
        strict=False,
        metadata={"description": "Only facilities shared with this agency (by MOU in force)"},
    )


class DueItemSchema(Schema):
    kind = OneOf(KINDS, required=True)
    id = fields.Integer(required=True)
    name = fields.String(required=True, metadata={"description": "A floor plan's title"})
    confirmed_at = fields.AwareDateTime(required=True, allow_none=True)
    confirmed_by = fields.String(required=True, allow_none=True)
    age_days = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: never confirmed"}
    )
    due_on = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "The last day it counts as fresh (null: never confirmed)"},
    )
    stale = fields.Boolean(required=True, metadata={"description": "Stale today"})


class FacilityAttentionSchema(Schema):
    facility_id = fields.Integer(required=True)
    facility_name = fields.String(required=True)
    organization_id = fields.Integer(required=True)
    incomplete = fields.List(
        OneOf(REASONS),
        required=True,
        metadata={
            "description": "Why its pre-plan is incomplete: no contact available 24/7, no "
            "access point, no staging area, a main phone another facility you read also has"
        },
    )
    due = fields.List(
        fields.Nested(DueItemSchema),
        required=True,
        metadata={"description": "Parts stale now or within due_within_days, most urgent first"},
    )


class MaxAgeDaysSchema(Schema):
    facility = fields.Integer(required=True)
    contact = fields.Integer(required=True)
    access_point = fields.Integer(required=True)
    tactical_point = fields.Integer(required=True)
    floor_plan = fields.Integer(required=True)


class FreshnessReportSchema(Schema):
    as_of = fields.Date(required=True, metadata={"description": "Today (UTC)"})
    due_within_days = fields.Integer(required=True)
    max_age_days = fields.Nested(
        MaxAgeDaysSchema, required=True, metadata={"description": "Each kind's maximum age"}
    )
    items = fields.List(
        fields.Nested(FacilityAttentionSchema),
        required=True,
        metadata={"description": "Facilities that need attention, by name"},
    )
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class FollowUpsReportArgsSchema(PageArgsSchema):
    due_within_days = fields.Integer(
        load_default=follow_ups.DEFAULT_DUE_WITHIN_DAYS,
        validate=validate.Range(min=0, max=follow_ups.LONGEST_DUE_WITHIN_DAYS),
        metadata={"description": "Also list those due within this many days (0: overdue only)"},
    )
    organization_id = Id(strict=False, metadata={"description": "Owned by this organization"})
    agency_id = Id(strict=False, metadata={"description": "Owned by this agency"})
    facility_id = Id(strict=False)


class DueFollowUpSchema(Schema):
    finding_id = fields.Integer(required=True)
    exercise_id = fields.Integer(required=True, allow_none=True)
    incident_id = fields.Integer(required=True, allow_none=True)
    facility_id = fields.Integer(required=True, allow_none=True)
    facility_name = fields.String(required=True, allow_none=True)
    text = fields.String(required=True, metadata={"description": "The finding"})
    item_kind = OneOf(ITEM_KINDS, required=True, allow_none=True)
    item_id = fields.Integer(required=True, allow_none=True)
    owner = fields.String(required=True)
    owner_organization_id = fields.Integer(required=True, allow_none=True)
    owner_agency_id = fields.Integer(required=True, allow_none=True)
    due_on = fields.Date(required=True)
    status = OneOf(PENDING, required=True)
    overdue = fields.Boolean(required=True, metadata={"description": "Due before today"})
    days_overdue = fields.Integer(required=True, metadata={"description": "0: not overdue"})


class FollowUpsReportSchema(Schema):
    as_of = fields.Date(required=True, metadata={"description": "Today (UTC)"})
    due_within_days = fields.Integer(required=True)
    items = fields.List(
        fields.Nested(DueFollowUpSchema),
        required=True,
        metadata={"description": "Open or in-progress follow-ups, soonest due first"},
    )
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
