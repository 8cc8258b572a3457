"""The CAD lookup as dispatch uses it: find the facility, and bring its pre-plan when certain."""

from sqlalchemy.orm import Session

from ..auth.principal import Principal
from .document import preplan
from .lookup import LookupQuery, LookupResult, lookup


def find_preplan(
    session: Session, principal: Principal, query: LookupQuery, lenient: bool = False
) -> LookupResult:
    """Look up; attach the pre-plan of an unambiguous match the caller may read."""
    result = lookup(session, principal, query, lenient)
    if result.status == "matched":
        result.preplan = preplan(session, principal, result.facility_id).document
    return result
