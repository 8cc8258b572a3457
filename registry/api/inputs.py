"""What a view receives: the request's JSON body, query string or multipart form, validated.

`body`, `query` and `form` load the request with a marshmallow schema and document that same
schema (document.py); a view gets `data`, `args` or a loader to call once it has judged the
record. Every bad input is a 422 with per-field messages (errors.InvalidInput), and text no
database can store (NUL, half a surrogate pair) is refused here rather than at INSERT.
"""

from functools import wraps

from flask import current_app, request
from marshmallow import Schema, ValidationError, fields, missing, validate

from .. import errors
from ..multipart import limit_upload, read_upload
from .document import doc, doc_model


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
