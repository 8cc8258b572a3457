from flask_restx import Namespace

from ..resources import collection_routes, item_routes
from .schemas import AgencyFiltersSchema, AgencySchema
from .service import agencies

ns = Namespace("agencies", description="Law enforcement, fire, EMS, emergency management, PSAPs")

collection_routes(ns, agencies, AgencySchema, AgencyFiltersSchema)
item_routes(ns, agencies, AgencySchema)
