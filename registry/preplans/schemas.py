from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..contacts.schemas import ContactSchema
from ..corrections.schemas import OpenCorrectionSchema
from ..facilities.schemas import (
    POSTAL_CODE,
    AccessPointSchema,
    FacilitySchema,
    TacticalPointSchema,
)
from ..fields import ConfirmedFields, Latitude, Longitude, OneOf, Text
from ..floorplans.schemas import Link
from ..mous.schemas import MouSchema

MAX_RADIUS_M = 5000


class LookupQuerySchema(Schema):
    address = Text(300, metadata={"description": "Free text, e.g. 123 n. main st, springfield il"})
    lat = Latitude()
    lon = Longitude()
    radius_m = fields.Integer(
        load_default=150,
        validate=validate.Range(min=1, max=MAX_RADIUS_M),
        metadata={"description": "Search radius around lat/lon, metres"},
    )
    phone = Text(40, metadata={"description": "A facility or contact number, E.164 or loose"})
    external_id = Text(100, metadata={"description": "A CAD premise id (with system)"})
    system = Text(50, metadata={"description": "Whose premise id external_id is"})
    name = Text(200, metadata={"description": 'A place name or alias: "Terminal 2"'})
    city = Text(100, metadata={"description": "Narrows a name or address lookup"})
    state = Text(2, validate=validate.Regexp(r"^[A-Za-z]{2}$"))
    postal_code = Text(10, validate=POSTAL_CODE)

    @validates_schema
    def _one_way_in(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError("Send lat and lon together.", "lat")
        if (data.get("external_id") is None) != (data.get("system") is None):
            raise ValidationError("Send external_id and system together.", "external_id")
        # A blank value ("?address=") is no way in: it must not read as "nothing matches".
        ways_in = ("address", "lat", "phone", "external_id", "name")
        if all(data.get(k) in (None, "") for k in ways_in):
            raise ValidationError(
                "Send address, lat+lon, phone, external_id+system or name.", "address"
            )


class CandidateSchema(Schema):
    facility_id = fields.Integer(required=True)
    name = fields.String(required=True)
    normalized_address = fields.String(allow_none=True)
    score = fields.Float(required=True, metadata={"description": "0..1"})
    confident = fields.Boolean(
        required=True, metadata={"description": "This method alone would identify the facility"}
    )
    reasons = fields.List(fields.String(), required=True)
    distance_m = fields.Float(allow_none=True, metadata={"description": "From lat/lon, metres"})
    match_kind = fields.String(
        allow_none=True,
        metadata={"description": "How the street fits: exact, alias or relaxed (else null)"},
    )
    differences = fields.List(
        fields.String(),
        metadata={"description": 'What typed contradicts it: "ZIP 30309, registered 30308"'},
    )


class ParsedAddressSchema(Schema):
    """How the lookup read the typed address."""

    number = fields.String(
        metadata={"description": 'Address Number Complete: "W204N11509", "123-45", "12 1/2"'}
    )
    street = fields.String(metadata={"description": 'Canonical street: "N MAIN ST", "SR 1"'})
    unit = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    postal_code = fields.String(allow_none=True)
    state_source = OneOf(
        ("typed", "zip", "agency"),
        allow_none=True,
        metadata={"description": "Where the state came from: typed, the ZIP, or your agency"},
    )
    landmark = fields.String(
        allow_none=True, metadata={"description": "Words before the address, set aside"}
    )


class MatchSchema(Schema):
    """Why a match is certain."""

    kind = OneOf(("exact", "alias", "relaxed"), required=True)
    relaxations = fields.List(
        fields.String(), required=True, metadata={"description": "At most one, for relaxed"}
    )
    evidence = fields.List(
        fields.String(), required=True, metadata={"description": "What confirmed the place"}
    )


class Freshness:
    """What the pre-plan says of each part beside its confirmation: added for the day it is
    read (preplans/freshness.py), never stored."""

    stale = fields.Boolean(
        dump_only=True,
        metadata={
            "description": "Not confirmed within its kind's maximum age (or never): check it "
            "on scene"
        },
    )
    age_days = fields.Integer(
        dump_only=True,
        allow_none=True,
        metadata={"description": "Whole days since it was confirmed (null: never confirmed)"},
    )


class Reported:
    """The unresolved correction reports on a part (corrections/): stored with the rendering,
    whose `preplan_version` every step of a report bumps (a trigger on `corrections`)."""

    open_corrections = fields.List(
        fields.Nested(OpenCorrectionSchema),
        dump_only=True,
        metadata={
            "description": "Responders reported this as wrong and the facility's managers have "
            "not resolved it yet: check it on scene"
        },
    )


class PreplanFacilitySchema(Freshness, Reported, FacilitySchema):
    pass


class PreplanContactSchema(Freshness, Reported, ContactSchema):
    pass


class PreplanAccessPointSchema(Freshness, Reported, AccessPointSchema):
    pass


class PreplanTacticalPointSchema(Freshness, Reported, TacticalPointSchema):
    pass


class FloorPlanReferenceSchema(Freshness, Reported, ConfirmedFields, Schema):
    """The current plan of one level, as the pre-plan lists it."""

    id = fields.Integer(required=True)
    building = fields.String(allow_none=True)
    level = fields.String(allow_none=True, attribute="level_label")
    level_number = fields.Integer()
    title = fields.String()
    revision = fields.Integer()
    media_type = fields.String(attribute="blob.media_type")
    size = fields.Integer(attribute="blob.size")
    sha256 = fields.String()
    uploaded_at = fields.AwareDateTime(attribute="created_at")
    url = Link("{prefix}/floor-plans/{record.id}/file", required=True)
    preview_url = Link("{prefix}/floor-plans/{record.id}/preview")


class PreplanMouSchema(MouSchema):
    """An MOU as the pre-plan shows it: the facility list is left out (it covers this one)."""

    class Meta:
        exclude = ("facility_ids",)


class BreakGlassSchema(Schema):
    """Why an agency without an MOU sees this pre-plan: its open incident at the facility."""

    incident_id = fields.Integer(required=True)
    expires_at = fields.AwareDateTime(
        required=True, metadata={"description": "Access ends then, or when the incident closes"}
    )


class RegisteredMatchSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class PreplanSchema(Schema):
    facility = fields.Nested(PreplanFacilitySchema, required=True)
    contacts = fields.List(
        fields.Nested(PreplanContactSchema),
        required=True,
        metadata={"description": "In call order; 24/7 contacts first among equals"},
    )
    access_points = fields.List(fields.Nested(PreplanAccessPointSchema), required=True)
    tactical_points = fields.List(fields.Nested(PreplanTacticalPointSchema), required=True)
    floor_plans = fields.List(
        fields.Nested(FloorPlanReferenceSchema),
        required=True,
        metadata={"description": "Current plan of each level (none until plans are uploaded)"},
    )
    mous = fields.List(
        fields.Nested(PreplanMouSchema),
        required=True,
        metadata={"description": "MOUs covering this facility (with your agency, for agencies)"},
    )
    break_glass = fields.Nested(
        BreakGlassSchema,
        metadata={
            "description": "Present when you read this pre-plan through break-glass: read-only, "
            "audited, and the facility's organization is told"
        },
    )


class Serialized(fields.Nested):
    """A nested document that is already serialized (a cached pre-plan): passed through as is,
    documented as the schema it was serialized with."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class LookupResultSchema(Schema):
    status = OneOf(
        ("matched", "ambiguous", "no_match", "not_shared"),
        required=True,
        metadata={
            "description": "matched: one facility, pre-plan included. ambiguous: several close "
            "candidates, no pre-plan. not_shared: a registered facility matches (see "
            "registered_match) but does not share with your agency; opening an incident there "
            "gives your agency break-glass access to its pre-plan. no_match: nothing registered "
            "matches."
        },
    )
    normalized_address = fields.String(allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema), required=True)
    hidden_matches = fields.Integer(
        required=True, metadata={"description": "Close candidates you may not read"}
    )
    facility_id = fields.Integer(
        attribute="matched_facility_id",
        allow_none=True,
        metadata={"description": "When matched"},
    )
    notes = fields.List(
        fields.String(),
        metadata={"description": "Input that was not used, and why; disagreements"},
    )
    parsed = fields.Nested(
        ParsedAddressSchema,
        allow_none=True,
        metadata={"description": "How the address was read (when an address was given)"},
    )
    match = fields.Nested(
        MatchSchema,
        allow_none=True,
        metadata={"description": "matched/not_shared by address: how the address fits"},
    )
    outside_jurisdiction = fields.Boolean(
        metadata={"description": "The facility lies outside your agency's state or counties"}
    )
    preplan = Serialized(PreplanSchema, allow_none=True)
    registered_match = fields.Nested(
        RegisteredMatchSchema,
        allow_none=True,
        metadata={"description": "not_shared: the facility that matches (id and name only)"},
    )
    break_glass = Serialized(
        BreakGlassSchema,
        allow_none=True,
        metadata={"description": "Set when the pre-plan is shown through break-glass"},
    )


class PreplanFormatSchema(Schema):
    format = OneOf(
        ("json", "geojson", "html", "pdf"),
        metadata={
            "description": "Instead of Accept: geojson is application/geo+json; html "
            "(text/html) and pdf (application/pdf) are the printable page"
        },
    )
