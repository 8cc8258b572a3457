from marshmallow import fields, validate

from ..fields import RecordSchema, Text

_HAS_LETTERS = validate.Regexp(r".*[A-Za-z]", error="A street needs letters.")


class AddressAliasSchema(RecordSchema):
    facility_id = fields.Integer(dump_only=True)
    address = Text(
        200,
        required=True,
        metadata={
            "description": "Another site address of the facility, number and street, in its "
            "own city and ZIP",
            "example": "1211 Avenue of the Americas",
        },
    )
    address_key = fields.String(
        dump_only=True, metadata={"description": "As the CAD lookup matches it"}
    )
    created_by = fields.String(dump_only=True, metadata={"description": '"user:12"'})


class StreetAliasSchema(RecordSchema):
    agency_id = fields.Integer(dump_only=True)
    state = Text(
        2,
        validate=validate.Regexp(r"^[A-Z]{2}$"),
        metadata={"description": "Defaults to the agency's state; must be it"},
    )
    county_fips = Text(
        5,
        allow_none=True,
        validate=validate.Regexp(r"^\d{5}$", error="A 5-digit county FIPS code."),
        metadata={"description": "Only in this county (one of the agency's); none: the state"},
    )
    alias = Text(
        200,
        required=True,
        validate=_HAS_LETTERS,
        metadata={"description": "The name people use", "example": "Avenue of the Americas"},
    )
    street = Text(
        200,
        required=True,
        validate=_HAS_LETTERS,
        metadata={"description": "The street as facilities register it", "example": "6th Ave"},
    )
    alias_full = fields.String(dump_only=True)
    street_full = fields.String(dump_only=True)
    created_by = fields.String(dump_only=True)
