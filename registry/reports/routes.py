from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import Role
from ..api.inputs import query
from ..api.outputs import returns
from ..auth.identity import current_principal, login_required
from . import follow_ups
from .freshness import report
from .schemas import (
    FollowUpsReportArgsSchema,
    FollowUpsReportSchema,
    FreshnessReportArgsSchema,
    FreshnessReportSchema,
)

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


@ns.route("/follow-ups")
class FollowUpsReport(Resource):
    # The same people as the freshness report: those who keep plans and train on them.
    @login_required(Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER)
    @query(FollowUpsReportArgsSchema)
    @returns(FollowUpsReportSchema)
    def get(self, args):
        """List the after-action follow-ups you read that are overdue (or due within
        due_within_days) and not yet done or cancelled, soonest due first."""
        return follow_ups.report(db.session(), current_principal(), args)
