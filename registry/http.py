"""Security headers on every response (errors and 404s too), and CORS for configured origins.

The API answers JSON to programs; its HTML pages are Swagger UI (`/docs` under the API's
prefix), whose Content-Security-Policy allows its own files from /swaggerui/ and, by hash, the
one inline script that starts it, and the printed pre-plan, which sets a policy of its own
(preplans/printing/html.py). Views that set their own policy or caching keep them (file downloads are
sandboxed and revalidated; see floorplans/downloads.py).
"""

import base64
import hashlib
import re

from flask import Flask, request
from flask.sessions import SessionInterface
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import ConfigError

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI styles elements inline (its React components and the page's SVG sprite), and loads
# its font from /swaggerui/files.
DOCS_POLICY = (
    "default-src 'none'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)
HSTS = "max-age=31536000; includeSubDomains"

# What a browser client may send and read across origins.
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
]
CORS_EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "Retry-After",
    "X-Request-ID",
    "Content-Disposition",
    "Registry-Break-Glass",
]
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


class NoCookieSessions(SessionInterface):
    """Flask's signed-cookie session is not used: the API is stateless (bearer tokens) and the
    web console keeps its sessions in the database (console/sessions.py). Flask's default still
    built a signing serializer on every request to open an empty session; this hands out its
    null session, which refuses any write, so nothing can start using the cookie unnoticed."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        pass


def init_app(app: Flask) -> None:
    app.session_interface = NoCookieSessions()
    production = app.config["REGISTRY_ENV"] == "production"
    proxies = app.config["REGISTRY_TRUSTED_PROXIES"]
    if proxies < 0:
        raise ConfigError("REGISTRY_TRUSTED_PROXIES must be 0 or more")
    if proxies:
        # Behind load balancers the socket's address is theirs: rate limits and the audit trail
        # need the client's, which the trusted hops append to X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if "Content-Security-Policy" not in headers:
            headers["Content-Security-Policy"] = (
                _docs_policy(response) if response.mimetype == "text/html" else API_POLICY
            )
        if production:
            # Only honoured over HTTPS, which production runs behind.
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path.startswith("/api/") and "Cache-Control" not in headers:
            response.headers["Cache-Control"] = _caching(response)
        return response

    origins = app.config["REGISTRY_CORS_ORIGINS"]
    for origin in origins:
        # Exact origins only: flask-cors would read "*" or a pattern as a wildcard or regex.
        if not _ORIGIN.fullmatch(origin):
            raise ConfigError(
                f"REGISTRY_CORS_ORIGINS: {origin!r} is not an origin like https://host"
            )
    if origins:
        CORS(
            app,
            resources={r"/api/.*": {}},
            origins=origins,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            supports_credentials=False,  # bearer tokens, never cookies
            max_age=600,
            # The after_request hook reaches error responses too; no second wrapping needed.
            intercept_exceptions=False,
        )


def _caching(response) -> str:
    """API responses carry tokens, contacts and codes: never stored, except that a tagged
    representation may be kept privately and revalidated every time (If-None-Match -> 304, as
    CAD clients do with pre-plans)."""
    if response.headers.get("ETag") and response.status_code in (200, 304):
        return "private, no-cache"
    return "no-store"


def _docs_policy(response) -> str:
    scripts = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(response.get_data())
    )
    return DOCS_POLICY.format(scripts=scripts)
