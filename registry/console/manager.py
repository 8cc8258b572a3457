"""Facility managers' pages: their organization's facilities, what needs attention, and each
facility's record. Administrators may open them too (they manage every organization).

The parts of a facility's pre-plan have their pages beside this module: manager_contacts.py,
manager_points.py (access and tactical points), manager_floor_plans.py."""

from flask import abort, redirect, request, url_for

from .. import db
from ..access.roles import Role
from ..contacts.service import contacts
from ..facilities.confirm_all import confirm_all
from ..facilities.models import FACILITY_TYPES, AccessPoint, TacticalPoint
from ..facilities.schemas import FacilitySchema
from ..facilities.service import access_points, facilities, tactical_points
from ..floorplans.service import floor_plans
from ..organizations.service import organizations
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
    "added": "Added.",
    "deleted": "Deleted.",
    "uploaded": "Floor plan uploaded.",
}
# How many of each part the facility page lists at a glance (the parts' pages list them all),
# and how many points its map shows.
GLANCE = 5
MAPPED = 100
# Organizations an administrator picks from on the new-facility form.
MAX_ORGANIZATIONS = 1000


def page_args(default_per_page: int = PER_PAGE) -> dict:
    """`page` from the query string (a bad one is page 1: a link, not a form)."""
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < int(raw) <= 1_000_000 else 1
    return {"page": number, "per_page": default_per_page}


def notice() -> str | None:
    return NOTICES.get(request.args.get("notice"))


def managed_facility(facility_id: int):
    """The facility, when the signed-in person may change it: another organization's is not
    found (404, as in the API), one they read but may not change is 403."""
    principal = signed_in().principal
    record = facilities.get(db.session(), principal, facility_id)
    if not facilities.may_write(principal, record):
        abort(403)
    return record


def facility_part(service, facility, record_id: int):
    """A part of this facility (a point, a floor plan) by its service; another facility's is
    not found here."""
    record = service.get(db.session(), signed_in().principal, record_id)
    if record.facility_id != facility.id:
        abort(404)
    return record


@bp.get("/facilities")
@page(*MANAGERS)
def dashboard():
    """The organization's facilities: those needing attention first (stale or incomplete
    pre-plans, the freshness report), then all of them, searchable."""
    session, principal = db.session(), signed_in().principal
    view = request.args.get("view", "attention")
    search = request.args.get("q", "").strip()[:200]
    none_yet = False
    if view == "attention":
        result = freshness.report(
            session,
            principal,
            {**page_args(), "due_within_days": freshness.DEFAULT_DUE_WITHIN_DAYS},
        )
        # "Nothing needs attention" would be wrong for an organization with no facility yet.
        if result.total == 0:
            none_yet = facilities.list(session, principal, {"page": 1, "per_page": 1}).total == 0
    else:
        view = "all"
        conditions = [facilities.matching(search)] if search else []
        result = facilities.list(session, principal, page_args(), *conditions)
    return render(
        "console/dashboard.html",
        view=view,
        search=search,
        result=result,
        none_yet=none_yet,
        reason_labels=REASON_LABELS,
        notice=notice(),
    )


@bp.route("/facilities/new", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_new():
    """A new facility: of the manager's own organization; an administrator picks one."""
    session, principal = db.session(), signed_in().principal
    facilities.authorize_create(principal)
    names = FACILITY_FIELDS + (("organization_id",) if principal.is_admin else ())
    outcome, sent, created = forms.Outcome(), None, []
    if request.method == "POST":
        sent = request.form

        def change():
            forms.sent_once(session, principal, sent)
            data = forms.load(facility_schema, sent, names)
            created.append(facilities.create(session, principal, data))

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility", facility_id=created[0].id, notice="created")
            )
    choices = []
    if principal.is_admin:
        listed = organizations.list(session, principal, {"page": 1, "per_page": MAX_ORGANIZATIONS})
        choices = [(o.id, o.name) for o in listed.items]
    return render(
        "console/facility_new.html",
        outcome.status,
        values={name: sent.get(name) for name in names} if sent else {},
        outcome=outcome,
        facility_types=FACILITY_TYPES,
        organizations=choices,
    )


@bp.route("/facilities/<int:facility_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility(facility_id: int):
    """A facility's record: its details (edited in place), with its pre-plan at a glance and
    links to its parts."""
    session, principal = db.session(), signed_in().principal
    record = managed_facility(facility_id)
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
    return _facility_page(record, outcome, sent)


@bp.post("/facilities/<int:facility_id>/confirmation")
@page(*MANAGERS)
def facility_confirm(facility_id: int):
    """ "Confirm all still accurate": the facility and every part of its pre-plan, as
    `POST /facilities/{id}/confirm` does (the form carries the facility's version)."""
    session, principal = db.session(), signed_in().principal
    record = managed_facility(facility_id)

    def change():
        forms.require_version(record, request.form.get("version"))
        confirm_all(session, principal, record)

    outcome = forms.submit(change)
    if outcome.saved:
        return redirect(url_for("console.facility", facility_id=facility_id, notice="confirmed"))
    session.refresh(record)
    return _facility_page(record, outcome, None)


def _facility_page(record, outcome: forms.Outcome, sent):
    session, principal = db.session(), signed_in().principal
    glance, mapped = {"page": 1, "per_page": GLANCE}, {"page": 1, "per_page": MAPPED}
    points = {
        "access": access_points.list(
            session, principal, mapped, AccessPoint.facility_id == record.id
        ),
        "tactical": tactical_points.list(
            session, principal, mapped, TacticalPoint.facility_id == record.id
        ),
    }
    return render(
        "console/facility.html",
        outcome.status,
        facility=record,
        values=forms.form_values(facility_schema, FACILITY_FIELDS, record, sent, outcome),
        opened=forms.opened_values(facility_schema, FACILITY_FIELDS, record, sent, outcome),
        outcome=outcome,
        facility_types=FACILITY_TYPES,
        unsaved=forms.unsaved_values(facility_schema, FACILITY_FIELDS, record, sent)
        if outcome.conflict and sent is not None
        else {},
        notice=notice(),
        glance=GLANCE,
        contacts=contacts.listed_at(session, principal, record.id, glance),
        access_points=points["access"],
        tactical_points=points["tactical"],
        floor_plans=floor_plans.of_parent(session, principal, record, glance),
        map_points=map_points(record, points["access"].items + points["tactical"].items),
    )


def map_points(facility, points) -> list[dict]:
    """The facility and those of `points` with a position, for a map (_map.html)."""
    located = [facility, *points]
    return [
        {"lat": p.lat, "lon": p.lon, "label": p.name}
        for p in located
        if p.lat is not None and p.lon is not None
    ]
