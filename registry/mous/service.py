from datetime import timedelta

from sqlalchemy import case, exists, inspect, not_, select
from sqlalchemy.orm import Session

from .. import db, errors
from ..access import visibility, writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..api.pagination import Page
from ..auth.principal import Principal
from ..crud import RecordService, contains, paginate
from ..facilities.models import Facility
from ..floorplans import blobs
from ..history import MouHistory
from ..organizations.models import Organization
from . import lifecycle
from .models import Mou, MouScope

_NOT_IN_ORGANIZATION = "No facility with id {} in this MOU's organization."


class MouService(RecordService):
    """MOUs between an organization and an agency. Either party drafts one; it grants only once
    both accepted it (lifecycle.py says who may do what at each step)."""

    model = Mou
    noun = "MOU"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER)

    def read_filter(self, principal: Principal):
        return visibility.mous(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.mou(principal, record)

    def create(self, session, principal: Principal, data):
        data = dict(data)
        data["drafting_party"] = lifecycle.creating_party(principal, data.get("drafting_party"))
        return super().create(session, principal, data)

    def update(self, session, principal: Principal, record, data):
        lifecycle.check_edit(principal, record, data)
        return super().update(session, principal, record, data)

    def delete(self, session, principal: Principal, record) -> None:
        lifecycle.check_delete(principal, record)
        # MOUs are really deleted (no soft delete): their documents' files go after the commit
        # (a refused or failed delete rolls back, and nothing is collected).
        blobs.release_mou_documents(session, record)
        super().delete(session, principal, record)

    def assign(self, session, record, data):
        data = dict(data)
        if "scopes" in data:
            wanted = set(data.pop("scopes"))
            record.scope_rows = [r for r in record.scope_rows if r.scope in wanted] + [
                MouScope(scope=s) for s in sorted(wanted - set(record.scopes))
            ]
        if "facility_ids" in data:
            ids = sorted(set(data.pop("facility_ids")))
            found = session.scalars(select(Facility).where(Facility.id.in_(ids))).all()
            missing = set(ids) - {f.id for f in found}
            if missing:
                raise errors.InvalidInput(
                    {"facility_ids": [_NOT_IN_ORGANIZATION.format(i) for i in sorted(missing)]}
                )
            record.facilities = list(found)
        super().assign(session, record, data)

    def validate(self, session, record):
        self.require(session, Organization, record.organization_id, "organization_id")
        self.require(session, Agency, record.agency_id, "agency_id")
        if record.expiry_date and record.expiry_date < record.effective_date:
            raise errors.InvalidInput({"expiry_date": ["Must not be before effective_date."]})
        if record.covers_all_facilities and record.facilities:
            raise errors.InvalidInput(
                {"facility_ids": ["Leave empty when covers_all_facilities is true."]}
            )
        if not record.covers_all_facilities and not record.facilities:
            raise errors.InvalidInput(
                {"facility_ids": ["List the facilities when covers_all_facilities is false."]}
            )
        foreign = [f.id for f in record.facilities if f.organization_id != record.organization_id]
        if foreign:
            raise errors.InvalidInput(
                {
                    "facility_ids": [
                        # Same words as for a missing id: another partner's ids stay unconfirmed.
                        _NOT_IN_ORGANIZATION.format(i)
                        for i in foreign
                    ]
                }
            )

    def judge_write(self, session, principal: Principal, record):
        self._facilities_named_are_known(session, principal, record)
        if record.status == "proposed" and lifecycle.terms_changed(record):
            lifecycle.counter_propose(session, principal, record)

    def _facilities_named_are_known(self, session, principal: Principal, record) -> None:
        """A party names only facilities it reads (an agency those already shared with it), or
        those of the MOU it renews: otherwise a draft would tell an agency which facility ids
        belong to which organization. The same words as for an id nobody has."""
        added = {f.id for f in inspect(record).attrs.facilities.history.added}
        if not added:
            return
        known = select(Facility.id).where(Facility.id.in_(added), visibility.facilities(principal))
        allowed = set(session.scalars(known))
        if record.supersedes_id is not None:
            renewed = session.get(Mou, record.supersedes_id)
            allowed |= set(renewed.facility_ids) if renewed is not None else set()
        unknown = sorted(added - allowed)
        if unknown:
            raise errors.InvalidInput(
                {"facility_ids": [_NOT_IN_ORGANIZATION.format(i) for i in unknown]}
            )

    def _changed(self, session, principal: Principal, record, action, changes) -> None:
        super()._changed(session, principal, record, action, changes)
        lifecycle.changed(session, principal, record, action, changes)

    # --- the lifecycle's steps (lifecycle.py) --------------------------------------------------
    def propose(self, session, principal: Principal, record, data: dict):
        return lifecycle.propose(session, principal, record, data.get("party"))

    def accept(self, session, principal: Principal, record, data: dict):
        return lifecycle.accept(session, principal, record, data.get("party"))

    def terminate(self, session, principal: Principal, record, data: dict):
        return lifecycle.terminate(session, principal, record, data.get("party"), data["reason"])

    def renew(self, session, principal: Principal, record, data: dict):
        """Draft the renewal of an active or expired MOU (see lifecycle.py)."""
        party = lifecycle.party_of(principal, record, data.get("party"))
        lifecycle.check_renewable(session, record)
        renewal = self.create(session, principal, lifecycle.renewal_of(record, party, data))
        lifecycle.renewed(session, principal, record, renewal, party)
        return renewal

    def history(self, session, principal: Principal, mou_id: int, args: dict) -> Page:
        """An MOU's history, newest first, for whoever reads the MOU (both parties)."""
        self.get(session, principal, mou_id)
        rows = select(MouHistory).where(MouHistory.mou_id == mou_id)
        return paginate(session, rows.order_by(MouHistory.id.desc()), args)

    # --- lists -----------------------------------------------------------------------------------
    def matching(self, text: str):
        """MOUs whose title contains `text` (any case): the console's search box."""
        return contains(Mou.title, text)

    def filters(self, args):
        conditions = [
            getattr(Mou, name) == args[name]
            for name in ("organization_id", "agency_id", "supersedes_id")
            if args.get(name) is not None
        ]
        if args.get("status") is not None:
            conditions.append(Mou.state == args["status"])
        if args.get("scope"):
            conditions.append(
                exists(
                    select(MouScope.mou_id).where(
                        MouScope.mou_id == Mou.id, MouScope.scope == args["scope"]
                    )
                )
            )
        if args.get("in_force") is not None:
            in_force = Mou.in_force
            conditions.append(in_force if args["in_force"] else not_(in_force))
        if args.get("ending_within_days") is not None:
            today = db.utc_today()
            conditions += [
                Mou.status == "active",
                Mou.expiry_date >= today,
                Mou.expiry_date <= today + timedelta(days=args["ending_within_days"]),
            ]
        return conditions

    def list(self, session: Session, principal: Principal, args: dict, *conditions) -> Page:
        if args.get("ending_within_days") is None:
            return super().list(session, principal, args, *conditions)
        # A report of MOUs ending soon: the soonest first.
        stmt = select(Mou).where(self.read_filter(principal), *conditions)
        return paginate(session, stmt.order_by(Mou.expiry_date, Mou.id), args)

    def ending_first(self, session: Session, principal: Principal, args: dict, *conditions):
        """The MOUs the caller reads, those in force first, each group by the day it ends
        (the soonest first; no end date last), then by id."""
        stmt = select(Mou).where(self.read_filter(principal), *conditions)
        order = (case((Mou.in_force, 0), else_=1), Mou.expiry_date.is_(None), Mou.expiry_date)
        return paginate(session, stmt.order_by(*order, Mou.id), args)

    def awaiting_answer(self, session: Session, principal: Principal, args: dict) -> Page:
        """Proposals waiting for the caller's party to accept or decline them, oldest first."""
        stmt = select(Mou).where(self.read_filter(principal), lifecycle.awaiting(principal))
        return paginate(session, stmt.order_by(Mou.proposed_at, Mou.id), args)


mous = MouService()
