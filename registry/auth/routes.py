from flask_restx import Namespace, Resource

from .. import db
from ..access.roles import Role
from ..api.crud_routes import collection_routes, record_routes
from ..api.document import doc
from ..api.inputs import body
from ..api.outputs import returns
from . import login, passwords
from .accounts import cad_clients, users
from .identity import authenticate, current_principal, login_required
from .schemas import (
    CadClientSchema,
    ClientCredentialsSchema,
    LoginSchema,
    NewCadClientSchema,
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
