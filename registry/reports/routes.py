from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import Role
from ..api.inputs import query
from ..api.outputs import returns
from ..auth.identity import current_principal, login_required
from .freshness import report
from .schemas import FreshnessReportArgsSchema, FreshnessReportSchema

ns = Namespace("reports", description="What needs attention across many facilities")


@ns.route("/freshness")
class FreshnessReport(Resource):
    # People who keep pre-plans current or plan with them; not CAD clients, not auditors.
    @login_required(Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER)
    @query(FreshnessReportArgsSchema)
    @returns(FreshnessReportSchema)
    def get(self, args):
        """List the facilities you read whose pre-plan parts are stale now or soon, or whose
        pre-plan is incomplete (no 24/7 contact, access point or staging area; a shared main
        phone)."""
        return report(db.session(), current_principal(), args)
