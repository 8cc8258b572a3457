from marshmallow import Schema

from ..fields import Id


class PackArgsSchema(Schema):
    agency_id = Id(
        strict=False,
        metadata={
            "description": "Administrators: the agency whose pack to build (required for them). "
            "Agency users and CAD clients get their own agency's; naming another is a 403."
        },
    )
