"""Break-glass: the one way past the visibility rules, and the answers that use it.

A mutual-aid agency without an MOU responds to an incident at a facility that does not share
with it. Opening an incident there (incidents.service) grants break-glass when `may_grant` says
so; while that grant is live, the agency may read that one facility's pre-plan, read-only,
download the floor plans it lists, and reveal its door codes. Every such response is flagged
(`break_glass` in the body, the `Registry-Break-Glass` header), every read is audited, and the
facility's organization is told. Nothing else opens: not the facility record, not other
facilities, not writes.

Three questions are answered here, each with a `Decision` (allowed or not, why, and the incident
when the answer is break-glass), never with an exception:
- `may_read`: may this caller read this facility's pre-plan (and the floor plans it lists)?
- `may_reveal`: may this caller reveal the door codes and key locations at this facility?
- `may_grant`: does opening an incident at this facility grant this caller break-glass?
The pre-plan reads `may_read`'s facts in the same query as its cache stamp (`read_facts`,
`decide`), so a pre-plan read stays one query.
"""

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, exists, null, select
from sqlalchemy.orm import Session

from ..auth.principal import Principal
from ..db import utcnow
from ..facilities.models import Facility
from ..fields import MAX_ID
from ..incidents.models import Incident
from ..mous.models import Mou
from .roles import AGENCY_ROLES, Role
from .sharing import covers_facility, has_any_scope
from .visibility import facilities_in_scope, scope_of
from .writes import manages_organization

# Response header naming the incident through which a break-glass read was allowed.
HEADER = "Registry-Break-Glass"
# An MOU with one of these lets an agency's people and CAD reveal the codes, not only read the
# plan; a data-sharing MOU alone opens no doors.
REVEAL_SCOPES = ("key_holding", "access_codes")
# Why a caller reads a facility it may read without break-glass, by role.
_READS_BECAUSE = {
    Role.ADMIN: "administrator",
    Role.FACILITY_MANAGER: "own_organization",
    Role.AGENCY_USER: "data_sharing_mou",
    Role.CAD: "data_sharing_mou",
}


@dataclass(frozen=True)
class Decision:
    """An answer and its reason (a code, as audit rows spell reasons). `incident`: the live
    break-glass incident the answer rests on, when it does."""

    allowed: bool
    reason: str
    incident: Incident | None = None

    @property
    def break_glass(self) -> bool:
        return self.incident is not None


def header_value(incident: Incident) -> str:
    return f"incident={incident.id}"


def live_grant(now):
    """SQL: an incident whose break-glass grant can be used at `now`: a break-glass incident
    that is open, has not expired and was not ended early (closing one ends its grant for good,
    so a re-opened incident grants nothing: incidents.service)."""
    return (
        Incident.break_glass.is_(True)
        & (Incident.status == "open")
        & (Incident.access_expires_at > now)
        & Incident.break_glass_ended_at.is_(None)
    )


# --- may_read ------------------------------------------------------------------------------


def read_facts(scope: tuple) -> tuple:
    """The columns `decide` needs, for a query over one facility (the enclosing `facilities`
    row) by a caller of `scope` (visibility.scope_of): whether the caller's role or MOU lets it
    read the facility (`visible`), and the caller's agency's newest live break-glass incident
    there (`grant_id`). The instant the grant must be live at is the bind parameter `now`."""
    role, _, agency_id, _ = scope
    grant = null()
    if role in AGENCY_ROLES:
        grant = (
            select(Incident.id)
            .where(
                Incident.agency_id == agency_id,
                Incident.facility_id == Facility.id,
                live_grant(bindparam("now")),
            )
            .order_by(Incident.opened_at.desc(), Incident.id.desc())
            .limit(1)
            .scalar_subquery()
        )
    return facilities_in_scope(*scope).label("visible"), grant.label("grant_id")


