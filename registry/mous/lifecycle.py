"""The two-party lifecycle of an MOU: draft → proposed → active → expired, terminated or
superseded by a renewal. An MOU grants an agency anything only once both parties accepted it.

Who acts for whom (`party_of`): an organization's facility managers act for the organization,
an agency's people (not its CAD clients) for the agency. An administrator acts for the party it
names in the body (`party`), which it must name to accept, terminate and renew; to propose it
acts for the drafting party, and a draft it creates is the organization's unless it says
otherwise. Every step is audited (`mou.<step>`, with the party) and lands in the MOU's history.

- **draft**: created by either party (`POST /mous`). Only the drafting party edits or deletes it;
  the other party can read it.
- **propose** (the drafting party): the proposer accepts the terms as they stand (its acceptance
  is recorded with who and when); the other party is told.
- **proposed**: either party may still change the terms (a PATCH): that is a counter-proposal.
  The editor's party accepts the new terms and the other party's acceptance is cleared, so no
  party is ever bound to terms it did not accept; it is told. An administrator's change clears
  both acceptances. The parties themselves (organization, agency) are fixed once proposed.
- **accept** (a party that has not yet): recorded with who and when. The second acceptance makes
  the MOU active in the same transaction and, when it renews another MOU, that one superseded.
  The If-Match of the accepting call names the version accepted: terms changed meanwhile are a
  412, never an acceptance of terms the party did not see.
- **active**: its terms are fixed (a PATCH is a 409): renew it to agree new ones. It is in force
  from its effective date through its expiry date (UTC days). Past its expiry date it is
  **expired**: from the first instant of the next UTC day it grants nothing and shows `expired`.
  Nothing stores that: `Mou.in_force` and `Mou.state` compare with the day of each query, so no
  job has to run.
- **terminate** (either party, with a reason): a proposed MOU (withdrawn or declined) or one that
  grants or will. Access stops with the commit.
- **renew** (either party) an active or expired MOU: a new draft with the same parties and terms,
  by default from the day after the old one expires and for as long; it follows the same steps.
  When it becomes active, the old MOU becomes **superseded** and grants until the day before the
  renewal's effective date (`superseded_on`): no gap and no overlap in access (a gap the parties
  chose with their dates stays theirs). One renewal at a time: 409 while another is open.
- **delete**: a party deletes its own drafts only (a proposed MOU is terminated, so the other
  party keeps the record); an administrator may delete any MOU made in error (audited).
"""

from datetime import date, timedelta

from sqlalchemy import false, inspect, select
from sqlalchemy.orm import Session

from .. import audit, confirmation, db, errors, history
from ..access import writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..notifications.service import notify
from ..organizations.models import Organization
from .models import GRANTING, PARTIES, Mou

# What a party agrees to: a change to any of these after an acceptance is a new proposal.
TERMS = (
    "organization_id",
    "agency_id",
    "title",
    "effective_date",
    "expiry_date",
    "covers_all_facilities",
    "notes",
    "scope_rows",
    "facilities",
)
# The same, as history and the audit trail name them.
TERM_FIELDS = (
    *(t for t in TERMS if t not in ("scope_rows", "facilities")),
    "scopes",
    "facility_ids",
)
ROUTES = "POST /mous/{id}/propose, /accept, /terminate or /renew"


def other(party: str) -> str:
    return "agency" if party == "organization" else "organization"


def own_party(principal: Principal, mou: Mou) -> str | None:
    """The party a non-administrator acts for on this MOU (None: neither, or an admin)."""
    if principal.is_admin:
        return None
    if writes.manages_organization(principal, mou.organization_id):
        return "organization"
    if writes.acts_for_agency(principal, mou.agency_id):
        return "agency"
    return None


def party_of(principal: Principal, mou: Mou, stated: str | None, default: str | None = None):
    """The party the caller acts for: its own (refusing another it states), or, for an
    administrator, the one it states (else `default`; else a 422 asking it to say)."""
    if principal.is_admin:
        party = stated or default
        if party is None:
            raise errors.InvalidInput(
                {
                    "party": [
                        "An administrator says which party it acts for: organization or agency."
                    ]
                }
            )
        return party
    own = own_party(principal, mou)
    if own is None:
        raise errors.Forbidden("You act for neither party of this MOU.")
    if stated is not None and stated != own:
        raise errors.Forbidden(f"You act for this MOU's {own}, not for its {stated}.")
    return own


