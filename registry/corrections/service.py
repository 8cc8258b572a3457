"""Correction reports (NG9-1-1's discrepancy report, for pre-plans): a responder who reads a
facility's pre-plan reports that one item of it is wrong; the facility's managers answer and
resolve it.

- **report** (`POST /facilities/{id}/corrections`): an agency user or CAD client who may read
  the pre-plan now (by MOU, or through its agency's live break-glass grant there:
  access.break_glass.may_read) names the item (preplans.items: the facility or a part its
  pre-plan shows), the kind of discrepancy, what is wrong and what it found. The facility's
  organization is told (`correction_reported`).
- **answer** (`POST /corrections/{id}/answer`, the facility's managers or an admin): a comment
  to the reporter; the report is **acknowledged**. May be given again while unresolved.
- **resolve** (`POST /corrections/{id}/resolve`): **fixed**, or **rejected** with a reason.
  Answering and resolving tell the reporting agency (`correction_answered`).

Resolving as fixed confirms nothing: an item is confirmed by its managers' edit of it (or their
confirm-all), never by closing a report about it. Every step is audited
(`correction.<step>`) and lands in the facility's history. The pre-plan shows each unresolved
report on its item to every reader; a database trigger on `corrections` (migration 0017) bumps
the facility's `preplan_version`, so cached and stored pre-plans follow each step.
"""

from sqlalchemy.orm import Session

from .. import audit, confirmation, db, errors, history
from ..access import break_glass, visibility, writes
from ..access.roles import AGENCY_ROLES
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities.models import Facility
from ..notifications.service import notify
from ..preplans import items
from .models import UNRESOLVED, Correction


class CorrectionService(RecordService):
    model = Correction
    noun = "correction"
    creator_roles = AGENCY_ROLES

    def read_filter(self, principal: Principal):
        return visibility.corrections(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.correction(principal, record)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id

    def order_by(self):
        return (Correction.created_at.desc(), Correction.id.desc())

    def filters(self, args: dict) -> list:
        conditions = [
            getattr(Correction, name) == args[name]
            for name in (
                "status",
                "facility_id",
                "item_kind",
                "item_id",
                "discrepancy",
                "agency_id",
            )
            if args.get(name) is not None
        ]
        if args.get("unresolved") is not None:
            unresolved = Correction.status.in_(UNRESOLVED)
            conditions.append(unresolved if args["unresolved"] else ~unresolved)
        return conditions

    # --- the facility's list -------------------------------------------------------------------
    def readable_facility(self, session: Session, principal: Principal, facility_id: int):
        """The pre-plan's decision for the caller (404 when it may not read it)."""
        decision = break_glass.may_read(session, principal, facility_id)
        if not decision.allowed:
            raise errors.NotFound(f"No facility with id {facility_id} is visible to you.")
        return decision

    # --- the steps -------------------------------------------------------------------------------
    def authorize_report(self, session: Session, principal: Principal, facility_id: int):
        """Agency users and CAD clients who may read the facility's pre-plan (404 otherwise, as
        for the pre-plan; 403 for a role that never reports)."""
        decision = self.readable_facility(session, principal, facility_id)
        if principal.role not in AGENCY_ROLES:
            raise errors.Forbidden(
                "Corrections are reported by the responders who read a pre-plan: an agency's "
                "people or its CAD."
            )
        return decision

    def report(self, session: Session, principal: Principal, facility_id: int, data: dict):
        decision = self.authorize_report(session, principal, facility_id)
        item = items.require(session, facility_id, data["item_kind"], data.get("item_id"))
        correction = Correction(
            facility_id=facility_id,
            item_kind=data["item_kind"],
            item_id=item.id,
            item_name=items.name_of(item)[:200],
            discrepancy=data["discrepancy"],
            problem=data["problem"],
            observed=data.get("observed"),
            agency_id=principal.agency_id,
            reported_by=principal.subject,
            reporter_name=confirmation.confirmer(session, principal),
            incident_id=decision.incident.id if decision.break_glass else None,
            status="open",
        )
        session.add(correction)
        session.flush()
        self._step(session, principal, correction, "report", {}, decision.break_glass)
        facility = session.get(Facility, facility_id)
        agency = session.get(Agency, principal.agency_id)
        notify(
            session,
            kind="correction_reported",
            organization_id=facility.organization_id,
            facility_id=facility_id,
            incident_id=correction.incident_id,
            actor=principal.subject,
            message=(
                f"{agency.name} reported that {_item_words(correction)} in the pre-plan of "
                f"{facility.name} is {correction.discrepancy} (correction {correction.id}): "
                f"{_excerpt(correction.problem)} Answer it: POST /corrections/{correction.id}/"
                "answer or /resolve."
            ),
        )
        return correction

    def answer(self, session: Session, principal: Principal, record: Correction, data: dict):
        self._unresolved(record)
        before = history.snapshot(record)
        record.status = "acknowledged"
        record.response = data["response"]
        record.responded_at = record.updated_at = db.utcnow()
        record.responded_by = confirmation.confirmer(session, principal)
        session.flush()
        self._step(session, principal, record, "answer", before)
        self._tell_reporter(session, principal, record, f"answered: {_excerpt(record.response)}")
        return record

    def resolve(self, session: Session, principal: Principal, record: Correction, data: dict):
        self._unresolved(record)
        before = history.snapshot(record)
        record.status = "resolved"
        record.resolution = data["resolution"]
        record.resolution_reason = data.get("reason")
        record.resolved_at = record.updated_at = db.utcnow()
        record.resolved_by = confirmation.confirmer(session, principal)
        # Fixed confirms nothing by itself: the item is confirmed by its managers' edit of it.
        session.flush()
        self._step(session, principal, record, "resolve", before)
        why = f": {_excerpt(record.resolution_reason)}" if record.resolution_reason else "."
        self._tell_reporter(session, principal, record, f"resolved it as {record.resolution}{why}")
        return record

    # --- helpers ---------------------------------------------------------------------------------
    def _unresolved(self, record: Correction) -> None:
        if record.status not in UNRESOLVED:
            raise errors.Conflict(
                f"This correction was resolved ({record.resolution}); report the item again "
                "if it is still wrong."
            )

    def _step(self, session, principal, record, action, before, break_glass_read=False) -> None:
        changes = history.diff(before, history.snapshot(record))
        audit.record(
            session,
            principal,
            f"correction.{action}",
            record=record,
            facility_id=record.facility_id,
            changes=changes,
            break_glass=break_glass_read,
        )
        history.record_change(session, principal, record.facility_id, record, action, changes)
        session.flush()

    def _tell_reporter(self, session, principal, record: Correction, what: str) -> None:
        facility = session.get(Facility, record.facility_id)
        notify(
            session,
            kind="correction_answered",
            agency_id=record.agency_id,
            facility_id=record.facility_id,
            actor=principal.subject,
            message=(
                f"The managers of {facility.name} {what} (correction {record.id}, on "
                f"{_item_words(record)})"
            ),
        )


def _item_words(correction: Correction) -> str:
    if correction.item_kind == "facility":
        return "the facility record"
    return f'{correction.item_kind.replace("_", " ")} "{correction.item_name}"'


def _excerpt(text: str, length: int = 300) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


corrections = CorrectionService()
