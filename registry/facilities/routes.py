from flask_restx import Namespace

from ..resources import collection_routes, item_routes, nested_collection_routes
from .schemas import AccessPointSchema, FacilityFiltersSchema, FacilitySchema, TacticalPointSchema
from .service import access_points, facilities, tactical_points

ns = Namespace("facilities", description="Sites of partner organizations")
collection_routes(ns, facilities, FacilitySchema, FacilityFiltersSchema)
item_routes(ns, facilities, FacilitySchema)
nested_collection_routes(
    ns,
    "/<int:parent_id>/access-points",
    facilities,
    access_points,
    AccessPointSchema,
    "facility_id",
)
nested_collection_routes(
    ns,
    "/<int:parent_id>/tactical-points",
    facilities,
    tactical_points,
    TacticalPointSchema,
    "facility_id",
)

access_points_ns = Namespace(
    "access-points", description="Ways in and control points of a facility"
)
item_routes(access_points_ns, access_points, AccessPointSchema)

tactical_points_ns = Namespace(
    "tactical-points", description="Staging areas, casualty collection points, command posts …"
)
item_routes(tactical_points_ns, tactical_points, TacticalPointSchema)
