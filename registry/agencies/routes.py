from flask_restx import Namespace

from ..api.crud_routes import collection_routes, record_routes
from .schemas import AgencyFiltersSchema, AgencySchema
from .service import agencies

ns = Namespace("agencies", description="Law enforcement, fire, EMS, emergency management, PSAPs")

# Admin changes need a fresh login.
collection_routes(ns, agencies, AgencySchema, AgencyFiltersSchema, fresh=True)
record_routes(ns, agencies, AgencySchema, fresh=True)