def awaiting(principal: Principal):
    """SQL: the proposed MOUs waiting for the acceptance of the party the caller acts for
    (`own_party`: a facility manager's organization, an agency user's agency). Nothing for an
    administrator, who acts for whichever party it names, nor for anyone else."""
    if principal.role == Role.FACILITY_MANAGER:
        waiting = (Mou.organization_id == principal.organization_id) & (
            Mou.organization_accepted_at.is_(None)
        )
    elif principal.role == Role.AGENCY_USER:
        waiting = (Mou.agency_id == principal.agency_id) & Mou.agency_accepted_at.is_(None)
    else:
        return false()
    return (Mou.status == "proposed") & waiting


def awaits(principal: Principal, mou: Mou) -> bool:
    """`awaiting` for one MOU: proposed, and not yet accepted by the caller's own party."""
    party = own_party(principal, mou)
    return mou.status == "proposed" and party is not None and mou.accepted_at(party) is None


def creating_party(principal: Principal, stated: str | None) -> str:
    """The drafting party of a new MOU: the caller's own side, or what an admin says (the
    organization by default, as every MOU was before the two-party lifecycle)."""
    if principal.is_admin:
        return stated or "organization"
    own = "organization" if principal.organization_id is not None else "agency"
    if stated is not None and stated != own:
        raise errors.Forbidden(f"You act for an {own}: your draft is the {own}'s.")
    return own


# --- editing and deleting ---------------------------------------------------------------------


def check_edit(principal: Principal, mou: Mou, data: dict) -> None:
    """May the caller change the MOU this way now (a PATCH)? Raises when not."""
    if mou.status not in ("draft", "proposed"):
        raise errors.Conflict(_closed(mou))
    drafter = principal.is_admin or own_party(principal, mou) == mou.drafting_party
    if mou.status == "draft" and not drafter:
        raise errors.Forbidden(
            f"The {mou.drafting_party} drafted this MOU: only it changes the draft, until it "
            "is proposed."
        )
    # A proposal's parties are what each accepts to deal with; a renewal's are the renewed
    # MOU's (its activation ends that MOU: a third party must never do that).
    if mou.status == "proposed" or mou.supersedes_id is not None:
        moved = {
            name: ["The parties are fixed once an MOU is proposed, and in a renewal."]
            for name in ("organization_id", "agency_id")
            if name in data and data[name] != getattr(mou, name)
        }
        if moved:
            raise errors.InvalidInput(moved)


def check_delete(principal: Principal, mou: Mou) -> None:
    if principal.is_admin:
        return
    if mou.status != "draft":
        raise errors.Conflict(
            f"Only a draft is deleted; this MOU is {mou.state}."
            + (
                f" Terminate it instead (POST /mous/{mou.id}/terminate)."
                if _terminable(mou)
                else ""
            )
        )
    if own_party(principal, mou) != mou.drafting_party:
        raise errors.Forbidden(f"The {mou.drafting_party} drafted this MOU: only it deletes it.")


def terms_changed(mou: Mou) -> bool:
    """Whether the pending change (not yet flushed) touches the terms."""
    state = inspect(mou)
    return any(state.attrs[name].history.has_changes() for name in TERMS)


def counter_propose(session: Session, principal: Principal, mou: Mou) -> str | None:
    """A proposed MOU's terms are changing: the editor's party accepts them, the other party's
    acceptance is cleared (an administrator's change clears both). Returns the editor's party."""
    party = own_party(principal, mou)
    now, by = db.utcnow(), confirmation.confirmer(session, principal)
    for each in PARTIES:
        if each == party:
            mou.accept(each, now, by)
        else:
            mou.accept(each, None, None)
    return party


def changed(session: Session, principal: Principal, mou: Mou, action: str, changes: dict):
    """After a create or an update: the MOU's history; for a counter-proposal, the other party
    (both, after an administrator's change) is told."""
    party = mou.drafting_party if action == "create" else own_party(principal, mou)
    if action != "delete":  # a deleted MOU's history goes with it; the audit trail keeps it
        history.record_mou_change(session, principal, mou, action, changes, party)
    if action == "update" and mou.status == "proposed" and set(changes) & set(TERM_FIELDS):
        for told in [other(party)] if party else PARTIES:
            _tell(
                session,
                principal,
                mou,
                told,
                "mou_changed",
                f"{_name(session, mou, party)} changed the terms of proposed MOU {mou.id} "
                f'"{mou.title}"; they bind only once both parties accept them '
                f"(POST /mous/{mou.id}/accept).",
            )


