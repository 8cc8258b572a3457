"""Users (their role and its binding, deactivation, a new password) and CAD clients (the
secret shown once)."""

from flask import redirect, request, url_for

from ... import db
from ...access.roles import USER_ROLES, Role
from ...agencies.models import Agency
from ...agencies.service import agencies
from ...auth.accounts import cad_clients, users
from ...auth.passwords import MIN_PASSWORD_LENGTH
from ...auth.schemas import CadClientSchema, UserSchema
from ...organizations.models import Organization
from ...organizations.service import organizations
from .. import forms
from ..manager import page_args
from ..web import bp, page, render, signed_in
from .common import (
    ADMINS,
    NOTICES,
    USER_YOUR_PASSWORD,
    choices,
    create_record,
    form_values,
    get_record,
    id_arg,
    names_of,
    prefilled,
    search_text,
    update_record,
)

USER_FIELDS = ("username", "full_name", "email", "role", "organization_id", "agency_id")
NEW_USER_FIELDS = (*USER_FIELDS, "password")
USER_EDIT_FIELDS = (*USER_FIELDS, "is_active")
CAD_CLIENT_FIELDS = ("client_id", "name", "agency_id")
CAD_CLIENT_EDIT_FIELDS = (*CAD_CLIENT_FIELDS, "is_active")
user_schema = UserSchema()
cad_client_schema = CadClientSchema()
ROLE_LABELS = {
    Role.ADMIN: "administrator",
    Role.FACILITY_MANAGER: "facility manager (of an organization)",
    Role.AGENCY_USER: "agency user (of an agency)",
    Role.AUDITOR: "auditor (reads the audit trail only)",
}


# --- users ------------------------------------------------------------------------------------


@bp.get("/admin/users")
@page(*ADMINS)
def admin_users():
    search = search_text()
    role = request.args.get("role", "")
    conditions = [users.matching(search)] if search else []
    if role in USER_ROLES:
        conditions += users.filters({"role": role})
    # The users of one organization or agency (linked from its page).
    bound_to, bound_name = None, None
    for name, service, model in (
        ("organization_id", organizations, Organization),
        ("agency_id", agencies, Agency),
    ):
        value = id_arg(name)
        if value is not None:
            bound_to = (name, value)
            bound_name = names_of(service, model, [value]).get(value, f"{name} {value}")
            conditions += users.filters({name: value})
            break
    result = users.list(db.session(), signed_in().principal, page_args(), *conditions)
    return render(
        "console/admin_users.html",
        result=result,
        search=search,
        role=role,
        role_labels=ROLE_LABELS,
        bound_to=bound_to,
        bound_name=bound_name,
        now=db.utcnow(),
        organization_names=names_of(
            organizations, Organization, (u.organization_id for u in result.items)
        ),
        agency_names=names_of(agencies, Agency, (u.agency_id for u in result.items)),
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_user():
    return _user_form(None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_user(user_id: int):
    return _user_form(get_record(users, user_id))


def _user_form(record):
    """A person's account: who they are, their role and what it is bound to (an organization
    for a facility manager, an agency for an agency user: the service and the database's
    role_binding check decide), and whether it is active. A new account gets its first password
    here; an existing one is reset on its own page."""
    outcome, sent, new = forms.Outcome(), None, record is None
    if request.method == "POST":
        if new:
            sent = request.form
            outcome, record = create_record(
                users, user_schema, NEW_USER_FIELDS, sent, password_box=USER_YOUR_PASSWORD
            )
        else:
            sent = forms.checkboxes(request.form, ("is_active",))
            outcome = update_record(
                users, user_schema, USER_EDIT_FIELDS, record, sent, password_box=USER_YOUR_PASSWORD
            )
        if outcome.saved:
            notice = "created" if new else "saved"
            return redirect(url_for("console.admin_user", user_id=record.id, notice=notice))
    values = form_values(user_schema, record, sent, USER_EDIT_FIELDS, outcome)
    if record is None and sent is None:
        values.update(prefilled(USER_FIELDS))
    return render(
        "console/admin_user.html",
        outcome.status,
        user=record,
        values=values,
        now=db.utcnow(),
        outcome=outcome,
        roles=[(role, ROLE_LABELS[role]) for role in USER_ROLES],
        organization_choices=choices(organizations),
        agency_choices=choices(agencies),
        min_password_length=MIN_PASSWORD_LENGTH,
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@page(*ADMINS)
def admin_user_password(user_id: int):
    """Reset a person's password (the API's PATCH of `password`): it ends their sessions and
    lifts a lockout, so it is also how a locked-out person gets back in at once."""
    record = get_record(users, user_id)
    outcome = forms.Outcome()
    if request.method == "POST":
        outcome = update_record(
            users, user_schema, ("password",), record, request.form, password_box=USER_YOUR_PASSWORD
        )
        if outcome.saved:
            return redirect(url_for("console.admin_user", user_id=record.id, notice="password"))
    return render(
        "console/admin_user_password.html",
        outcome.status,
        user=record,
        outcome=outcome,
        min_password_length=MIN_PASSWORD_LENGTH,
    )


# --- CAD clients ------------------------------------------------------------------------------


@bp.get("/admin/cad-clients")
@page(*ADMINS)
def admin_cad_clients():
    search = search_text()
    conditions = [cad_clients.matching(search)] if search else []
    result = cad_clients.list(db.session(), signed_in().principal, page_args(), *conditions)
    return render(
        "console/admin_cad_clients.html",
        result=result,
        search=search,
        agency_names=names_of(agencies, Agency, (c.agency_id for c in result.items)),
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/cad-clients/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_cad_client():
    """A new CAD client. Its secret is generated by the service and shown once, on the page
    answering this form: never in a URL (no redirect carries it), never stored, never again."""
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = request.form
        outcome, client = create_record(cad_clients, cad_client_schema, CAD_CLIENT_FIELDS, sent)
        if outcome.saved:
            return render(
                "console/admin_cad_client_secret.html",
                201,
                client=client,
                secret=client.client_secret,
                agency_name=names_of(agencies, Agency, [client.agency_id]).get(client.agency_id),
            )
    return _cad_client_page(None, sent, outcome)


@bp.route("/admin/cad-clients/<int:client_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_cad_client(client_id: int):
    """A CAD client: its name, its agency, and whether it may get tokens (deactivating it ends
    the tokens it holds, as the API's PATCH does)."""
    record = get_record(cad_clients, client_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = forms.checkboxes(request.form, ("is_active",))
        outcome = update_record(
            cad_clients, cad_client_schema, CAD_CLIENT_EDIT_FIELDS, record, sent
        )
        if outcome.saved:
            return redirect(
                url_for("console.admin_cad_client", client_id=record.id, notice="saved")
            )
    return _cad_client_page(record, sent, outcome)


def _cad_client_page(record, sent, outcome):
    values = form_values(cad_client_schema, record, sent, CAD_CLIENT_EDIT_FIELDS, outcome)
    if record is None and sent is None:
        values.update(prefilled(CAD_CLIENT_FIELDS))
    return render(
        "console/admin_cad_client.html",
        outcome.status,
        client=record,
        values=values,
        outcome=outcome,
        agency_choices=choices(agencies),
        notice=NOTICES.get(request.args.get("notice")),
    )
