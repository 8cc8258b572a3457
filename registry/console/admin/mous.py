"""MOUs between an organization and an agency: drafted here, their terms changed while they
are drafts or proposals, and taken through the lifecycle's steps for the party the
administrator names (mous/lifecycle.py decides each step)."""

from flask import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from ... import db, errors
from ...agencies.models import Agency
from ...agencies.service import agencies
from ...facilities.models import Facility
from ...facilities.service import facilities
from ...mous.models import MOU_SCOPES, MOU_STATES, PARTIES, Mou
from ...mous.schemas import MouRenewalSchema, MouSchema, MouTerminationSchema, PartySchema
from ...mous.service import mous
from ...organizations.models import Organization
from ...organizations.service import organizations
from .. import forms
from ..manager import page_args
from ..web import bp, page, render, signed_in
from .common import (
    ADMINS,
    NOTICES,
    choices,
    confirm_password,
    create_record,
    form_values,
    get_record,
    names_of,
    prefilled,
    search_text,
    typed_lists,
    update_record,
)

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
mou_schema = MouSchema()
STEP_SCHEMAS = {
    "propose": PartySchema(),
    "accept": PartySchema(),
    "terminate": MouTerminationSchema(),
    "renew": MouRenewalSchema(),
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


# --- MOUs -------------------------------------------------------------------------------------


@bp.get("/admin/mous")
@page(*ADMINS)
def admin_mous():
    search = search_text()
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
        outcome, record = create_record(mous, mou_schema, NEW_MOU_FIELDS, typed_lists(shown))
        if outcome.saved:
            return redirect(url_for("console.admin_mou", mou_id=record.id, notice="created"))
    return _mou_form(None, shown, outcome)


@bp.route("/admin/mous/<int:mou_id>/edit", methods=["GET", "POST"])
@page(*ADMINS)
def admin_edit_mou(mou_id: int):
    """Change a draft's or a proposal's terms (the lifecycle refuses once it is active; a
    change to a proposal clears both acceptances: a new proposal)."""
    record = get_record(mous, mou_id)
    outcome, shown = forms.Outcome(), None
    if request.method == "POST":
        shown = forms.checkboxes(request.form, ("covers_all_facilities",))
        outcome = update_record(mous, mou_schema, MOU_FIELDS, record, typed_lists(shown))
        if outcome.saved:
            return redirect(url_for("console.admin_mou", mou_id=record.id, notice="saved"))
    return _mou_form(record, shown, outcome)


def _mou_form(record, shown, outcome):
    values = form_values(mou_schema, record, shown, NEW_MOU_FIELDS, outcome)
    if record is None and shown is None:
        # A new MOU's usual start: the whole organization, from today.
        values.update(
            covers_all_facilities=True,
            effective_date=db.utc_today().isoformat(),
            **prefilled(MOU_FIELDS),
        )
    return render(
        "console/admin_mou_form.html",
        outcome.status,
        mou=record,
        values=values,
        outcome=outcome,
        organization_choices=choices(organizations),
        agency_choices=choices(agencies),
        scopes=[(scope, SCOPE_LABELS[scope]) for scope in MOU_SCOPES],
        parties=PARTIES,
    )


@bp.route("/admin/mous/<int:mou_id>", methods=["GET", "POST"])
@page(*ADMINS)
def admin_mou(mou_id: int):
    """An MOU as it stands, and the lifecycle's next steps, taken for the party the
    administrator names (lifecycle.py: an administrator acts for the party it says)."""
    session, principal = db.session(), signed_in().principal
    record = get_record(mous, mou_id)
    outcome, taken = forms.Outcome(), []
    if request.method == "POST":

        def change():
            confirm_password(request.form)
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
        outcome.status,
        mou=record,
        steps=steps,
        asks_reason=any(value.startswith("terminate:") for value, _ in steps),
        outcome=outcome,
        reason=request.form.get("reason", "") if not outcome.saved else "",
        facilities=names_of(facilities, Facility, record.facility_ids),
        scope_labels=SCOPE_LABELS,
        **_party_names([record]),
        notice=NOTICES.get(request.args.get("notice")),
    )


def _step(value: str) -> tuple[str, str]:
    """The step form's one select, read: "accept:agency" is ("accept", "agency")."""
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
        "organization_names": names_of(
            organizations, Organization, (m.organization_id for m in items)
        ),
        "agency_names": names_of(agencies, Agency, (m.agency_id for m in items)),
    }
