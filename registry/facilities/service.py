from sqlalchemy import func, or_, select

from .. import errors
from ..access import visibility, writes
from ..access.roles import Role
from ..api.pagination import Page
from ..auth.principal import Principal
from ..crud import RecordService, contains, paginate
from ..history import FacilityHistory
from ..organizations.models import Organization
from . import review, sealing
from .models import AccessPoint, Facility, FacilityAlias, FacilityExternalId, TacticalPoint


class FacilityService(RecordService):
    model = Facility
    noun = "facility"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER)

    def read_filter(self, principal: Principal):
        return visibility.facilities(principal)

    def history_facility_id(self, record) -> int | None:
        return record.id

    def history(self, session, principal: Principal, facility_id: int, args: dict) -> Page:
        """The facility's history, for those who manage it (deleted facilities included)."""
        facility = self.get(session, principal, facility_id, deleted=None)
        if not self.may_write(principal, facility):
            raise errors.Forbidden(
                "A facility's history is read only by its organization's managers and by "
                "administrators."
            )
        rows = select(FacilityHistory).where(FacilityHistory.facility_id == facility_id)
        return paginate(session, rows.order_by(FacilityHistory.id.desc()), args)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.facility(principal, record)

    def create(self, session, principal, data):
        if "organization_id" not in data and principal.role == Role.FACILITY_MANAGER:
            data = {**data, "organization_id": principal.organization_id}
        if data.get("organization_id") is None:
            raise errors.InvalidInput({"organization_id": ["Missing data for required field."]})
        return super().create(session, principal, data)

    def assign(self, session, record, data):
        data = dict(data)
        if "aliases" in data:
            wanted = list(dict.fromkeys(data.pop("aliases")))
            kept = {row.alias: row for row in record.alias_rows}
            record.alias_rows = [kept.get(alias) or FacilityAlias(alias=alias) for alias in wanted]
        if "external_ids" in data:
            wanted = list(
                dict.fromkeys((e["system"], e["external_id"]) for e in data.pop("external_ids"))
            )
            # Keep unchanged rows: replacing them would insert before deleting and trip the
            # (system, external_id) unique constraint.
            kept = {(row.system, row.external_id): row for row in record.external_ids}
            record.external_ids = [
                kept.get(key) or FacilityExternalId(system=key[0], external_id=key[1])
                for key in wanted
            ]
        super().assign(session, record, data)

    def validate(self, session, record):
        self.require(session, Organization, record.organization_id, "organization_id")
        error = record.refresh_match_keys()
        if error is not None:
            raise errors.InvalidInput(
                {"address_line1": [f"Dispatch could not find this address: {error.reason}"]}
            )

    def judge_write(self, session, principal, record):
        review.hold_if_contested(session, principal, record)

    def after_write(self, session, principal, record):
        review.notify_review(session, principal, record)

    def restore(self, session, principal, record):
        # Derived again, as on every write of a facility: the address rules may have changed
        # while it was deleted (a new gazetteer), and the review compares the keys.
        record.refresh_match_keys()
        review.hold_if_contested(session, principal, record, restoring=True)
        record = super().restore(session, principal, record)
        review.notify_review(session, principal, record)
        return record

    def filters(self, args):
        conditions = []
        if args.get("name"):
            conditions.append(contains(Facility.name, args["name"]))
        if args.get("city"):
            conditions.append(func.lower(Facility.city) == args["city"].lower())
        for name in (
            "facility_type",
            "state",
            "postal_code",
            "organization_id",
            "site_code",
            "review_status",
        ):
            if args.get(name) is not None:
                conditions.append(getattr(Facility, name) == args[name])
        return conditions

    def order_by(self):
        return (Facility.name, Facility.id)

    def matching(self, text: str):
        """Facilities whose name, site code, street address or city contain `text` (any case):
        the console's one search box."""
        return or_(
            *(
                contains(column, text)
                for column in (
                    Facility.name,
                    Facility.site_code,
                    Facility.address_line1,
                    Facility.city,
                )
            )
        )


class FacilityPointService(RecordService):
    """Access points and tactical points: visible and writable with their facility."""

    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id

    def may_write(self, principal: Principal, record) -> bool:
        return writes.facility_part(principal, record)

    def assign(self, session, record, data):
        if "facility_id" in data:
            record.facility = self.require(session, Facility, data["facility_id"], "facility_id")
        super().assign(session, record, data)

    def order_by(self):
        return (self.model.kind, self.model.name, self.model.id)


class AccessPointService(FacilityPointService):
    """Access points. Their code and key location are not columns: this service seals them
    (sealing.py), bound to the point's id and facility. A stored point is sealed before its
    UPDATE; a new one has no id until its INSERT, so it is sealed right after (`after_insert`)."""

    model = AccessPoint
    noun = "access point"

    def read_filter(self, principal: Principal):
        return visibility.access_points(principal)

    def assign(self, session, record, data):
        secrets = _secrets_in(data)
        bound_to = record.facility_id  # what its stored secrets are sealed for (None: new)
        super().assign(session, record, {k: v for k, v in data.items() if k not in secrets})
        if record.id is None:
            return  # a new point: after_insert seals them once the INSERT gave it an id
        if record.facility_id != bound_to:
            sealing.rebind(record, bound_to)
        sealing.seal(record, secrets)

    def after_insert(self, session, record, data):
        sealing.seal_new(session, record, _secrets_in(data))


# A point's address is whole or absent: a street without a town sends nobody anywhere.
# (address_line2, the suite or building, is optional.)
ADDRESS_PARTS = ("address_line1", "city", "state", "postal_code")


class TacticalPointService(FacilityPointService):
    model = TacticalPoint
    noun = "tactical point"

    def read_filter(self, principal: Principal):
        return visibility.tactical_points(principal)

    def validate(self, session, record):
        """Judged on the point as it will be stored, so a PATCH may change one part of an
        address, and a PATCH that clears one part of it is refused."""
        if all(getattr(record, name) is None for name in (*ADDRESS_PARTS, "address_line2")):
            return
        missing = [name for name in ADDRESS_PARTS if getattr(record, name) is None]
        if missing:
            message = "An address needs address_line1, city, state and postal_code together."
            raise errors.InvalidInput({name: [message] for name in missing})


def _secrets_in(data: dict) -> dict:
    return {field: data[field] for field in sealing.FIELDS if field in data}


facilities = FacilityService()
access_points = AccessPointService()
tactical_points = TacticalPointService()
