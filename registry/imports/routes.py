"""Bulk import and export of an organization's facilities (see service.py and fileformat.py):
`POST /organizations/{id}/facility-imports` and `GET /organizations/{id}/facility-export`."""

from flask import Response, current_app, stream_with_context
from flask_restx import Resource

from .. import db, errors, transaction
from ..api.document import doc
from ..api.inputs import form, query
from ..api.outputs import returns
from ..auth.identity import current_principal, login_required
from ..organizations.routes import ns as organizations_ns
from ..organizations.service import organizations
from . import service, writer
from .reader import Limits
from .schemas import ExportArgsSchema, ImportFormSchema, ImportReportSchema

_NOT_YOURS = {
    "403": "You do not manage this organization's facilities",
    "404": "No such organization, or not visible to you",
}


@organizations_ns.route("/<int:organization_id>/facility-imports")
class FacilityImports(Resource):
    @login_required()
    @form(ImportFormSchema, limit_setting="REGISTRY_IMPORT_MAX_BYTES")
    @doc(
        responses={
            **_NOT_YOURS,
            "409": "A record changed meanwhile, or a value is taken; nothing was imported",
            "413": "The upload, its rows or what an XLSX file unpacks to is over a limit",
            "415": "Not multipart/form-data, or an .xls or UTF-16 file (save as XLSX or CSV UTF-8)",
            "422": "The file cannot be read, or its rows have errors (see `row_errors`); "
            "nothing was imported",
        }
    )
    @returns(ImportReportSchema)
    def post(self, organization_id, load_form):
        """Import facilities with their contacts, access points and tactical points from a CSV
        or XLSX file (multipart `file`): all rows or none; `dry_run` only reports."""
        session, principal = db.session(), current_principal()
        organizations.get(session, principal, organization_id)
        service.authorize(session, principal, organization_id)
        data, files = load_form()
        upload = files["file"]
        try:
            report = service.import_file(
                session,
                principal,
                organization_id,
                upload.stream,
                Limits.from_config(current_app.config),
                dry_run=data["dry_run"],
                prune=data["prune"],
            )
        finally:
            upload.close()
        if data["dry_run"]:
            transaction.rollback(session)  # it applied every row to report exactly; undone
        elif report.error_count:
            raise service.refusal(report)  # the transaction boundary rolls every row back
        return report


@organizations_ns.route("/<int:organization_id>/facility-export")
class FacilityExport(Resource):
    @login_required()
    @query(ExportArgsSchema)
    @doc(
        produces=[writer.CSV_MEDIA_TYPE, writer.XLSX_MEDIA_TYPE, errors.PROBLEM_JSON],
        responses={
            "200": "The file: the import's format, every facility with its records; door "
            "codes and key locations never included",
            **_NOT_YOURS,
        },
    )
    def get(self, organization_id, args):
        """Export the organization's facilities, contacts, access and tactical points as CSV or
        XLSX, in the format the import reads (codes are never exported)."""
        session, principal = db.session(), current_principal()
        organizations.get(session, principal, organization_id)
        file_format = args["format"]
        # Read whole here (a few queries); the bytes are then produced as they are sent.
        rows = list(service.export_rows(session, principal, organization_id, file_format))
        name = f"facilities-organization-{organization_id}.{file_format}"
        if file_format == "csv":
            body = stream_with_context(writer.csv_lines(rows))
            response = Response(body, mimetype=writer.CSV_MEDIA_TYPE)
            response.charset = "utf-8"
        else:
            spooled = writer.xlsx_file(rows)
            response = Response(_chunks(spooled), mimetype=writer.XLSX_MEDIA_TYPE)
        response.headers.set("Content-Disposition", "attachment", filename=name)
        response.headers["Cache-Control"] = "no-store"
        return response


def _chunks(spooled, size: int = 64 * 1024):
    with spooled:
        while chunk := spooled.read(size):
            yield chunk
