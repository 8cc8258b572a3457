"""Route factories for the CRUD shape every resource area shares.

Each area's routes.py calls these with its namespace, service and schema, then adds whatever is
particular to it. Views stay three lines: authenticate, call the service, return the record.
What each one builds, on a namespace mounted at `<API_PREFIX>/<things>` (the operation ids in the
API document come from the class names, `<method>_<class name in snake case>`):

| factory | routes | class |
| --- | --- | --- |
| `collection_routes` | `GET /<things>` (a page, filtered), `POST /<things>` | `<Thing>Collection` |
| `record_routes` | `GET`, `PATCH`, `DELETE /<things>/<id>` (writes with If-Match) | `<Thing>Item` |
| `restore_route` (by `record_routes` when the service deletes softly) | `POST /<things>/<id>/restore` | `<Thing>Restore` |
| `child_collection_routes` | `GET`, `POST /<parents>/<parent_id>/<children>` | `<Parent><Thing>s` |

`fresh=True` makes the writes (create, update, delete, restore) ask for a token from a recent
password login (admin changes, share grants); reads never do.
"""

from flask_restx import Namespace, Resource

from .. import db
from ..auth.identity import current_principal, login_required
from ..crud import RecordService
from ..idempotency import idempotent
from .document import doc
from .inputs import body, query
from .outputs import require_if_match, returns
from .pagination import DeletedArgsSchema, PageArgsSchema, returns_page


def record_routes(
    ns: Namespace,
    service: RecordService,
    schema_cls,
    path="/<int:record_id>",
    roles=(),
    patch_schema=None,
    deletable=True,
    fresh=False,
):
    """GET, PATCH (with If-Match) and, when `deletable`, DELETE (with If-Match) on one record."""
    noun = service.noun
    patch_schema = patch_schema or schema_cls

    @doc(responses={"404": f"No such {noun}, or not visible to you"})
    class Item(Resource):
        @login_required(*roles)
        @returns(schema_cls)
        def get(self, record_id):
            return service.get(db.session(), current_principal(), record_id)

        @login_required(*roles, fresh=fresh)
        @doc(
            params={"If-Match": {"in": "header", "required": True, "type": "string"}},
            responses={"412": "Stale If-Match", "428": "If-Match missing"},
        )
        @body(patch_schema, partial=True, deferred=True)
        @returns(schema_cls)
        def patch(self, record_id, load_body):
            session, principal = db.session(), current_principal()
            record = service.get(session, principal, record_id)
            service.authorize_write(principal, record)
            require_if_match(record)
            return service.update(session, principal, record, load_body())

        @login_required(*roles, fresh=fresh)
        @doc(
            params={"If-Match": {"in": "header", "required": True, "type": "string"}},
            responses={
                "204": "Deleted",
                "409": "Still referenced",
                "412": "Stale If-Match",
                "428": "If-Match missing",
            },
        )
        def delete(self, record_id):
            session, principal = db.session(), current_principal()
            record = service.get(session, principal, record_id)
            service.authorize_write(principal, record)
            require_if_match(record)
            service.delete(session, principal, record)
            return "", 204

    Item.get.__doc__ = f"Show one {noun}."
    Item.patch.__doc__ = f"Change some fields of a {noun} (send If-Match)."
    Item.delete.__doc__ = f"Delete a {noun} (send If-Match)."
    if not deletable:
        del Item.delete
        Item.methods = Item.methods - {"DELETE"}  # Flask fixed the list when the class was made
    if service.soft_deletes:
        restore_route(ns, service, schema_cls, f"{path}/restore", roles, fresh)
    Item.__name__ = f"{schema_cls.__name__.removesuffix('Schema')}Item"
    ns.route(path)(Item)
    return Item


def restore_route(
    ns: Namespace, service: RecordService, schema_cls, path: str, roles=(), fresh=False
):
    """POST .../restore: bring back a soft-deleted record.

    No If-Match: a deleted record cannot be edited meanwhile, and restoring overwrites nothing.
    """

    @doc(responses={"404": f"No deleted {service.noun} with this id visible to you"})
    class Restore(Resource):
        @login_required(*roles, fresh=fresh)
        @returns(schema_cls)
        def post(self, record_id):
            session, principal = db.session(), current_principal()
            record = service.get(session, principal, record_id, deleted=True)
            return service.restore(session, principal, record)

    Restore.post.__doc__ = f"Restore a deleted {service.noun}."
    Restore.__name__ = f"{schema_cls.__name__.removesuffix('Schema')}Restore"
    ns.route(path)(Restore)
    return Restore


def collection_routes(
    ns: Namespace,
    service: RecordService,
    schema_cls,
    filters_schema=None,
    roles=(),
    created_schema=None,
    fresh=False,
    kept=None,
):
    """GET (paginated, filtered) and POST on a top-level collection. `kept`: what of a created
    record's response an Idempotency-Key replay may keep (idempotency.idempotent)."""
    noun = service.noun
    filters_schema = filters_schema or PageArgsSchema

    class Collection(Resource):
        @login_required(*roles)
        @query(filters_schema)
        @returns_page(schema_cls)
        def get(self, args):
            principal = current_principal()
            return service.list(db.session(), principal, args, *service.filters(args))

        @login_required(*roles, fresh=fresh)
        @idempotent(kept=kept)
        @body(schema_cls, deferred=True)
        @returns(created_schema or schema_cls, 201, "Created")
        def post(self, load_body):
            principal = current_principal()
            service.authorize_create(principal)
            return service.create(db.session(), principal, load_body())

    Collection.get.__doc__ = f"List the {noun}s you may see."
    Collection.post.__doc__ = f"Create a {noun}."
    Collection.__name__ = f"{schema_cls.__name__.removesuffix('Schema')}Collection"
    ns.route("")(Collection)
    return Collection


def child_collection_routes(
    ns: Namespace,
    path: str,
    parent_service: RecordService,
    service: RecordService,
    schema_cls,
    parent_field: str,
    roles=(),
    fresh=False,
):
    """GET and POST on the children of one visible parent, e.g. a facility's access points."""
    noun, parent_noun = service.noun, parent_service.noun

    @doc(responses={"404": f"No such {parent_noun}, or not visible to you"})
    class NestedCollection(Resource):
        @login_required(*roles)
        @query(DeletedArgsSchema if service.soft_deletes else PageArgsSchema)
        @returns_page(schema_cls)
        def get(self, parent_id, args):
            session, principal = db.session(), current_principal()
            parent_service.get(session, principal, parent_id)
            condition = getattr(service.model, parent_field) == parent_id
            return service.list(session, principal, args, condition)

        @login_required(*roles, fresh=fresh)
        @idempotent
        @body(schema_cls, deferred=True)
        @returns(schema_cls, 201, "Created")
        def post(self, parent_id, load_body):
            session, principal = db.session(), current_principal()
            parent_service.get(session, principal, parent_id)
            service.authorize_create(principal)
            return service.create(session, principal, {**load_body(), parent_field: parent_id})

    NestedCollection.get.__doc__ = f"List the {noun}s of one {parent_noun}."
    NestedCollection.post.__doc__ = f"Add a {noun} to a {parent_noun}."
    NestedCollection.__name__ = (
        f"{parent_noun.title().replace(' ', '')}{schema_cls.__name__.removesuffix('Schema')}s"
    )
    ns.route(path)(NestedCollection)
    return NestedCollection
