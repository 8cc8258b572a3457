"""Signing in and out, and where each role starts."""

from flask import current_app, redirect, request, url_for

from .. import db, errors, transaction
from ..access.roles import Role
from ..auth import passwords
from ..auth.login import LOGIN_REFUSED
from ..auth.schemas import PasswordChangeSchema
from . import forms, sessions
from .forms import Outcome
from .web import (
    SIGN_IN_COOKIE,
    bp,
    console_policy,
    new_sign_in_token,
    page,
    render,
    safe_next,
    signed_in,
)

# Where each role's console starts.
HOME = {
    Role.FACILITY_MANAGER: "console.dashboard",
    Role.AGENCY_USER: "console.search",
    Role.ADMIN: "console.admin_home",
    Role.AUDITOR: "console.account",
}


def landing():
    """`/`: the way in for people (the console) and for programs (the API's documentation)."""
    response = current_app.make_response(render("console/landing.html"))
    response.headers["Content-Security-Policy"] = console_policy()
    return response


@bp.get("/")
@page()
def home():
    return redirect(url_for(HOME[signed_in().principal.role]))


@bp.route("/account", methods=["GET", "POST"])
@page()
def account():
    """Who is signed in, and changing one's own password (the API's rule: the current password
    is checked and counted like a login; every earlier session and token ends, this one too)."""
    outcome = Outcome()
    if request.method == "POST":
        session, who = db.session(), signed_in()

        def change():
            data = forms.load(PasswordChangeSchema(), request.form)
            passwords.change_password(
                session, who.principal, data["current_password"], data["new_password"]
            )

        outcome = forms.submit(change)
        if outcome.saved:
            response = redirect(url_for("console.sign_in", password_changed=1))
            response.delete_cookie(sessions.cookie_name(), **_cookie_scope())
            return response
    return render(
        "console/account.html",
        outcome.status,
        outcome=outcome,
        min_length=passwords.MIN_PASSWORD_LENGTH,
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@transaction.transactional
def sign_in():
    """The sign-in form. It is checked like every form (sessions.check_form), against a token
    in a cookie of its own, since there is no session yet: no other site can sign a browser
    in to an account of its choosing."""
    next_page = safe_next(request.values.get("next"))
    outcome = Outcome()
    if request.method == "POST":
        sessions.check_form(
            None, request.form.get("csrf_token"), request.cookies.get(SIGN_IN_COOKIE)
        )
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username or not password:
            outcome = Outcome(
                errors={
                    name: ["Required."]
                    for name, value in (("username", username), ("password", password))
                    if not value
                },
                status=422,
            )
        else:
            session = db.session()
            try:
                token = sessions.sign_in(session, username, password)
            except errors.Unauthorized:
                # Answered with the form again; the view returns normally, so the boundary
                # commits the refusal's trace (the attempt's count, its audit event).
                outcome = Outcome(message=LOGIN_REFUSED, status=401)
            else:
                response = redirect(next_page or url_for("console.home"))
                response.set_cookie(sessions.cookie_name(), token, **sessions.cookie_options())
                response.delete_cookie(SIGN_IN_COOKIE, path=url_for("console.sign_in"))
                return response
    form_token = new_sign_in_token()
    body, status = render(
        "console/sign_in.html",
        outcome.status,
        outcome=outcome,
        next_page=next_page,
        form_token=form_token,
        username=request.form.get("username", ""),
        session_minutes=current_app.config["REGISTRY_CONSOLE_IDLE_MINUTES"],
    )
    response = current_app.make_response((body, status))
    response.set_cookie(
        SIGN_IN_COOKIE,
        form_token,
        max_age=3600,
        httponly=True,
        samesite="Strict",
        secure=current_app.config["REGISTRY_ENV"] == "production",
        path=url_for("console.sign_in"),
    )
    return response


@bp.post("/sign-out")
@page()
def sign_out():
    sessions.sign_out(db.session(), signed_in())
    response = redirect(url_for("console.sign_in", signed_out=1))
    response.delete_cookie(sessions.cookie_name(), **_cookie_scope())
    return response


def _cookie_scope() -> dict:
    options = sessions.cookie_options()
    return {k: options[k] for k in ("path", "secure", "httponly", "samesite")}
