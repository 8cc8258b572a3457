from ..crud import RecordService, contains
from .models import Agency


class AgencyService(RecordService):
    """Every signed-in caller may read agencies (partners need to know who responds);
    only administrators change them (the default `may_write`)."""

    model = Agency
    noun = "agency"

    def filters(self, args):
        conditions = []
        if args.get("name"):
            conditions.append(contains(Agency.name, args["name"]))
        for name in ("agency_type", "state"):
            if args.get(name):
                conditions.append(getattr(Agency, name) == args[name])
        return conditions

    def order_by(self):
        return (Agency.name, Agency.id)


agencies = AgencyService()
