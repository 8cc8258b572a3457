from marshmallow import fields, validate

from ..api.pagination import PageArgsSchema
from ..fields import OneOf, Phone, RecordSchema, Text
from .models import ORGANIZATION_KINDS


class OrganizationSchema(RecordSchema):
    name = Text(200, required=True)
    kind = OneOf(ORGANIZATION_KINDS, load_default="other")
    # A validator must raise: marshmallow 4 ignores one that returns False.
    website = fields.Url(allow_none=True, validate=validate.Length(max=300))
    main_phone = Phone(allow_none=True)
    notes = Text(5000, allow_none=True)


class OrganizationFiltersSchema(PageArgsSchema):
    name = Text(200, metadata={"description": "Part of the name, any case"})
    kind = OneOf(ORGANIZATION_KINDS)
