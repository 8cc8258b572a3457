from sqlalchemy import exists, not_, select

from .. import errors
from ..access import visibility, writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities.models import Facility
from ..floorplans import blobs
from ..organizations.models import Organization
from .models import Mou, MouScope

_NOT_IN_ORGANIZATION = "No facility with id {} in this MOU's organization."


class MouService(RecordService):
    """An organization shares its own data: its managers (and admins) write its MOUs; the agency
    reads them. An agency never grants itself access."""

    model = Mou
    noun = "MOU"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER)

    def read_filter(self, principal: Principal):
        return visibility.mous(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.mou(principal, record)

    def delete(self, session, principal: Principal, record) -> None:
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

    def filters(self, args):
        conditions = [
            getattr(Mou, name) == args[name]
            for name in ("organization_id", "agency_id", "status")
            if args.get(name) is not None
        ]
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
        return conditions


mous = MouService()
