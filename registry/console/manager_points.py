"""A facility's access points and tactical points, for its managers.

An access point's code and key location go in and never come back out: their boxes are always
empty, an empty box keeps what is stored, and the values are read only through the API's
audited reveal, behind a reason and the password. Tactical points are placed on a small map (a
click fills the position's boxes, which stay the way to type it). Every write goes through the
point services as the API's routes call them; every edit or delete carries the record's
version (the API's If-Match rule)."""

from contextlib import suppress

from flask import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from .. import db, errors
from ..facilities.models import ACCESS_POINT_KINDS, TACTICAL_POINT_KINDS, AccessPoint, TacticalPoint
from ..facilities.reveal import reveal
from ..facilities.schemas import AccessPointSchema, RevealRequestSchema, TacticalPointSchema
from ..facilities.service import access_points, tactical_points
from . import forms, sessions
from .manager import (
    MANAGERS,
    facility_part,
    managed_facility,
    map_points,
    notice,
    page_args,
)
from .web import bp, page, render, signed_in

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
            forms.sent_once(session, principal, sent)
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
        outcome.status,
        facility=facility,
        listed=listed,
        point=None,
        values=forms.form_values(access_point_schema, POINT_FIELDS, None, sent, outcome),
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
    point = facility_part(access_points, facility, point_id)
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
    point = facility_part(access_points, facility, point_id)

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
        outcome.status,
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
        outcome.status,
        facility=facility,
        listed=None,
        point=point,
        values=forms.form_values(access_point_schema, POINT_FIELDS, point, sent, outcome),
        opened=forms.opened_values(access_point_schema, POINT_FIELDS, point, sent, outcome),
        kinds=ACCESS_POINT_KINDS,
        outcome=outcome,
        unsaved=forms.unsaved_values(access_point_schema, POINT_FIELDS, point, sent)
        if outcome.conflict and sent is not None
        else {},
        secret_typed=_secret_typed(request.form, outcome),
        notice=notice(),
    )


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
            forms.sent_once(session, principal, sent)
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
        outcome.status,
        facility=facility,
        listed=listed,
        point=None,
        values=forms.form_values(tactical_point_schema, TACTICAL_FIELDS, None, sent, outcome),
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
    point = facility_part(tactical_points, facility, point_id)
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
    point = facility_part(tactical_points, facility, point_id)

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
        outcome.status,
        facility=facility,
        listed=None,
        point=point,
        values=forms.form_values(tactical_point_schema, TACTICAL_FIELDS, point, sent, outcome),
        opened=forms.opened_values(tactical_point_schema, TACTICAL_FIELDS, point, sent, outcome),
        kinds=TACTICAL_POINT_KINDS,
        map_points=map_points(facility, [point]),
        outcome=outcome,
        unsaved=forms.unsaved_values(tactical_point_schema, TACTICAL_FIELDS, point, sent)
        if outcome.conflict and sent is not None
        else {},
        notice=notice(),
    )
