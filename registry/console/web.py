"""The console's blueprint and what every page shares: who is signed in, the form check, the
page's security policy, and errors as pages.

A page is a view with `@page(*roles)`: it finds the signed-in person (sessions.current; the
sign-in page when nobody is), refuses other roles (403), checks a POST's CSRF token, and runs
inside the request's one transaction (transaction.transactional, as API requests do). Views
then call the same services as the API with `signed_in().principal`.
"""

import secrets
from functools import wraps
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from .. import db, errors, multipart, transaction
from ..access.roles import Role
from . import forms, sessions

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# No inline script or style anywhere: every script and stylesheet is a file the app serves.
# Map tiles, when configured, are the one thing fetched from elsewhere (console_policy).
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tiles}; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
SIGN_IN_COOKIE = "registry_console_sign_in"


def console_policy() -> str:
    tiles = current_app.config["REGISTRY_MAP_TILE_URL"]
    if not tiles:
        return POLICY.format(tiles="")
    parts = urlsplit(tiles.replace("{s}", "a"))
    # The tile host, whole subdomain family when the template rotates them ({s}).
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tiles else parts.netloc
    return POLICY.format(tiles=f" {parts.scheme}://{host}")


@bp.after_request
def _page_headers(response):
    # A file sent by a console route keeps its own policy (a download is sandboxed).
    response.headers.setdefault("Content-Security-Policy", console_policy())
    # The API's no-referrer would make browsers send `Origin: null` with the console's own
    # forms; same-origin names this site to itself and nothing to others.
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        # Pages show contacts and codes: never kept by a shared browser's cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def signed_in() -> sessions.SignedIn:
    """The person this request's page works for (set by @page)."""
    return g.console


def page(*roles: Role, upload_limit: str | None = None):
    """A console page for `roles` (any signed-in person when none are given).

    `upload_limit`: the page takes a file (multipart form): the configuration value that caps
    its body, applied as the API's uploads apply it, before the form is read for its token."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            session = db.session()
            who = sessions.current(session)
            if who is None:
                return redirect(url_for("console.sign_in", next=_here()))
            g.console = who
            if roles and who.principal.role not in roles:
                raise errors.Forbidden("This page is not for your role.")
            if request.method == "POST":
                if upload_limit is not None:
                    multipart.limit_upload(current_app.config[upload_limit])
                    multipart.read_upload()  # a body over a limit: 413 saying which
                sessions.check_form(who, request.form.get("csrf_token"), who.csrf_token)
            return view(*args, **kwargs)

        return transaction.transactional(wrapper)

    return decorator


def _here() -> str:
    return request.full_path.rstrip("?") if request.query_string else request.path


def safe_next(target: str | None) -> str | None:
    """A page of this console to go back to after signing in; never another site."""
    if not target or not target.startswith("/console/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def render(template: str, status: int = 200, /, **context):
    """A page and its HTTP status. The status is positional only, so a page may have a
    variable named `status` of its own (an incident's) without it becoming the answer's."""
    return render_template(template, **context), status


def new_sign_in_token() -> str:
    return secrets.token_urlsafe(32)


def query_with(**changes) -> str:
    """This page's query string with some parameters changed (for pagination links)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items() if v is not None})
    return "?" + urlencode(args)


@bp.app_template_global()
def csrf_token() -> str:
    return g.console.csrf_token if "console" in g else ""


@bp.app_template_global()
def new_form_key() -> str:
    return forms.new_form_key()


@bp.app_template_global()
def current_person():
    return g.get("console")


@bp.app_template_global()
def page_link(**changes) -> str:
    return query_with(**changes)


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def _no_such_page(unknown):
    """Any other path under /console: a page saying so (the app's own 404 is a JSON problem)."""
    raise errors.NotFound("There is no such page.")


@bp.errorhandler(Exception)
def _error_page(error):
    """Any error on a console page, as a page: the API's own status and words for it
    (errors.problem_response decides both, and logs what was unexpected), in HTML."""
    problem = errors.problem_response(error)
    body = problem.get_json() or {}
    status = problem.status_code
    if status == 401:
        return redirect(url_for("console.sign_in", next=_here()))
    html, _ = render(
        "console/error.html",
        status,
        title=body.get("title", "Error"),
        detail=body.get("detail", ""),
    )
    # The problem's own headers (Retry-After on a 429, Allow on a 405) stay with the page.
    kept = {k: v for k, v in problem.headers.items() if k in ("Retry-After", "Allow")}
    return html, status, kept
