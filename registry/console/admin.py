"""Administrators' pages: onboarding agencies, organizations, users, CAD clients and MOUs.

Each page calls the service its API route calls, with the same checks in the same order (who
may write, the form's version as the If-Match, then the write), so the API's rules, messages,
history and audit events are the console's. Every administrator's write in the API wants a fresh
login (`fresh=True` on the agencies, organizations, users, CAD clients and MOUs routes): so every
form here has a box for the administrator's own password, checked by
sessions.confirm_password unless they signed in within the fresh-login window.
"""

import re

from flask import redirect, request, url_for
from marshmallow import fields
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import db, errors
from ..access.roles import USER_ROLES, Role
from ..agencies.models import AGENCY_TYPES, Agency
from ..agencies.schemas import AgencySchema
from ..agencies.service import agencies
from ..auth.accounts import cad_clients, users
from ..auth.passwords import MIN_PASSWORD_LENGTH
from ..auth.schemas import CadClientSchema, UserSchema
from ..facilities.models import Facility
from ..facilities.service import facilities
from ..fields import MAX_ID
from ..mous.models import MOU_SCOPES, MOU_STATES, PARTIES, Mou
from ..mous.schemas import MouRenewalSchema, MouSchema, MouTerminationSchema, PartySchema
from ..mous.service import mous
from ..organizations.models import ORGANIZATION_KINDS, Organization
from ..organizations.schemas import OrganizationSchema
from ..organizations.service import organizations
from . import forms, sessions
from .manager import page_args
from .web import bp, page, render, signed_in

ADMINS = (Role.ADMIN,)
# Where a form's own "password" is another person's (a user's), the administrator's goes here.
YOUR_PASSWORD = "password"
USER_YOUR_PASSWORD = "current_password"
# An organization or agency is picked from a list of at most this many; beyond, by its id.
MOST_CHOICES = 1000

AGENCY_FIELDS = (
    "name",
    "agency_type",
    "ori",
    "fdid",
    "jurisdiction",
    "state",
    "county_fips",
    "main_phone",
    "dispatch_phone",
    "email",
    "notes",
)
ORGANIZATION_FIELDS = ("name", "kind", "website", "main_phone", "notes")
USER_FIELDS = ("username", "full_name", "email", "role", "organization_id", "agency_id")
NEW_USER_FIELDS = (*USER_FIELDS, "password")
USER_EDIT_FIELDS = (*USER_FIELDS, "is_active")
CAD_CLIENT_FIELDS = ("client_id", "name", "agency_id")
CAD_CLIENT_EDIT_FIELDS = (*CAD_CLIENT_FIELDS, "is_active")
MOU_FIELDS = (
    "organization_id",
    "agency_id",
    "title",
    "effective_date",
    "expiry_date",
    "scopes",
    "covers_all_facilities",
    "facility_ids",
    "notes",
)
NEW_MOU_FIELDS = (*MOU_FIELDS, "drafting_party")
# Lists typed into one box (codes, ids), separated by commas, spaces or lines.
TYPED_LISTS = ("county_fips", "facility_ids")

agency_schema = AgencySchema()
organization_schema = OrganizationSchema()
user_schema = UserSchema()
cad_client_schema = CadClientSchema()
mou_schema = MouSchema()
STEP_SCHEMAS = {
    "propose": PartySchema(),
    "accept": PartySchema(),
    "terminate": MouTerminationSchema(),
    "renew": MouRenewalSchema(),
}

ROLE_LABELS = {
    Role.ADMIN: "administrator",
    Role.FACILITY_MANAGER: "facility manager (of an organization)",
    Role.AGENCY_USER: "agency user (of an agency)",
    Role.AUDITOR: "auditor (reads the audit trail only)",
}
SCOPE_LABELS = {
    "data_sharing": "Data sharing: the agency reads the facilities' pre-plans",
    "cctv_access": "CCTV access",
    "training": "Training and exercises",
    "key_holding": "Key holding",
    "access_codes": "Access codes",
    "staging": "Staging on the premises",
    "reunification": "Reunification site",
}
# Saved-page notices, by key: a redirect names one, the page shows its words (never the URL's).
NOTICES = {
    "saved": "Saved.",
    "created": "Created.",
    "password": "Password set. Every session of this person has ended: they sign in with the "
    "new password.",
    "propose": "Proposed: the other party is told, and it takes effect once it accepts.",
    "accept": "Accepted.",
    "terminate": "Terminated: it grants nothing from now on. The other party is told.",
    "renew": "The renewal is drafted below; it follows the same steps.",
}


