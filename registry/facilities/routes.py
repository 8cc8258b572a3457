import json

from flask import Response
from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import Role
from ..api.crud_routes import child_collection_routes, collection_routes, record_routes
from ..api.document import doc, doc_model
from ..api.inputs import body, query
from ..api.outputs import conditional, etag_of, require_if_match, returns
from ..api.pagination import PageArgsSchema, returns_page
from ..auth.identity import current_principal, is_fresh, login_required
from ..idempotency import idempotent
from . import review
from .confirm_all import confirm_all
from .reveal import reveal
from .schemas import (
    AccessPointSchema,
    FacilityConfirmationSchema,
    FacilityFiltersSchema,
    FacilityHistorySchema,
    FacilitySchema,
    RevealedSchema,
    RevealRequestSchema,
    TacticalPointSchema,
)
from .service import access_points, facilities, tactical_points

ns = Namespace("facilities", description="Sites of partner organizations")
collection_routes(ns, facilities, FacilitySchema, FacilityFiltersSchema)
record_routes(ns, facilities, FacilitySchema)
child_collection_routes(
    ns,
    "/<int:parent_id>/access-points",
    facilities,
    access_points,
    AccessPointSchema,
    "facility_id",
)
child_collection_routes(
    ns,
    "/<int:parent_id>/tactical-points",
    facilities,
    tactical_points,
    TacticalPointSchema,
    "facility_id",
)

access_points_ns = Namespace(
    "access-points", description="Ways in and control points of a facility"
)
record_routes(access_points_ns, access_points, AccessPointSchema)
_revealed = RevealedSchema()


@access_points_ns.route("/<int:record_id>/reveal")
class AccessPointReveal(Resource):
    # Not @idempotent: nothing is created, and a stored response would keep the codes.
    @doc(
        responses={
            "401": "Missing, invalid, expired or revoked token, or not from a fresh login",
            "404": "No such access point, or not visible to you",
            "409": "The stored secret cannot be decrypted; it must be entered again",
        }
    )
    # Any valid token here: `reveal` judges freshness and the body itself, so that a refusal
    # for either is audited like every other attempt.
    @login_required()
    @body(RevealRequestSchema, deferred=True)
    @returns(RevealedSchema)
    def post(self, record_id, load_body):
        """Show an access point's code and key location (fresh login; audited)."""
        revealed = reveal(db.session(), current_principal(), record_id, load_body, fresh=is_fresh())
        # Never stored by any cache, and no ETag: a code is not a representation to revalidate.
        return Response(
            json.dumps(_revealed.dump(revealed)),
            mimetype="application/json",
            headers={"Cache-Control": "no-store"},
        )


tactical_points_ns = Namespace(
    "tactical-points", description="Staging areas, casualty collection points, command posts …"
)
record_routes(tactical_points_ns, tactical_points, TacticalPointSchema)


@ns.route("/<int:facility_id>/history")
class FacilityHistoryList(Resource):
    @login_required()
    @query(PageArgsSchema)
    @returns_page(FacilityHistorySchema)
    @doc(responses={"404": "No such facility, or not visible to you"})
    def get(self, facility_id, args):
        """List every change to a facility and its points and contacts, newest first."""
        return facilities.history(db.session(), current_principal(), facility_id, args)


@ns.route("/<int:facility_id>/approval")
class FacilityApproval(Resource):
    @login_required(Role.ADMIN, fresh=True)
    @doc(responses={"404": "No such facility", "409": "The facility is not waiting for review"})
    @returns(FacilitySchema)
    def post(self, facility_id):
        """Approve a facility held for review (it shares another organization's address or
        position); from then on the CAD lookup sees it."""
        session, principal = db.session(), current_principal()
        return review.approve(session, principal, facilities.get(session, principal, facility_id))


_confirmation = FacilityConfirmationSchema()


@ns.route("/<int:facility_id>/confirm")
class FacilityConfirm(Resource):
    # No fresh login: confirming vouches for what is there and opens nothing.
    @login_required()
    @idempotent
    @doc(
        params={"If-Match": {"in": "header", "required": True, "type": "string"}},
        responses={
            "200": ("Confirmed; the ETag is the facility's", doc_model(FacilityConfirmationSchema)),
            "403": "You may not change this facility",
            "404": "No such facility, or not visible to you",
            "412": "Stale If-Match: the facility changed since you read it",
            "428": "If-Match missing",
        },
    )
    def post(self, facility_id):
        """Confirm that a facility and every part of its pre-plan are still accurate (send the
        facility's If-Match): contacts, access and tactical points, current floor plans."""
        session, principal = db.session(), current_principal()
        facility = facilities.get(session, principal, facility_id)
        facilities.authorize_write(principal, facility)
        require_if_match(facility)
        confirmed = confirm_all(session, principal, facility)
        return conditional(_confirmation.dump(confirmed), etag_of(facility))
