from sqlalchemy import func, inspect, select

from .. import errors
from ..access import visibility, writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..api.pagination import Page
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities.models import Facility
from ..organizations.models import Organization
from .models import Contact, contact_listings, in_call_order


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

    def validate(self, session, record):
        # Only the places being added: one kept from before stays valid even if its facility
        # was deleted since (the pre-plan of a deleted facility is not read).
        added = {row.facility_id for row in record.assignment_rows if not inspect(row).persistent}
        if added:
            self._check_assignments(session, record, added)

    def _check_assignments(self, session, record, wanted: set[int]) -> None:
        """An organization's contact is listed only at that organization's live facilities."""
        if record.organization_id is None:
            raise errors.InvalidInput(
                {
                    "facilities": [
                        "Only an organization's contacts are listed at facilities; add a "
                        "facility's own contact to that facility instead."
                    ]
                }
            )
        found = set(
            session.scalars(
                select(Facility.id).where(
                    Facility.id.in_(wanted),
                    Facility.organization_id == record.organization_id,
                    Facility.deleted_at.is_(None),
                )
            )
        )
        missing = sorted(wanted - found)
        if missing:
            names = ", ".join(str(facility_id) for facility_id in missing[:10])
            raise errors.InvalidInput(
                {
                    "facilities": [
                        f"Not a facility of this contact's organization: {names}"
                        + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
                        + "."
                    ]
                }
            )

    def order_by(self):
        return in_call_order()

    def listed_at(self, session, principal: Principal, facility_id: int, args: dict) -> Page:
        """One page of the live contacts a facility lists, in its call order, as the pre-plan
        lists them: its own, and its organization's contacts assigned to it at their place
        there. Items are (contact, its place in this facility's call order)."""
        listed = contact_listings()
        rows = (
            select(Contact, listed.c.call_order)
            .join(listed, listed.c.id == Contact.id)
            .where(
                listed.c.facility_id == facility_id,
                Contact.deleted_at.is_(None),
                self.read_filter(principal),
            )
            .order_by(*in_call_order(listed.c.call_order))
        )
        total = session.scalar(select(func.count()).select_from(rows.order_by(None).subquery()))
        page, per_page = args["page"], args["per_page"]
        items = session.execute(rows.limit(per_page).offset((page - 1) * per_page)).all()
        return Page([tuple(row) for row in items], total, page, per_page)


contacts = ContactService()
