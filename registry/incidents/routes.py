from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import Role
from ..api.crud_routes import record_routes
from ..api.document import doc
from ..api.inputs import body, query
from ..api.outputs import require_if_match, returns
from ..api.pagination import returns_page
from ..api.router import API_PREFIX
from ..auth.identity import current_principal, login_required
from ..idempotency import idempotent
from .schemas import (
    BreakGlassEndSchema,
    IncidentChangeSchema,
    IncidentFiltersSchema,
    IncidentOpenedSchema,
    IncidentOpenSchema,
    IncidentSchema,
)
from .service import incidents

ns = Namespace("incidents", description="CAD events: who looked up which facility, and why")


def without_preplan(body: dict) -> dict:
    """An opening as a retry replays it: without the pre-plan or the recovery sites from it,
    which are read again (checked and audited) from /preplans/{id} or /incidents/{id}; access
    may have ended since."""
    body = {k: v for k, v in body.items() if k != "recovery_sites"}
    lookup = dict(body.get("lookup") or {})
    if lookup.get("preplan") is not None:
        lookup["preplan"] = lookup["break_glass"] = None
        facility_id = body.get("facility_id")
        lookup["notes"] = [
            *lookup.get("notes", []),
            f"replayed: fetch the pre-plan from {API_PREFIX}/preplans/{facility_id}",
        ]
    return {**body, "lookup": lookup}


@ns.route("")
class IncidentCollection(Resource):
    @login_required()
    @query(IncidentFiltersSchema)
    @returns_page(IncidentSchema)
    def get(self, args):
        """List the incidents you may see, newest first."""
        principal = current_principal()
        return incidents.list(db.session(), principal, args, *incidents.filters(args))

    @login_required(Role.CAD, Role.AGENCY_USER)
    @idempotent(kept=without_preplan)
    @body(IncidentOpenSchema)
    @returns(IncidentOpenedSchema, 201, "Opened; `lookup` holds the match and the pre-plan")
    def post(self, data):
        """Open an incident: look the facility up and record who asked."""
        return incidents.open(db.session(), current_principal(), data)


# No DELETE: an incident is the record of who looked at which pre-plan; closing is a PATCH.
record_routes(ns, incidents, IncidentSchema, patch_schema=IncidentChangeSchema, deletable=False)


@ns.route("/<int:record_id>/break-glass/end")
class IncidentBreakGlassEnd(Resource):
    @login_required(Role.ADMIN, Role.FACILITY_MANAGER, fresh=True)
    @doc(
        params={"If-Match": {"in": "header", "required": True, "type": "string"}},
        responses={
            "404": "No such incident, or not visible to you",
            "409": "The incident grants no break-glass, or its grant has already ended",
            "412": "Stale If-Match",
            "428": "If-Match missing",
        },
    )
    @body(BreakGlassEndSchema, deferred=True)
    @returns(IncidentSchema)
    def post(self, record_id, load_body):
        """End an agency's break-glass access at your facility early, with a reason (fresh
        login, If-Match; audited)."""
        session, principal = db.session(), current_principal()
        incident = incidents.get(session, principal, record_id)
        incidents.authorize_end(session, principal, incident)
        require_if_match(incident)
        return incidents.end_break_glass(session, principal, incident, load_body()["reason"])
