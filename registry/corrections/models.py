from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, Versioned
from ..facilities.models import Facility
from ..preplans.items import ITEM_KINDS

# What kind of discrepancy (after NENA's discrepancy report, which names the problem's type
# and lets the reporter say what it should be).
DISCREPANCIES = (
    "wrong",  # the item says something that is not so (a code, a door, a number)
    "missing",  # the item leaves out something responders needed
    "outdated",  # it was so once (a liaison who left, a door bricked up)
    "unsafe",  # following it puts responders at risk (a staging area in the line of fire)
    "other",
)
# open → acknowledged (the managers answered) → resolved (fixed, or rejected with a reason).
STATUSES = ("open", "acknowledged", "resolved")
RESOLUTIONS = ("fixed", "rejected")
# Not resolved: what the pre-plan shows on the item.
UNRESOLVED = ("open", "acknowledged")


class Correction(Versioned, Base):
    """A responder's report that an item of a facility's pre-plan is wrong, and the answer of
    the facility's managers. Reported by an agency's people or its CAD; never deleted (the
    record of what responders found stays)."""

    __tablename__ = "corrections"
    __table_args__ = (
        CheckConstraint(f"item_kind IN {ITEM_KINDS}", name="item_kind"),
        CheckConstraint(f"discrepancy IN {DISCREPANCIES}", name="discrepancy"),
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"resolution IS NULL OR resolution IN {RESOLUTIONS}", name="resolution"),
        # Resolved exactly when it has a resolution; a rejection always says why.
        CheckConstraint("(status = 'resolved') = (resolution IS NOT NULL)", name="resolved"),
        CheckConstraint(
            "resolution IS NULL OR resolution <> 'rejected' OR resolution_reason IS NOT NULL",
            name="rejection_reason",
        ),
        # The pre-plan reads the unresolved reports of a facility on every render.
        Index("ix_corrections_facility_id_status", "facility_id", "status"),
    )

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    item_kind: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int] = mapped_column(Integer)
    # The item's name when it was reported (an item deleted since still reads).
    item_name: Mapped[str] = mapped_column(String(200))
    discrepancy: Mapped[str] = mapped_column(String(20))
    problem: Mapped[str] = mapped_column(Text)  # what is wrong
    observed: Mapped[str | None] = mapped_column(Text)  # what the responder found instead
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    reported_by: Mapped[str] = mapped_column(String(40))  # "user:12" / "cad:3"
    reporter_name: Mapped[str] = mapped_column(String(120))  # username / client id then
    # Reported while reading the pre-plan through a break-glass grant: that incident.
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="open")
    response: Mapped[str | None] = mapped_column(Text)  # the managers' answer
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by: Mapped[str | None] = mapped_column(String(120))
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(120))

    facility: Mapped[Facility] = relationship()
