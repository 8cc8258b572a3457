from flask_restx import Namespace, Resource

from .. import db
from ..agencies.routes import ns as agencies_ns
from ..agencies.service import agencies
from ..api.crud_routes import child_collection_routes, record_routes
from ..api.document import doc
from ..api.outputs import returns
from ..auth.identity import current_principal, login_required
from ..facilities.routes import ns as facilities_ns
from ..facilities.service import facilities
from ..organizations.routes import ns as organizations_ns
from ..organizations.service import organizations
from .schemas import ContactFacilitiesSchema, ContactSchema
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


@ns.route("/<int:record_id>/facilities")
@doc(responses={"403": "Not your organization's contact", "404": "No such contact"})
class ContactFacilities(Resource):
    # Every role: a contact the caller cannot see is not found, as everywhere; one it sees but
    # may not change (an agency's view of a partner's contact) is 403.
    @login_required()
    @returns(ContactFacilitiesSchema)
    def get(self, record_id):
        """Where an organization's contact is listed: each facility and the contact's place in
        its call order. Change it by PATCHing the contact's `facilities` (If-Match: this
        ETag, which is the contact's)."""
        session, principal = db.session(), current_principal()
        contact = contacts.get(session, principal, record_id)
        # Agencies read a partner's contacts, not where else in its estate they are listed.
        contacts.authorize_write(principal, contact)
        return contact
