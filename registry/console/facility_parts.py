"""The parts of a facility's pre-plan, for its managers: contacts in call order, access points
(whose codes go in and never come back out, except through the audited reveal), tactical
points on a small map, and floor plans with their previews.

Each part has a list page with an "add" form and an edit page with a "delete" button; every
write goes through the part's own service, as the API's routes call it, and every edit or
delete carries the record's version (the API's If-Match rule, forms.require_version).
"""

from contextlib import suppress

from flask import abort, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from .. import db, errors
from ..contacts.models import PHONE_KINDS
from ..contacts.schemas import ContactSchema
from ..contacts.service import contacts
from ..facilities.models import ACCESS_POINT_KINDS, TACTICAL_POINT_KINDS, AccessPoint, TacticalPoint
from ..facilities.reveal import reveal
from ..facilities.schemas import AccessPointSchema, RevealRequestSchema, TacticalPointSchema
from ..facilities.service import access_points, tactical_points
from ..floorplans.downloads import download
from ..floorplans.models import FloorPlan
from ..floorplans.schemas import FloorPlanChangeSchema, FloorPlanSchema, FloorPlanUploadSchema
from ..floorplans.service import floor_plans
from . import forms, sessions
from .manager import (
    MANAGERS,
    form_values,
    managed_facility,
    map_points,
    notice,
    page_args,
    status_of,
    unsaved_values,
)
from .web import bp, page, render, signed_in

# --- contacts --------------------------------------------------------------------------------

CONTACT_FIELDS = ("name", "role", "email", "call_order", "available_24_7", "notes")
contact_schema = ContactSchema()
# Phone rows on a contact's form: at least this many, one empty beyond those it has, and no
# more than the API takes.
PHONE_ROWS = 3
MAX_PHONES = 10


