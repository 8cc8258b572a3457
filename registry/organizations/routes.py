from flask_restx import Namespace

from ..resources import collection_routes, item_routes
from .schemas import OrganizationFiltersSchema, OrganizationSchema
from .service import organizations

ns = Namespace("organizations", description="Private-sector partners")

# Admin changes need a fresh login.
collection_routes(ns, organizations, OrganizationSchema, OrganizationFiltersSchema, fresh=True)
item_routes(ns, organizations, OrganizationSchema, fresh=True)
