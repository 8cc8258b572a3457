"""The thin HTTP layer shared by every resource area.

- `RegistryApi`: flask-restx as a router and document generator; all errors go to errors.py.
- `body`, `query`, `form`, `returns`, `returns_page`: decorators that validate/serialize with
  marshmallow AND document the same schema in swagger.json (apispec converts the schema to JSON
  Schema), so a shape is defined exactly once.
- ETag helpers: `require_if_match` for writes, ETag/304 for reads.
"""

import copy
import json
from functools import wraps

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response, current_app, request
from flask_restx import Api, Namespace, SchemaModel
from marshmallow import Schema, ValidationError, fields, missing, validate

from . import db, errors
from .multipart import limit_upload, read_upload

# ---------------------------------------------------------------------------------------------
# One schema source: marshmallow -> JSON Schema (apispec) -> restx models


def schema_name(schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


_plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
_spec = APISpec(title="registry", version="1", openapi_version="2.0", plugins=[_plugin])
_partial_names: set[str] = set()


def _definitions() -> dict:
    definitions = _spec.to_dict().get("definitions", {})
    # Every schema apispec saw, nested ones included: key[0] is the schema class.
    for key, name in _plugin.converter.refs.items():
        _mark_write_only(definitions[name], key[0])
    return definitions


def _mark_write_only(definition: dict, schema_cls) -> None:
    # Swagger 2.0 has no writeOnly: a password is documented as input, never required in output,
    # so responses (which never carry it) still match the document.
    for name, field in schema_cls().fields.items():
        if field.load_only:
            key = field.data_key or name
            note, described = "Write-only: never returned.", definition["properties"][key]
            if not described.get("description", "").startswith(note):  # runs once per document
                described["description"] = " ".join(
                    filter(None, [note, described.get("description")])
                )
            if key in definition.get("required", []):
                definition["required"].remove(key)
                definition["properties"][key]["x-required-on-create"] = True
    if definition.get("required") == []:
        del definition["required"]  # Swagger 2.0 wants a non-empty list or none (input-only shapes)


class MarshmallowModel(SchemaModel):
    """A restx model whose JSON Schema is read from the shared apispec document on demand."""

    def __init__(self, name: str):
        super().__init__(name)

    @property
    def _schema(self):
        base = self.name.removesuffix("Patch")
        definition = copy.deepcopy(_definitions()[base])
        if self.name in _partial_names:
            definition.pop("required", None)
        return definition

    @_schema.setter
    def _schema(self, _value):
        pass


def doc_model(schema_cls, partial: bool = False) -> MarshmallowModel:
    name = schema_name(schema_cls)
    if name not in _spec.components.schemas:
        _spec.components.schema(name, schema=schema_cls)
    if partial:
        name = f"{name}Patch"
        _partial_names.add(name)
    return MarshmallowModel(name)


def install_models(api: Api) -> None:
    """Register every schema (nested ones too) so swagger.json has all definitions."""
    for name in list(_definitions()) + sorted(_partial_names):
        api.models[name] = MarshmallowModel(name)


class ProblemSchema(Schema):
    """RFC 9457 problem details, the body of every error response."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        metadata={"description": "Per-field messages for validation errors"},
    )


_DOC = Namespace("documentation-helper")


def doc(**kwargs):
    """restx's doc decorator; error responses get the Problem schema."""
    responses = kwargs.get("responses")
    if responses:
        problem_model = doc_model(ProblemSchema)
        kwargs["responses"] = {
            code: (value, problem_model) if int(code) >= 400 and isinstance(value, str) else value
            for code, value in responses.items()
        }
    return _DOC.doc(**kwargs)


# ---------------------------------------------------------------------------------------------
# Request bodies and query strings


def _reject_nul(value, path="body"):
    # PostgreSQL cannot store NUL in text, and no database stores half a UTF-16 surrogate pair
    # (JSON may escape one: "\ud800"); refuse both as bad input instead of failing at INSERT.
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.InvalidInput({path: ["NUL characters are not allowed."]})
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.InvalidInput({path: ["Not valid Unicode text."]}) from None
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key, path)
            # Report nested values under their top-level field, as every other error is.
            _reject_nul(item, str(key) if path in ("body", "query") else path)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item, path)