@bp.route("/facilities/<int:facility_id>/contacts", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_contacts(facility_id: int):
    """The contacts the facility lists, in call order (24/7 first), and a form to add one."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = forms.checkboxes(request.form, ("available_24_7",))

        def change():
            contacts.authorize_create(principal)
            data = _contact_data(sent, partial=False)
            contacts.create(session, principal, {**data, "facility_id": facility.id})

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_contacts", facility_id=facility_id, notice="added")
            )
    listed = contacts.listed_at(session, principal, facility.id, page_args())
    values = form_values(contact_schema, CONTACT_FIELDS, None, sent, outcome)
    values.setdefault("call_order", min(listed.total + 1, 100))
    return render(
        "console/facility_contacts.html",
        status_of(outcome),
        facility=facility,
        listed=listed,
        contact=None,
        values=values,
        phones=_phone_rows(None, sent),
        phone_kinds=PHONE_KINDS,
        outcome=outcome,
        notice=notice(),
    )


@bp.route("/facilities/<int:facility_id>/contacts/<int:contact_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_contact(facility_id: int, contact_id: int):
    """One contact the facility lists. A facility's own contact is edited here whole; an
    organization's contact (shared by several facilities) here too, its call order being its
    place at this facility."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    contact = _listed_contact(facility, contact_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = forms.checkboxes(request.form, ("available_24_7",))

        def change():
            forms.require_version(contact, sent.get("version"))
            data = _contact_data(sent, partial=True)
            if contact.facility_id is None and "call_order" in data:
                # Shared: the person's place here is this facility's entry in its list.
                here = data.pop("call_order")
                data["facilities"] = [
                    {**place, "call_order": here} if place["facility_id"] == facility.id else place
                    for place in contact.facilities
                ]
            contacts.update(session, principal, contact, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_contacts", facility_id=facility_id, notice="saved")
            )
        session.refresh(contact)
    return _contact_page(facility, contact, outcome, sent)


@bp.post("/facilities/<int:facility_id>/contacts/<int:contact_id>/delete")
@page(*MANAGERS)
def facility_contact_delete(facility_id: int, contact_id: int):
    """Delete a facility's own contact (softly, restorable, as the API deletes)."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    contact = _listed_contact(facility, contact_id)
    if contact.facility_id != facility.id:
        raise errors.Forbidden(
            "This contact is your organization's, listed at several facilities: deleting it "
            "here would remove it from all of them."
        )

    def change():
        forms.require_version(contact, request.form.get("version"))
        contacts.delete(session, principal, contact)

    outcome = forms.submit(change)
    if outcome.saved:
        return redirect(
            url_for("console.facility_contacts", facility_id=facility_id, notice="deleted")
        )
    session.refresh(contact)
    return _contact_page(facility, contact, outcome, None)


def _listed_contact(facility, contact_id: int):
    """A contact the facility lists (its own, or its organization's assigned to it) that the
    signed-in person may change; any other is not found here."""
    principal = signed_in().principal
    contact = contacts.get(db.session(), principal, contact_id)
    places = {place["facility_id"] for place in contact.facilities}
    if contact.facility_id != facility.id and facility.id not in places:
        abort(404)
    contacts.authorize_write(principal, contact)
    return contact


def _place_here(contact, facility) -> int:
    """The contact's place in the facility's call order."""
    if contact.facility_id == facility.id:
        return contact.call_order
    return next(p["call_order"] for p in contact.facilities if p["facility_id"] == facility.id)


def _contact_page(facility, contact, outcome: forms.Outcome, sent):
    stored = {**contact_schema.dump(contact), "call_order": _place_here(contact, facility)}
    values = stored if sent is None or outcome.conflict else {**stored, **_sent(sent)}
    unsaved = {}
    if outcome.conflict and sent is not None:
        unsaved = {
            name: typed
            for name, typed in _sent(sent).items()
            if typed.strip() != _shown(stored.get(name))
        }
        typed_phones = _phones_text(_phones_sent(sent)[0])
        if typed_phones != _phones_text(contact.phones):
            unsaved["phones"] = typed_phones
    return render(
        "console/facility_contacts.html",
        status_of(outcome),
        facility=facility,
        listed=None,
        contact=contact,
        shared=contact.facility_id is None,
        values=values,
        phones=_phone_rows(contact, None if outcome.conflict else sent),
        phone_kinds=PHONE_KINDS,
        outcome=outcome,
        unsaved=unsaved,
        notice=notice(),
    )


def _sent(sent) -> dict:
    return {name: sent.get(name) for name in CONTACT_FIELDS if name in sent}


def _shown(value) -> str:
    """A stored value as its box shows it."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _contact_data(form: MultiDict, partial: bool) -> dict:
    """A contact's fields and its phones from the form, validated by the API's schema; every
    problem at once, each under the box it concerns (a phone's under its row)."""
    problems, data = {}, {}
    try:
        data = forms.load(contact_schema, form, CONTACT_FIELDS, partial=partial)
    except errors.InvalidInput as refused:
        problems.update(refused.errors)
    phones, rows = _phones_sent(form)
    try:
        data["phones"] = contact_schema.load({"phones": phones}, partial=True)["phones"]
    except ValidationError as refused:
        for index, messages in refused.messages.get("phones", {}).items():
            if isinstance(index, int):
                for name, said in messages.items():
                    problems[f"phones-{rows[index]}-{name}"] = said
            else:
                problems.setdefault("phones", []).extend(messages)
    if problems:
        raise errors.InvalidInput(problems)
    return data


def _phones_sent(form: MultiDict) -> tuple[list[dict], list[int]]:
    """The phone rows filled in (an empty row is none), and which row each one came from."""
    phones, rows = [], []
    for row in range(MAX_PHONES):
        number = form.get(f"phones-{row}-number")
        if number is None:
            continue
        extension = form.get(f"phones-{row}-extension", "").strip()
        if not number.strip() and not extension:
            continue
        phones.append(
            {
                "kind": form.get(f"phones-{row}-kind", ""),
                "number": number,
                "extension": extension or None,
            }
        )
        rows.append(row)
    return phones, rows


def _phone_rows(contact, sent) -> list[dict]:
    """The phone rows a form shows: what was sent, else the contact's numbers; then empty
    rows up to PHONE_ROWS, or one beyond the last."""
    if sent is not None:
        filled = [
            {
                "kind": sent.get(f"phones-{row}-kind", ""),
                "number": sent.get(f"phones-{row}-number", ""),
                "extension": sent.get(f"phones-{row}-extension", ""),
            }
            for row in range(MAX_PHONES)
            if f"phones-{row}-number" in sent
        ]
    else:
        filled = list(contact.phones) if contact is not None else []
    wanted = min(MAX_PHONES, max(PHONE_ROWS, len(filled) + 1))
    return filled + [{"kind": "mobile", "number": "", "extension": ""}] * (wanted - len(filled))


def _phones_text(phones: list[dict]) -> str:
    return "; ".join(
        f"{p['kind']} {p['number']}" + (f" x{p['extension']}" if p.get("extension") else "")
        for p in phones
    )


# --- access points ---------------------------------------------------------------------------

POINT_FIELDS = ("name", "kind", "level", "lat", "lon", "description", "notes")
# Write-only: a box for each is always empty, and an empty box keeps what is stored.
SECRET_FIELDS = ("code", "key_location")
access_point_schema = AccessPointSchema()
reveal_request_schema = RevealRequestSchema()


@bp.route("/facilities/<int:facility_id>/access-points", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_access_points(facility_id: int):
    """The facility's access points (whether a code is on file, never the code) and a form to
    add one."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = _access_point_form(request.form)

        def change():
            access_points.authorize_create(principal)
            data = _load_access_point(sent, partial=False)
            access_points.create(session, principal, {**data, "facility_id": facility.id})

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_access_points", facility_id=facility_id, notice="added")
            )
    listed = access_points.list(
        session, principal, page_args(), AccessPoint.facility_id == facility.id
    )
    return render(
        "console/facility_access_points.html",
        status_of(outcome),
        facility=facility,
        listed=listed,
        point=None,
        values=form_values(access_point_schema, POINT_FIELDS, None, sent, outcome),
        kinds=ACCESS_POINT_KINDS,
        outcome=outcome,
        secret_typed=_secret_typed(request.form, outcome),
        notice=notice(),
    )


@bp.route("/facilities/<int:facility_id>/access-points/<int:point_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_access_point(facility_id: int, point_id: int):
    """One access point. Its code and key location are never shown: a box left empty keeps
    the stored one, a box filled in replaces it, "remove" clears it."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    point = _part(access_points, facility, point_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = _access_point_form(request.form)

        def change():
            forms.require_version(point, sent.get("version"))
            data = _load_access_point(sent, partial=True)
            access_points.update(session, principal, point, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_access_points", facility_id=facility_id, notice="saved")
            )
        session.refresh(point)
    return _access_point_page(facility, point, outcome, sent)


@bp.post("/facilities/<int:facility_id>/access-points/<int:point_id>/delete")
@page(*MANAGERS)
def facility_access_point_delete(facility_id: int, point_id: int):
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    point = _part(access_points, facility, point_id)

    def change():
        forms.require_version(point, request.form.get("version"))
        access_points.delete(session, principal, point)

    outcome = forms.submit(change)
    if outcome.saved:
        return redirect(
            url_for("console.facility_access_points", facility_id=facility_id, notice="deleted")
        )
    session.refresh(point)
    return _access_point_page(facility, point, outcome, None)


@bp.route("/access-points/<int:point_id>/reveal", methods=["GET", "POST"])
@page(*MANAGERS)
def access_point_reveal(point_id: int):
    """Reveal an access point's code and key location: the API's audited reveal, with a reason
    and the password (unless given within the fresh-login window). The values are shown once,
    on the answer to the form, never in a URL.

    A POST goes to the reveal first, which judges the point itself as the API's route does, so
    that every attempt is in the audit trail, one for another organization's point too (404)."""
    session, principal = db.session(), signed_in().principal
    outcome, revealed = forms.Outcome(), []
    if request.method == "POST":
        outcome = forms.submit(lambda: revealed.append(_reveal(session, point_id, request.form)))
    point = access_points.get(session, principal, point_id)
    return render(
        "console/facility_reveal.html",
        status_of(outcome),
        facility=managed_facility(point.facility_id),
        point=point,
        revealed=revealed[0] if revealed else None,
        values={"reason": request.form.get("reason")} if outcome.errors else {},
        outcome=outcome,
    )


def _reveal(session, point_id: int, form: MultiDict):
    """The console's fresh-password rule in front of the API's reveal. A refused password is
    recorded as the API records a reveal without a fresh login (reveal with fresh=False), then
    said beside its box, with anything wrong with the reason."""
    who = signed_in()

    def load_request() -> dict:
        return forms.load(reveal_request_schema, form, ("reason",))

    try:
        sessions.confirm_password(session, who, form.get("password"))
    except errors.InvalidInput as refused:
        # Audits the attempt as refused for want of a fresh login, then refuses it.
        with suppress(errors.FreshLoginRequired):
            reveal(session, who.principal, point_id, load_request, fresh=False)
        problems = dict(refused.errors)
        try:
            load_request()
        except errors.InvalidInput as invalid:
            problems.update(invalid.errors)
        raise errors.InvalidInput(problems).keeping_changes() from None
    return reveal(session, who.principal, point_id, load_request, fresh=True)


def _access_point_form(form: MultiDict) -> MultiDict:
    """The form as the API's body would say it: a secret's box left empty sends nothing (the
    stored value stays), "remove" sends null, and a value typed in replaces it."""
    sent = MultiDict((k, v) for k, v in form.items(multi=True) if k not in SECRET_FIELDS)
    for name in SECRET_FIELDS:
        if form.get(f"remove_{name}") in ("on", "true"):
            sent[name] = ""
        elif form.get(name, "").strip():
            sent[name] = form[name]
    return sent


def _load_access_point(form: MultiDict, partial: bool) -> dict:
    """The access point's fields from the form (after _access_point_form), by the API's schema;
    a secret both typed and ticked for removal is refused rather than guessed at."""
    both = {
        name: ["Type a new value or tick “remove”, not both."]
        for name in SECRET_FIELDS
        if request.form.get(name, "").strip() and request.form.get(f"remove_{name}")
    }
    if both:
        raise errors.InvalidInput(both)
    return forms.load(access_point_schema, form, POINT_FIELDS + SECRET_FIELDS, partial=partial)


def _secret_typed(form: MultiDict, outcome: forms.Outcome) -> bool:
    """Whether a refused form had a secret typed in: it is not shown again, so say so."""
    return not outcome.saved and any(form.get(name, "").strip() for name in SECRET_FIELDS)


def _access_point_page(facility, point, outcome: forms.Outcome, sent):
    return render(
        "console/facility_access_points.html",
        status_of(outcome),
        facility=facility,
        listed=None,
        point=point,
        values=form_values(access_point_schema, POINT_FIELDS, point, sent, outcome),
        kinds=ACCESS_POINT_KINDS,
        outcome=outcome,
        unsaved=unsaved_values(access_point_schema, POINT_FIELDS, point, sent)
        if outcome.conflict and sent is not None
        else {},
        secret_typed=_secret_typed(request.form, outcome),
        notice=notice(),
    )


def _part(service, facility, record_id: int):
    """A point of this facility (another facility's is not found here)."""
    record = service.get(db.session(), signed_in().principal, record_id)
    if record.facility_id != facility.id:
        abort(404)
    return record


# --- tactical points -------------------------------------------------------------------------

TACTICAL_FIELDS = (
    *POINT_FIELDS,
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "capacity",
    "opened_by",
    "activation_contact",
    "activation_phone",
    "activation_notes",
)
tactical_point_schema = TacticalPointSchema()


@bp.route("/facilities/<int:facility_id>/tactical-points", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_tactical_points(facility_id: int):
    """The facility's tactical points on a map and in a table, and a form to add one (a click
    on the map fills its position)."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = request.form

        def change():
            tactical_points.authorize_create(principal)
            data = forms.load(tactical_point_schema, sent, TACTICAL_FIELDS)
            tactical_points.create(session, principal, {**data, "facility_id": facility.id})

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_tactical_points", facility_id=facility_id, notice="added")
            )
    listed = tactical_points.list(
        session, principal, page_args(), TacticalPoint.facility_id == facility.id
    )
    return render(
        "console/facility_tactical_points.html",
        status_of(outcome),
        facility=facility,
        listed=listed,
        point=None,
        values=form_values(tactical_point_schema, TACTICAL_FIELDS, None, sent, outcome),
        kinds=TACTICAL_POINT_KINDS,
        map_points=map_points(facility, listed.items),
        outcome=outcome,
        notice=notice(),
    )


@bp.route("/facilities/<int:facility_id>/tactical-points/<int:point_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_tactical_point(facility_id: int, point_id: int):
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    point = _part(tactical_points, facility, point_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = request.form

        def change():
            forms.require_version(point, sent.get("version"))
            data = forms.load(tactical_point_schema, sent, TACTICAL_FIELDS, partial=True)
            tactical_points.update(session, principal, point, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_tactical_points", facility_id=facility_id, notice="saved")
            )
        session.refresh(point)
    return _tactical_point_page(facility, point, outcome, sent)


@bp.post("/facilities/<int:facility_id>/tactical-points/<int:point_id>/delete")
@page(*MANAGERS)
def facility_tactical_point_delete(facility_id: int, point_id: int):
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    point = _part(tactical_points, facility, point_id)

    def change():
        forms.require_version(point, request.form.get("version"))
        tactical_points.delete(session, principal, point)

    outcome = forms.submit(change)
    if outcome.saved:
        return redirect(
            url_for("console.facility_tactical_points", facility_id=facility_id, notice="deleted")
        )
    session.refresh(point)
    return _tactical_point_page(facility, point, outcome, None)


def _tactical_point_page(facility, point, outcome: forms.Outcome, sent):
    return render(
        "console/facility_tactical_points.html",
        status_of(outcome),
        facility=facility,
        listed=None,
        point=point,
        values=form_values(tactical_point_schema, TACTICAL_FIELDS, point, sent, outcome),
        kinds=TACTICAL_POINT_KINDS,
        map_points=map_points(facility, [point]),
        outcome=outcome,
        unsaved=unsaved_values(tactical_point_schema, TACTICAL_FIELDS, point, sent)
        if outcome.conflict and sent is not None
        else {},
        notice=notice(),
    )


# --- floor plans -----------------------------------------------------------------------------

UPLOAD_FIELDS = ("building", "level_number", "level_label", "title")
PLAN_FIELDS = ("level_label", "title")
upload_schema = FloorPlanUploadSchema()
plan_change_schema = FloorPlanChangeSchema()
plan_schema = FloorPlanSchema()


@bp.route("/facilities/<int:facility_id>/floor-plans", methods=["GET", "POST"])
@page(*MANAGERS, upload_limit="REGISTRY_MAX_UPLOAD_BYTES")
def facility_floor_plans(facility_id: int):
    """The current plan of each level, with its preview, and the upload form: the file is
    checked as the API's upload checks it (floor_plans.upload), within the same limits."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = request.form

        def change():
            record = floor_plans.prepare(principal, facility)
            problems, data = {}, {}
            try:
                data = forms.load(upload_schema, sent, UPLOAD_FIELDS)
            except errors.InvalidInput as refused:
                problems.update(refused.errors)
            file = request.files.get("file")
            if file is None or not file.filename:
                problems["file"] = ["Choose the file of the plan (PDF, PNG, JPEG or WebP)."]
            if problems:
                raise errors.InvalidInput(problems)
            try:
                floor_plans.upload(session, principal, record, data, file)
            except (errors.UnsupportedMediaType, errors.ContentTooLarge) as refused:
                # The check's own words, beside the file's box.
                raise errors.InvalidInput({"file": [refused.detail]}) from None

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_floor_plans", facility_id=facility_id, notice="uploaded")
            )
    return render(
        "console/facility_floor_plans.html",
        status_of(outcome),
        facility=facility,
        listed=floor_plans.of_parent(session, principal, facility, page_args()),
        plan=None,
        values={name: sent.get(name) for name in UPLOAD_FIELDS} if sent else {},
        outcome=outcome,
        notice=notice(),
    )


@bp.route("/facilities/<int:facility_id>/floor-plans/<int:plan_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_floor_plan(facility_id: int, plan_id: int):
    """One plan: its title and level label (a new file is a new upload)."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    plan = _part(floor_plans, facility, plan_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = request.form

        def change():
            forms.require_version(plan, sent.get("version"))
            data = forms.load(plan_change_schema, sent, PLAN_FIELDS, partial=True)
            floor_plans.update(session, principal, plan, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_floor_plans", facility_id=facility_id, notice="saved")
            )
        session.refresh(plan)
    return _floor_plan_page(facility, plan, outcome, sent)


@bp.post("/facilities/<int:facility_id>/floor-plans/<int:plan_id>/delete")
@page(*MANAGERS)
def facility_floor_plan_delete(facility_id: int, plan_id: int):
    """Delete one revision (softly): the level's previous plan, if any, is current again."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    plan = _part(floor_plans, facility, plan_id)

    def change():
        forms.require_version(plan, request.form.get("version"))
        floor_plans.delete(session, principal, plan)

    outcome = forms.submit(change)
    if outcome.saved:
        return redirect(
            url_for("console.facility_floor_plans", facility_id=facility_id, notice="deleted")
        )
    session.refresh(plan)
    return _floor_plan_page(facility, plan, outcome, None)


def _floor_plan_page(facility, plan: FloorPlan, outcome: forms.Outcome, sent):
    return render(
        "console/facility_floor_plans.html",
        status_of(outcome),
        facility=facility,
        listed=None,
        plan=plan,
        values=form_values(plan_schema, PLAN_FIELDS, plan, sent, outcome),
        outcome=outcome,
        unsaved=unsaved_values(plan_schema, PLAN_FIELDS, plan, sent)
        if outcome.conflict and sent is not None
        else {},
        notice=notice(),
    )


@bp.get("/floor-plans/<int:plan_id>/preview")
@page()
def floor_plan_preview(plan_id: int):
    """A plan's PNG preview (a PDF's first page), for an <img>: sent by the API's download
    (its visibility, break-glass and audit event, sandboxed)."""
    return download(db.session(), signed_in().principal, floor_plans, plan_id, None, preview=True)


@bp.get("/floor-plans/<int:plan_id>/file")
@page()
def floor_plan_file(plan_id: int):
    """A plan's file, as uploaded (a download, sandboxed and audited as the API's)."""
    return download(db.session(), signed_in().principal, floor_plans, plan_id, None)
