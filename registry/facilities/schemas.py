from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..api.pagination import DeletedArgsSchema
from ..fields import (
    ConfirmedFields,
    Count,
    Id,
    LastVerifiedAt,
    Latitude,
    Longitude,
    OneOf,
    Phone,
    RecordSchema,
    Text,
    WholeNested,
)
from .models import ACCESS_POINT_KINDS, FACILITY_TYPES, TACTICAL_POINT_KINDS

US_STATE = validate.Regexp(r"^[A-Z]{2}$", error="Two capital letters, e.g. MA.")
SITE_CODE = validate.Regexp(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
    error="Letters, digits and . _ / - (starting with a letter or digit), e.g. S-0042.",
)
POSTAL_CODE = validate.Regexp(r"^\d{5}(-\d{4})?$", error="A ZIP code: 12345 or 12345-6789.")


class CoordinatesMixin:
    """lat and lon come together or not at all: half a position is no position."""

    @validates_schema
    def _both_coordinates(self, data, partial=None, **kwargs):
        # A PATCH may move (or clear) a point by sending both; one alone is still refused.
        if partial and ("lat" in data) != ("lon" in data):
            raise ValidationError("Send lat and lon together.", "lat")
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("Send lat and lon together.", "lat")


class ExternalIdSchema(Schema):
    system = Text(
        50,
        required=True,
        metadata={"description": "Whose id this is, e.g. the agency's CAD system name"},
    )
    external_id = Text(100, required=True, metadata={"description": "The CAD premise id"})


class FacilitySchema(ConfirmedFields, CoordinatesMixin, RecordSchema):
    organization_id = Id(
        metadata={"description": "Defaults to the facility manager's own organization"},
    )
    name = Text(200, required=True)
    site_code = Text(
        40,
        allow_none=True,
        validate=SITE_CODE,
        metadata={
            "description": "The organization's own code for the site, unique among its "
            "facilities; what a bulk import matches rows by",
            "example": "S-0042",
        },
    )
    facility_type = OneOf(FACILITY_TYPES, required=True)
    address_line1 = Text(200, required=True, metadata={"example": "123 Main St"})
    address_line2 = Text(200, allow_none=True, metadata={"example": "Suite 4"})
    city = Text(100, required=True)
    state = Text(2, required=True, validate=US_STATE)
    postal_code = Text(10, required=True, validate=POSTAL_CODE)
    country = Text(2, load_default="US", validate=validate.OneOf(["US"]))
    normalized_address = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "The address as the CAD lookup matches it (USPS form)"},
    )
    county_fips = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"description": "County (FIPS) of its ZIP: compared with agency jurisdictions"},
    )
    review_status = fields.String(
        dump_only=True,
        metadata={
            "description": "pending: shares another organization's address or position and "
            "waits for an administrator; dispatch cannot find it until approved"
        },
    )
    aliases = fields.List(
        Text(
            200,
            validate=validate.Regexp(r"[A-Za-z0-9]", error="A name needs letters or digits."),
        ),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": 'Place names call-takers use: "Terminal 2", "Mall of America"'},
    )
    external_ids = fields.List(
        WholeNested(ExternalIdSchema), load_default=list, validate=validate.Length(max=20)
    )
    lat = Latitude(allow_none=True)
    lon = Longitude(allow_none=True)
    main_phone = Phone(allow_none=True)
    occupancy = Count(allow_none=True, metadata={"description": "Maximum occupant load"})
    opening_hours = Text(300, allow_none=True, metadata={"example": "Mo-Sa 09:00-21:00"})
    stories_above_grade = Count(200, allow_none=True)
    stories_below_grade = Count(20, allow_none=True)
    floor_area_sq_ft = Count(50_000_000, allow_none=True)
    construction_type = Text(100, allow_none=True)
    has_sprinklers = fields.Boolean(allow_none=True)
    has_fire_alarm = fields.Boolean(allow_none=True)
    hazards = Text(5000, allow_none=True)
    cctv_notes = Text(5000, allow_none=True)
    security_office_notes = Text(5000, allow_none=True)
    bleeding_control_kit_locations = Text(5000, allow_none=True)
    aed_locations = Text(5000, allow_none=True)
    notes = Text(5000, allow_none=True)
    last_verified_at = LastVerifiedAt()


class FacilityFiltersSchema(DeletedArgsSchema):
    name = Text(200, metadata={"description": "Part of the name, any case"})
    facility_type = OneOf(FACILITY_TYPES)
    city = Text(100, metadata={"description": "City, any case"})
    state = Text(2)
    postal_code = Text(10)
    organization_id = Id(strict=False)
    site_code = Text(40, metadata={"description": "The organization's own code, exactly"})
    review_status = OneOf(("approved", "pending"), metadata={"description": "pending: held"})


class _PointSchema(ConfirmedFields, CoordinatesMixin, RecordSchema):
    facility_id = fields.Integer(dump_only=True)
    name = Text(200, required=True)
    lat = Latitude(allow_none=True)
    lon = Longitude(allow_none=True)
    level = Text(40, allow_none=True, metadata={"example": "Ground floor"})
    description = Text(5000, allow_none=True)
    notes = Text(5000, allow_none=True)


