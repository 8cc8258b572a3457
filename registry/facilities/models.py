from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, Versioned

FACILITY_TYPES = (
    "retail_store",
    "shopping_mall",
    "theater",
    "airport",
    "stadium",
    "hotel",
    "office",
    "transit_station",
    "house_of_worship",
    "school",
    "hospital",
    "other",
)

ACCESS_POINT_KINDS = (
    "entrance",
    "emergency_exit",
    "loading_dock",
    "gate",
    "roof_access",
    "stairwell",
    "elevator_bank",
    "key_box",
    "fire_alarm_panel",
    "security_office",
    "utility_shutoff",
)

TACTICAL_POINT_KINDS = (
    "staging_area",
    "rally_point",
    "casualty_collection_point",
    "triage_area",
    "landing_zone",
    "command_post",
    "reunification_site",
    "family_assistance_center",
    "media_area",
)


class Facility(Versioned, Base):
    """One site of an organization: the unit a pre-plan is about."""

    __tablename__ = "facilities"
    __table_args__ = (
        CheckConstraint(f"facility_type IN {FACILITY_TYPES}", name="facility_type"),
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name="lon_range"),
        # The CAD lookup by coordinates filters on a bounding box over this index.
        Index("ix_facilities_lat_lon", "lat", "lon"),
    )

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), index=True)
    facility_type: Mapped[str] = mapped_column(String(40))
    # Postal address as entered; `normalized_address` is the lookup key (filled by the
    # address-normalization feature; nullable until then).
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10), index=True)
    country: Mapped[str] = mapped_column(String(2), default="US")
    normalized_address: Mapped[str | None] = mapped_column(String(300), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    main_phone: Mapped[str | None] = mapped_column(String(20))
    occupancy: Mapped[int | None] = mapped_column(Integer)
    opening_hours: Mapped[str | None] = mapped_column(String(300))
    stories_above_grade: Mapped[int | None] = mapped_column(Integer)
    stories_below_grade: Mapped[int | None] = mapped_column(Integer)
    floor_area_sq_ft: Mapped[int | None] = mapped_column(Integer)
    construction_type: Mapped[str | None] = mapped_column(String(100))
    has_sprinklers: Mapped[bool | None] = mapped_column(Boolean)
    has_fire_alarm: Mapped[bool | None] = mapped_column(Boolean)
    hazards: Mapped[str | None] = mapped_column(Text)
    cctv_notes: Mapped[str | None] = mapped_column(Text)
    security_office_notes: Mapped[str | None] = mapped_column(Text)
    bleeding_control_kit_locations: Mapped[str | None] = mapped_column(Text)
    aed_locations: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    access_points: Mapped[list["AccessPoint"]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", passive_deletes=True
    )
    tactical_points: Mapped[list["TacticalPoint"]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", passive_deletes=True
    )


class _FacilityPoint(Versioned):
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)


class AccessPoint(_FacilityPoint, Base):
    """A way in or a control point. Door codes and key locations are deliberately not stored
    here yet: they arrive with field encryption (secrets issue), never as plaintext."""

    __tablename__ = "access_points"
    __table_args__ = (CheckConstraint(f"kind IN {ACCESS_POINT_KINDS}", name="kind"),)

    kind: Mapped[str] = mapped_column(String(40))
    facility: Mapped[Facility] = relationship(back_populates="access_points")


class TacticalPoint(_FacilityPoint, Base):
    """A staging or tactical point: staging area, casualty collection point, command post …"""

    __tablename__ = "tactical_points"
    __table_args__ = (CheckConstraint(f"kind IN {TACTICAL_POINT_KINDS}", name="kind"),)

    kind: Mapped[str] = mapped_column(String(40))
    facility: Mapped[Facility] = relationship(back_populates="tactical_points")
