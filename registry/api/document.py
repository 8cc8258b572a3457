"""The API document's one schema source: marshmallow -> JSON Schema (apispec) -> restx models.

A view's body, query and response are declared once, as marshmallow schemas (inputs.py,
outputs.py, pagination.py); this module turns each schema into a model that flask-restx puts in
swagger.json, so the document cannot drift from what the code validates and returns.

- `doc_model(Schema)`: the restx model of a schema (`partial=True`: its PATCH shape, nothing
  required).
- `install_models(api)`: every schema seen, nested ones too, into the document's definitions.
- `doc(...)`: restx's own doc decorator, with error responses documented as `Problem`.
- `AUTHORIZATIONS`: the document's security schemes: a bearer token pasted by hand, or
  OAuth2's password flow, with which Swagger UI's Authorize dialog logs in by itself.
- `ACCESS_TOKEN`: the security of a route that wants an access token: either scheme.
"""

import copy

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask_restx import Api, Namespace, SchemaModel
from marshmallow import Schema, fields

from .router import API_PREFIX


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


class RowErrorSchema(Schema):
    """One error in one row of a bulk file (registry/imports)."""

    row = fields.Integer(
        required=True, metadata={"description": "The spreadsheet row: 1 is the header"}
    )
    column = fields.String(
        required=True, allow_none=True, metadata={"description": "null: the row as a whole"}
    )
    message = fields.String(required=True)


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
    row_errors = fields.List(
        fields.Nested(RowErrorSchema),
        metadata={"description": "A refused bulk file: every error by row and column"},
    )
    error_count = fields.Integer(
        metadata={"description": "How many errors the file has (row_errors may list fewer)"}
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


AUTHORIZATIONS = {
    "bearer": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "`Bearer <access token>` from POST /auth/login or /auth/token",
    },
    # Both send the same `Authorization: Bearer` header: the API reads no other.
    "oauth2": {
        "type": "oauth2",
        "flow": "password",
        "tokenUrl": f"{API_PREFIX}/auth/oauth-token",
        "scopes": {},
        "description": "Your username and password (POST /auth/oauth-token); leave client_id "
        "and client_secret empty.",
    },
}
# A list of schemes in Swagger 2.0 means any one of them.
ACCESS_TOKEN = ["bearer", "oauth2"]
