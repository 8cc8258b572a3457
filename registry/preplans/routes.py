import hashlib

from flask import request
from flask_restx import Namespace, Resource

from .. import db, errors
from ..access import break_glass
from ..access.roles import LOOKUP_ROLES
from ..api.document import doc
from ..api.inputs import body, query
from ..api.outputs import conditional, returns
from ..auth.identity import current_principal, login_required
from ..db import utcnow
from ..errors import PROBLEM_JSON
from ..ratelimit import spend_pdf_budget
from . import printing
from .schemas import LookupQuerySchema, LookupResultSchema, PreplanFormatSchema, PreplanSchema
from .service import read_preplan, run_lookup, with_break_glass

ns = Namespace("preplans", description="The CAD lookup and facility pre-plans")
GEOJSON = "application/geo+json"


def _lookup(args: dict):
    return run_lookup(db.session(), current_principal(), args)


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


# What GET /preplans/{id} answers, by Accept; ?format= names one outright.
REPRESENTATIONS = {
    "application/json": "json",
    GEOJSON: "geojson",
    "text/html": "html",
    "application/pdf": "pdf",
}


def _representation(args: dict) -> str:
    """?format= when given, else the best of Accept; no Accept (or */*) is JSON, as ever."""
    if "format" in args:
        return args["format"]
    if not request.accept_mimetypes:
        return "json"
    best = request.accept_mimetypes.best_match(list(REPRESENTATIONS))
    if best is None:
        raise errors.NotAcceptable(
            f"A pre-plan is served as {', '.join(REPRESENTATIONS)} (or ?format=json, geojson, "
            "html or pdf)."
        )
    return REPRESENTATIONS[best]


def _printed(session, principal, facility_id: int, document: dict, etag: str, format: str):
    """The printable page, rendered only when the caller lacks this version of it."""
    names = printing.parties(session, principal, document["mous"])
    # The page names the MOUs' parties too, which the pre-plan's stamp does not cover.
    named = hashlib.sha256(repr(sorted(names.items())).encode()).hexdigest()[:12]

    def render() -> bytes:
        if format == "pdf":
            spend_pdf_budget()  # a render is what costs, so a 304 spends nothing
        return printing.render(printing.printable(principal, document, names, utcnow()), format)

    response = conditional(
        render,
        f"{etag}-{format}-{named}",
        mimetype=printing.MEDIA_TYPES[format],
        vary="Accept",
        weak=True,  # it says when it was printed
    )
    if format == "html":
        # Its own policy: the page's one stylesheet and its inlined plan image, nothing else.
        response.headers["Content-Security-Policy"] = printing.html.POLICY
    response.headers.set(
        "Content-Disposition", "inline", filename=f"preplan-{facility_id}.{format}"
    )
    return response


@ns.route("/<int:facility_id>")
class PreplanDocument(Resource):
    @login_required()
    @query(PreplanFormatSchema)
    @doc(
        produces=["application/json", GEOJSON, "text/html", "application/pdf", PROBLEM_JSON],
        responses={
            "304": "Not modified (If-None-Match)",
            "404": "No such facility visible",
            "406": "Accept names none of the representations",
        },
    )
    @returns(PreplanSchema)
    def get(self, facility_id, args):
        """Show one facility's pre-plan: JSON, GeoJSON for map layers, or the printable page.

        By Accept or ?format=: HTML or PDF is the printable page, the first five minutes on
        one page; an Accept that names none of the four is a 406."""
        format = _representation(args)
        session, principal = db.session(), current_principal()
        rendered, decision = read_preplan(session, principal, facility_id, format)
        incident = decision.incident
        document, geojson, etag = rendered.document, rendered.geojson, rendered.etag
        headers = {}
        if incident is not None:
            # Flagged in the body and in a header (GeoJSON has no place for it).
            document = with_break_glass(document, incident)
            geojson = {**geojson, "break_glass": document["break_glass"]}
            etag = f"{etag}-bg{incident.id}"
            headers[break_glass.HEADER] = break_glass.header_value(incident)
        # One URL, several representations: shared caches must key on Accept too.
        if format == "geojson":
            response = conditional(geojson, etag + "-geojson", mimetype=GEOJSON, vary="Accept")
        elif format in printing.MEDIA_TYPES:
            response = _printed(session, principal, facility_id, document, etag, format)
        elif incident is None:
            response = conditional(lambda: rendered.json, etag, vary="Accept")
        else:
            response = conditional(document, etag, vary="Accept")
        response.headers.update(headers)
        return response
