from marshmallow import Schema, fields, validate

from ..api.pagination import PageArgsSchema
from ..api.router import API_PREFIX
from ..fields import MAX_ID, ConfirmedFields, RecordSchema, Text
from .inspection import MEDIA_TYPES


class Link(fields.String):
    """A path built from the record, e.g. <API_PREFIX>/floor-plans/7/file. Relative to the host,
    so a cached pre-plan stays right behind any proxy or host name."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, template: str, **kwargs):
        super().__init__(dump_only=True, **kwargs)
        self.template = template

    def _serialize(self, value, attr, obj, **kwargs):
        return self.template.format(prefix=API_PREFIX, record=obj)


LEVEL_NUMBER = validate.Range(min=-20, max=300)


class StoredFileSchema(RecordSchema):
    """What every uploaded file shows beside its own fields."""

    revision = fields.Integer(
        dump_only=True,
        metadata={"description": "1 for the first upload, then 2, 3 …; `?version=` takes it"},
    )
    current = fields.Boolean(
        dump_only=True, metadata={"description": "The newest revision; older ones are kept"}
    )
    file_name = fields.String(dump_only=True, metadata={"description": "A safe name"})
    media_type = fields.String(
        dump_only=True, attribute="blob.media_type", validate=validate.OneOf(MEDIA_TYPES)
    )
    size = fields.Integer(dump_only=True, attribute="blob.size", metadata={"description": "Bytes"})
    sha256 = fields.String(
        dump_only=True, metadata={"description": "SHA-256 of the bytes; the file's ETag"}
    )
    uploaded_by = fields.String(dump_only=True)


class FloorPlanSchema(ConfirmedFields, StoredFileSchema):
    facility_id = fields.Integer(dump_only=True)
    building = fields.String(dump_only=True, metadata={"example": "Main building"})
    level_number = fields.Integer(
        dump_only=True, metadata={"description": "0 = ground level, negative below grade"}
    )
    level_label = fields.String(dump_only=True, metadata={"example": "Ground floor"})
    title = fields.String(dump_only=True)
    url = Link("{prefix}/floor-plans/{record.id}/file")
    preview_url = Link("{prefix}/floor-plans/{record.id}/preview")


class FloorPlanUploadSchema(Schema):
    """The form fields of a floor-plan upload (the file goes in the `file` part)."""

    building = Text(
        100,
        required=True,
        metadata={"description": "Building name; matched without regard to case"},
    )
    level_number = fields.Integer(
        required=True,
        validate=LEVEL_NUMBER,
        metadata={"description": "0 = ground level, negative below grade"},
    )
    level_label = Text(40, required=True, metadata={"description": 'As people say it: "B1"'})
    title = Text(200, required=True)


class FloorPlanChangeSchema(Schema):
    level_label = Text(40, required=True)
    title = Text(200, required=True)


class StoredFileFiltersSchema(PageArgsSchema):
    include_superseded = fields.Boolean(
        load_default=False,
        metadata={"description": "List older revisions too (default: current ones only)"},
    )


class FloorPlanFiltersSchema(StoredFileFiltersSchema):
    building = Text(100, metadata={"description": "Only this building (any case)"})


class MouDocumentSchema(StoredFileSchema):
    mou_id = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True, allow_none=True)
    url = Link("{prefix}/mou-documents/{record.id}/file")
    preview_url = Link("{prefix}/mou-documents/{record.id}/preview")


class MouDocumentUploadSchema(Schema):
    title = Text(200, allow_none=True, metadata={"example": "Signed copy"})


class MouDocumentChangeSchema(Schema):
    title = Text(200, allow_none=True)


class VersionArgsSchema(Schema):
    version = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Another revision of the same series (see /versions)"},
    )
