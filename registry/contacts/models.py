from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, Versioned
from ..facilities.models import Facility

PHONE_KINDS = ("mobile", "office", "desk", "home", "pager", "satellite", "other")


class Contact(Versioned, Base):
    """A liaison person of a facility, an organization or an agency (exactly one of them)."""

    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN facility_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN organization_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN agency_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner",
        ),
        CheckConstraint("call_order >= 1", name="call_order_positive"),
    )

    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    # [{"kind": "mobile", "number": "+16175550100"}, ...] in the order to try them.
    phones: Mapped[list] = mapped_column(JSON, default=list)
    call_order: Mapped[int] = mapped_column(Integer, default=1)
    available_24_7: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    facility: Mapped[Facility | None] = relationship()
