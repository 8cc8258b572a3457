from flask_restx import Namespace, Resource

from .. import db, errors
from ..api.crud_routes import record_routes
from ..api.document import doc
from ..api.inputs import form, query
from ..api.outputs import returns
from ..api.pagination import PageArgsSchema, returns_page
from ..auth.identity import current_principal, login_required
from ..crud import RecordService
from ..facilities.routes import ns as facilities_ns
from ..facilities.service import facilities
from ..idempotency import idempotent
from ..mous.routes import ns as mous_ns
from ..mous.service import mous
from .downloads import download
from .inspection import MEDIA_TYPES
from .schemas import (
    FloorPlanChangeSchema,
    FloorPlanFiltersSchema,
    FloorPlanSchema,
    FloorPlanUploadSchema,
    MouDocumentChangeSchema,
    MouDocumentSchema,
    MouDocumentUploadSchema,
    StoredFileFiltersSchema,
    VersionArgsSchema,
)
from .service import StoredFileService, floor_plans, mou_documents

PROBLEM = errors.PROBLEM_JSON


_DOWNLOAD_DOC = {
    "produces": [*MEDIA_TYPES, PROBLEM],
    "params": {
        "Range": {
            "in": "header",
            "type": "string",
            "description": "Part of the file, e.g. bytes=0-1023",
        },
    },
    "responses": {
        # No `schema: {type: file}`: valid Swagger 2.0, but openapi-spec-validator refuses it.
        "200": "The file's bytes (Content-Type says which kind)",
        "206": "The requested range (Content-Range says which)",
        "304": "Not modified (If-None-Match)",
        "416": "The range is outside the file",
        "503": "The file store is unavailable",
    },
}


def stored_file_routes(ns: Namespace, service: StoredFileService, schema_cls, change_schema):
    """One upload: GET/PATCH/DELETE (If-Match), its versions, its bytes and its preview."""
    record_routes(ns, service, schema_cls, patch_schema=change_schema)
    noun, name = service.noun, schema_cls.__name__.removesuffix("Schema")
    not_found = {"404": f"No such {noun} or version, or not visible to you"}

    @doc(responses=not_found)
    class Versions(Resource):
        @login_required()
        @query(PageArgsSchema)
        @returns_page(schema_cls)
        def get(self, record_id, args):
            session, principal = db.session(), current_principal()
            record = service.get(session, principal, record_id)
            return service.versions(session, principal, record, args)

    @doc(responses=not_found)
    class File(Resource):
        @login_required()
        @query(VersionArgsSchema)
        @doc(**_DOWNLOAD_DOC)
        def get(self, record_id, args):
            return download(
                db.session(), current_principal(), service, record_id, args.get("version")
            )

    @doc(responses=not_found)
    class Preview(Resource):
        @login_required()
        @query(VersionArgsSchema)
        @doc(**{**_DOWNLOAD_DOC, "produces": ["image/png", PROBLEM]})
        def get(self, record_id, args):
            return download(
                db.session(),
                current_principal(),
                service,
                record_id,
                args.get("version"),
                preview=True,
            )

    Versions.get.__doc__ = f"List every version of this {noun}, newest first."
    File.get.__doc__ = f"Download the {noun} (`?version=` for another version; ranges work)."
    Preview.get.__doc__ = f"Show a PNG preview of the {noun} (the first page of a PDF)."
    for resource, path in (
        (Versions, "/<int:record_id>/versions"),
        (File, "/<int:record_id>/file"),
        (Preview, "/<int:record_id>/preview"),
    ):
        resource.__name__ = f"{name}{resource.__name__}"
        ns.route(path)(resource)


def upload_routes(
    parent_ns: Namespace,
    path: str,
    parent_service: RecordService,
    service: StoredFileService,
    schema_cls,
    upload_schema,
    filters_schema,
):
    """GET (current uploads of a parent) and POST (multipart upload) under the parent."""
    noun, parent_noun = service.noun, parent_service.noun

    @doc(responses={"404": f"No such {parent_noun}, or not visible to you"})
    class Uploads(Resource):
        @login_required()
        @query(filters_schema)
        @returns_page(schema_cls)
        def get(self, parent_id, args):
            session, principal = db.session(), current_principal()
            parent = parent_service.get(session, principal, parent_id)
            return service.of_parent(session, principal, parent, args)

        @login_required()
        @form(upload_schema)
        @idempotent
        @doc(
            responses={
                "503": "The file store is unavailable, or other uploads are being checked "
                "(Retry-After); nothing was saved"
            }
        )
        @returns(schema_cls, 201, "Stored; an earlier version stays retrievable")
        def post(self, parent_id, load_form):
            session, principal = db.session(), current_principal()
            parent = parent_service.get(session, principal, parent_id)
            record = service.prepare(principal, parent)
            data, files = load_form()
            return service.upload(session, principal, record, data, files["file"])

    Uploads.get.__doc__ = f"List the current {noun}s of one {parent_noun}."
    Uploads.post.__doc__ = (
        f"Upload a {noun} (multipart/form-data; PDF, PNG, JPEG or WebP). "
        "An upload for the same series becomes its newest version."
    )
    Uploads.__name__ = f"{schema_cls.__name__.removesuffix('Schema')}Uploads"
    parent_ns.route(path)(Uploads)


ns = Namespace("floor-plans", description="Floor plans of facilities: one series per level")
stored_file_routes(ns, floor_plans, FloorPlanSchema, FloorPlanChangeSchema)
upload_routes(
    facilities_ns,
    "/<int:parent_id>/floor-plans",
    facilities,
    floor_plans,
    FloorPlanSchema,
    FloorPlanUploadSchema,
    FloorPlanFiltersSchema,
)

mou_documents_ns = Namespace("mou-documents", description="Signed MOU documents, versioned")
stored_file_routes(mou_documents_ns, mou_documents, MouDocumentSchema, MouDocumentChangeSchema)
upload_routes(
    mous_ns,
    "/<int:parent_id>/documents",
    mous,
    mou_documents,
    MouDocumentSchema,
    MouDocumentUploadSchema,
    StoredFileFiltersSchema,
)
