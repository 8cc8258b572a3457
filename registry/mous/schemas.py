from marshmallow import Schema, ValidationError, fields, pre_load, validate

from ..api.pagination import PageArgsSchema
from ..fields import Id, OneOf, RecordSchema, Text
from .models import MOU_SCOPES, MOU_STATES, PARTIES

# Where a status change is asked for instead of a PATCH.
STATUS_BY_TRANSITION = (
    "Set by the MOU's lifecycle, not by a write: POST /mous/{id}/propose, /accept, /terminate "
    "or /renew. A new MOU is a draft."
)
# The windows the reports of MOUs ending soon use.
ENDING_WINDOWS = (30, 60, 90)


class MouSchema(RecordSchema):
    organization_id = Id(required=True)
    agency_id = Id(required=True)
    title = Text(200, required=True)
    status = OneOf(
        MOU_STATES,
        attribute="state",
        dump_only=True,
        metadata={
            "description": "draft, proposed (waiting for a party's acceptance), active (both "
            "accepted), expired (active, past its expiry date), terminated, or superseded by "
            "a renewal. Changed only through the lifecycle routes."
        },
    )
    effective_date = fields.Date(required=True)
    expiry_date = fields.Date(
        allow_none=True, metadata={"description": "The last day it grants (through 23:59 UTC)"}
    )
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
    drafting_party = OneOf(
        PARTIES,
        metadata={
            "description": "Who drafted it (set on create; fixed after). Yours by default; an "
            "administrator drafts for the organization unless it says otherwise."
        },
    )
    in_force = fields.Boolean(
        dump_only=True,
        metadata={"description": "Granting today (UTC): accepted by both, within its dates"},
    )
    days_left = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "Days from today to the last day it grants (0: ends today); null "
            "when it has no end date or does not grant"
        },
    )
    proposed_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    proposed_by = fields.String(dump_only=True, allow_none=True)
    organization_accepted_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    organization_accepted_by = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "A username at that moment"}
    )
    agency_accepted_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    agency_accepted_by = fields.String(
        dump_only=True, allow_none=True, metadata={"description": "A username at that moment"}
    )
    terminated_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    terminated_by = fields.String(dump_only=True, allow_none=True)
    terminating_party = OneOf(PARTIES, dump_only=True, allow_none=True)
    termination_reason = fields.String(dump_only=True, allow_none=True)
    supersedes_id = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "The MOU this one renews"}
    )
    superseded_on = fields.Date(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Superseded: its renewal grants from this day on, it no more"},
    )

    @pre_load
    def _no_status_by_write(self, data, **kwargs):
        """`status` is the lifecycle's: refused with a pointer to its routes (a create may
        still say "draft", as clients from before the lifecycle do); `drafting_party` is
        fixed once the MOU exists."""
        if not isinstance(data, dict):
            return data
        problems = {}
        if "status" in data and (self.partial or data["status"] != "draft"):
            problems["status"] = [STATUS_BY_TRANSITION]
        if self.partial and "drafting_party" in data:
            problems["drafting_party"] = ["Set when the MOU is created; it does not change."]
        if problems:
            raise ValidationError(problems)
        return {key: value for key, value in data.items() if key != "status"}


class MouFiltersSchema(PageArgsSchema):
    organization_id = Id(strict=False)
    agency_id = Id(strict=False)
    status = OneOf(MOU_STATES)
    scope = OneOf(MOU_SCOPES)
    in_force = fields.Boolean(metadata={"description": "Only MOUs in force today"})
    ending_within_days = fields.Integer(
        strict=False,
        validate=validate.OneOf(ENDING_WINDOWS),
        metadata={
            "description": "Only active MOUs whose expiry date is within this many days "
            "(30, 60 or 90; today included), soonest first"
        },
    )
    supersedes_id = Id(strict=False, metadata={"description": "Only renewals of this MOU"})


class PartySchema(Schema):
    party = OneOf(
        PARTIES,
        metadata={
            "description": "The party you act for. Yours by default; an administrator must "
            "say (except to propose: the drafting party)."
        },
    )


class MouTerminationSchema(PartySchema):
    reason = Text(2000, required=True, metadata={"description": "Told to the other party"})


class MouRenewalSchema(PartySchema):
    title = Text(200)
    effective_date = fields.Date(
        metadata={"description": "By default the day after the renewed MOU expires (or today)"}
    )
    expiry_date = fields.Date(
        allow_none=True,
        metadata={"description": "By default as long after effective_date as the renewed term"},
    )


class MouHistorySchema(Schema):
    id = fields.Integer(required=True)
    mou_id = fields.Integer(required=True)
    action = OneOf(
        (
            "create",
            "update",
            "propose",
            "accept",
            "terminate",
            "renew",
            "supersede",
        ),
        required=True,
        metadata={
            "description": "accept: a party accepted (the second acceptance shows the status "
            "becoming active); renew: a renewal was drafted; supersede: its renewal became "
            "active"
        },
    )
    party = OneOf(PARTIES, allow_none=True, metadata={"description": "Who the actor acted for"})
    actor = fields.String(required=True, metadata={"description": '"user:<id>"'})
    at = fields.AwareDateTime(required=True)
    changes = fields.Dict(required=True, metadata={"description": "field -> [before, after]"})
