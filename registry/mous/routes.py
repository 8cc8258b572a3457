from flask_restx import Namespace

from ..resources import collection_routes, item_routes
from .schemas import MouFiltersSchema, MouSchema
from .service import mous

ns = Namespace("mous", description="Memoranda of understanding between partners and agencies")
collection_routes(ns, mous, MouSchema, MouFiltersSchema)
item_routes(ns, mous, MouSchema)
