from marshmallow import Schema, fields, validate

from ..fields import ConfirmedFields, LastVerifiedAt, OneOf, Phone, RecordSchema, Text, WholeNested
from .models import PHONE_KINDS


class PhoneNumberSchema(Schema):
    kind = OneOf(PHONE_KINDS, required=True)
    number = Phone(required=True)
    extension = Text(10, allow_none=True, validate=validate.Regexp(r"^\d{1,10}$"))


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
        validate=validate.Range(min=1, max=100),
        metadata={"description": "1 is called first"},
    )
    available_24_7 = fields.Boolean(load_default=False)
    notes = Text(5000, allow_none=True)
    last_verified_at = LastVerifiedAt()
