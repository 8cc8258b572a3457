from sqlalchemy import exists, select, true

from ..auth.principal import Principal
from ..crud import RecordService, contains
from ..mous.models import Mou
from .models import Organization


class OrganizationService(RecordService):
    """Only administrators onboard and change organizations (the default `may_write`)."""

    model = Organization
    noun = "organization"

    def read_filter(self, principal: Principal):
        if principal.is_admin:
            return true()
        if principal.role == "facility_manager":
            return Organization.id == principal.organization_id
        # Agencies see the partners they have any MOU with, so they can read and negotiate it.
        return exists(
            select(Mou.id).where(
                Mou.organization_id == Organization.id, Mou.agency_id == principal.agency_id
            )
        )

    def filters(self, args):
        conditions = []
        if args.get("name"):
            conditions.append(contains(Organization.name, args["name"]))
        if args.get("kind"):
            conditions.append(Organization.kind == args["kind"])
        return conditions

    def order_by(self):
        return (Organization.name, Organization.id)


organizations = OrganizationService()
