from flask_restx import Namespace, Resource

from .. import db
from ..api.inputs import query
from ..api.outputs import returns
from ..api.pagination import returns_page
from ..auth.identity import current_principal, login_required
from .schemas import AuditEventSchema, AuditFiltersSchema, AuditVerificationSchema
from .service import READERS, check_chain, search

ns = Namespace("audit-events", description="Who did or saw what (append-only, hash-chained)")


@ns.route("")
class AuditEvents(Resource):
    @login_required(*READERS)
    @query(AuditFiltersSchema)
    @returns_page(AuditEventSchema)
    def get(self, args):
        """Search the audit trail, newest first (facility managers: their facilities only)."""
        return search(db.session(), current_principal(), args)


@ns.route("/verification")
class AuditVerification(Resource):
    @login_required("admin", "auditor")
    @returns(AuditVerificationSchema)
    def get(self):
        """Recompute the hash chain and report the first event that does not fit."""
        return check_chain(db.session(), current_principal())