def load_json(schema: Schema):
    """Parse and validate the request's JSON body with `schema`."""
    if not request.mimetype or not (
        request.mimetype == "application/json" or request.mimetype.endswith("+json")
    ):
        raise errors.UnsupportedMediaType("Send the body as application/json.")
    try:
        payload = request.get_json(silent=True)
        if payload is None:
            raise errors.BadRequest("The body is not valid JSON.")
        _reject_nul(payload)
    except RecursionError:
        raise errors.BadRequest("The body is nested too deeply.") from None
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise errors.InvalidInput(exc.messages) from None


def body(schema_cls, partial: bool = False, deferred: bool = False):
    """Validate the JSON body with `schema_cls` and pass it to the view as `data`.

    `deferred=True` passes `load_body` (a function) instead, so the view can first answer
    404/403/428 for the record and only then judge the body, never the other way round.
    """
    model = doc_model(schema_cls, partial)
    # One instance per route: building a schema deep-copies its fields, which costs more than
    # loading or dumping a record. marshmallow 4 schemas keep no per-call state.
    schema = schema_cls(partial=partial)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if deferred:
                kwargs["load_body"] = lambda: load_json(schema)
            else:
                kwargs["data"] = load_json(schema)
            return view(*args, **kwargs)

        return doc(
            expect=[model],
            responses={
                "400": "The body is not valid JSON",
                "409": "A unique value is already taken",
                "413": "The body is too large",
                "415": "The body is not JSON",
                "422": "A field is invalid (see `errors`)",
            },
        )(wrapper)

    return decorator


_QUERY_TYPES = {
    fields.Integer: "integer",
    fields.Float: "number",
    fields.Boolean: "boolean",
}


def _query_param_doc(name: str, field) -> dict:
    param = {"in": "query", "type": "string"}
    for field_type, swagger_type in _QUERY_TYPES.items():
        if isinstance(field, field_type):
            param["type"] = swagger_type
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            param["enum"] = list(validator.choices)
        if isinstance(validator, validate.Range):
            if validator.min is not None:
                param["minimum"] = validator.min
            if validator.max is not None:
                param["maximum"] = validator.max
    if field.metadata.get("description"):
        param["description"] = field.metadata["description"]
    if field.load_default is not missing and not callable(field.load_default):
        param["default"] = field.load_default
    return param


def query(schema_cls):
    """Validate the query string with `schema_cls` and pass it to the view as `args`."""
    schema = schema_cls()
    params = {
        (f.data_key or name): _query_param_doc(f.data_key or name, f)
        for name, f in schema.fields.items()
        if not f.dump_only
    }

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            raw = request.args.to_dict()
            _reject_nul(raw, "query")
            try:
                kwargs["args"] = schema.load(raw)
            except ValidationError as exc:
                raise errors.InvalidInput(
                    exc.messages, "The query string has invalid parameters."
                ) from None
            return view(*args, **kwargs)

        return doc(params=params, responses={"422": "A query parameter is invalid"})(wrapper)

    return decorator


