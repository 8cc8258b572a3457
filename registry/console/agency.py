"""Agency staff's pages: the CAD lookup as a search box, the pre-plan as a responder reads it,
incidents (the MOUs with their partners are in mous.py, shared with facility managers).

Administrators may use the lookup and the pre-plan too (the lookup's roles, less CAD clients,
which are programs). Every page calls the services the API calls, with the same audit events:
a lookup is a `preplan.lookup` (noted `via: console`), each showing of a pre-plan a
`preplan.view` (format `console`; the PDF `pdf`, as the API's), a revealed code an
`access_point.reveal`. Floor plans are shown through manager_floor_plans.py's routes, which send
them as the API's download does.
"""

from flask import current_app, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from .. import db, errors
from ..access.break_glass import HEADER, header_value, may_reveal
from ..access.roles import LOOKUP_ROLES, Role
from ..db import utcnow
from ..facilities.models import Facility
from ..facilities.reveal import reveal
from ..facilities.schemas import RevealRequestSchema
from ..facilities.service import facilities
from ..incidents.models import INCIDENT_STATUSES
from ..incidents.schemas import IncidentChangeSchema, IncidentOpenSchema
from ..incidents.service import NO_GRANT
from ..incidents.service import incidents as incident_records
from ..preplans import printing
from ..preplans.schemas import LookupQuerySchema, LookupResultSchema
from ..preplans.service import read_preplan, run_lookup, with_break_glass
from ..ratelimit import spend_pdf_budget
from . import forms, sessions
from .manager import page_args
from .web import bp, page, render, signed_in

# The lookup and the pre-plan: the people among the lookup's roles.
LOOKING_UP = tuple(role for role in LOOKUP_ROLES if role != Role.CAD)

lookup_schema = LookupQuerySchema()
lookup_result_schema = LookupResultSchema()
reveal_schema = RevealRequestSchema()
incident_open_schema = IncidentOpenSchema()
incident_change_schema = IncidentChangeSchema()

# The boxes of each way to look up, and what to say when the way chosen is left empty (which
# box to point at is the form's business; the lookup's own rules judge what is typed).
LOOKUP_WAYS = {
    "address": {"address": "Type the address to look up."},
    "position": {
        "lat": "Give the latitude, or click the map.",
        "lon": "Give the longitude, or click the map.",
    },
}
INCIDENT_FIELDS = ("cad_incident_number", "incident_type", "address", "lat", "lon", "notes")
NO_LOCATION = "Give the address, or the position (latitude and longitude)."

# Saved-page notices, by key: a redirect names one, the page shows its words.
NOTICES = {
    "opened": "Incident opened.",
    "closed": "Incident closed.",
    "open": "Incident re-opened.",
    # An incident at a facility that does not share with the agency, granting no break-glass:
    # the lookup's own note says why.
    **{f"no_grant_{reason}": f"Incident opened; {note}." for reason, note in NO_GRANT.items()},
}


def _notice():
    return NOTICES.get(request.args.get("notice"))


def _given(form: MultiDict, names) -> tuple:
    """The names of `names` whose boxes are filled in: an empty optional box means "not
    given" (an empty radius is the lookup's default, not a bad number)."""
    return tuple(name for name in names if form.get(name, "").strip())


# --- the lookup --------------------------------------------------------------------------------


@bp.route("/look-up", methods=["GET", "POST"])
@page(*LOOKING_UP)
def search():
    """The CAD lookup: by address, as dispatch has it, or by a point on the map. The form is a
    POST, so that a caller's address or position stays out of URLs and the browser's history."""
    session, principal = db.session(), signed_in().principal
    outcome, sent, way, found = forms.Outcome(), MultiDict(), "address", {}
    if request.method == "POST":
        sent = request.form
        way = "position" if sent.get("way") == "position" else "address"

        def look_up():
            boxes = LOOKUP_WAYS[way].items()
            empty = {n: [words] for n, words in boxes if not sent.get(n, "").strip()}
            if empty:
                raise errors.InvalidInput(empty)
            names = (*LOOKUP_WAYS[way], *_given(sent, ("radius_m",) if way == "position" else ()))
            args = forms.load(lookup_schema, sent, names)
            found["result"] = run_lookup(session, principal, args, via="console")

        outcome = forms.submit(look_up)
    result = found.get("result")
    return render(
        "console/agency_search.html",
        outcome.status,
        outcome=outcome,
        sent=sent,
        way=way,
        result=lookup_result_schema.dump(result) if result else None,
        points=_candidate_points(result) if result else [],
    )


