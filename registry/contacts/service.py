from ..access import visibility, writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities.models import Facility
from ..organizations.models import Organization
from .models import Contact, in_call_order


class ContactService(RecordService):
    """Contacts of a facility, an organization or an agency: they follow their owner
    (access.visibility.contacts, access.writes.contact)."""

    model = Contact
    noun = "contact"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER)

    def read_filter(self, principal: Principal):
        return visibility.contacts(principal)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id

    def may_write(self, principal: Principal, record) -> bool:
        return writes.contact(principal, record)

    def restorable_filter(self, principal: Principal):
        return writes.restorable_contacts(principal)

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
