"""Exercises and after-action findings.

An **exercise** is recorded at a facility (`POST /facilities/{id}/exercises`) by the facility's
managers, by the people of an agency that reads the facility (its pre-plan is shared with it),
or by an admin. Its parties are the facility's organization and the agencies that took part
(`agencies`); they, and only they, read it and keep it. Each agency named must have an MOU
with the organization that the organization drafted or accepted, whatever its scope or status
(access.sharing.organization_took_part, the "MOU partner" rule): a training MOU or one still
being negotiated is enough, since joint training usually comes before data sharing, but an
agency the organization never dealt with is not shown its facility and what was found there
on someone else's say-so. An agency user who records one is always among the parties.

A **finding** belongs to an exercise (`POST /exercises/{id}/findings`) or to a real incident
(`POST /incidents/{id}/findings`): its text, optionally the pre-plan item it concerns
(preplans.items, the same definition correction reports use), and optionally a **follow-up**:
an owner (a name, and the facility's organization or a party agency when it is theirs), a due
date and a status (open, in_progress, done, cancelled). It is written by whoever writes its
exercise, or, for an incident, by the incident's agency's people and the managers of the
facility it happened at. A pending follow-up past its due date is overdue
(`GET /reports/follow-ups`).

Every write is audited and lands in the facility's history (an incident without a facility:
the audit trail only).
"""

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from .. import errors
from ..access import sharing, visibility, writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities.models import Facility
from ..incidents.models import Incident
from ..organizations.models import Organization
from ..preplans import items
from .models import Exercise, ExerciseAgency, Finding

_NO_PARTNER = "No agency with id {} has an MOU with this facility's organization."


class ExerciseService(RecordService):
    model = Exercise
    noun = "exercise"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER)

    def read_filter(self, principal: Principal):
        return visibility.exercises(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.exercise(principal, record)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id

    def order_by(self):
        return (Exercise.held_on.desc(), Exercise.id.desc())

    def filters(self, args: dict) -> list:
        conditions = [
            getattr(Exercise, name) == args[name]
            for name in ("facility_id", "kind", "scenario")
            if args.get(name) is not None
        ]
        if args.get("agency_id") is not None:
            conditions.append(
                Exercise.id.in_(
                    select(ExerciseAgency.exercise_id).where(
                        ExerciseAgency.agency_id == args["agency_id"]
                    )
                )
            )
        if args.get("held_from") is not None:
            conditions.append(Exercise.held_on >= args["held_from"])
        if args.get("held_to") is not None:
            conditions.append(Exercise.held_on <= args["held_to"])
        return conditions

    def create(self, session: Session, principal: Principal, data: dict):
        data = {**data, "recorded_by": principal.subject}
        if principal.role == Role.AGENCY_USER:
            listed = {party["agency_id"] for party in data.get("agencies", [])}
            if principal.agency_id not in listed:
                own = {"agency_id": principal.agency_id, "participants": None}
                data["agencies"] = [*data.get("agencies", []), own]
        return super().create(session, principal, data)

    def assign(self, session: Session, record: Exercise, data: dict) -> None:
        data = dict(data)
        if "facility_id" in data:
            record.facility = self.require(session, Facility, data["facility_id"], "facility_id")
        if "agencies" in data:
            parties = data.pop("agencies")
            ids = [party["agency_id"] for party in parties]
            if len(set(ids)) != len(ids):
                raise errors.InvalidInput({"agencies": ["Name each agency once."]})
            kept = {row.agency_id: row for row in record.agency_rows}
            rows = []
            for party in parties:
                row = kept.get(party["agency_id"]) or ExerciseAgency(agency_id=party["agency_id"])
                row.participants = party.get("participants")
                rows.append(row)
            record.agency_rows = rows
        super().assign(session, record, data)

    def validate(self, session: Session, record: Exercise) -> None:
        ids = sorted(record.agency_ids)
        if not ids:
            return
        partners = set(
            session.scalars(
                select(Agency.id).where(
                    Agency.id.in_(ids),
                    sharing.organization_took_part(Agency.id, record.facility.organization_id),
                )
            )
        )
        strangers = [i for i in ids if i not in partners]
        if strangers:
            raise errors.InvalidInput({"agencies": [_NO_PARTNER.format(i) for i in strangers]})


class FindingService(RecordService):
    model = Finding
    noun = "finding"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER)

    def read_filter(self, principal: Principal):
        return visibility.findings(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.finding(principal, record)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id

    def order_by(self):
        return (Finding.id,)

    def incident(self, session: Session, principal: Principal, incident_id: int) -> Incident:
        """The incident, if the caller reads it (its findings hang off it); NotFound if not.
        Read plainly: the incident's own GET also shows (and audits) its recovery sites."""
        return _incidents.get(session, principal, incident_id)

    def create(self, session: Session, principal: Principal, data: dict):
        data = {**data, "recorded_by": principal.subject}
        if data.get("exercise_id") is not None:
            exercise = session.get(Exercise, data["exercise_id"])
            data["facility_id"] = exercise.facility_id
        else:
            data["facility_id"] = session.get(Incident, data["incident_id"]).facility_id
        return super().create(session, principal, data)

    def assign(self, session: Session, record: Finding, data: dict) -> None:
        data = dict(data)
        for name, model in (("exercise_id", Exercise), ("incident_id", Incident)):
            if data.get(name) is not None:
                setattr(record, name.removesuffix("_id"), session.get(model, data[name]))
        if "facility_id" in data:
            record.facility = (
                session.get(Facility, data["facility_id"]) if data["facility_id"] else None
            )
        super().assign(session, record, data)

    def validate(self, session: Session, record: Finding) -> None:
        if record.item_kind is None:
            if record.item_id is not None and _changed(record, "item_id"):
                raise errors.InvalidInput({"item_kind": ["Say what kind of item item_id names."]})
            record.item_id = None
        state = _changed(record, "item_kind", "item_id")
        if record.item_kind is not None and state:
            if record.facility_id is None:
                raise errors.InvalidInput(
                    {"item_kind": ["This incident is at no facility: its findings name no item."]}
                )
            item = items.require(session, record.facility_id, record.item_kind, record.item_id)
            record.item_id = item.id
        if record.follow_up_status is not None:
            self._owner_is_a_party(session, record)

    def _owner_is_a_party(self, session: Session, record: Finding) -> None:
        problems = {}
        organization_id = record.facility.organization_id if record.facility else None
        owner_org = record.follow_up_owner_organization_id
        if owner_org is not None and owner_org != organization_id:
            problems["follow_up"] = ["owner_organization_id: only the facility's organization."]
        parties = (
            record.exercise.agency_ids
            if record.exercise is not None
            else {record.incident.agency_id}
        )
        owner_agency = record.follow_up_owner_agency_id
        if owner_agency is not None and owner_agency not in parties:
            problems.setdefault("follow_up", []).append(
                "owner_agency_id: only an agency that took part."
            )
        if problems:
            raise errors.InvalidInput(problems)
        # Both checked against the database's own rows (a party removed since is refused too).
        self.require(session, Organization, owner_org, "follow_up")
        self.require(session, Agency, owner_agency, "follow_up")


def _changed(record, *names) -> bool:
    """A new record, or a pending change to any of `names`."""
    state = inspect(record)
    return (
        state.transient
        or state.pending
        or any(state.attrs[name].history.has_changes() for name in names)
    )


class _IncidentReads(RecordService):
    model = Incident
    noun = "incident"

    def read_filter(self, principal: Principal):
        return visibility.incidents(principal)


_incidents = _IncidentReads()
exercises = ExerciseService()
findings = FindingService()
