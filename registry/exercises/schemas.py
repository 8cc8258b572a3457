from marshmallow import Schema, fields, validate

from ..api.pagination import PageArgsSchema
from ..fields import Count, Id, OneOf, RecordSchema, Text, WholeNested
from ..preplans.items import ITEM_KINDS
from .models import EXERCISE_KINDS, FOLLOW_UP_STATUSES, SCENARIOS

MAX_PARTICIPANTS = 100_000


class ExerciseAgencySchema(Schema):
    agency_id = Id(required=True)
    participants = Count(
        MAX_PARTICIPANTS, allow_none=True, metadata={"description": "People of it who took part"}
    )


class ExerciseSchema(RecordSchema):
    facility_id = fields.Integer(dump_only=True)
    organization_id = fields.Integer(
        dump_only=True, metadata={"description": "The facility's organization: a party"}
    )
    kind = OneOf(
        EXERCISE_KINDS,
        required=True,
        metadata={"description": "tabletop, drill, functional or full_scale (HSEEP's types)"},
    )
    scenario = OneOf(SCENARIOS, required=True)
    held_on = fields.Date(required=True)
    title = Text(200, required=True)
    notes = Text(10_000, allow_none=True)
    organization_participants = Count(
        MAX_PARTICIPANTS,
        allow_none=True,
        metadata={"description": "People of the facility's organization who took part"},
    )
    agencies = fields.List(
        WholeNested(ExerciseAgencySchema),
        load_default=list,
        validate=validate.Length(max=50),
        metadata={
            "description": "The agencies that took part (parties: they read the exercise). Each "
            "has an MOU with the facility's organization, whatever its scope or status; an "
            "agency user who records one is always among them"
        },
    )
    other_participants = Text(
        2000,
        allow_none=True,
        metadata={"description": "Others who took part, as text: a Red Cross chapter, 4"},
    )
    total_attendance = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Everyone counted above (null: nobody counted)"},
    )
    recorded_by = fields.String(dump_only=True)


class ExerciseFiltersSchema(PageArgsSchema):
    facility_id = Id(strict=False)
    kind = OneOf(EXERCISE_KINDS)
    scenario = OneOf(SCENARIOS)
    agency_id = Id(strict=False, metadata={"description": "Exercises this agency took part in"})
    held_from = fields.Date(metadata={"description": "Held on or after this day"})
    held_to = fields.Date(metadata={"description": "Held on or before this day"})


class FollowUpSchema(Schema):
    owner = Text(200, required=True, metadata={"description": "Who does it (a name)"})
    owner_organization_id = Id(
        allow_none=True, metadata={"description": "The facility's organization, when it is its"}
    )
    owner_agency_id = Id(
        allow_none=True,
        metadata={"description": "A party agency (of the exercise; the incident's agency)"},
    )
    due_on = fields.Date(required=True)
    status = OneOf(FOLLOW_UP_STATUSES, load_default="open")
    overdue = fields.Boolean(
        dump_only=True, metadata={"description": "Past its due date and not done or cancelled"}
    )


class FindingSchema(RecordSchema):
    exercise_id = fields.Integer(dump_only=True, allow_none=True)
    incident_id = fields.Integer(dump_only=True, allow_none=True)
    facility_id = fields.Integer(dump_only=True, allow_none=True)
    text = Text(10_000, required=True, metadata={"example": "Staging area B is too small"})
    item_kind = OneOf(
        ITEM_KINDS,
        allow_none=True,
        metadata={"description": "The pre-plan item it concerns, if one (with item_id)"},
    )
    item_id = Id(allow_none=True)
    follow_up = WholeNested(
        FollowUpSchema,
        allow_none=True,
        metadata={"description": "What is to be done about it, by whom and when (null: nothing)"},
    )
    recorded_by = fields.String(dump_only=True)