class AccessPointSchema(_PointSchema):
    kind = OneOf(ACCESS_POINT_KINDS, required=True)
    notes = Text(
        5000,
        allow_none=True,
        metadata={
            "description": "Read by everyone who reads the pre-plan, and stored as written: "
            "never a code or where a key is; those go in `code` and `key_location`."
        },
    )
    # Secrets go in, never come out: stored encrypted, read only through the audited reveal.
    code = Text(
        100,
        allow_none=True,
        load_only=True,
        metadata={
            "description": "Door, gate or alarm code; stored encrypted, shown only by "
            "POST /access-points/{id}/reveal. Empty or null clears it.",
            "example": "4711#",
        },
    )
    key_location = Text(
        500,
        allow_none=True,
        load_only=True,
        metadata={
            "description": "Where the key is kept (Knox box, lock box code holder …); stored "
            "encrypted, shown only by reveal. Empty or null clears it.",
        },
    )
    has_code = fields.Boolean(dump_only=True)
    has_key_location = fields.Boolean(dump_only=True)


class RevealRequestSchema(Schema):
    reason = Text(
        500,
        required=True,
        validate=validate.Length(min=3),
        metadata={"description": "Why you need the codes now; kept in the audit trail"},
    )


class RevealedSchema(Schema):
    access_point_id = fields.Integer(required=True)
    code = fields.String(required=True, allow_none=True)
    key_location = fields.String(required=True, allow_none=True)
    break_glass = fields.Boolean(
        required=True,
        metadata={
            "description": "Allowed only by your agency's open incident at the facility; the "
            "facility's organization has been told"
        },
    )
    incident_id = fields.Integer(required=True, allow_none=True)


# People a recovery site may be said to hold: the largest stadiums seat about 100,000.
MAX_CAPACITY = 100_000


class TacticalPointSchema(_PointSchema):
    """A tactical point. The address, capacity and activation fields are what a recovery site
    (a reunification site, a family assistance centre) needs; any kind may carry them."""

    kind = OneOf(TACTICAL_POINT_KINDS, required=True)
    # The facility's own address rules (US_STATE, POSTAL_CODE, the same lengths); whole or
    # absent (the service checks the stored result, so a PATCH may change one part).
    address_line1 = Text(
        200,
        allow_none=True,
        metadata={
            "description": "Where it is when away from the facility (a school, a hotel): with "
            "city, state and postal_code, or none of them. For people to go to; the CAD lookup "
            "never searches it",
            "example": "400 E Adams St",
        },
    )
    address_line2 = Text(200, allow_none=True)
    city = Text(100, allow_none=True)
    state = Text(2, allow_none=True, validate=US_STATE)
    postal_code = Text(10, allow_none=True, validate=POSTAL_CODE)
    capacity = Count(
        MAX_CAPACITY, minimum=1, allow_none=True, metadata={"description": "People it holds"}
    )
    opened_by = Text(
        200,
        allow_none=True,
        metadata={
            "description": "Who opens it",
            "example": "American Red Cross, Central Illinois chapter",
        },
    )
    activation_contact = Text(
        200,
        allow_none=True,
        metadata={
            "description": "Whom to call to have it opened: a person, a role or a duty desk",
            "example": "Chapter disaster duty officer",
        },
    )
    activation_phone = Phone(allow_none=True)
    activation_notes = Text(
        5000,
        allow_none=True,
        metadata={
            "description": "How it is opened and reached: lead time, keys, the way in, parking"
        },
    )


class FacilityHistorySchema(Schema):
    id = fields.Integer(required=True)
    facility_id = fields.Integer(required=True)
    record_type = OneOf(
        ("facility", "access_point", "tactical_point", "contact", "floor_plan"), required=True
    )
    record_id = fields.Integer(required=True)
    action = OneOf(
        ("create", "update", "delete", "restore", "confirm"),
        required=True,
        metadata={"description": "confirm: confirmed as still accurate, unchanged"},
    )
    actor = fields.String(required=True, metadata={"description": '"user:<id>" or "cad:<id>"'})
    at = fields.AwareDateTime(required=True)
    changes = fields.Dict(
        required=True, metadata={"description": "field -> [before, after] (for updates)"}
    )


class ConfirmedCountsSchema(Schema):
    facility = fields.Integer(required=True)
    contacts = fields.Integer(required=True)
    access_points = fields.Integer(required=True)
    tactical_points = fields.Integer(required=True)
    floor_plans = fields.Integer(required=True, metadata={"description": "Current revisions"})


class FacilityConfirmationSchema(Schema):
    """A facility confirmed as still accurate, with every part of its pre-plan."""

    confirmed_at = fields.AwareDateTime(required=True)
    confirmed_by = fields.String(required=True)
    confirmed = fields.Nested(
        ConfirmedCountsSchema, required=True, metadata={"description": "What was confirmed"}
    )
    facility = fields.Nested(
        FacilitySchema, required=True, metadata={"description": "Its new state (and ETag)"}
    )
