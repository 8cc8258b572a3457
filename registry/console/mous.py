"""The MOUs between agencies and organizations, as each party's people see them: an agency's
staff the agency's MOUs with its partners, a facility manager the organization's with agencies;
the proposals waiting for their party's answer, accepted or declined here through the same
lifecycle as the API's steps (an MOU change: the password again unless signed in within the
fresh-login window, on the version shown). Which MOUs a person reads, and what they may do with
each, is the MOU service's to decide (mous/service.py, mous/lifecycle.py).

An administrator acts for the party it names, on the administration pages.
"""

from flask import redirect, request, url_for
from werkzeug.datastructures import MultiDict

from .. import db, errors
from ..access.roles import Role
from ..facilities.models import Facility
from ..facilities.service import facilities
from ..mous import lifecycle
from ..mous.models import MOU_STATES, Mou
from ..mous.schemas import ENDING_WINDOWS, MouFiltersSchema, MouTerminationSchema
from ..mous.service import mous as mou_records
from ..preplans import printing
from . import forms, sessions
from .manager import page_args
from .web import bp, page, render, signed_in

# Who answers MOU proposals here: the parties' own people.
MOU_PARTIES = (Role.AGENCY_USER, Role.FACILITY_MANAGER)
# MOUs ending within these many days are marked on the lists.
ENDING_SOON_DAYS = (30, 60)
# The list's filters (the API's names and rules: MouFiltersSchema).
FILTERS = ("status", "ending_within_days")

termination_schema = MouTerminationSchema()
mou_filters_schema = MouFiltersSchema()

# Saved-page notices, by key: a redirect names one, the page shows its words.
NOTICES = {
    "accepted": "You accepted this MOU for your side. It takes effect once the other party "
    "accepts it too.",
    "active": "You accepted this MOU. Both parties have accepted it: it is active.",
    "declined": "You declined this proposal. The other party is told, with your reason.",
}


@bp.get("/agency/mous")
@page(Role.AGENCY_USER)
def agency_mous():
    """The agency's MOUs with its partners."""
    return _mou_list("console.agency_mous", partner="organization")


@bp.get("/organization/mous")
@page(Role.FACILITY_MANAGER)
def manager_mous():
    """The organization's MOUs with agencies."""
    return _mou_list("console.manager_mous", partner="agency")


def _mou_list(endpoint: str, partner: str):
    """Proposals waiting for the caller's answer, then every MOU the caller reads, those in
    force first and the soonest to end first; filtered by status or by the days left."""
    session, principal = db.session(), signed_in().principal
    wanted = MultiDict({k: v for k, v in request.args.items() if v.strip()})
    outcome, args = forms.Outcome(), {}
    try:
        args = forms.load(
            mou_filters_schema, wanted, tuple(name for name in FILTERS if name in wanted)
        )
    except errors.InvalidInput as error:
        outcome = forms.Outcome(errors=error.errors, status=422)
    waiting = mou_records.awaiting_answer(session, principal, {"page": 1, "per_page": 100})
    listed = mou_records.ending_first(session, principal, page_args(), *mou_records.filters(args))
    return render(
        "console/agency_mous.html",
        outcome.status,
        endpoint=endpoint,
        partner=partner,
        waiting=waiting,
        listed=listed,
        names=_party_names(session, principal, [*waiting.items, *listed.items]),
        filters=args,
        outcome=outcome,
        statuses=MOU_STATES,
        ending_options=[(days, f"active, ending within {days} days") for days in ENDING_WINDOWS],
        ending_soon=ENDING_SOON_DAYS,
    )


def _party_names(session, principal, records: list[Mou]) -> dict:
    """("organization" | "agency", id) -> name, for the parties the caller may read."""
    return printing.parties(
        session,
        principal,
        [{"organization_id": m.organization_id, "agency_id": m.agency_id} for m in records],
    )


@bp.route("/mous/<int:mou_id>", methods=["GET", "POST"])
@page(*MOU_PARTIES)
def mou(mou_id: int):
    """One MOU: its terms, who accepted them, and, while it waits for the caller's party, the
    answer: accept, or decline with a reason (MOU changes: the password again unless signed in
    within the fresh-login window, and on the version shown)."""
    session, who = db.session(), signed_in()
    principal = who.principal
    record = mou_records.get(session, principal, mou_id)
    outcome, sent = forms.Outcome(), MultiDict()
    if request.method == "POST":
        sent = request.form
        step = sent.get("step")
        if step not in ("accept", "decline"):
            raise errors.BadRequest("Choose accept or decline.")
        mou_records.authorize_write(principal, record)

        def change():
            sessions.confirm_password(session, who, sent.get("password"))
            forms.require_version(record, sent.get("version"))
            if step == "accept":
                mou_records.accept(session, principal, record, {})
            else:
                data = forms.load(termination_schema, sent, ("reason",))
                mou_records.terminate(session, principal, record, data)

        outcome = forms.submit(change)
        if outcome.saved:
            accepted = "active" if record.status == "active" else "accepted"
            notice = "declined" if step == "decline" else accepted
            return redirect(url_for("console.mou", mou_id=mou_id, notice=notice))
        session.refresh(record)
    return render(
        "console/agency_mou.html",
        outcome.status,
        mou=record,
        names=_party_names(session, principal, [record]),
        partner="agency" if principal.role == Role.FACILITY_MANAGER else "organization",
        awaiting=lifecycle.awaits(principal, record),
        facilities_named=_facilities_named(session, principal, record),
        outcome=outcome,
        sent=sent,
        needs_password=not signed_in().is_fresh,
        ending_soon=ENDING_SOON_DAYS,
        notice=NOTICES.get(request.args.get("notice")),
    )


def _facilities_named(session, principal, record: Mou) -> dict | None:
    """The facilities an MOU lists, those the caller reads by name (None: it covers all the
    organization's facilities). An agency reads a listed facility only once it is shared."""
    if record.covers_all_facilities:
        return None
    ids = record.facility_ids
    readable = facilities.list(
        session, principal, {"page": 1, "per_page": 100}, Facility.id.in_(ids)
    )
    return {
        "readable": readable.items,
        "more": readable.total - len(readable.items),
        "unread": len(ids) - readable.total,
    }
