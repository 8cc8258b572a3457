from marshmallow import fields, validate

from ..api.pagination import PageArgsSchema
from ..fields import OneOf, Phone, RecordSchema, Text
from .models import AGENCY_TYPES


class AgencySchema(RecordSchema):
    name = Text(200, required=True)
    agency_type = OneOf(AGENCY_TYPES, required=True)
    ori = Text(
        9,
        allow_none=True,
        validate=validate.Regexp(
            r"^[A-Z]{2}[A-Z0-9]{7}$", error="An ORI is 9 characters, e.g. MA0010100."
        ),
        metadata={"description": "NCIC Originating Agency Identifier"},
    )
    fdid = Text(10, allow_none=True, metadata={"description": "Fire department id (NFIRS)"})
    jurisdiction = Text(200, allow_none=True)
    state = Text(
        2,
        allow_none=True,
        validate=validate.Regexp(r"^[A-Z]{2}$"),
        metadata={"description": "Where the agency serves; a lookup with no state uses it"},
    )
    county_fips = fields.List(
        Text(5, validate=validate.Regexp(r"^\d{5}$", error="A 5-digit county FIPS code.")),
        validate=validate.Length(max=300),
        metadata={
            "description": "Counties served (FIPS, in `state`); none: the whole state",
            "example": ["17167"],
        },
    )
    main_phone = Phone(allow_none=True)
    dispatch_phone = Phone(allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    notes = Text(5000, allow_none=True)


class AgencyFiltersSchema(PageArgsSchema):
    name = Text(200, metadata={"description": "Part of the name, any case"})
    agency_type = OneOf(AGENCY_TYPES)
    state = Text(2)
