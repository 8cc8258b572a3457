from marshmallow import Schema, fields, validate

from ..access.roles import USER_ROLES, Role
from ..api.pagination import PageArgsSchema
from ..fields import Id, OneOf, RecordSchema, Text
from .passwords import MIN_PASSWORD_LENGTH


class LoginSchema(Schema):
    username = Text(80, required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class ClientCredentialsSchema(Schema):
    client_id = Text(80, required=True)
    client_secret = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class PasswordChangeSchema(Schema):
    current_password = fields.String(
        required=True, load_only=True, validate=validate.Length(max=200)
    )
    new_password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=200)
    )


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(metadata={"description": "Only from /auth/login"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "Seconds"})
    role = OneOf(tuple(Role), required=True)


class OAuthErrorSchema(Schema):
    """RFC 6749 section 5.2: the body of the OAuth2 token endpoint's refusals (not a problem)."""

    error = OneOf(
        ("invalid_request", "unsupported_grant_type", "invalid_grant"),
        required=True,
        metadata={"description": "invalid_grant: the login refused the username and password"},
    )
    error_description = fields.String(required=True)


class PrincipalSchema(Schema):
    kind = OneOf(("user", "cad"), required=True)
    id = fields.Integer(required=True)
    role = OneOf(tuple(Role), required=True)
    organization_id = fields.Integer(allow_none=True)
    agency_id = fields.Integer(allow_none=True)


class UserSchema(RecordSchema):
    username = Text(
        80,
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{3,80}$", error="3-80 letters, digits, _.@-"),
    )
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=200)
    )
    role = OneOf(USER_ROLES, required=True)
    organization_id = Id(allow_none=True)
    agency_id = Id(allow_none=True)
    full_name = Text(200, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    is_active = fields.Boolean(load_default=True)


class UserFiltersSchema(PageArgsSchema):
    role = OneOf(USER_ROLES)
    organization_id = Id(strict=False)
    agency_id = Id(strict=False)


class CadClientSchema(RecordSchema):
    client_id = Text(
        80,
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_.-]{3,80}$", error="3-80 letters, digits, _.-"),
    )
    agency_id = Id(required=True)
    name = Text(200, required=True)
    is_active = fields.Boolean(load_default=True)


class NewCadClientSchema(CadClientSchema):
    client_secret = fields.String(
        dump_only=True, metadata={"description": "Shown once, at creation; store it now."}
    )
