from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, Versioned, utcnow

INCIDENT_STATUSES = ("open", "closed")
MATCH_STATUSES = ("matched", "ambiguous", "no_match", "not_shared")


class Incident(Versioned, Base):
    """A CAD event at an address: who looked up which facility, when and why."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(f"status IN {INCIDENT_STATUSES}", name="status"),
        CheckConstraint(f"match_status IN {MATCH_STATUSES}", name="match_status"),
        # One record per CAD incident number within an agency; a CAD retry gets a 409.
        UniqueConstraint("agency_id", "cad_incident_number"),
        Index("ix_incidents_status_opened_at", "status", "opened_at"),
        Index("ix_incidents_agency_id_facility_id_status", "agency_id", "facility_id", "status"),
    )

    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    cad_incident_number: Mapped[str] = mapped_column(String(50))
    incident_type: Mapped[str] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="SET NULL"), index=True
    )
    match_status: Mapped[str] = mapped_column(String(20))
    # The ranked candidates as the caller saw them, kept for the after-action review.
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    opened_by: Mapped[str] = mapped_column(String(40))  # "user:12" / "cad:3"
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    # Break-glass: the lookup found a registered facility the agency may not read, and opening
    # this incident lets the agency read that facility's pre-plan until it closes or expires.
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    access_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The facility's organization may end a break-glass grant early, with a reason (audited).
    break_glass_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    break_glass_ended_by: Mapped[str | None] = mapped_column(String(40))
    break_glass_end_reason: Mapped[str | None] = mapped_column(String(500))
