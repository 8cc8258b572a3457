"""The freshness report: which facilities need their managers' attention, and why.

A facility is listed when a part of its pre-plan (the facility itself, a live contact, access
point or tactical point, a current floor plan) is stale today or will be within
`due_within_days` (confirmation.py: never confirmed, or `due_on` before today + that many
days), or when its pre-plan is incomplete:

- `no_24_7_contact`: none of its live contacts is available 24/7;
- `no_access_point`: it has no live access point;
- `no_staging_area`: it has no live tactical point of the kind `staging_area`;
- `main_phone_shared`: another live facility the caller reads has the same main phone (numbers
  are stored in E.164, so equal means the same number). Only facilities the caller reads are
  compared, or the report would tell a manager whether a number it typed is some other
  partner's main phone; an administrator reads them all.

Whose facilities: an administrator's, all (narrowed by `organization_id`, and by `agency_id` to
those shared with that agency); a facility manager's, its organization's; an agency user's,
those shared with its agency by MOU (access.visibility, the facility rule). The filters only
narrow what the caller reads. A page is six queries whatever the number of facilities: the
count, the page of facilities with their reasons, and one per kind of part for that page.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from .. import confirmation, db
from ..access import sharing, visibility
from ..auth.principal import Principal
from ..contacts.models import contact_listings
from ..facilities.models import AccessPoint, Facility, TacticalPoint
from ..floorplans.models import FloorPlan

REASONS = ("no_24_7_contact", "no_access_point", "no_staging_area", "main_phone_shared")
DEFAULT_DUE_WITHIN_DAYS = 30
LONGEST_DUE_WITHIN_DAYS = 365

# The kinds of parts, the model of each, what makes one live, and the name a reader knows it by.
# Contacts as the facilities list them: an organization's contact counts at each facility
# whose pre-plan lists it.
_LISTED = contact_listings().c
PARTS = {
    "contact": (_LISTED, _LISTED.deleted_at.is_(None), _LISTED.name),
    "access_point": (AccessPoint, AccessPoint.deleted_at.is_(None), AccessPoint.name),
    "tactical_point": (TacticalPoint, TacticalPoint.deleted_at.is_(None), TacticalPoint.name),
    "floor_plan": (FloorPlan, FloorPlan.current, FloorPlan.title),
}


@dataclass
class DueItem:
    kind: str
    id: int
    name: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    age_days: int | None
    due_on: date | None
    stale: bool


@dataclass
class FacilityAttention:
    facility_id: int
    facility_name: str
    organization_id: int
    incomplete: list[str]
    due: list[DueItem] = field(default_factory=list)


@dataclass
class FreshnessReport:
    as_of: date
    due_within_days: int
    max_age_days: dict[str, int]
    items: list[FacilityAttention]
    total: int
    page: int
    per_page: int


def report(session: Session, principal: Principal, args: dict) -> FreshnessReport:
    """One page of the facilities the caller reads that need attention (the route admits only
    admins, facility managers and agency users)."""
    today, within = db.utc_today(), args["due_within_days"]
    max_ages = confirmation.max_ages(current_app.config)
    cutoffs = {
        kind: confirmation.stale_by_cutoff(today, days, within) for kind, days in max_ages.items()
    }
    reported = aliased(Facility, name="reported")
    reasons = _reasons(principal, reported)
    attention = or_(
        _due(reported.confirmed_at, cutoffs["facility"]),
        *(_has_due_part(reported, kind, cutoffs[kind]) for kind in PARTS),
        *reasons.values(),
    )
    listed = (reported.id.in_(_scope(principal, args)), attention)
    total = session.scalar(select(func.count(reported.id)).where(*listed))
    page, per_page = args["page"], args["per_page"]
    rows = session.execute(
        select(
            reported.id,
            reported.name,
            reported.organization_id,
            reported.confirmed_at,
            reported.confirmed_by,
            *(condition.label(reason) for reason, condition in reasons.items()),
        )
        .where(*listed)
        .order_by(reported.name, reported.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = {}
    for row in rows:
        entry = FacilityAttention(
            row.id, row.name, row.organization_id, [r for r in REASONS if getattr(row, r)]
        )
        if _due_now_or_soon(row.confirmed_at, cutoffs["facility"]):
            entry.due.append(
                _item(
                    "facility",
                    row.id,
                    row.name,
                    row.confirmed_at,
                    row.confirmed_by,
                    today,
                    max_ages,
                )
            )
        items[row.id] = entry
    for kind, (model, live, name) in PARTS.items():
        if not items:
            break
        for part in session.execute(
            select(
                model.id,
                model.facility_id,
                name.label("name"),
                model.confirmed_at,
                model.confirmed_by,
            )
            .where(
                model.facility_id.in_(list(items)), live, _due(model.confirmed_at, cutoffs[kind])
            )
            .order_by(model.id)
        ):
            items[part.facility_id].due.append(
                _item(
                    kind, part.id, part.name, part.confirmed_at, part.confirmed_by, today, max_ages
                )
            )
    for entry in items.values():
        # Never confirmed first, then the most overdue; the facility before its parts on a tie.
        entry.due.sort(key=lambda item: (item.due_on is not None, item.due_on or today))
    return FreshnessReport(today, within, max_ages, list(items.values()), total, page, per_page)


def _scope(principal: Principal, args: dict):
    """Ids of the live facilities the caller reads, narrowed by the filters."""
    conditions = [visibility.facilities(principal), Facility.deleted_at.is_(None)]
    if args.get("organization_id") is not None:
        conditions.append(Facility.organization_id == args["organization_id"])
    if args.get("agency_id") is not None:
        conditions.append(sharing.shares_facility(args["agency_id"]))
    return select(Facility.id).where(*conditions)


def _reasons(principal: Principal, reported) -> dict:
    """Each reason a facility's pre-plan is incomplete, as SQL about the `reported` facility."""

    def live_part(model, *conditions):
        return exists(
            select(model.id).where(
                model.facility_id == reported.id, model.deleted_at.is_(None), *conditions
            )
        )

    other = aliased(Facility, name="other")
    return {
        "no_24_7_contact": ~live_part(_LISTED, _LISTED.available_24_7.is_(True)),
        "no_access_point": ~live_part(AccessPoint),
        "no_staging_area": ~live_part(TacticalPoint, TacticalPoint.kind == "staging_area"),
        "main_phone_shared": and_(
            reported.main_phone.is_not(None),
            exists(
                select(other.id).where(
                    other.main_phone == reported.main_phone,
                    other.id != reported.id,
                    other.id.in_(visibility.live_facility_ids(principal)),
                )
            ),
        ),
    }


def _due(confirmed_at, cutoff: datetime):
    """SQL: stale by today + due_within_days (confirmation.stale_by_cutoff)."""
    return or_(confirmed_at.is_(None), confirmed_at < cutoff)


def _due_now_or_soon(confirmed_at: datetime | None, cutoff: datetime) -> bool:
    return confirmed_at is None or confirmed_at < cutoff


def _has_due_part(reported, kind: str, cutoff: datetime):
    model, live, _ = PARTS[kind]
    return exists(
        select(model.id).where(
            model.facility_id == reported.id, live, _due(model.confirmed_at, cutoff)
        )
    )


def _item(kind, record_id, name, confirmed_at, confirmed_by, today, max_ages) -> DueItem:
    age = confirmation.age_days(confirmed_at, today)
    return DueItem(
        kind=kind,
        id=record_id,
        name=name,
        confirmed_at=confirmed_at,
        confirmed_by=confirmed_by,
        age_days=age,
        due_on=confirmation.due_on(confirmed_at, max_ages[kind]),
        stale=confirmation.is_stale(age, max_ages[kind]),
    )
