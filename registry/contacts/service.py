from sqlalchemy import exists, false, or_, select, true

from .. import access
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities.models import Facility
from ..mous.models import Mou
from ..organizations.models import Organization
from .models import Contact, in_call_order


class ContactService(RecordService):
    """Contacts follow their owner: a facility's contacts are visible with the facility; an
    organization's to its managers and to agencies it shares data with; an agency's to its own
    people and to the partners it has an MOU with."""

    model = Contact
    noun = "contact"
    creator_roles = ("admin", "facility_manager", "agency_user")

    def read_filter(self, principal: Principal):
        by_facility = Contact.facility_id.in_(access.live_facilities(principal))
        if principal.is_admin:
            return Contact.id.is_not(None)
        if principal.role == "facility_manager":
            by_organization = Contact.organization_id == principal.organization_id
            by_agency = exists(
                select(Mou.id).where(
                    Mou.agency_id == Contact.agency_id,
                    Mou.organization_id == principal.organization_id,
                )
            )
        elif principal.role in access.AGENCY_ROLES:
            by_organization = access.shares_organization(
                principal.agency_id, Contact.organization_id
            )
            by_agency = Contact.agency_id == principal.agency_id
        else:
            return false()
        return or_(by_facility, by_organization, by_agency)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id

    def may_write(self, principal: Principal, record) -> bool:
        if record.facility_id is not None:
            return access.manages_organization(principal, record.facility.organization_id)
        if record.organization_id is not None:
            return access.manages_organization(principal, record.organization_id)
        # An agency keeps its own liaison list current.
        return principal.is_admin or (
            principal.role == "agency_user" and principal.agency_id == record.agency_id
        )

    def restorable_filter(self, principal: Principal):
        # may_write in SQL: an agency reads a partner's contacts but restores only its own.
        if principal.is_admin:
            return true()
        if principal.role == "facility_manager":
            own_facilities = select(Facility.id).where(
                Facility.organization_id == principal.organization_id
            )
            return or_(
                Contact.facility_id.in_(own_facilities),
                Contact.organization_id == principal.organization_id,
            )
        if principal.role == "agency_user":
            return Contact.agency_id == principal.agency_id
        return false()

    def assign(self, session, record, data):
        owners = {"facility_id": Facility, "organization_id": Organization, "agency_id": Agency}
        for field, model in owners.items():
            if field in data:
                owner = self.require(session, model, data[field], field)
                if field == "facility_id":
                    record.facility = owner
        super().assign(session, record, data)

    def order_by(self):
        return in_call_order()


contacts = ContactService()
