"""Which records of each type a caller may read: one SQL condition per record type (the reads
table in `registry.access`). Each area's service filters every read with it (`read_filter`), so
a list and a single read follow the same rule and a record the caller may not see is simply not
found: 404, never 403, so nothing tells whether it exists."""

from functools import lru_cache

from sqlalchemy import false, or_, select, true

from ..aliases.models import AddressAlias
from ..auth.principal import Principal
from ..contacts.models import Contact
from ..corrections.models import Correction
from ..db import utc_today
from ..exercises.models import Exercise, ExerciseAgency, Finding
from ..facilities.models import AccessPoint, Facility, TacticalPoint
from ..floorplans.models import FloorPlan, MouDocument
from ..incidents.models import Incident
from ..mous.models import Mou
from ..notifications.models import Delivery, Notification, Subscription
from ..organizations.models import Organization
from .roles import AGENCY_ROLES, Role
from .sharing import (
    has_any_mou,
    organization_took_part,
    shares_facility,
    shares_organization,
)

# --- facilities and what hangs off them ------------------------------------------------------


def scope_of(principal: Principal) -> tuple:
    """What facility visibility depends on: role, binding, and the day (MOUs start and end)."""
    return (principal.role, principal.organization_id, principal.agency_id, utc_today())


@lru_cache(maxsize=256)
def facilities_in_scope(role: Role, organization_id: int | None, agency_id: int | None, today):
    """The facilities a caller of this scope (`scope_of`) may read. Built once per scope:
    expressions are immutable, and building them costs more than the queries that use them."""
    if role == Role.ADMIN:
        return true()
    if role == Role.FACILITY_MANAGER:
        return Facility.organization_id == organization_id
    if role in AGENCY_ROLES:
        # The day of the key, not the clock's: what is built for a day holds that day's rule.
        return shares_facility(agency_id, today)
    return false()


def facilities(principal: Principal):
    """Admins all; a manager its organization's; an agency those shared with it by MOU."""
    return facilities_in_scope(*scope_of(principal))


def live_facility_ids(principal: Principal):
    """Ids of the facilities the caller may read that are not deleted (a deleted facility hides
    its parts with it)."""
    return select(Facility.id).where(facilities(principal), Facility.deleted_at.is_(None))


def access_points(principal: Principal):
    return AccessPoint.facility_id.in_(live_facility_ids(principal))


def tactical_points(principal: Principal):
    return TacticalPoint.facility_id.in_(live_facility_ids(principal))


def address_aliases(principal: Principal):
    return AddressAlias.facility_id.in_(live_facility_ids(principal))


def floor_plans(principal: Principal):
    """A floor plan is part of its facility's pre-plan: read with the facility. (A download may
    also be sent through break-glass: access.break_glass.)"""
    return FloorPlan.facility_id.in_(live_facility_ids(principal))


# --- partners and their agreements ---------------------------------------------------------


def contacts(principal: Principal):
    """Contacts follow their owner: a facility's are read with the facility; an organization's
    by its managers and by the agencies it shares data with; an agency's by its own people and
    by the managers of the organizations it has an MOU with."""
    if principal.role == Role.ADMIN:
        return true()
    by_facility = Contact.facility_id.in_(live_facility_ids(principal))
    if principal.role == Role.FACILITY_MANAGER:
        by_organization = Contact.organization_id == principal.organization_id
        by_agency = has_any_mou(Contact.agency_id, principal.organization_id)
    elif principal.role in AGENCY_ROLES:
        by_organization = shares_organization(principal.agency_id, Contact.organization_id)
        by_agency = Contact.agency_id == principal.agency_id
    else:
        return false()
    return or_(by_facility, by_organization, by_agency)


