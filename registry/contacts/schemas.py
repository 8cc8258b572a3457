from marshmallow import Schema, ValidationError, fields, validate

from ..fields import (
    ConfirmedFields,
    Id,
    LastVerifiedAt,
    OneOf,
    Phone,
    RecordSchema,
    Text,
    WholeNested,
)
from .models import PHONE_KINDS


class PhoneNumberSchema(Schema):
    kind = OneOf(PHONE_KINDS, required=True)
    number = Phone(required=True)
    extension = Text(10, allow_none=True, validate=validate.Regexp(r"^\d{1,10}$"))


# A corporate security operations centre may be listed at every store of a large retailer.
MAX_ASSIGNMENTS = 5000
CALL_ORDER_RANGE = validate.Range(min=1, max=100)


class ContactAssignmentSchema(Schema):
    facility_id = Id(required=True)
    call_order = fields.Integer(
        strict=True,
        load_default=1,
        validate=CALL_ORDER_RANGE,
        metadata={"description": "The contact's place in this facility's call order"},
    )


def _one_place_per_facility(assignments: list[dict]) -> None:
    seen = set()
    for assignment in assignments:
        if assignment["facility_id"] in seen:
            raise ValidationError(
                f"Facility {assignment['facility_id']} is listed twice: a contact has one "
                "place in a facility's call order."
            )
        seen.add(assignment["facility_id"])


class ContactSchema(ConfirmedFields, RecordSchema):
    facility_id = fields.Integer(dump_only=True, allow_none=True)
    organization_id = fields.Integer(dump_only=True, allow_none=True)
    agency_id = fields.Integer(dump_only=True, allow_none=True)
    name = Text(200, required=True)
    role = Text(200, allow_none=True, metadata={"example": "Director of Security"})
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    phones = fields.List(
        WholeNested(PhoneNumberSchema),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "In the order to try them"},
    )
    call_order = fields.Integer(
        strict=True,
        load_default=1,
        validate=CALL_ORDER_RANGE,
        metadata={"description": "1 is called first"},
    )
    available_24_7 = fields.Boolean(load_default=False)
    notes = Text(5000, allow_none=True)
    last_verified_at = LastVerifiedAt()
    facilities = fields.List(
        WholeNested(ContactAssignmentSchema),
        load_only=True,
        validate=[validate.Length(max=MAX_ASSIGNMENTS), _one_place_per_facility],
        metadata={
            "description": "An organization's contact only: the facilities of the organization "
            "whose pre-plans list this person, each at its own place in that facility's call "
            "order (the whole list; send [] to list them nowhere). Read it at "
            "/contacts/{id}/facilities."
        },
    )


class ContactFacilitiesSchema(Schema):
    """Where an organization's contact is listed (its ETag is the contact's: send it as
    If-Match when you PATCH the contact's `facilities`)."""

    contact_id = fields.Integer(required=True, attribute="id")
    facilities = fields.List(fields.Nested(ContactAssignmentSchema), required=True)
