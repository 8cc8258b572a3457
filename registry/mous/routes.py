from flask_restx import Namespace

from ..api.crud_routes import collection_routes, record_routes
from .schemas import MouFiltersSchema, MouSchema
from .service import mous

ns = Namespace("mous", description="Memoranda of understanding between partners and agencies")
# Share grants: an MOU decides which agencies read which facilities, so changing one needs a
# fresh login.
collection_routes(ns, mous, MouSchema, MouFiltersSchema, fresh=True)
record_routes(ns, mous, MouSchema, fresh=True)
