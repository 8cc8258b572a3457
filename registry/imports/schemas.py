from marshmallow import Schema, fields, validate

from ..api.document import RowErrorSchema


class ChildCountsSchema(Schema):
    contact = fields.Integer(required=True)
    access_point = fields.Integer(required=True)
    tactical_point = fields.Integer(required=True)


class RecordCountsSchema(ChildCountsSchema):
    facility = fields.Integer(required=True)


def _per_kind(description: str, schema=RecordCountsSchema):
    return fields.Nested(schema, required=True, metadata={"description": description})


class ImportFormSchema(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Check every row and report; write nothing"},
    )
    prune = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Delete (softly) the contacts, access and tactical points of each "
            "facility with a facility row in the file that the file does not list"
        },
    )


class ExportArgsSchema(Schema):
    format = fields.String(
        load_default="csv",
        validate=validate.OneOf(("csv", "xlsx")),
        metadata={"description": "csv (UTF-8) or xlsx"},
    )


class ImportReportSchema(Schema):
    """What an import did, or in a dry run would do."""

    dry_run = fields.Boolean(required=True)
    format = fields.String(required=True, metadata={"description": "csv or xlsx, as read"})
    prune = fields.Boolean(required=True)
    rows = fields.Integer(required=True, metadata={"description": "Data rows read"})
    created = _per_kind("Records created, per kind")
    updated = _per_kind("Records changed, per kind")
    unchanged = _per_kind("Records the file matched and left as they were")
    deleted = _per_kind("Records deleted by prune", ChildCountsSchema)
    errors = fields.List(
        fields.Nested(RowErrorSchema),
        required=True,
        metadata={"description": "Every error, by row and column (a dry run; else empty)"},
    )
    error_count = fields.Integer(required=True)
