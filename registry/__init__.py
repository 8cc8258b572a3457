"""Partner coordination and contact registry: the application factory."""

from flask import Flask
from sqlalchemy import text

from . import console, db, encryption, errors, http, ratelimit, transaction
from .addresses import gazetteer
from .agencies.routes import ns as agencies_ns
from .aliases.routes import address_aliases_ns, street_aliases_ns
from .api.document import AUTHORIZATIONS, install_models
from .api.router import API_PREFIX, RegistryApi
from .audit import trail
from .audit.routes import ns as audit_ns
from .audit.trail import request_id
from .auth.identity import jwt
from .auth.routes import cad_clients_ns, users_ns
from .auth.routes import ns as auth_ns
from .changes.routes import ns as changes_ns
from .cli import commands
from .config import load_config
from .contacts.routes import ns as contacts_ns
from .corrections.routes import ns as corrections_ns
from .exercises.routes import findings_ns
from .exercises.routes import ns as exercises_ns
from .facilities.routes import access_points_ns, tactical_points_ns
from .facilities.routes import ns as facilities_ns
from .floorplans import storage
from .floorplans.routes import mou_documents_ns
from .floorplans.routes import ns as floor_plans_ns
from .imports import routes as imports_routes  # noqa: F401 - adds routes to organizations_ns
from .incidents.routes import ns as incidents_ns
from .mous.routes import ns as mous_ns
from .notifications.routes import deliveries_ns, subscriptions_ns
from .notifications.routes import ns as notifications_ns
from .organizations.routes import ns as organizations_ns
from .packs.routes import ns as packs_ns
from .preplans.routes import ns as preplans_ns
from .reports.routes import ns as reports_ns


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(load_config(overrides))
    db.init_app(app)
    register_http(app)
    encryption.init_app(app)
    register_storage(app)
    register_audit(app)
    register_auth(app)
    register_api(app)
    console.init_app(app)
    # The address tables (42,000 ZIPs and their names) load in about a second: at start, not in
    # the first dispatcher's lookup.
    gazetteer.warm()
    register_health(app)
    errors.register_error_handlers(app)
    register_cli(app)
    return app


def register_auth(app: Flask) -> None:
    jwt.init_app(app)


def register_http(app: Flask) -> None:
    """Rate limits, security headers and CORS, for every response (errors and 404s too)."""
    ratelimit.register_rate_limits(app)
    http.init_app(app)


def register_audit(app: Flask) -> None:
    @app.after_request
    def _echo_request_id(response):
        # The id the audit trail records, so a caller can quote it.
        response.headers["X-Request-ID"] = request_id()
        return response


def register_storage(app: Flask) -> None:
    storage.init_app(app)


def register_api(app: Flask) -> None:
    api = RegistryApi(
        app,
        prefix=API_PREFIX,
        doc=f"{API_PREFIX}/docs",
        title="Partner coordination and contact registry",
        version="1.0",
        description="Facilities, contacts, access points and MOUs of private-sector partners, "
        "served to public-safety agencies and their dispatch (CAD) systems.",
        authorizations=AUTHORIZATIONS,
        catch_all_404s=True,
        decorators=[transaction.transactional],
    )
    for namespace in (
        auth_ns,
        users_ns,
        cad_clients_ns,
        organizations_ns,
        agencies_ns,
        facilities_ns,
        access_points_ns,
        tactical_points_ns,
        address_aliases_ns,
        street_aliases_ns,
        contacts_ns,
        mous_ns,
        floor_plans_ns,
        mou_documents_ns,
        preplans_ns,
        packs_ns,
        changes_ns,
        incidents_ns,
        corrections_ns,
        exercises_ns,
        findings_ns,
        notifications_ns,
        subscriptions_ns,
        deliveries_ns,
        reports_ns,
        audit_ns,
    ):
        api.add_namespace(namespace)
    install_models(api)
    app.extensions["registry.api"] = api


def register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz():
        try:
            with db.engine().connect() as connection:
                connection.execute(text("SELECT 1"))
                audit = trail.health(connection, app.config["REGISTRY_AUDIT_SEAL_WINDOW"])
        except Exception:
            app.logger.warning("readiness check: database unreachable")
            return errors.problem(503, "The database is unreachable.", "not-ready")
        if audit.beyond is not None:
            # Sealing has stopped at that event: say so here, where operators look (the seq
            # stays in the log: this is public).
            app.logger.error(
                "readiness check: audit event %d lies beyond the chain head", audit.beyond
            )
            return errors.problem(
                503,
                "The audit trail cannot be sealed: an event lies beyond its chain head. "
                "See the log and 'flask audit verify'.",
                "audit-trail-broken",
            )
        if audit.unsealed_since is not None:
            app.logger.error(
                "readiness check: audit events wait unsealed since %s; is a sealer running?",
                audit.unsealed_since.isoformat(),
            )
            return errors.problem(
                503,
                "Audit events are waiting to be sealed longer than they should: no sealer is "
                "running. See the log and 'flask audit verify'.",
                "audit-trail-unsealed",
            )
        return {"status": "ready"}


def register_cli(app: Flask) -> None:
    for command in commands:
        app.cli.add_command(command)