def mous(principal: Principal):
    """An MOU is read by both of its parties (whatever its status) and by admins."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role == Role.FACILITY_MANAGER:
        return Mou.organization_id == principal.organization_id
    if principal.role in AGENCY_ROLES:
        return Mou.agency_id == principal.agency_id
    return false()


def mou_documents(principal: Principal):
    """The signed MOU is read with the MOU."""
    return MouDocument.mou_id.in_(select(Mou.id).where(mous(principal)))


def organizations(principal: Principal):
    """A manager reads its own organization; an agency the partners it has an MOU with that the
    organization drafted or accepted (whatever its status), so it can read and negotiate it. An
    agency's own draft or proposal naming an organization reveals nothing about it."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role == Role.FACILITY_MANAGER:
        return Organization.id == principal.organization_id
    if principal.role in AGENCY_ROLES:
        return organization_took_part(principal.agency_id, Organization.id)
    return false()


def agencies(principal: Principal):
    """Every signed-in caller reads agencies: partners need to know who responds."""
    return true()


def street_aliases(principal: Principal):
    """Every signed-in caller reads street aliases: they explain how lookups read addresses."""
    return true()


# --- what happened -------------------------------------------------------------------------


def incidents(principal: Principal):
    """An agency reads its own incidents; a manager those at its organization's facilities
    (deleted ones included: the record of what happened stays)."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role in AGENCY_ROLES:
        return Incident.agency_id == principal.agency_id
    if principal.role == Role.FACILITY_MANAGER:
        own = select(Facility.id).where(Facility.organization_id == principal.organization_id)
        return Incident.facility_id.in_(own)
    return false()


def corrections(principal: Principal):
    """A correction report is read by the agency that reported it and by the managers of the
    facility's organization (deleted facilities included: the report stays). Every reader of
    the pre-plan sees the unresolved ones on their items (preplans/document.py)."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role in AGENCY_ROLES:
        return Correction.agency_id == principal.agency_id
    if principal.role == Role.FACILITY_MANAGER:
        own = select(Facility.id).where(Facility.organization_id == principal.organization_id)
        return Correction.facility_id.in_(own)
    return false()


def exercises(principal: Principal):
    """An exercise is read by its parties: the facility's organization (deleted facilities
    included: what was trained stays on record) and the agencies that took part, whether or
    not an MOU still opens the facility to them."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role == Role.FACILITY_MANAGER:
        own = select(Facility.id).where(Facility.organization_id == principal.organization_id)
        return Exercise.facility_id.in_(own)
    if principal.role in AGENCY_ROLES:
        return Exercise.id.in_(
            select(ExerciseAgency.exercise_id).where(
                ExerciseAgency.agency_id == principal.agency_id
            )
        )
    return false()


def findings(principal: Principal):
    """After-action findings are read with their exercise (its parties) or their incident (its
    agency, and the managers of the facility it happened at)."""
    if principal.role == Role.ADMIN:
        return true()
    return or_(
        Finding.exercise_id.in_(select(Exercise.id).where(exercises(principal))),
        Finding.incident_id.in_(select(Incident.id).where(incidents(principal))),
    )


def notifications(principal: Principal):
    """A manager reads its organization's notifications, an agency's people and CAD clients the
    agency's (the routes refuse auditors)."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role == Role.FACILITY_MANAGER:
        return Notification.organization_id == principal.organization_id
    if principal.role in AGENCY_ROLES:
        return Notification.agency_id == principal.agency_id
    return false()


def subscriptions(principal: Principal):
    """Where notifications are sent: an organization's read by its managers, an agency's by its
    people and CAD clients (the routes refuse auditors), all by admins."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role == Role.FACILITY_MANAGER:
        return Subscription.organization_id == principal.organization_id
    if principal.role in AGENCY_ROLES:
        return Subscription.agency_id == principal.agency_id
    return false()


def deliveries(principal: Principal):
    """A notification's delivery to a subscription is read with the subscription (deleted
    subscriptions' included: what was sent stays on record)."""
    if principal.role == Role.ADMIN:
        return true()
    return Delivery.subscription_id.in_(select(Subscription.id).where(subscriptions(principal)))


# --- accounts --------------------------------------------------------------------------------


def accounts(principal: Principal):
    """Users and CAD clients: administrators only (the routes refuse everyone else with 403)."""
    return true() if principal.role == Role.ADMIN else false()
