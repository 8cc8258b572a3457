from flask_restx import Namespace

from ..api.crud_routes import collection_routes, record_routes
from .schemas import OrganizationFiltersSchema, OrganizationSchema
from .service import organizations

ns = Namespace("organizations", description="Private-sector partners")

# Admin changes need a fresh login.
collection_routes(ns, organizations, OrganizationSchema, OrganizationFiltersSchema, fresh=True)
record_routes(ns, organizations, OrganizationSchema, fresh=True)
