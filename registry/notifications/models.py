from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

NOTIFICATION_KINDS = (
    "break_glass_access",
    "break_glass_reveal",
    "break_glass_ended",  # the organization ended an agency's break-glass grant early
    "facility_review",  # a registration at another organization's address waits for review
    # An MOU's lifecycle (mous/lifecycle.py), told to the other party.
    "mou_proposed",
    "mou_changed",  # a proposed MOU's terms changed: the other party must accept them again
    "mou_accepted",
    "mou_terminated",
    "incident_opened",  # an agency opened an incident at the organization's facility
    "mou_ending_soon",  # an active MOU's end date is near (told to both parties)
    "mou_expired",  # an active MOU's end date has passed: it no longer grants access
    "data_stale",  # a facility's pre-plan holds items past their confirmation age
    "correction_reported",  # a responder reported that part of a pre-plan is wrong
    "correction_answered",  # the facility's managers answered a responder's correction
)


class Notification(Base):
    """Something an organization or an agency must be told. Recorded here in the same
    transaction as the event; `delivered_at` is for whatever delivers it (mail, SMS, a
    partner's webhook)."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"kind IN {NOTIFICATION_KINDS}", name="kind"),
        CheckConstraint("(organization_id IS NULL) <> (agency_id IS NULL)", name="one_recipient"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="SET NULL"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    mou_id: Mapped[int | None] = mapped_column(
        ForeignKey("mous.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