def _candidate_points(result) -> list[dict]:
    """The candidates the caller may read, placed on the search map."""
    return [
        {"lat": c.lat, "lon": c.lon, "label": c.name}
        for c in result.candidates
        if c.lat is not None and c.lon is not None
    ]


# --- the pre-plan ------------------------------------------------------------------------------


@bp.get("/preplans/<int:facility_id>")
@page(*LOOKING_UP)
def preplan(facility_id: int):
    """A facility's pre-plan as a responder reads it (`?reveal=<access point id>` opens the
    form that reveals that point's code)."""
    raw = request.args.get("reveal", "")
    return _preplan_page(facility_id, reveal_point=int(raw) if raw.isdigit() else None)


@bp.post("/preplans/<int:facility_id>/access-points/<int:point_id>/reveal")
@page(*LOOKING_UP)
def reveal_code(facility_id: int, point_id: int):
    """Reveal an access point's code and key location, with a reason (audited; the password
    again unless signed in within the fresh-login window). The values are shown on this answer
    only: never in a URL, never kept by the browser (no-store)."""
    session, who = db.session(), signed_in()
    sent, shown = request.form, {}

    def change():
        try:
            sessions.confirm_password(session, who, sent.get("password"))
            fresh, refused = True, None
        except errors.InvalidInput as problem:
            fresh, refused = False, problem
        try:
            shown["revealed"] = reveal(
                session,
                who.principal,
                point_id,
                lambda: forms.load(reveal_schema, sent, ("reason",)),
                fresh=fresh,
                # A point this pre-plan does not show is refused (404) and audited as the
                # API's refusals are; one it shows but the caller may not reveal is 403.
                facility_id=facility_id,
            )
        except errors.FreshLoginRequired:
            # The reveal recorded its refusal; the form says what to do about it.
            raise refused.keeping_changes() from None

    return _preplan_page(
        facility_id,
        reveal_point=point_id,
        sent=sent,
        reveal_with=lambda: forms.submit(change),
        shown=shown,
    )


def _preplan_page(facility_id, reveal_point=None, sent=None, reveal_with=None, shown=None):
    session, principal = db.session(), signed_in().principal
    rendered, decision = read_preplan(session, principal, facility_id, "console")
    document = rendered.document
    if decision.incident is not None:
        document = with_break_glass(document, decision.incident)
    with_secrets = any(p["has_code"] or p["has_key_location"] for p in document["access_points"])
    revealable = (
        with_secrets and may_reveal(session, principal, session.get(Facility, facility_id)).allowed
    )
    if reveal_with is None and not revealable:
        reveal_point = None
    outcome = reveal_with() if reveal_with is not None else forms.Outcome()
    return render(
        "console/agency_preplan.html",
        outcome.status,
        document=document,
        incident=decision.incident,
        revealable=revealable,
        reveal_point=reveal_point,
        revealed=(shown or {}).get("revealed"),
        outcome=outcome,
        sent=sent or MultiDict(),
        parties=printing.parties(session, principal, document["mous"]),
        points=_preplan_points(document),
        needs_password=not signed_in().is_fresh,
    )


def _preplan_points(document: dict) -> list[dict]:
    """The facility and its located points, for the pre-plan's map."""
    facility = document["facility"]
    placed = [{"lat": facility["lat"], "lon": facility["lon"], "label": facility["name"]}]
    for kind in ("tactical_points", "access_points"):
        placed += [
            {"lat": p["lat"], "lon": p["lon"], "label": f"{p['name']} ({p['kind']})"}
            for p in document[kind]
        ]
    return [p for p in placed if p["lat"] is not None and p["lon"] is not None]


@bp.get("/preplans/<int:facility_id>/preplan.pdf")
@page(*LOOKING_UP)
def preplan_pdf(facility_id: int):
    """The printed pre-plan as PDF: the API's printed page, read and audited as the API's
    (`preplan.view`, format pdf), from the same PDF budget."""
    session, principal = db.session(), signed_in().principal
    rendered, decision = read_preplan(session, principal, facility_id, "pdf")
    document = rendered.document
    if decision.incident is not None:
        document = with_break_glass(document, decision.incident)
    spend_pdf_budget()
    names = printing.parties(session, principal, document["mous"])
    body = printing.render(printing.printable(principal, document, names, utcnow()), "pdf")
    response = current_app.response_class(body, mimetype=printing.MEDIA_TYPES["pdf"])
    response.headers.set("Content-Disposition", "inline", filename=f"preplan-{facility_id}.pdf")
    response.headers["Cache-Control"] = "no-store"  # contacts' phone numbers
    if decision.incident is not None:
        response.headers[HEADER] = header_value(decision.incident)
    return response


