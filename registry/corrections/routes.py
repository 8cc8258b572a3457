"""Correction reports: filed on a facility's pre-plan, answered and resolved on the report.
The steps are POSTs on the report, with If-Match (the version the managers read)."""

from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import AGENCY_ROLES
from ..api.document import doc
from ..api.inputs import body, query
from ..api.outputs import require_if_match, returns
from ..api.pagination import returns_page
from ..auth.identity import current_principal, login_required
from ..facilities.routes import ns as facilities_ns
from ..idempotency import idempotent
from .schemas import (
    CorrectionAnswerSchema,
    CorrectionFiltersSchema,
    CorrectionResolutionSchema,
    CorrectionSchema,
)
from .service import corrections

ns = Namespace(
    "corrections",
    description="Responders' reports that part of a pre-plan is wrong, and the answers",
)


@ns.route("")
class CorrectionCollection(Resource):
    @login_required()
    @query(CorrectionFiltersSchema)
    @returns_page(CorrectionSchema)
    def get(self, args):
        """List the correction reports you may see (your agency's; at your organization's
        facilities), newest first."""
        return corrections.list(db.session(), current_principal(), args, *corrections.filters(args))


@ns.route("/<int:record_id>")
@doc(responses={"404": "No such correction, or not visible to you"})
class CorrectionItem(Resource):
    @login_required()
    @returns(CorrectionSchema)
    def get(self, record_id):
        """Show one correction report, with the managers' answer."""
        return corrections.get(db.session(), current_principal(), record_id)


_STEP_RESPONSES = {
    "403": "Only the facility's managers answer a correction",
    "404": "No such correction, or not visible to you",
    "409": "The correction is already resolved",
    "412": "Stale If-Match: the correction changed since you read it",
    "428": "If-Match missing",
}


def _step(name: str, schema_cls, summary: str):
    class Step(Resource):
        # Any role: a report the caller cannot read is a 404, one it reads but may not answer
        # (its reporter's) a 403, as the access tables say.
        @login_required()
        @idempotent
        @doc(
            params={"If-Match": {"in": "header", "required": True, "type": "string"}},
            responses=_STEP_RESPONSES,
        )
        @body(schema_cls, deferred=True)
        @returns(CorrectionSchema)
        def post(self, record_id, load_body):
            session, principal = db.session(), current_principal()
            record = corrections.get(session, principal, record_id)
            corrections.authorize_write(principal, record)
            require_if_match(record)
            return getattr(corrections, name)(session, principal, record, load_body())

    Step.post.__doc__ = summary
    Step.__name__ = f"Correction{name.title()}"
    ns.route(f"/<int:record_id>/{name}")(Step)
    return Step


_step(
    "answer",
    CorrectionAnswerSchema,
    "Answer a correction report (the facility's managers; If-Match): it is acknowledged and "
    "the reporting agency is told.",
)
_step(
    "resolve",
    CorrectionResolutionSchema,
    "Resolve a correction report as fixed, or rejected with a reason (the facility's "
    "managers; If-Match); the reporting agency is told. Fixing it confirms nothing: edit or "
    "confirm the item.",
)


@facilities_ns.route("/<int:facility_id>/corrections")
@doc(responses={"404": "No such facility, or its pre-plan is not visible to you"})
class FacilityCorrections(Resource):
    @login_required()
    @query(CorrectionFiltersSchema)
    @returns_page(CorrectionSchema)
    def get(self, facility_id, args):
        """List the correction reports on one facility's pre-plan that you may see."""
        session, principal = db.session(), current_principal()
        corrections.readable_facility(session, principal, facility_id)
        args = {**args, "facility_id": facility_id}
        return corrections.list(session, principal, args, *corrections.filters(args))

    @login_required(*AGENCY_ROLES)
    @idempotent
    @doc(responses={"403": "Only an agency's people and its CAD report corrections"})
    @body(CorrectionSchema, deferred=True)
    @returns(CorrectionSchema, 201, "Reported; the facility's managers are told")
    def post(self, facility_id, load_body):
        """Report that an item of a pre-plan you read is wrong (agency users and CAD clients,
        by MOU or through break-glass); the facility's managers are told."""
        session, principal = db.session(), current_principal()
        corrections.authorize_report(session, principal, facility_id)
        return corrections.report(session, principal, facility_id, load_body())
