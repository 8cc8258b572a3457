from flask_restx import Namespace, Resource

from .. import audit, db
from ..access.roles import AGENCY_ROLES, Role
from ..api.inputs import query
from ..api.outputs import returns
from ..auth.identity import current_principal, login_required
from . import feed
from .schemas import FeedArgsSchema, FeedPageSchema

ns = Namespace("changes", description="The change feed: which pre-plans changed, in commit order")


@ns.route("")
class Changes(Resource):
    @login_required(Role.ADMIN, Role.FACILITY_MANAGER, *AGENCY_ROLES)
    @query(FeedArgsSchema)
    @returns(FeedPageSchema)
    def get(self, args):
        """Read the changes to the pre-plans you read, in commit order, after a position.

        Start with since=0 and read on from each page's `next` (while `more`, at once; then
        poll). Each change is an upsert (the facility's pre-plan as it is now) or a removal
        (deleted, or no longer shared with your agency). No change is skipped or repeated, even
        when long transactions commit out of order. One `preplan.feed` audit event per page
        lists the pre-plans it carried."""
        session, principal = db.session(), current_principal()
        with db.engine().begin() as connection:  # committed before the page is read
            feed.number_committed(connection, db.utc_today())
        page = feed.page(session, principal, args["since"], args["limit"])
        audit.record(
            session,
            principal,
            "preplan.feed",
            details={
                "since": args["since"],
                "next": page.next,
                "facility_ids": [item.facility_id for item in page.changes if item.preplan],
            },
        )
        return page
