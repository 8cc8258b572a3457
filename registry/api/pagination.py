"""Lists, a page at a time: the page arguments every list takes, and the page it answers.

A service returns a `Page` of records (crud.RecordService.list); `returns_page` serializes it
with the item schema's page shape (`page_schema`) and a weak ETag, so pollers can ask with
If-None-Match.
"""

import json
from functools import wraps

from flask import Response, request
from marshmallow import Schema, fields, validate

from .document import doc, doc_model, schema_name


class PageArgsSchema(Schema):
    """The arguments every list takes (pages count from 1); areas add their filters to it."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class DeletedArgsSchema(PageArgsSchema):
    """A list of records that are deleted softly, which may show the deleted ones instead."""

    deleted = fields.Boolean(
        load_default=False,
        metadata={"description": "List deleted records instead (for those who may restore them)"},
    )


_page_schemas: dict[type, type] = {}


def page_schema(item_schema_cls) -> type:
    """The schema of one page of `item_schema_cls` records (`<Item>Page` in the document),
    made once per item schema."""
    if item_schema_cls not in _page_schemas:
        name = schema_name(item_schema_cls) + "PageSchema"
        _page_schemas[item_schema_cls] = type(
            name,
            (Schema,),
            {
                "items": fields.List(fields.Nested(item_schema_cls), required=True),
                "total": fields.Integer(required=True),
                "page": fields.Integer(required=True),
                "per_page": fields.Integer(required=True),
            },
        )
    return _page_schemas[item_schema_cls]


class Page:
    """One page of records, with how many there are in all."""

    def __init__(self, items, total, page, per_page):
        self.items, self.total, self.page, self.per_page = items, total, page, per_page


def returns_page(item_schema_cls):
    """Serialize a `Page` of records; the view returns (query-built) `Page`."""
    schema_cls = page_schema(item_schema_cls)
    model = doc_model(schema_cls)
    schema = schema_cls()

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            page = view(*args, **kwargs)
            response = Response(
                json.dumps(schema.dump(page)), status=200, mimetype="application/json"
            )
            # A weak ETag from the body lets pollers use If-None-Match on lists too.
            response.add_etag(weak=True)
            return response.make_conditional(request)

        return doc(responses={"200": ("Success", model)})(wrapper)

    return decorator
