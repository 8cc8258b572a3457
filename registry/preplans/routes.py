from flask import request
from flask_restx import Namespace, Resource

from .. import db
from ..api import conditional, doc, query, returns
from ..auth.principal import current_principal, login_required
from ..errors import PROBLEM_JSON
from .document import preplan
from .lookup import LookupQuery
from .schemas import LookupQuerySchema, LookupResultSchema, PreplanFormatSchema, PreplanSchema
from .service import find_preplan

ns = Namespace("preplans", description="The CAD lookup and facility pre-plans")
GEOJSON = "application/geo+json"


@ns.route("/lookup")
class Lookup(Resource):
    @login_required()
    @query(LookupQuerySchema)
    @returns(LookupResultSchema)
    def get(self, args):
        """Find the facility at an address, position, phone number, CAD premise id or name."""
        return find_preplan(db.session(), current_principal(), LookupQuery(**args))


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