# --- what every administration page shares ------------------------------------------------------


def _search() -> str:
    return request.args.get("q", "").strip()[:200]


def _status(outcome: forms.Outcome) -> int:
    """422 when refused for its input, 409 for a conflict (a stale version, a step the MOU is
    not at), as the API answers."""
    if outcome.errors:
        return 422
    if outcome.message is not None:
        return 409
    return 200


def _confirm(form, field: str = YOUR_PASSWORD) -> None:
    """The API's fresh-login rule for the form's write (see the module docstring)."""
    sessions.confirm_password(db.session(), signed_in(), form.get(field), field)


def _typed_lists(form) -> MultiDict:
    """The form with each box of TYPED_LISTS split into the list the API takes."""
    sent = MultiDict(form)
    for name in TYPED_LISTS:
        if name in form:
            sent.setlist(name, [v for v in re.split(r"[\s,;]+", form[name]) if v])
    return sent


def _create(service, schema, names, form, confirm=YOUR_PASSWORD):
    """Create a record as the API's POST does: (the outcome, the record when saved)."""
    session, principal = db.session(), signed_in().principal
    created = []

    def change():
        _confirm(form, confirm)
        service.authorize_create(principal)
        created.append(service.create(session, principal, forms.load(schema, form, names)))

    outcome = forms.submit(change)
    return outcome, created[0] if outcome.saved else None


def _update(service, schema, names, record, form, confirm=YOUR_PASSWORD) -> forms.Outcome:
    """Change a record as the API's PATCH does, on the version the form was opened at."""
    session, principal = db.session(), signed_in().principal

    def change():
        _confirm(form, confirm)
        service.authorize_write(principal, record)
        forms.require_version(record, form.get("version"))
        data = forms.load(schema, form, names, partial=True)
        service.update(session, principal, record, data)

    outcome = forms.submit(change)
    if not outcome.saved:
        session.refresh(record)
    return outcome


def _values(schema, record, shown, names, outcome) -> dict:
    """What a form's boxes show: the stored record (or nothing, for a new one), or what was
    sent (`shown`: the form as typed, its checkboxes completed) when it was refused for its
    input, so nothing typed is lost. After a conflict, the version now saved."""
    stored = schema.dump(record) if record is not None else {}
    for name in TYPED_LISTS:
        if isinstance(stored.get(name), list):
            stored[name] = ", ".join(map(str, stored[name]))
    if shown is None or outcome.conflict:
        return stored
    typed = {}
    for name in names:
        schema_field = schema.fields[name]
        if isinstance(schema_field, fields.List) and name not in TYPED_LISTS:
            typed[name] = shown.getlist(name)
        elif isinstance(schema_field, fields.Boolean) and name in shown:
            typed[name] = shown.get(name) == "true"
        elif name in shown:
            typed[name] = shown.get(name)
    return {**stored, **typed}


def _choices(service) -> dict:
    """Records to pick from in a select, as the service lists them to this administrator; when
    there are too many for a list, the form asks for an id instead (`complete` is false)."""
    found = service.list(db.session(), signed_in().principal, {"page": 1, "per_page": MOST_CHOICES})
    return {
        "options": [(record.id, record.name) for record in found.items],
        "complete": found.total <= MOST_CHOICES,
    }


