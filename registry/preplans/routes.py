from flask import request
from flask_restx import Namespace, Resource

from .. import db
from ..api import conditional, doc, query, returns
from ..auth.principal import current_principal, login_required
from .document import preplan
from .lookup import LookupQuery, lookup
from .schemas import LookupQuerySchema, LookupResultSchema, PreplanFormatSchema, PreplanSchema

ns = Namespace("preplans", description="The CAD lookup and facility pre-plans")
GEOJSON = "application/geo+json"


def run_lookup(session, principal, args: dict):
    """Look up; attach the pre-plan of an unambiguous, readable match. Returns (body, result)."""
    result = lookup(session, principal, LookupQuery(**args))
    body = {
        "status": result.status,
        "normalized_address": result.normalized_address,
        "candidates": result.candidates,
        "hidden_matches": result.hidden_matches,
        "facility_id": None,
        "preplan": None,
    }
    if result.status == "matched":
        body["facility_id"] = result.facility_id
        body["preplan"] = preplan(session, principal, result.facility_id).document
    return body, result


@ns.route("/lookup")
class Lookup(Resource):
    @login_required()
    @query(LookupQuerySchema)
    @returns(LookupResultSchema)
    def get(self, args):
        """Find the facility at an address, position, phone number, CAD premise id or name."""
        body, _ = run_lookup(db.session(), current_principal(), args)
        return body


@ns.route("/<int:facility_id>")
class PreplanDocument(Resource):
    @login_required()
    @query(PreplanFormatSchema)
    @doc(
        produces=["application/json", GEOJSON],
        responses={"304": "Not modified (If-None-Match)", "404": "No such facility visible"},
    )
    @returns(PreplanSchema)
    def get(self, facility_id, args):
        """Show one facility's pre-plan (JSON, or GeoJSON for map layers)."""
        rendered = preplan(db.session(), current_principal(), facility_id)
        wants_geojson = args.get("format") == "geojson" or (
            "format" not in args
            and request.accept_mimetypes.best_match(["application/json", GEOJSON]) == GEOJSON
        )
        # One URL, two representations: shared caches must key on Accept too.
        if wants_geojson:
            return conditional(
                rendered.geojson, rendered.etag + "-geojson", mimetype=GEOJSON, vary="Accept"
            )
        return conditional(rendered.document, rendered.etag, vary="Accept")
