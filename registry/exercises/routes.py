"""Exercises at a facility, and after-action findings of an exercise or an incident."""

from flask_restx import Namespace, Resource

from .. import db
from ..api.crud_routes import child_collection_routes, record_routes
from ..api.document import doc
from ..api.inputs import body, query
from ..api.outputs import returns
from ..api.pagination import PageArgsSchema, returns_page
from ..auth.identity import current_principal, login_required
from ..facilities.routes import ns as facilities_ns
from ..facilities.service import facilities
from ..idempotency import idempotent
from ..incidents.routes import ns as incidents_ns
from .schemas import ExerciseFiltersSchema, ExerciseSchema, FindingSchema
from .service import exercises, findings

ns = Namespace("exercises", description="Joint exercises and trainings at a facility")
findings_ns = Namespace(
    "findings", description="After-action findings of exercises and incidents, and follow-ups"
)


@ns.route("")
class ExerciseCollection(Resource):
    @login_required()
    @query(ExerciseFiltersSchema)
    @returns_page(ExerciseSchema)
    def get(self, args):
        """List the exercises you took part in (your organization's or agency's), newest
        first."""
        return exercises.list(db.session(), current_principal(), args, *exercises.filters(args))


record_routes(ns, exercises, ExerciseSchema)
# Recorded where it happened: the facility's managers, or an agency that reads the facility.
child_collection_routes(
    facilities_ns,
    "/<int:parent_id>/exercises",
    facilities,
    exercises,
    ExerciseSchema,
    "facility_id",
)
child_collection_routes(
    ns, "/<int:parent_id>/findings", exercises, findings, FindingSchema, "exercise_id"
)
record_routes(findings_ns, findings, FindingSchema)


@incidents_ns.route("/<int:parent_id>/findings")
@doc(responses={"404": "No such incident, or not visible to you"})
class IncidentFindings(Resource):
    @login_required()
    @query(PageArgsSchema)
    @returns_page(FindingSchema)
    def get(self, parent_id, args):
        """List the after-action findings of one incident."""
        session, principal = db.session(), current_principal()
        findings.incident(session, principal, parent_id)
        condition = findings.model.incident_id == parent_id
        return findings.list(session, principal, args, condition)

    @login_required()
    @idempotent
    @body(FindingSchema, deferred=True)
    @returns(FindingSchema, 201, "Created")
    def post(self, parent_id, load_body):
        """Add an after-action finding to an incident (its agency's people, the facility's
        managers)."""
        session, principal = db.session(), current_principal()
        findings.incident(session, principal, parent_id)
        findings.authorize_create(principal)
        return findings.create(session, principal, {**load_body(), "incident_id": parent_id})
