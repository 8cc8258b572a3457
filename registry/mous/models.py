"""MOUs, their scopes and covered facilities, and the two-party lifecycle's columns.

The lifecycle itself (who may propose, accept, terminate, renew, and what each does) is in
lifecycle.py; this module states what is stored and what is derived from it:

- `status` is stored: draft, proposed, active, terminated or superseded. `expired` is never
  stored: an active MOU whose expiry date has passed is expired from that moment (`state`), with
  no job to run first; so is `in_force`, which is what opens an agency's access.
- Each party's acceptance is stored with who (a username at that moment) and when; a database
  check keeps an MOU from being active or superseded without both.
- A renewal points at the MOU it renews (`supersedes_id`); when the renewal becomes active the
  renewed MOU becomes `superseded`, still granting until the day before the renewal begins
  (`superseded_on`), so access has neither a gap nor an overlap.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    String,
    Table,
    Text,
    and_,
    case,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, Versioned, utc_today
from ..facilities.models import Facility

MOU_SCOPES = (
    "data_sharing",
    "cctv_access",
    "training",
    "key_holding",
    "access_codes",
    "staging",
    "reunification",
)
# What is stored (see the module docstring).
MOU_STATUSES = ("draft", "proposed", "active", "terminated", "superseded")
# What the API shows and filters by: the stored status, or `expired` for an active MOU past its
# expiry date.
MOU_STATES = ("draft", "proposed", "active", "expired", "terminated", "superseded")
# Stored statuses that grant access within the MOU's dates.
GRANTING = ("active", "superseded")
PARTIES = ("organization", "agency")

mou_facilities = Table(
    "mou_facilities",
    Base.metadata,
    Column("mou_id", ForeignKey("mous.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "facility_id", ForeignKey("facilities.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class MouScope(Base):
    __tablename__ = "mou_scopes"
    __table_args__ = (CheckConstraint(f"scope IN {MOU_SCOPES}", name="scope"),)

    mou_id: Mapped[int] = mapped_column(ForeignKey("mous.id", ondelete="CASCADE"), primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), primary_key=True)


class Mou(Versioned, Base):
    """A memorandum of understanding between an organization and an agency.

    `covers_all_facilities` is explicit rather than "an empty facility list means all": deleting
    the last listed facility must never widen what an agency may read.
    """

    __tablename__ = "mous"
    __table_args__ = (
        CheckConstraint(f"status IN {MOU_STATUSES}", name="status"),
        CheckConstraint(
            "expiry_date IS NULL OR expiry_date >= effective_date", name="dates_ordered"
        ),
        CheckConstraint(f"drafting_party IN {PARTIES}", name="drafting_party"),
        CheckConstraint(
            f"terminating_party IS NULL OR terminating_party IN {PARTIES}",
            name="terminating_party",
        ),
        # An MOU that grants was accepted by both parties: no code path may activate it alone.
        CheckConstraint(
            f"status NOT IN {GRANTING} OR (organization_accepted_at IS NOT NULL "
            "AND agency_accepted_at IS NOT NULL)",
            name="accepted_by_both",
        ),
        CheckConstraint(
            "status <> 'superseded' OR superseded_on IS NOT NULL", name="superseded_on"
        ),
    )

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    effective_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    covers_all_facilities: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str | None] = mapped_column(Text)

    # The lifecycle (lifecycle.py). "_by" columns hold the account's username at that moment
    # (still meaningful once the account is gone); history and the audit trail keep its id.
    drafting_party: Mapped[str] = mapped_column(String(20), default="organization")
    proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proposed_by: Mapped[str | None] = mapped_column(String(120))
    organization_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    organization_accepted_by: Mapped[str | None] = mapped_column(String(120))
    agency_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agency_accepted_by: Mapped[str | None] = mapped_column(String(120))
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_by: Mapped[str | None] = mapped_column(String(120))
    terminating_party: Mapped[str | None] = mapped_column(String(20))
    termination_reason: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("mous.id", ondelete="SET NULL"), index=True
    )
    superseded_on: Mapped[date | None] = mapped_column(Date)

    scope_rows: Mapped[list[MouScope]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )
    facilities: Mapped[list[Facility]] = relationship(secondary=mou_facilities, lazy="selectin")

    # What history and the audit trail record beside the columns.
    __history_extra__ = ("scopes", "facility_ids")

    @property
    def scopes(self) -> list[str]:
        return sorted(row.scope for row in self.scope_rows)

    @property
    def facility_ids(self) -> list[int]:
        return sorted(f.id for f in self.facilities)

    def accepted_at(self, party: str) -> datetime | None:
        return getattr(self, f"{party}_accepted_at")

    def accept(self, party: str, at: datetime | None, by: str | None) -> None:
        """Record (or, with None, clear) one party's acceptance."""
        setattr(self, f"{party}_accepted_at", at)
        setattr(self, f"{party}_accepted_by", by)

    @property
    def ends_on(self) -> date | None:
        """The last day it grants, by its dates: its expiry date, or the day before its renewal
        begins when that is earlier. None: no end is set."""
        ends = [] if self.expiry_date is None else [self.expiry_date]
        if self.superseded_on is not None:
            ends.append(max(self.superseded_on, date.min + timedelta(days=1)) - timedelta(days=1))
        return min(ends, default=None)

    @property
    def days_left(self) -> int | None:
        """Whole days from today to the last day it grants (0: it ends today), for an active or
        superseded MOU that has not ended; None otherwise, and when no end is set."""
        ends_on, today = self.ends_on, utc_today()
        if self.status not in GRANTING or ends_on is None or ends_on < today:
            return None
        return (ends_on - today).days

    @hybrid_property
    def state(self) -> str:
        """The status as shown: `expired` for an active MOU past its expiry date (UTC)."""
        expired = self.expiry_date is not None and self.expiry_date < utc_today()
        return "expired" if self.status == "active" and expired else self.status

    @state.inplace.expression
    @classmethod
    def _state_expression(cls):
        expired = and_(cls.status == "active", cls.expiry_date < utc_today())
        return case((expired, "expired"), else_=cls.status)

    @hybrid_property
    def in_force(self) -> bool:
        """Granting today (UTC): active (or superseded by a renewal that has not begun), and
        within its dates. In SQL too, for the visibility rules (`in_force_on`)."""
        today = utc_today()
        return (
            self.status in GRANTING
            and self.effective_date <= today
            and (self.expiry_date is None or self.expiry_date >= today)
            and (self.superseded_on is None or self.superseded_on > today)
        )

    @in_force.inplace.expression
    @classmethod
    def _in_force_expression(cls):
        return cls.in_force_on(utc_today())

    @classmethod
    def in_force_on(cls, day: date):
        """SQL: the MOU grants on `day`. An MOU expiring on day D grants through the end of D
        (UTC) and not from the first instant of D + 1: the comparison is with the day of the
        query, so no job has to run for access to stop."""
        return and_(
            # Not `in_`: SQLAlchemy renders an IN list into the statement again on every
            # execution, and this is part of every pre-plan read.
            or_(*(cls.status == status for status in GRANTING)),
            cls.effective_date <= day,
            or_(cls.expiry_date.is_(None), cls.expiry_date >= day),
            or_(cls.superseded_on.is_(None), cls.superseded_on > day),
        )


def signed_by_both(organization_by: str, agency_by: str, at: datetime) -> dict:
    """The lifecycle columns of an MOU the organization proposed and both parties accepted at
    `at`: for rows written outside the lifecycle that stand for a signed MOU (demo data, the
    benchmarks, the match-evaluation set). The database refuses an active MOU without them."""
    return {
        "proposed_at": at,
        "proposed_by": organization_by,
        "organization_accepted_at": at,
        "organization_accepted_by": organization_by,
        "agency_accepted_at": at,
        "agency_accepted_by": agency_by,
    }
