from flask_restx import Namespace

from ..resources import collection_routes, item_routes
from .schemas import MouFiltersSchema, MouSchema
from .service import mous

ns = Namespace("mous", description="Memoranda of understanding between partners and agencies")
# Share grants: an MOU decides which agencies read which facilities, so changing one needs a
# fresh login.
collection_routes(ns, mous, MouSchema, MouFiltersSchema, fresh=True)
item_routes(ns, mous, MouSchema, fresh=True)
