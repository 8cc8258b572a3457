"""The follow-ups report: after-action follow-ups still to be done (open or in progress) that
are overdue (due before today), or due within `due_within_days`, soonest first.

Whose: the follow-ups of the findings the caller reads (access.visibility.findings: of the
exercises it took part in, of its agency's incidents and the incidents at its organization's
facilities; an administrator's, all), narrowed by `organization_id` and `agency_id` (the
follow-up's owner) and `facility_id`. Two queries a page: the count and the page.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import db
from ..access import visibility
from ..auth.principal import Principal
from ..exercises.models import PENDING, Finding
from ..facilities.models import Facility

DEFAULT_DUE_WITHIN_DAYS = 0
LONGEST_DUE_WITHIN_DAYS = 365


@dataclass
class FollowUpsReport:
    as_of: date
    due_within_days: int
    items: list
    total: int
    page: int
    per_page: int


def report(session: Session, principal: Principal, args: dict) -> FollowUpsReport:
    today, within = db.utc_today(), args["due_within_days"]
    conditions = [
        visibility.findings(principal),
        Finding.follow_up_status.in_(PENDING),
        Finding.follow_up_due_on < today + timedelta(days=within),
    ]
    for name, column in (
        ("organization_id", Finding.follow_up_owner_organization_id),
        ("agency_id", Finding.follow_up_owner_agency_id),
        ("facility_id", Finding.facility_id),
    ):
        if args.get(name) is not None:
            conditions.append(column == args[name])
    total = session.scalar(select(func.count(Finding.id)).where(*conditions))
    page, per_page = args["page"], args["per_page"]
    rows = session.execute(
        select(Finding, Facility.name)
        .outerjoin(Facility, Facility.id == Finding.facility_id)
        .where(*conditions)
        .order_by(Finding.follow_up_due_on, Finding.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = [_item(finding, facility_name, today) for finding, facility_name in rows]
    return FollowUpsReport(today, within, items, total, page, per_page)


def _item(finding: Finding, facility_name: str | None, today: date) -> dict:
    due = finding.follow_up_due_on
    return {
        "finding_id": finding.id,
        "exercise_id": finding.exercise_id,
        "incident_id": finding.incident_id,
        "facility_id": finding.facility_id,
        "facility_name": facility_name,
        "text": finding.text,
        "item_kind": finding.item_kind,
        "item_id": finding.item_id,
        "owner": finding.follow_up_owner,
        "owner_organization_id": finding.follow_up_owner_organization_id,
        "owner_agency_id": finding.follow_up_owner_agency_id,
        "due_on": due,
        "status": finding.follow_up_status,
        "overdue": due < today,
        "days_overdue": max(0, (today - due).days),
    }
