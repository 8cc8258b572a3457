from flask import after_this_request, request
from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import Role
from ..api.crud_routes import collection_routes, record_routes
from ..api.document import doc, doc_model
from ..api.inputs import body
from ..api.outputs import returns
from . import login, oauth, passwords
from .accounts import cad_clients, users
from .identity import authenticate, current_principal, login_required
from .schemas import (
    CadClientSchema,
    ClientCredentialsSchema,
    LoginSchema,
    NewCadClientSchema,
    OAuthErrorSchema,
    PasswordChangeSchema,
    PrincipalSchema,
    TokenSchema,
    UserFiltersSchema,
    UserSchema,
)

ns = Namespace("auth", description="Log in, refresh, log out; CAD client credentials")


@ns.route("/login")
class Login(Resource):
    @body(LoginSchema)
    @returns(TokenSchema)
    @doc(
        responses={
            "401": "Unknown username or wrong password, or the account is temporarily locked",
            "429": "Too many attempts (see Retry-After)",
        }
    )
    def post(self, data):
        """Log in with username and password; returns a fresh access token and a refresh token."""
        return login.login(db.session(), data["username"], data["password"])


@ns.route("/oauth-token")
class PasswordGrant(Resource):
    @returns(TokenSchema)
    @doc(
        params={
            "grant_type": {
                "in": "formData",
                "type": "string",
                "enum": [oauth.PASSWORD_GRANT],
                "required": True,
            },
            "username": {"in": "formData", "type": "string", "maxLength": 80, "required": True},
            "password": {
                "in": "formData",
                "type": "string",
                "format": "password",
                "maxLength": 200,
                "required": True,
            },
        },
        responses={
            "400": (
                "Refused, in RFC 6749's words: invalid_grant (unknown username or wrong "
                "password, or the account is temporarily locked), invalid_request, "
                "unsupported_grant_type",
                doc_model(OAuthErrorSchema),
            ),
            "429": "Too many attempts (see Retry-After)",
        },
    )
    def post(self):
        """Log in with an OAuth2 form (Swagger UI's Authorize); returns a fresh access token.

        The password grant of RFC 6749 section 4.3: grant_type=password, username and password
        as application/x-www-form-urlencoded. The same login as POST /auth/login, refusals
        answered in OAuth2's own error JSON; no refresh token (see auth/oauth.py).
        """

        @after_this_request
        def _not_cached(response):
            # RFC 6749 5.1 and 5.2; Cache-Control: no-store is set for every API answer.
            response.headers["Pragma"] = "no-cache"
            return response

        username, password = oauth.read_password_grant(request.form, request.mimetype)
        return oauth.sign_in(db.session(), username, password)


@ns.route("/token")
class ClientToken(Resource):
    @body(ClientCredentialsSchema)
    @returns(TokenSchema)
    @doc(
        responses={
            "401": "Unknown client or wrong secret",
            "429": "Too many attempts (see Retry-After)",
        }
    )
    def post(self, data):
        """Get an access token for a CAD client (client credentials)."""
        return login.client_token(db.session(), data["client_id"], data["client_secret"])


@ns.route("/refresh")
class Refresh(Resource):
    @returns(TokenSchema)
    # Bearer only: it wants the refresh token, which the OAuth2 flow does not hand out.
    @doc(security="bearer", responses={"401": "Missing, invalid, expired or revoked refresh token"})
    def post(self):
        """Exchange a refresh token (as the bearer token) for a new access token."""
        return login.refresh(authenticate(refresh=True))


@ns.route("/logout")
class Logout(Resource):
    @login_required()
    @doc(responses={"204": "Logged out"})
    def post(self):
        """Revoke the access token and its refresh token."""
        login.logout(db.session())
        return "", 204


@ns.route("/password")
class Password(Resource):
    @login_required(fresh=True)
    @body(PasswordChangeSchema)
    @doc(
        responses={
            "204": "Changed; every token issued before no longer works",
            "403": "CAD clients have no password",
        }
    )
    def post(self, data):
        """Change your own password (needs a fresh login); then log in again."""
        passwords.change_password(
            db.session(), current_principal(), data["current_password"], data["new_password"]
        )
        return "", 204


@ns.route("/me")
class Me(Resource):
    @login_required()
    @returns(PrincipalSchema)
    def get(self):
        """Show who the token belongs to."""
        return current_principal()


users_ns = Namespace("users", description="People who log in (administrators only)")
# Account changes need a fresh login: a stolen or left-open session must not mint admins.
collection_routes(users_ns, users, UserSchema, UserFiltersSchema, roles=(Role.ADMIN,), fresh=True)
record_routes(users_ns, users, UserSchema, roles=(Role.ADMIN,), fresh=True)

cad_clients_ns = Namespace(
    "cad-clients", description="Dispatch systems of agencies (administrators only)"
)


collection_routes(
    cad_clients_ns,
    cad_clients,
    CadClientSchema,
    roles=(Role.ADMIN,),
    created_schema=NewCadClientSchema,
    fresh=True,
)
record_routes(cad_clients_ns, cad_clients, CadClientSchema, roles=(Role.ADMIN,), fresh=True)
