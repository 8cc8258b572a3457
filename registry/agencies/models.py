from sqlalchemy import JSON, CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Versioned

AGENCY_TYPES = ("law_enforcement", "fire", "ems", "emergency_management", "psap")


class Agency(Versioned, Base):
    """A public-safety agency: police, fire, EMS, emergency management or a dispatch centre."""

    __tablename__ = "agencies"
    __table_args__ = (CheckConstraint(f"agency_type IN {AGENCY_TYPES}", name="agency_type"),)

    name: Mapped[str] = mapped_column(String(200), unique=True)
    agency_type: Mapped[str] = mapped_column(String(40))
    # NCIC Originating Agency Identifier (police) and fire department id (NFIRS FDID).
    ori: Mapped[str | None] = mapped_column(String(9), unique=True)
    fdid: Mapped[str | None] = mapped_column(String(10))
    jurisdiction: Mapped[str | None] = mapped_column(String(200))  # in words
    # Where the agency serves: its state and counties (5-digit FIPS codes; none listed means
    # the whole state). A lookup that names no state and no ZIP is read in this state.
    state: Mapped[str | None] = mapped_column(String(2))
    county_fips: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    main_phone: Mapped[str | None] = mapped_column(String(20))
    dispatch_phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)
