from .. import addresses, errors
from ..access import visibility, writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities import review
from ..facilities.models import Facility
from .models import AddressAlias, StreetAlias


class AddressAliasService(RecordService):
    """A facility's other site addresses: read with the facility, written by its managers.

    An alias at another organization's registered address is refused (except to an
    administrator): like a contested registration, it would take over that facility's lookups.
    """

    model = AddressAlias
    noun = "address alias"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER)

    def read_filter(self, principal: Principal):
        return visibility.address_aliases(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.facility_part(principal, record)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id

    def create(self, session, principal, data):
        return super().create(session, principal, {**data, "created_by": principal.subject})

    def assign(self, session, record, data):
        if "facility_id" in data:
            record.facility = self.require(session, Facility, data["facility_id"], "facility_id")
        super().assign(session, record, data)

    def validate(self, session, record):
        try:
            record.derive_keys()
        except addresses.AddressError as exc:
            raise errors.InvalidInput({"address": [exc.reason]}) from None
        if record.address_key == record.facility.address_key:
            raise errors.InvalidInput({"address": ["This is the facility's own address."]})

    def judge_write(self, session, principal, record):
        if principal.is_admin:
            return
        if review.others_at(session, record.facility, record.address_key_core):
            raise errors.Conflict(
                "Another organization's facility is registered at this address; "
                "an administrator must add this alias."
            )


class StreetAliasService(RecordService):
    """An agency's street aliases for its jurisdiction: readable by every signed-in caller
    (they explain how lookups read), written by the agency's people and administrators."""

    model = StreetAlias
    noun = "street alias"
    creator_roles = (Role.ADMIN, Role.AGENCY_USER)

    def read_filter(self, principal: Principal):
        return visibility.street_aliases(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.street_alias(principal, record)

    def create(self, session, principal, data):
        return super().create(session, principal, {**data, "created_by": principal.subject})

    def assign(self, session, record, data):
        if "agency_id" in data:
            self.require(session, Agency, data["agency_id"], "agency_id")
        super().assign(session, record, data)

    def validate(self, session, record):
        agency = session.get(Agency, record.agency_id)
        record.state = record.state or agency.state
        if not record.state:
            raise errors.InvalidInput({"state": ["The agency has no state: say which."]})
        problems = {}
        if agency.state and record.state != agency.state:
            problems["state"] = [f"Aliases apply in the agency's own state, {agency.state}."]
        if (
            record.county_fips
            and agency.county_fips
            and record.county_fips not in agency.county_fips
        ):
            problems["county_fips"] = ["Not one of the agency's counties."]
        record.derive_keys()
        if record.alias_full == record.street_full:
            problems["alias"] = ["The alias reads as the street itself."]
        if problems:
            raise errors.InvalidInput(problems)

    def order_by(self):
        return (StreetAlias.alias_full, StreetAlias.id)


address_aliases = AddressAliasService()
street_aliases = StreetAliasService()