def decide(session: Session, principal: Principal, facts) -> Decision:
    """`may_read`'s answer from its facts (a row with `read_facts`' columns; None: there is no
    such facility, or it is deleted). The caller's own rules come first: an agency that reads a
    facility by MOU reads it as itself, not through an incident it may also have there."""
    if facts is None:
        return Decision(False, "no_such_facility")
    if facts.visible:
        return Decision(True, _READS_BECAUSE.get(principal.role, "visible"))
    if facts.grant_id is not None:
        return Decision(True, "break_glass", session.get(Incident, facts.grant_id))
    return Decision(False, "not_shared")


@lru_cache(maxsize=256)
def _facts_statement(scope: tuple):
    return select(*read_facts(scope)).where(
        Facility.id == bindparam("facility_id"), Facility.deleted_at.is_(None)
    )


def _facts(session: Session, principal: Principal, facility_id: int):
    if not 0 < facility_id <= MAX_ID:  # names nothing, and would overflow the driver
        return None
    statement = _facts_statement(scope_of(principal))
    return session.execute(statement, {"facility_id": facility_id, "now": utcnow()}).first()


def may_read(session: Session, principal: Principal, facility_id: int) -> Decision:
    """May the caller read this facility's pre-plan, and the floor plans it lists? Yes by role
    or MOU (the facility's visibility), else through a live break-glass grant of its agency."""
    return decide(session, principal, _facts(session, principal, facility_id))


# --- may_reveal ----------------------------------------------------------------------------


def _holds_keys(session: Session, principal: Principal, facility: Facility) -> bool:
    """An MOU in force between the caller's agency and the facility's organization, covering the
    facility, with a scope that opens doors (REVEAL_SCOPES)."""
    if principal.role not in AGENCY_ROLES:
        return False
    return bool(
        session.scalar(
            select(
                exists(
                    select(Mou.id).where(
                        Mou.organization_id == facility.organization_id,
                        Mou.agency_id == principal.agency_id,
                        Mou.in_force,
                        has_any_scope(REVEAL_SCOPES),
                        covers_facility(facility.id),
                    )
                )
            )
        )
    )


def may_reveal(session: Session, principal: Principal, facility: Facility) -> Decision:
    """May the caller reveal the door codes and key locations at this (live) facility? Its
    managers and admins may, and agencies whose MOU there holds the keys; any other agency only
    through a live break-glass grant (an ordinary incident, or a data-sharing MOU, lets it read
    the plan, not the codes). A refusal says whether the caller reads the facility at all
    (`not_shared`: it must not learn that the access point exists) or not enough
    (`no_key_scope`)."""
    if manages_organization(principal, facility.organization_id):
        return Decision(True, _READS_BECAUSE.get(principal.role, "visible"))
    if _holds_keys(session, principal, facility):
        return Decision(True, "key_holding_mou")
    facts = _facts(session, principal, facility.id)
    if facts is not None and facts.grant_id is not None:
        return Decision(True, "break_glass", session.get(Incident, facts.grant_id))
    return Decision(False, "no_key_scope" if facts is not None and facts.visible else "not_shared")


# --- may_grant -----------------------------------------------------------------------------


def may_grant(principal: Principal, facility: Facility, jurisdiction) -> Decision:
    """Does opening an incident at `facility` (registered, not shared with the caller's agency)
    grant break-glass?

    A CAD client may always be granted: it is the dispatch system itself, provisioned by an
    administrator, and mutual aid is dispatched through it. A person (an agency user) only where
    their agency serves, by `jurisdiction` (preplans.lookup.jurisdiction_of; none: no grant),
    so that an account anywhere cannot open any facility's pre-plan and codes by itself.
    """
    if principal.role == Role.CAD:
        return Decision(True, "cad_client")
    if jurisdiction is None:
        return Decision(False, "agency_has_no_jurisdiction")
    if not jurisdiction.covers(facility.state, facility.county_fips):
        return Decision(False, "outside_jurisdiction")
    return Decision(True, "within_jurisdiction")