def _names(service, model, ids) -> dict[int, str]:
    """id -> name of the records of `model` among `ids` this administrator reads."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = db.session().execute(
        select(model.id, model.name).where(
            model.id.in_(ids), service.read_filter(signed_in().principal)
        )
    )
    return {record_id: name for record_id, name in rows}


def _id_arg(name: str) -> int | None:
    """A record id from the query string (a link's), or None."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ID else None


def _prefilled(names) -> dict:
    """A new record's form opened from another record's page: the ids its link names (an
    organization's "new facility manager" link names the role and the organization)."""
    values = {name: _id_arg(name) for name in ("organization_id", "agency_id") if name in names}
    if request.args.get("role") in USER_ROLES:
        values["role"] = request.args["role"]
    return {name: value for name, value in values.items() if value is not None}


def _get(service, record_id: int):
    return service.get(db.session(), signed_in().principal, record_id)


# --- the start page ---------------------------------------------------------------------------


@bp.get("/admin")
@page(*ADMINS)
def admin_home():
    """What an administrator onboards, with how many of each there are."""
    session, principal = db.session(), signed_in().principal
    first = {"page": 1, "per_page": 1}
    totals = {
        name: service.list(session, principal, first).total
        for name, service in (
            ("agencies", agencies),
            ("organizations", organizations),
            ("users", users),
            ("cad_clients", cad_clients),
            ("mous", mous),
        )
    }
    waiting = mous.list(session, principal, first, *mous.filters({"status": "proposed"})).total
    return render("console/admin_home.html", totals=totals, proposed_mous=waiting)


# --- agencies ---------------------------------------------------------------------------------


@bp.get("/admin/agencies")
@page(*ADMINS)
def admin_agencies():
    search = _search()
    result = agencies.list(
        db.session(), signed_in().principal, page_args(), *agencies.filters({"name": search})
    )
    return render(
        "console/admin_agencies.html",
        result=result,
        search=search,
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/agencies/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_agency():
    return _agency_form(None)


@bp.route("/admin/agencies/<int:agency_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_agency(agency_id: int):
    return _agency_form(_get(agencies, agency_id))


def _agency_form(record):
    outcome, shown, new = forms.Outcome(), None, record is None
    if request.method == "POST":
        shown = request.form
        sent = _typed_lists(shown)
        if new:
            outcome, record = _create(agencies, agency_schema, AGENCY_FIELDS, sent)
        else:
            outcome = _update(agencies, agency_schema, AGENCY_FIELDS, record, sent)
        if outcome.saved:
            notice = "created" if new else "saved"
            return redirect(url_for("console.admin_agency", agency_id=record.id, notice=notice))
    return render(
        "console/admin_agency.html",
        _status(outcome),
        agency=record,
        values=_values(agency_schema, record, shown, AGENCY_FIELDS, outcome),
        outcome=outcome,
        agency_types=AGENCY_TYPES,
        notice=NOTICES.get(request.args.get("notice")),
    )


# --- organizations ----------------------------------------------------------------------------


@bp.get("/admin/organizations")
@page(*ADMINS)
def admin_organizations():
    search = _search()
    result = organizations.list(
        db.session(), signed_in().principal, page_args(), *organizations.filters({"name": search})
    )
    return render(
        "console/admin_organizations.html",
        result=result,
        search=search,
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/organizations/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_organization():
    return _organization_form(None)


@bp.route("/admin/organizations/<int:organization_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_organization(organization_id: int):
    return _organization_form(_get(organizations, organization_id))


def _organization_form(record):
    outcome, sent, new = forms.Outcome(), None, record is None
    if request.method == "POST":
        sent = request.form
        if new:
            outcome, record = _create(organizations, organization_schema, ORGANIZATION_FIELDS, sent)
        else:
            outcome = _update(organizations, organization_schema, ORGANIZATION_FIELDS, record, sent)
        if outcome.saved:
            notice = "created" if new else "saved"
            return redirect(
                url_for("console.admin_organization", organization_id=record.id, notice=notice)
            )
    facility_count = None
    if record is not None:
        facility_count = facilities.list(
            db.session(),
            signed_in().principal,
            {"page": 1, "per_page": 1},
            Facility.organization_id == record.id,
        ).total
    return render(
        "console/admin_organization.html",
        _status(outcome),
        organization=record,
        values=_values(organization_schema, record, sent, ORGANIZATION_FIELDS, outcome),
        outcome=outcome,
        kinds=ORGANIZATION_KINDS,
        facility_count=facility_count,
        notice=NOTICES.get(request.args.get("notice")),
    )


# --- users ------------------------------------------------------------------------------------


@bp.get("/admin/users")
@page(*ADMINS)
def admin_users():
    search = _search()
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
        value = _id_arg(name)
        if value is not None:
            bound_to = (name, value)
            bound_name = _names(service, model, [value]).get(value, f"{name} {value}")
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
        organization_names=_names(
            organizations, Organization, (u.organization_id for u in result.items)
        ),
        agency_names=_names(agencies, Agency, (u.agency_id for u in result.items)),
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_user():
    return _user_form(None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_user(user_id: int):
    return _user_form(_get(users, user_id))


def _user_form(record):
    """A person's account: who they are, their role and what it is bound to (an organization
    for a facility manager, an agency for an agency user: the service and the database's
    role_binding check decide), and whether it is active. A new account gets its first password
    here; an existing one is reset on its own page."""
    outcome, sent, new = forms.Outcome(), None, record is None
    if request.method == "POST":
        if new:
            sent = request.form
            outcome, record = _create(
                users, user_schema, NEW_USER_FIELDS, sent, confirm=USER_YOUR_PASSWORD
            )
        else:
            sent = forms.checkboxes(request.form, ("is_active",))
            outcome = _update(
                users, user_schema, USER_EDIT_FIELDS, record, sent, confirm=USER_YOUR_PASSWORD
            )
        if outcome.saved:
            notice = "created" if new else "saved"
            return redirect(url_for("console.admin_user", user_id=record.id, notice=notice))
    values = _values(user_schema, record, sent, USER_EDIT_FIELDS, outcome)
    if record is None and sent is None:
        values.update(_prefilled(USER_FIELDS))
    return render(
        "console/admin_user.html",
        _status(outcome),
        user=record,
        values=values,
        now=db.utcnow(),
        outcome=outcome,
        roles=[(role, ROLE_LABELS[role]) for role in USER_ROLES],
        organization_choices=_choices(organizations),
        agency_choices=_choices(agencies),
        min_password_length=MIN_PASSWORD_LENGTH,
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@page(*ADMINS)
def admin_user_password(user_id: int):
    """Reset a person's password (the API's PATCH of `password`): it ends their sessions and
    lifts a lockout, so it is also how a locked-out person gets back in at once."""
    record = _get(users, user_id)
    outcome = forms.Outcome()
    if request.method == "POST":
        outcome = _update(
            users, user_schema, ("password",), record, request.form, confirm=USER_YOUR_PASSWORD
        )
        if outcome.saved:
            return redirect(url_for("console.admin_user", user_id=record.id, notice="password"))
    return render(
        "console/admin_user_password.html",
        _status(outcome),
        user=record,
        outcome=outcome,
        min_password_length=MIN_PASSWORD_LENGTH,
    )


# --- CAD clients ------------------------------------------------------------------------------


@bp.get("/admin/cad-clients")
@page(*ADMINS)
def admin_cad_clients():
    search = _search()
    conditions = [cad_clients.matching(search)] if search else []
    result = cad_clients.list(db.session(), signed_in().principal, page_args(), *conditions)
    return render(
        "console/admin_cad_clients.html",
        result=result,
        search=search,
        agency_names=_names(agencies, Agency, (c.agency_id for c in result.items)),
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
        outcome, client = _create(cad_clients, cad_client_schema, CAD_CLIENT_FIELDS, sent)
        if outcome.saved:
            return render(
                "console/admin_cad_client_secret.html",
                201,
                client=client,
                secret=client.client_secret,
                agency_name=_names(agencies, Agency, [client.agency_id]).get(client.agency_id),
            )
    return _cad_client_page(None, sent, outcome)


@bp.route("/admin/cad-clients/<int:client_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_cad_client(client_id: int):
    """A CAD client: its name, its agency, and whether it may get tokens (deactivating it ends
    the tokens it holds, as the API's PATCH does)."""
    record = _get(cad_clients, client_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = forms.checkboxes(request.form, ("is_active",))
        outcome = _update(cad_clients, cad_client_schema, CAD_CLIENT_EDIT_FIELDS, record, sent)
        if outcome.saved:
            return redirect(
                url_for("console.admin_cad_client", client_id=record.id, notice="saved")
            )
    return _cad_client_page(record, sent, outcome)


def _cad_client_page(record, sent, outcome):
    values = _values(cad_client_schema, record, sent, CAD_CLIENT_EDIT_FIELDS, outcome)
    if record is None and sent is None:
        values.update(_prefilled(CAD_CLIENT_FIELDS))
    return render(
        "console/admin_cad_client.html",
        _status(outcome),
        client=record,
        values=values,
        outcome=outcome,
        agency_choices=_choices(agencies),
        notice=NOTICES.get(request.args.get("notice")),
    )


# --- MOUs -------------------------------------------------------------------------------------


@bp.get("/admin/mous")
@page(*ADMINS)
def admin_mous():
    search = _search()
    status = request.args.get("status", "")
    conditions = [mous.matching(search)] if search else []
    if status in MOU_STATES:
        conditions += mous.filters({"status": status})
    result = mous.list(db.session(), signed_in().principal, page_args(), *conditions)
    return render(
        "console/admin_mous.html",
        result=result,
        search=search,
        chosen_status=status,
        states=MOU_STATES,
        **_party_names(result.items),
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/admin/mous/new", methods=["GET", "POST"])
@page(*ADMINS)
def admin_new_mou():
    """A new MOU, a draft (the lifecycle's first step): an administrator drafts it for the
    organization unless it says otherwise, then takes the steps on the MOU's page."""
    outcome, shown = forms.Outcome(), None
    if request.method == "POST":
        shown = forms.checkboxes(request.form, ("covers_all_facilities",))
        outcome, record = _create(mous, mou_schema, NEW_MOU_FIELDS, _typed_lists(shown))
        if outcome.saved:
            return redirect(url_for("console.admin_mou", mou_id=record.id, notice="created"))
    return _mou_form(None, shown, outcome)


@bp.route("/admin/mous/<int:mou_id>/edit", methods=["GET", "POST"])
@page(*ADMINS)
def admin_edit_mou(mou_id: int):
    """Change a draft's or a proposal's terms (the lifecycle refuses once it is active; a
    change to a proposal clears both acceptances: a new proposal)."""
    record = _get(mous, mou_id)
    outcome, shown = forms.Outcome(), None
    if request.method == "POST":
        shown = forms.checkboxes(request.form, ("covers_all_facilities",))
        outcome = _update(mous, mou_schema, MOU_FIELDS, record, _typed_lists(shown))
        if outcome.saved:
            return redirect(url_for("console.admin_mou", mou_id=record.id, notice="saved"))
    return _mou_form(record, shown, outcome)


def _mou_form(record, shown, outcome):
    values = _values(mou_schema, record, shown, NEW_MOU_FIELDS, outcome)
    if record is None and shown is None:
        # A new MOU's usual start: the whole organization, from today.
        values.update(
            covers_all_facilities=True,
            effective_date=db.utc_today().isoformat(),
            **_prefilled(MOU_FIELDS),
        )
    return render(
        "console/admin_mou_form.html",
        _status(outcome),
        mou=record,
        values=values,
        outcome=outcome,
        organization_choices=_choices(organizations),
        agency_choices=_choices(agencies),
        scopes=[(scope, SCOPE_LABELS[scope]) for scope in MOU_SCOPES],
        parties=PARTIES,
    )


@bp.route("/admin/mous/<int:mou_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_mou(mou_id: int):
    """An MOU as it stands, and the lifecycle's next steps, taken for the party the
    administrator names (lifecycle.py: an administrator acts for the party it says)."""
    session, principal = db.session(), signed_in().principal
    record = _get(mous, mou_id)
    outcome, taken = forms.Outcome(), []
    if request.method == "POST":

        def change():
            _confirm(request.form)
            action, party = _step(request.form.get("step", ""))
            mous.authorize_write(principal, record)
            forms.require_version(record, request.form.get("version"))
            sent = MultiDict(request.form)
            sent["party"] = party
            schema = STEP_SCHEMAS[action]
            data = forms.load(schema, sent, tuple(schema.fields))
            taken.append((action, getattr(mous, action)(session, principal, record, data)))

        outcome = forms.submit(change)
        if outcome.saved:
            action, result = taken[0]
            return redirect(url_for("console.admin_mou", mou_id=result.id, notice=action))
        session.refresh(record)
    steps = _steps_offered(record)
    return render(
        "console/admin_mou.html",
        _status(outcome),
        mou=record,
        steps=steps,
        asks_reason=any(value.startswith("terminate:") for value, _ in steps),
        outcome=outcome,
        reason=request.form.get("reason", "") if not outcome.saved else "",
        facilities=_names(facilities, Facility, record.facility_ids),
        scope_labels=SCOPE_LABELS,
        **_party_names([record]),
        notice=NOTICES.get(request.args.get("notice")),
    )


def _step(value: str) -> tuple[str, str]:
    """ "accept:agency" -> ("accept", "agency"), from the step form's one select."""
    action, _, party = value.partition(":")
    if action not in STEP_SCHEMAS or party not in PARTIES:
        raise errors.InvalidInput({"step": ["Choose a step."]})
    return action, party


def _steps_offered(mou: Mou) -> list[tuple[str, str]]:
    """The steps to offer at the MOU's stage, as (value, words). Only an offer: the lifecycle
    decides (a step taken meanwhile by the other party is refused there, with its reasons)."""
    offered = []
    if mou.status == "draft":
        offered.append(
            (
                f"propose:{mou.drafting_party}",
                f"Propose it for the {mou.drafting_party} (its drafter)",
            )
        )
    if mou.status == "proposed":
        offered += [
            (f"accept:{party}", f"Accept it for the {party}")
            for party in PARTIES
            if mou.accepted_at(party) is None
        ]
    if mou.state in ("proposed", "active"):
        offered += [(f"terminate:{party}", f"Terminate it for the {party}") for party in PARTIES]
    if mou.status == "active":
        offered += [(f"renew:{party}", f"Draft its renewal for the {party}") for party in PARTIES]
    return offered


def _party_names(items) -> dict:
    items = list(items)
    return {
        "organization_names": _names(
            organizations, Organization, (m.organization_id for m in items)
        ),
        "agency_names": _names(agencies, Agency, (m.agency_id for m in items)),
    }
