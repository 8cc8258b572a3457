from flask_restx import Namespace, Resource

from .. import db
from ..api import body, query, returns, returns_page
from ..auth.principal import current_principal, login_required
from ..idempotency import idempotent
from ..resources import item_routes
from .schemas import (
    IncidentChangeSchema,
    IncidentFiltersSchema,
    IncidentOpenedSchema,
    IncidentOpenSchema,
    IncidentSchema,
)
from .service import incidents

ns = Namespace("incidents", description="CAD events: who looked up which facility, and why")


@ns.route("")
class IncidentCollection(Resource):
    @login_required()
    @query(IncidentFiltersSchema)
    @returns_page(IncidentSchema)
    def get(self, args):
        """List the incidents you may see, newest first."""
        principal = current_principal()
        return incidents.list(db.session(), principal, args, *incidents.filters(args))

    @login_required("cad", "agency_user")
    @idempotent
    @body(IncidentOpenSchema)
    @returns(IncidentOpenedSchema, 201, "Opened; `lookup` holds the match and the pre-plan")
    def post(self, data):
        """Open an incident: look the facility up and record who asked."""
        return incidents.open(db.session(), current_principal(), data)


# No DELETE: an incident is the record of who looked at which pre-plan; closing is a PATCH.
item_routes(ns, incidents, IncidentSchema, patch_schema=IncidentChangeSchema, deletable=False)
