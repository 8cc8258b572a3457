from flask_restx import Namespace

from ..agencies.routes import ns as agencies_ns
from ..agencies.service import agencies
from ..facilities.routes import ns as facilities_ns
from ..facilities.service import facilities
from ..resources import item_routes, nested_collection_routes
from .schemas import AddressAliasSchema, StreetAliasSchema
from .service import address_aliases, street_aliases

address_aliases_ns = Namespace(
    "address-aliases", description="Other site addresses of a facility (reviewed by people)"
)
item_routes(address_aliases_ns, address_aliases, AddressAliasSchema)
nested_collection_routes(
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
item_routes(street_aliases_ns, street_aliases, StreetAliasSchema)
nested_collection_routes(
    agencies_ns,
    "/<int:parent_id>/street-aliases",
    agencies,
    street_aliases,
    StreetAliasSchema,
    "agency_id",
)