def form(schema_cls, files=("file",), limit_setting="REGISTRY_MAX_UPLOAD_BYTES"):
    """A multipart/form-data body: fields validated with `schema_cls`, plus the file parts
    named in `files`; documented as Swagger formData.

    The view gets `load_form`, to call once it has answered 404/403 for the record; it returns
    `(data, {name: FileStorage})`. The body may be up to the `limit_setting` configuration value
    (413 above it, judged on Content-Length before anything is read, or while streaming), in at
    most multipart.MAX_FORM_PARTS parts (413 above, saying so); Werkzeug spools large parts to
    temporary files, so a file is never held in memory whole.
    """
    schema = schema_cls()
    params = {}
    for name, field in schema.fields.items():
        if not field.dump_only:
            key = field.data_key or name
            params[key] = {**_query_param_doc(key, field), "in": "formData"}
            params[key]["required"] = field.required
    for name in files:
        params[name] = {"in": "formData", "type": "file", "required": True}

    def load():
        if request.mimetype != "multipart/form-data":
            raise errors.UnsupportedMediaType("Send the file as multipart/form-data.")
        parsed_form, parsed_files = read_upload()
        raw, uploads = parsed_form.to_dict(), {n: parsed_files.get(n) for n in files}
        _reject_nul(raw)
        problems = {n: ["Missing file."] for n, f in uploads.items() if f is None}
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            problems = {**exc.messages, **problems}
        if problems:
            raise errors.InvalidInput(problems)
        return data, uploads

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            # Applied now, so decorators inside this one (idempotent) may read the body too.
            limit_upload(current_app.config[limit_setting])
            kwargs["load_form"] = load
            return view(*args, **kwargs)

        return doc(
            params=params,
            responses={
                "413": "The upload is too large",
                "415": "Not multipart/form-data, or a file that is not accepted (see `detail`)",
                "422": "A field is invalid or the file is missing (see `errors`)",
            },
        )(wrapper)

    return decorator


# ---------------------------------------------------------------------------------------------
# Responses, ETags and pagination


def etag_of(record) -> str | None:
    """A record's entity tag, from its row version (None for results that are not records)."""
    if getattr(record, "version", None) is not None:
        return f"{type(record).__name__.lower()}-{record.id}-v{record.version}"
    return None


def conditional(body, tag: str | None, status: int = 200, mimetype="application/json", vary=None):
    """A JSON response carrying `tag` as its ETag, or 304 when the client already has it."""
    headers = {"ETag": f'"{tag}"'} if tag else {}
    if vary:
        headers["Vary"] = vary
    if tag and request.method == "GET" and request.if_none_match.contains(tag):
        return Response(status=304, headers=headers)
    return Response(json.dumps(body), status=status, mimetype=mimetype, headers=headers)


def require_if_match(record) -> None:
    """Refuse a write unless the caller proves it read the current version."""
    if not request.if_match or request.if_match.star_tag:
        raise errors.PreconditionRequired(
            "Send If-Match with the ETag you last read, so edits are never silently lost."
        )
    if not request.if_match.contains(etag_of(record)):
        raise errors.PreconditionFailed(
            "The record was changed since you read it; reload it and apply your change again."
        )


def returns(schema_cls, status: int = 200, description: str = "Success"):
    """Serialize the view's return value with `schema_cls`, adding the record's ETag."""
    model = doc_model(schema_cls)
    schema = schema_cls()

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            record = view(*args, **kwargs)
            if isinstance(record, Response):
                return record  # the view chose another representation (e.g. GeoJSON)
            # The flush makes the row version current before it becomes the ETag.
            db.session().flush()
            return conditional(schema.dump(record), etag_of(record), status)

        return doc(responses={str(status): (description, model)})(wrapper)

    return decorator


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class DeletedArgsSchema(PageArgsSchema):
    deleted = fields.Boolean(
        load_default=False,
        metadata={"description": "List deleted records instead (for those who may restore them)"},
    )


_page_schemas: dict[type, type] = {}


def page_schema(item_schema_cls) -> type:
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


# ---------------------------------------------------------------------------------------------
# The Api object


class RegistryApi(Api):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Listed so the document's `produces` names the error media type; JSON stays the default.
        self.representations[errors.PROBLEM_JSON] = self.representations["application/json"]

    def handle_error(self, e):
        # Every error, from every route, is shaped in errors.py (see its docstring for why).
        return errors.problem_response(e)


AUTHORIZATIONS = {
    "bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Bearer <access token>` from POST /auth/login or /auth/token",
    }
}
