from .. import errors
from ..access import visibility
from ..addresses import gazetteer
from ..auth.principal import Principal
from ..crud import RecordService, contains
from .models import Agency


class AgencyService(RecordService):
    """Every signed-in caller may read agencies (partners need to know who responds);
    only administrators change them (the default `may_write`)."""

    model = Agency
    noun = "agency"

    def read_filter(self, principal: Principal):
        return visibility.agencies(principal)

    def filters(self, args):
        conditions = []
        if args.get("name"):
            conditions.append(contains(Agency.name, args["name"]))
        for name in ("agency_type", "state"):
            if args.get(name):
                conditions.append(getattr(Agency, name) == args[name])
        return conditions

    def validate(self, session, record):
        counties = list(dict.fromkeys(record.county_fips or ()))
        problems = [
            f"{code} is not a county of {record.state}."
            for code in counties
            if gazetteer.county_state(code) is None or gazetteer.county_state(code) != record.state
        ]
        if counties and not record.state:
            problems = ["Counties need the agency's state."]
        if problems:
            raise errors.InvalidInput({"county_fips": problems})
        record.county_fips = counties

    def order_by(self):
        return (Agency.name, Agency.id)


agencies = AgencyService()