CONFIRM_CLOSE = "Tick this box to confirm: closing ends the break-glass access for good."

# --- incidents ---------------------------------------------------------------------------------


@bp.get("/incidents", endpoint="incidents")
@page(Role.AGENCY_USER)
def incident_list():
    """The agency's incidents, newest first: open, closed or all, or by CAD incident number."""
    session, principal = db.session(), signed_in().principal
    status = request.args.get("status", "open")
    status = status if status in INCIDENT_STATUSES else "all"
    number = request.args.get("cad_incident_number", "").strip()[:50]
    args = {
        **page_args(),
        "status": None if status == "all" else status,
        "cad_incident_number": number or None,
    }
    listed = incident_records.list(session, principal, args, *incident_records.filters(args))
    return render(
        "console/agency_incidents.html",
        listed=listed,
        status=status,
        number=number,
        facility_names=_facility_names(session, principal, [r.facility_id for r in listed.items]),
    )


def _facility_names(session, principal, facility_ids) -> dict:
    """Facility id -> name, for the incidents' facilities the caller reads by MOU (one read
    through break-glass is named on its pre-plan, not here)."""
    ids = {i for i in facility_ids if i is not None}
    if not ids:
        return {}
    found = facilities.list(
        session, principal, {"page": 1, "per_page": len(ids)}, Facility.id.in_(ids)
    )
    return {f.id: f.name for f in found.items}


@bp.route("/incidents/new", methods=["GET", "POST"])
@page(Role.AGENCY_USER)
def incident_new():
    """Open an incident: the lookup runs on its location and the incident records who asked
    and what matched; at a registered facility that does not share with the agency it may grant
    break-glass (the incidents service decides, and says why not)."""
    session, principal = db.session(), signed_in().principal
    outcome, sent, opened = forms.Outcome(), MultiDict(), {}
    if request.method == "POST":
        sent = request.form

        def change():
            forms.sent_once(session, principal, sent)
            if not _given(sent, ("address", "lat", "lon")):
                raise errors.InvalidInput({"address": [NO_LOCATION]})
            names = ("cad_incident_number", "incident_type", *_given(sent, INCIDENT_FIELDS[2:]))
            data = forms.load(incident_open_schema, sent, names)
            opened["incident"] = incident_records.open(session, principal, data)

        outcome = forms.submit(change)
        if outcome.saved:
            incident = opened["incident"]
            return redirect(
                url_for("console.incident", incident_id=incident.id, notice=_opened(incident))
            )
    return render(
        "console/agency_incident_new.html",
        outcome.status,
        outcome=outcome,
        sent=sent,
    )


def _opened(incident) -> str:
    """The notice for a new incident: with why it grants no break-glass, when it does not."""
    notes = incident.lookup.notes
    refused = [reason for reason, note in NO_GRANT.items() if note in notes]
    return f"no_grant_{refused[0]}" if refused else "opened"


@bp.route("/incidents/<int:incident_id>", methods=["GET", "POST"])
@page(Role.AGENCY_USER)
def incident(incident_id: int):
    """One incident: where, what matched, its facility's recovery sites (read by the pre-plan's
    rules and audited, as the API's incident is), and closing or re-opening it."""
    session, principal = db.session(), signed_in().principal
    record = incident_records.get(session, principal, incident_id)
    outcome = forms.Outcome()
    if request.method == "POST":
        sent = request.form
        incident_records.authorize_write(principal, record)

        def change():
            forms.require_version(record, sent.get("version"))
            data = forms.load(incident_change_schema, sent, ("status",))
            ends_break_glass = record.break_glass and not record.break_glass_ended_at
            if data.get("status") == "closed" and ends_break_glass and not sent.get("confirm"):
                # One click must not end a responder's access for good: the page asks first.
                raise errors.InvalidInput({"confirm": [CONFIRM_CLOSE]})
            incident_records.update(session, principal, record, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.incident", incident_id=incident_id, notice=record.status)
            )
        record = incident_records.get(session, principal, incident_id)
    return render(
        "console/agency_incident.html",
        outcome.status,
        incident=record,
        outcome=outcome,
        facility_names=_facility_names(
            session,
            principal,
            [record.facility_id, *(c["facility_id"] for c in record.candidates or [])],
        ),
        notice=_notice(),
    )
