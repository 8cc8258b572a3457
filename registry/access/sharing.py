"""What an MOU opens: the SQL conditions that say which facilities and organizations share data
with an agency. Only an MOU in force counts (accepted by both parties and not ended, between its
effective and expiry dates: `Mou.in_force`), and only through the scope that says what it
shares."""

from sqlalchemy import exists, or_, select

from ..facilities.models import Facility
from ..mous.models import Mou, MouScope, mou_facilities


def has_scope(scope: str):
    """SQL: the MOU (of the enclosing query) has `scope`."""
    return exists(select(MouScope.mou_id).where(MouScope.mou_id == Mou.id, MouScope.scope == scope))


def has_any_scope(scopes: tuple[str, ...]):
    """SQL: the MOU (of the enclosing query) has one of `scopes`."""
    return exists(
        select(MouScope.mou_id).where(MouScope.mou_id == Mou.id, MouScope.scope.in_(scopes))
    )


def covers_facility(facility_id_column):
    """SQL: the MOU (of the enclosing query) covers the facility: all of its organization's
    facilities, or a list that names this one."""
    return or_(
        Mou.covers_all_facilities,
        exists(
            select(mou_facilities.c.mou_id)
            .where(
                mou_facilities.c.mou_id == Mou.id,
                mou_facilities.c.facility_id == facility_id_column,
            )
            # The facility is two queries up (facility -> MOU -> this list); auto-correlation
            # only looks one up and would add its own `facilities`, matching any listed facility.
            .correlate_except(mou_facilities)
        ),
    )


def shares_facility(agency_id: int, day=None):
    """SQL: the facility (of the enclosing query) is opened to `agency_id` by a data-sharing MOU
    in force (on `day`; by default today) that covers it."""
    return exists(
        select(Mou.id).where(
            Mou.organization_id == Facility.organization_id,
            Mou.agency_id == agency_id,
            Mou.in_force if day is None else Mou.in_force_on(day),
            has_scope("data_sharing"),
            covers_facility(Facility.id),
        )
    )


def shares_organization(agency_id: int, organization_id_column):
    """SQL: the organization has a data-sharing MOU in force (for any of its facilities) with
    `agency_id`."""
    return exists(
        select(Mou.id).where(
            Mou.organization_id == organization_id_column,
            Mou.agency_id == agency_id,
            Mou.in_force,
            has_scope("data_sharing"),
        )
    )


def has_any_mou(agency_id_column, organization_id_column):
    """SQL: the agency and the organization have an MOU, whatever its status or scope (they
    know each other: each may read the other's record and liaisons while they negotiate)."""
    return exists(
        select(Mou.id).where(
            Mou.agency_id == agency_id_column, Mou.organization_id == organization_id_column
        )
    )


def organization_took_part(agency_id: int, organization_id_column):
    """SQL: the organization has an MOU with `agency_id` that it drafted or accepted. An agency
    may draft an MOU naming any organization; only the organization's own part in one lets the
    agency read its record (an agency's draft alone must not reveal who a partner is)."""
    return exists(
        select(Mou.id).where(
            Mou.agency_id == agency_id,
            Mou.organization_id == organization_id_column,
            or_(Mou.drafting_party == "organization", Mou.organization_accepted_at.is_not(None)),
        )
    )
