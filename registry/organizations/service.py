from ..access import visibility
from ..auth.principal import Principal
from ..crud import RecordService, contains
from .models import Organization


class OrganizationService(RecordService):
    """Only administrators onboard and change organizations (the default `may_write`)."""

    model = Organization
    noun = "organization"

    def read_filter(self, principal: Principal):
        return visibility.organizations(principal)

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
