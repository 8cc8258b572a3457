from flask import request
from flask_restx import Namespace, Resource

from .. import audit, db
from ..access import break_glass
from ..access.roles import LOOKUP_ROLES
from ..api.document import doc
from ..api.inputs import body, query
from ..api.outputs import conditional, returns
from ..auth.identity import current_principal, login_required
from ..errors import PROBLEM_JSON
from .document import preplan
from .lookup import LookupQuery
from .schemas import LookupQuerySchema, LookupResultSchema, PreplanFormatSchema, PreplanSchema
from .service import find_preplan, with_break_glass

ns = Namespace("preplans", description="The CAD lookup and facility pre-plans")
GEOJSON = "application/geo+json"


def _lookup(args: dict):
    session, principal = db.session(), current_principal()
    result = find_preplan(session, principal, LookupQuery(**args))
    audit.record(
        session,
        principal,
        "preplan.lookup",
        record_type="facility",
        record_id=result.facility_id,
        facility_id=result.facility_id,
        break_glass=result.break_glass is not None,
        details={
            # The calling number may be a 911 caller's own phone, and facility managers read
            # their facilities' trail: it is noted as given, not kept.
            "query": {k: ("given" if k == "phone" else v) for k, v in args.items()},
            "status": result.status,
            # How many, not which: the other candidates are not this facility's business.
            "candidates": len(result.candidates),
            "hidden_matches": result.hidden_matches,
        },
    )
    return result


@ns.route("/lookup")
class Lookup(Resource):
    @login_required(*LOOKUP_ROLES)
    @query(LookupQuerySchema)
    @returns(LookupResultSchema)
    def get(self, args):
        """Find the facility at an address, position, phone number, CAD premise id or name."""
        return _lookup(args)

    @login_required(*LOOKUP_ROLES)
    @body(LookupQuerySchema)
    @returns(LookupResultSchema)
    def post(self, data):
        """The same lookup with the query in a JSON body: a calling number or a caller's
        position then stays out of URLs and access logs."""
        return _lookup(data)


@ns.route("/<int:facility_id>")
class PreplanDocument(Resource):
    @login_required()
    @query(PreplanFormatSchema)
    @doc(
        produces=["application/json", GEOJSON, PROBLEM_JSON],
        responses={"304": "Not modified (If-None-Match)", "404": "No such facility visible"},
    )
    @returns(PreplanSchema)
    def get(self, facility_id, args):
        """Show one facility's pre-plan (JSON, or GeoJSON for map layers)."""
        session, principal = db.session(), current_principal()
        rendered, decision = preplan(session, principal, facility_id)
        incident = decision.incident
        wants_geojson = args.get("format") == "geojson" or (
            "format" not in args
            and request.accept_mimetypes.best_match(["application/json", GEOJSON]) == GEOJSON
        )
        audit.record(
            session,
            principal,
            "preplan.view",
            record_type="facility",
            record_id=facility_id,
            facility_id=facility_id,
            break_glass=incident is not None,
            details={
                "format": "geojson" if wants_geojson else "json",
                "incident_id": incident.id if incident is not None else None,
            },
        )
        document, geojson, etag = rendered.document, rendered.geojson, rendered.etag
        headers = {}
        if incident is not None:
            # Flagged in the body and in a header (GeoJSON has no place for it).
            document = with_break_glass(document, incident)
            geojson = {**geojson, "break_glass": document["break_glass"]}
            etag = f"{etag}-bg{incident.id}"
            headers[break_glass.HEADER] = break_glass.header_value(incident)
        # One URL, two representations: shared caches must key on Accept too.
        if wants_geojson:
            response = conditional(geojson, etag + "-geojson", mimetype=GEOJSON, vary="Accept")
        else:
            response = conditional(document, etag, vary="Accept")
        response.headers.update(headers)
        return response
