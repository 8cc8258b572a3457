from datetime import date

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
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Versioned, utc_today
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
MOU_STATUSES = ("draft", "active", "suspended", "terminated")

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

    scope_rows: Mapped[list[MouScope]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )
    facilities: Mapped[list[Facility]] = relationship(secondary=mou_facilities, lazy="selectin")

    @property
    def scopes(self) -> list[str]:
        return sorted(row.scope for row in self.scope_rows)

    @property
    def facility_ids(self) -> list[int]:
        return sorted(f.id for f in self.facilities)

    @hybrid_property
    def in_force(self) -> bool:
        """Active and within its dates today (UTC); in SQL too, for visibility rules."""
        today = utc_today()
        return (
            self.status == "active"
            and self.effective_date <= today
            and (self.expiry_date is None or self.expiry_date >= today)
        )

    @in_force.inplace.expression
    @classmethod
    def _in_force_expression(cls):
        today = utc_today()
        return and_(
            cls.status == "active",
            cls.effective_date <= today,
            or_(cls.expiry_date.is_(None), cls.expiry_date >= today),
        )