# --- the steps ----------------------------------------------------------------------------------


def propose(session: Session, principal: Principal, mou: Mou, stated=None) -> Mou:
    """Propose a draft to the other party; the proposer accepts it as it stands."""
    party = party_of(principal, mou, stated, default=mou.drafting_party)
    if mou.status != "draft":
        raise errors.Conflict(f"Only a draft is proposed; this MOU is {mou.state}.")
    if party != mou.drafting_party:
        raise errors.Forbidden(f"The {mou.drafting_party} drafted this MOU: it proposes it.")
    _not_ended(mou)
    before = history.snapshot(mou)
    now, by = db.utcnow(), confirmation.confirmer(session, principal)
    mou.status, mou.proposed_at, mou.proposed_by = "proposed", now, by
    mou.accept(party, now, by)
    _step(session, principal, mou, "propose", party, before)
    _tell(
        session,
        principal,
        mou,
        other(party),
        "mou_proposed",
        f'{_name(session, mou, party)} proposed MOU {mou.id} "{mou.title}" and accepted it; '
        f"it takes effect once you accept it too (POST /mous/{mou.id}/accept).",
    )
    return mou


def accept(session: Session, principal: Principal, mou: Mou, stated=None) -> Mou:
    """Accept a proposed MOU for the caller's party; the second acceptance activates it."""
    party = party_of(principal, mou, stated)
    if mou.status != "proposed":
        raise errors.Conflict(f"Only a proposed MOU is accepted; this MOU is {mou.state}.")
    if mou.accepted_at(party) is not None:
        raise errors.Conflict(
            f"The {party} has accepted these terms already; the {other(party)} has not yet."
        )
    _not_ended(mou)
    before = history.snapshot(mou)
    mou.accept(party, db.utcnow(), confirmation.confirmer(session, principal))
    active = mou.accepted_at(other(party)) is not None
    if active:
        mou.status = "active"
    _step(session, principal, mou, "accept", party, before, details={"active": active})
    if active and mou.supersedes_id is not None:
        _supersede(session, principal, session.get(Mou, mou.supersedes_id), mou, party)
    when = "it is now active" + (
        "" if mou.effective_date <= db.utc_today() else f", in force from {mou.effective_date}"
    )
    _tell(
        session,
        principal,
        mou,
        other(party),
        "mou_accepted",
        f'{_name(session, mou, party)} accepted MOU {mou.id} "{mou.title}"; '
        + (when + "." if active else "it takes effect once you accept it too."),
    )
    return mou


def terminate(session: Session, principal: Principal, mou: Mou, stated, reason: str) -> Mou:
    """End a proposed MOU (withdrawn or declined) or one that grants or will: at once."""
    party = party_of(principal, mou, stated)
    if not _terminable(mou):
        hint = " A draft is deleted by its drafting party instead." if mou.status == "draft" else ""
        raise errors.Conflict(f"This MOU is {mou.state}: there is nothing to terminate.{hint}")
    before = history.snapshot(mou)
    mou.status = "terminated"
    mou.terminated_at, mou.terminated_by = db.utcnow(), confirmation.confirmer(session, principal)
    mou.terminating_party, mou.termination_reason = party, reason
    _step(session, principal, mou, "terminate", party, before)
    _tell(
        session,
        principal,
        mou,
        other(party),
        "mou_terminated",
        f'{_name(session, mou, party)} terminated MOU {mou.id} "{mou.title}"; it grants '
        f"nothing from now on. Reason given: {reason}",
    )
    return mou


def check_renewable(session: Session, mou: Mou) -> None:
    if mou.status != "active":
        raise errors.Conflict(f"Only an active or expired MOU is renewed; this MOU is {mou.state}.")
    pending = session.scalar(
        select(Mou.id).where(Mou.supersedes_id == mou.id, Mou.status.in_(("draft", "proposed")))
    )
    if pending is not None:
        raise errors.Conflict(
            f"MOU {pending} already renews this MOU: carry on with it, or delete or terminate "
            "it first."
        )


