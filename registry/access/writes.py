"""Who may change a record of each type (the writes table in `registry.access`): one function
per record type, asked by the area's service (`may_write`) before and after a change is applied,
so a record can neither be touched nor moved where the caller may not write. A write also needs
the record to be visible (`visibility`): an invisible one is not found."""

from sqlalchemy import false, or_, select, true

from ..auth.principal import Principal
from ..contacts.models import Contact
from ..facilities.models import Facility
from .roles import AGENCY_ROLES, Role


def manages_organization(principal: Principal, organization_id: int | None) -> bool:
    """Admins manage every organization's data; a facility manager only its own."""
    return principal.is_admin or (
        principal.role == Role.FACILITY_MANAGER
        and organization_id is not None
        and principal.organization_id == organization_id
    )


def facility(principal: Principal, record) -> bool:
    return manages_organization(principal, record.organization_id)


def facility_part(principal: Principal, record) -> bool:
    """Access points, tactical points, address aliases and floor plans: with their facility."""
    return manages_organization(principal, record.facility.organization_id)


def contact(principal: Principal, record: Contact) -> bool:
    """A facility's or organization's contacts by the organization's managers; an agency's by
    its own people (an agency keeps its own liaison list current; its CAD does not)."""
    if record.facility_id is not None:
        return manages_organization(principal, record.facility.organization_id)
    if record.organization_id is not None:
        return manages_organization(principal, record.organization_id)
    return principal.is_admin or (
        principal.role == Role.AGENCY_USER and principal.agency_id == record.agency_id
    )


def restorable_contacts(principal: Principal):
    """`contact` as SQL, for listing the deleted contacts a caller may restore: an agency reads
    a partner's contacts but restores only its own."""
    if principal.role == Role.ADMIN:
        return true()
    if principal.role == Role.FACILITY_MANAGER:
        own_facilities = select(Facility.id).where(
            Facility.organization_id == principal.organization_id
        )
        return or_(
            Contact.facility_id.in_(own_facilities),
            Contact.organization_id == principal.organization_id,
        )
    if principal.role == Role.AGENCY_USER:
        return Contact.agency_id == principal.agency_id
    return false()


def mou(principal: Principal, record) -> bool:
    """Both parties act on an MOU: the organization's managers for the organization, the
    agency's people (not its CAD clients) for the agency, admins for either. Neither can grant
    alone: what each may do at each step, and that an MOU grants only once both accepted, is
    mous/lifecycle.py's."""
    return manages_organization(principal, record.organization_id) or acts_for_agency(
        principal, record.agency_id
    )


def acts_for_agency(principal: Principal, agency_id: int | None) -> bool:
    """An agency's people act for it (its CAD clients read, and open incidents, only)."""
    return (
        principal.role == Role.AGENCY_USER
        and agency_id is not None
        and principal.agency_id == agency_id
    )


def mou_document(principal: Principal, record) -> bool:
    """The signed copy is the organization's to keep, as before the two-party lifecycle."""
    return manages_organization(principal, record.mou.organization_id)


def incident(principal: Principal, record) -> bool:
    """An incident belongs to the agency that opened it (a facility's managers may only end its
    break-glass grant: incidents.service)."""
    return principal.is_admin or (
        principal.role in AGENCY_ROLES and record.agency_id == principal.agency_id
    )


def correction(principal: Principal, record) -> bool:
    """A correction report is answered and resolved by the facility's managers (its reporter
    reads the answer; nobody edits what was reported)."""
    return manages_organization(principal, record.facility.organization_id)


def exercise(principal: Principal, record) -> bool:
    """An exercise is recorded and kept by its parties: the facility's managers and the people
    (not the CAD) of an agency that took part."""
    return manages_organization(principal, record.facility.organization_id) or (
        principal.role == Role.AGENCY_USER and principal.agency_id in record.agency_ids
    )


def finding(principal: Principal, record) -> bool:
    """A finding is written by whoever writes its exercise; of an incident, by the incident's
    agency's people and the managers of the facility it happened at."""
    if record.exercise is not None:
        return exercise(principal, record.exercise)
    owner = record.facility.organization_id if record.facility is not None else None
    return manages_organization(principal, owner) or (
        principal.role == Role.AGENCY_USER and principal.agency_id == record.incident.agency_id
    )


def street_alias(principal: Principal, record) -> bool:
    return principal.is_admin or (
        principal.role == Role.AGENCY_USER and principal.agency_id == record.agency_id
    )


def subscription(principal: Principal, record) -> bool:
    """An organization's subscriptions by its managers, an agency's by its people (not its
    CAD clients), any by admins."""
    return manages_organization(principal, record.organization_id) or acts_for_agency(
        principal, record.agency_id
    )


def admin_only(principal: Principal, record) -> bool:
    """Organizations, agencies, users and CAD clients."""
    return principal.is_admin
