from flask_restx import Namespace

from ..agencies.routes import ns as agencies_ns
from ..agencies.service import agencies
from ..api.crud_routes import child_collection_routes, record_routes
from ..facilities.routes import ns as facilities_ns
from ..facilities.service import facilities
from ..organizations.routes import ns as organizations_ns
from ..organizations.service import organizations
from .schemas import ContactSchema
from .service import contacts

ns = Namespace("contacts", description="Liaison people, in call order")
record_routes(ns, contacts, ContactSchema)

# A manager thinks "this facility's contacts", so the lists live under their owners.
for owner_ns, owner_service, field in (
    (facilities_ns, facilities, "facility_id"),
    (organizations_ns, organizations, "organization_id"),
    (agencies_ns, agencies, "agency_id"),
):
    child_collection_routes(
        owner_ns, "/<int:parent_id>/contacts", owner_service, contacts, ContactSchema, field
    )