def renewal_of(mou: Mou, party: str, data: dict) -> dict:
    """A create body for the renewal of `mou`: its parties and terms, and by default the day
    after it expires (today, when it has no expiry or has expired) for as long as its term."""
    today = db.utc_today()
    effective = data.get("effective_date") or _after(mou.expiry_date, today)
    expiry = data.get("expiry_date", _same_term(mou, effective))
    return {
        "organization_id": mou.organization_id,
        "agency_id": mou.agency_id,
        "title": data.get("title") or mou.title,
        "effective_date": effective,
        "expiry_date": expiry,
        "scopes": mou.scopes,
        "covers_all_facilities": mou.covers_all_facilities,
        "facility_ids": mou.facility_ids,
        "notes": mou.notes,
        "drafting_party": party,
        "supersedes_id": mou.id,
    }


def renewed(session: Session, principal: Principal, mou: Mou, renewal: Mou, party: str) -> None:
    history.record_mou_change(
        session, principal, mou, "renew", {"renewal_id": [None, renewal.id]}, party
    )
    audit.record(
        session,
        principal,
        "mou.renew",
        record=mou,
        details={"party": party, "renewal_id": renewal.id},
    )


# --- helpers ----------------------------------------------------------------------------------


def _supersede(session, principal, old: Mou | None, renewal: Mou, party: str) -> None:
    """The renewal became active: the MOU it renews stops granting the day it begins. One that
    was terminated meanwhile stays terminated."""
    if old is None or old.status != "active":
        return
    before = history.snapshot(old)
    old.status, old.superseded_on = "superseded", renewal.effective_date
    _step(session, principal, old, "supersede", party, before, details={"renewal_id": renewal.id})


def _step(session, principal, mou: Mou, action, party, before, details=None) -> None:
    """Flush one step (its version moves), then its history row and audit event."""
    mou.updated_at = db.utcnow()
    session.flush()
    changes = history.diff(before, history.snapshot(mou))
    history.record_mou_change(session, principal, mou, action, changes, party)
    audit.record(
        session,
        principal,
        f"mou.{action}",
        record=mou,
        changes=changes,
        details={"party": party, **(details or {})},
    )


def _tell(session, principal, mou: Mou, party: str, kind: str, message: str) -> None:
    recipient = (
        {"organization_id": mou.organization_id}
        if party == "organization"
        else {"agency_id": mou.agency_id}
    )
    notify(session, kind=kind, message=message, actor=principal.subject, mou_id=mou.id, **recipient)


def _name(session, mou: Mou, party: str | None) -> str:
    if party is None:
        return "An administrator"
    model, record_id = (
        (Organization, mou.organization_id) if party == "organization" else (Agency, mou.agency_id)
    )
    return session.get(model, record_id).name


def _closed(mou: Mou) -> str:
    if mou.status == "active":
        return (
            f"This MOU is {mou.state}: both parties accepted its terms, which no longer change. "
            f"Renew it (POST /mous/{mou.id}/renew) to agree new terms, or terminate it."
        )
    return f"This MOU is {mou.state}: it is closed, and nothing about it changes."


def _terminable(mou: Mou) -> bool:
    """Proposed, or granting (or about to) and not ended by its dates."""
    if mou.status == "proposed":
        return True
    if mou.status not in GRANTING:
        return False
    return mou.ends_on is None or mou.ends_on >= db.utc_today()


def _not_ended(mou: Mou) -> None:
    if mou.expiry_date is not None and mou.expiry_date < db.utc_today():
        raise errors.Conflict(
            f"Its expiry date ({mou.expiry_date}) has passed: change the dates first "
            "(a change to a proposed MOU is a new proposal)."
        )


def _after(day: date | None, today: date) -> date:
    if day is None or day < today:
        return today
    try:
        return day + timedelta(days=1)
    except OverflowError:  # expires on the last day of the calendar
        return day


def _same_term(mou: Mou, effective: date) -> date | None:
    if mou.expiry_date is None:
        return None
    try:
        return effective + (mou.expiry_date - mou.effective_date)
    except OverflowError:
        return date.max
