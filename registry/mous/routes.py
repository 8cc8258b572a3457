"""MOU routes: the records (create a draft, read, edit, delete) and the lifecycle's steps, each
its own POST on the MOU (lifecycle.py says who may take which and when). Every write needs a
fresh login: an MOU decides which agencies read which facilities."""

from flask_restx import Namespace, Resource

from .. import db
from ..api.crud_routes import collection_routes, record_routes
from ..api.document import doc
from ..api.inputs import body, query
from ..api.outputs import require_if_match, returns
from ..api.pagination import PageArgsSchema, returns_page
from ..auth.identity import current_principal, login_required
from ..idempotency import idempotent
from .schemas import (
    MouFiltersSchema,
    MouHistorySchema,
    MouRenewalSchema,
    MouSchema,
    MouTerminationSchema,
    PartySchema,
)
from .service import mous

ns = Namespace("mous", description="Memoranda of understanding between partners and agencies")
collection_routes(ns, mous, MouSchema, MouFiltersSchema, fresh=True)
record_routes(ns, mous, MouSchema, fresh=True)

_STEP_RESPONSES = {
    "403": "You act for neither party, or not for the one that may take this step",
    "404": "No such MOU, or not visible to you",
    "409": "The MOU is not at a stage where this step can be taken",
    "412": "Stale If-Match: the MOU changed since you read it",
    "428": "If-Match missing",
}


def _step(name: str, schema_cls, summary: str, status: int = 200):
    """POST /mous/<id>/<name>: one step of the lifecycle, on the version the caller read."""

    class Step(Resource):
        @login_required(fresh=True)
        @idempotent
        @doc(
            params={"If-Match": {"in": "header", "required": True, "type": "string"}},
            responses=_STEP_RESPONSES,
        )
        @body(schema_cls, deferred=True)
        @returns(MouSchema, status, "The MOU" if status == 200 else "The renewal (a draft)")
        def post(self, record_id, load_body):
            session, principal = db.session(), current_principal()
            record = mous.get(session, principal, record_id)
            mous.authorize_write(principal, record)
            require_if_match(record)
            return getattr(mous, name)(session, principal, record, load_body())

    Step.post.__doc__ = summary
    Step.__name__ = f"Mou{name.title()}"
    ns.route(f"/<int:record_id>/{name}")(Step)
    return Step


_step(
    "propose",
    PartySchema,
    "Propose a draft MOU to the other party, accepting it as it stands (drafting party; "
    "If-Match; fresh login).",
)
_step(
    "accept",
    PartySchema,
    "Accept a proposed MOU for your party; once both parties have, it is active (If-Match; "
    "fresh login).",
)
_step(
    "terminate",
    MouTerminationSchema,
    "Terminate a proposed or active MOU, with a reason: it grants nothing from now on "
    "(either party; If-Match; fresh login).",
)
_step(
    "renew",
    MouRenewalSchema,
    "Draft the renewal of an active or expired MOU; once active, it supersedes this one "
    "without a gap (either party; If-Match; fresh login).",
    status=201,
)


@ns.route("/<int:record_id>/history")
class MouHistoryList(Resource):
    @login_required()
    @query(PageArgsSchema)
    @returns_page(MouHistorySchema)
    @doc(responses={"404": "No such MOU, or not visible to you"})
    def get(self, record_id, args):
        """List every change to an MOU and every step of its lifecycle, newest first."""
        return mous.history(db.session(), current_principal(), record_id, args)
