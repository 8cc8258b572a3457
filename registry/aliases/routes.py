from flask_restx import Namespace

from ..agencies.routes import ns as agencies_ns
from ..agencies.service import agencies
from ..api.crud_routes import child_collection_routes, record_routes
from ..facilities.routes import ns as facilities_ns
from ..facilities.service import facilities
from .schemas import AddressAliasSchema, StreetAliasSchema
from .service import address_aliases, street_aliases

address_aliases_ns = Namespace(
    "address-aliases", description="Other site addresses of a facility (reviewed by people)"
)
record_routes(address_aliases_ns, address_aliases, AddressAliasSchema)
child_collection_routes(
    facilities_ns,
    "/<int:parent_id>/address-aliases",
    facilities,
    address_aliases,
    AddressAliasSchema,
    "facility_id",
)

street_aliases_ns = Namespace(
    "street-aliases", description="An agency's aliases for streets in its jurisdiction"
)
record_routes(street_aliases_ns, street_aliases, StreetAliasSchema)
child_collection_routes(
    agencies_ns,
    "/<int:parent_id>/street-aliases",
    agencies,
    street_aliases,
    StreetAliasSchema,
    "agency_id",
)
