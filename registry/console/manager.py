"""Facility managers' pages: their organization's facilities, what needs attention, and each
facility's record. Administrators may open them too (they manage every organization)."""

from flask import abort, redirect, request, url_for

from .. import db
from ..access.roles import Role
from ..facilities.models import FACILITY_TYPES
from ..facilities.schemas import FacilitySchema
from ..facilities.service import facilities
from ..reports import freshness
from . import forms
from .web import bp, page, render, signed_in

MANAGERS = (Role.FACILITY_MANAGER, Role.ADMIN)
PER_PAGE = 25
# The facility form's fields, in the order the page shows them (the API's names).
FACILITY_FIELDS = (
    "name",
    "site_code",
    "facility_type",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "lat",
    "lon",
    "main_phone",
    "occupancy",
    "opening_hours",
    "stories_above_grade",
    "stories_below_grade",
    "floor_area_sq_ft",
    "construction_type",
    "has_sprinklers",
    "has_fire_alarm",
    "hazards",
    "cctv_notes",
    "security_office_notes",
    "bleeding_control_kit_locations",
    "aed_locations",
    "notes",
)
facility_schema = FacilitySchema()
# The freshness report's reasons, in words.
REASON_LABELS = {
    "no_24_7_contact": "no contact available 24/7",
    "no_access_point": "no access point",
    "no_staging_area": "no staging area",
    "main_phone_shared": "main phone shared with another facility",
}
# Saved-page notices, by key: a redirect names one, the page shows its words (never the URL's).
NOTICES = {
    "saved": "Saved.",
    "created": "Facility created.",
    "confirmed": "Thank you: every part of this pre-plan is marked as still accurate today.",
}


def page_args(default_per_page: int = PER_PAGE) -> dict:
    """`page` from the query string (a bad one is page 1: a link, not a form)."""
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < int(raw) <= 1_000_000 else 1
    return {"page": number, "per_page": default_per_page}


@bp.get("/facilities")
@page(*MANAGERS)
def dashboard():
    """The organization's facilities: those needing attention first (stale or incomplete
    pre-plans, the freshness report), then all of them, searchable."""
    session, principal = db.session(), signed_in().principal
    view = request.args.get("view", "attention")
    search = request.args.get("q", "").strip()[:200]
    if view == "attention":
        result = freshness.report(
            session,
            principal,
            {**page_args(), "due_within_days": freshness.DEFAULT_DUE_WITHIN_DAYS},
        )
    else:
        view = "all"
        conditions = [facilities.matching(search)] if search else []
        result = facilities.list(session, principal, page_args(), *conditions)
    return render(
        "console/dashboard.html",
        view=view,
        search=search,
        result=result,
        reason_labels=REASON_LABELS,
        notice=NOTICES.get(request.args.get("notice")),
    )


@bp.route("/facilities/<int:facility_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility(facility_id: int):
    """A facility's record: its details (edited in place), with links to its parts."""
    session, principal = db.session(), signed_in().principal
    record = facilities.get(session, principal, facility_id)
    if not facilities.may_write(principal, record):
        abort(403)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = forms.checkboxes(request.form, ())

        def change():
            forms.require_version(record, sent.get("version"))
            data = forms.load(facility_schema, sent, FACILITY_FIELDS, partial=True)
            facilities.update(session, principal, record, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(url_for("console.facility", facility_id=facility_id, notice="saved"))
        session.refresh(record)
    return render(
        "console/facility.html",
        422 if outcome.errors else 409 if outcome.conflict else 200,
        facility=record,
        values=_values(record, sent, outcome),
        outcome=outcome,
        facility_types=FACILITY_TYPES,
        unsaved=_unsaved(record, sent) if outcome.conflict else {},
        notice=NOTICES.get(request.args.get("notice")),
    )


def _values(record, sent, outcome) -> dict:
    """What the form's boxes show: the stored record, or what was sent when it was refused for
    its input (so nothing typed is lost). After a conflict: the other person's saved version."""
    stored = facility_schema.dump(record)
    if sent is None or outcome.conflict:
        return stored
    return {**stored, **{name: sent.get(name) for name in FACILITY_FIELDS if name in sent}}


def _unsaved(record, sent) -> dict:
    """After a conflict: what this person typed that differs from the version now saved, so
    they can apply it again by hand."""
    stored = facility_schema.dump(record)
    unsaved = {}
    for name in FACILITY_FIELDS:
        if name not in sent:
            continue
        typed, saved = sent.get(name, "").strip(), stored.get(name)
        if typed != (
            "" if saved is None else str(saved).lower() if isinstance(saved, bool) else str(saved)
        ):
            unsaved[name] = typed
    return unsaved
