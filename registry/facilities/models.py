from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .. import addresses
from ..addresses import gazetteer
from ..confirmation import Confirmed
from ..db import Base, SoftDeleted, Versioned

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
# Where people go after an attack (the guide's Recovery phase): reunification with family, and
# the family assistance centre. A pre-plan and an incident list them with their address,
# capacity and who opens them (the incident's `recovery_sites`).
RECOVERY_KINDS = ("reunification_site", "family_assistance_center")


# A facility that shares another organization's address or stands within the certain-match
# distance of another organization's facility waits for an administrator ("pending") and is
# matched by nothing until approved: registering cannot take over another partner's lookups.
REVIEW_STATUSES = ("approved", "pending")


class Facility(Confirmed, SoftDeleted, Versioned, Base):
    """One site of an organization: the unit a pre-plan is about."""

    __tablename__ = "facilities"
    __table_args__ = (
        CheckConstraint(f"facility_type IN {FACILITY_TYPES}", name="facility_type"),
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name="lon_range"),
        CheckConstraint(f"review_status IN {REVIEW_STATUSES}", name="review_status"),
        # The CAD lookup by coordinates filters on a bounding box over this index.
        Index("ix_facilities_lat_lon", "lat", "lon"),
        # Near candidates for a misspelt street: the same number in the same ZIP.
        Index("ix_facilities_address_number_postal_code", "address_number", "postal_code"),
        # The organization's own code for a site ("S-0042"), what a bulk import matches rows
        # by (registry/imports): unique among the organization's live facilities, so a deleted
        # store's code can be given to its successor. Named uq_ so a clash is a 409 on it.
        Index(
            "uq_facilities_site_code",
            "organization_id",
            "site_code",
            unique=True,
            postgresql_where=text("deleted_at IS NULL AND site_code IS NOT NULL"),
            sqlite_where=text("deleted_at IS NULL AND site_code IS NOT NULL"),
        ),
    )

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), index=True)
    site_code: Mapped[str | None] = mapped_column(String(40))
    facility_type: Mapped[str] = mapped_column(String(40))
    # Postal address as entered. The *_key columns are derived from it (see addresses.py and
    # `refresh_match_keys`) and are what the CAD lookup searches; never edited directly.
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10), index=True)
    country: Mapped[str] = mapped_column(String(2), default="US")
    normalized_address: Mapped[str | None] = mapped_column(String(300))
    # "W204N11509", "123-45", "1212 1/2": NENA's Address Number Complete, compared whole.
    address_number: Mapped[str | None] = mapped_column(String(20))
    # "123 N MAIN ST": number and canonical street (addresses.streets); equal means exact.
    address_key: Mapped[str | None] = mapped_column(String(200), index=True)
    # "123 MAIN": number and street root, what the lookup searches (ParsedAddress.root_key).
    address_key_core: Mapped[str | None] = mapped_column(String(200), index=True)
    unit_key: Mapped[str | None] = mapped_column(String(20))
    city_key: Mapped[str | None] = mapped_column(String(100))
    # The county of the facility's ZIP (FIPS, from the gazetteer): what an agency's
    # jurisdiction (agencies.county_fips) is compared with.
    county_fips: Mapped[str | None] = mapped_column(String(5))
    review_status: Mapped[str] = mapped_column(
        String(10), default="approved", server_default="approved"
    )
    name_key: Mapped[str | None] = mapped_column(String(200), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    main_phone: Mapped[str | None] = mapped_column(String(20), index=True)
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
    # Bumped by database triggers (migration 0002) whenever this row or anything in the
    # facility's pre-plan changes (contacts and their phones, access and tactical points,
    # aliases, external ids), whoever writes it; a cached pre-plan is keyed by it. Not the row
    # version: a new contact must not make the facility's editors' If-Match stale.
    preplan_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    access_points: Mapped[list["AccessPoint"]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", passive_deletes=True
    )
    tactical_points: Mapped[list["TacticalPoint"]] = relationship(
        back_populates="facility", cascade="all, delete-orphan", passive_deletes=True
    )
    # What a pre-plan shows: the points that are not deleted.
    live_access_points: Mapped[list["AccessPoint"]] = relationship(
        primaryjoin="and_(Facility.id == AccessPoint.facility_id, AccessPoint.deleted_at.is_(None))",
        order_by="AccessPoint.id",
        viewonly=True,
    )
    live_tactical_points: Mapped[list["TacticalPoint"]] = relationship(
        primaryjoin="and_(Facility.id == TacticalPoint.facility_id, "
        "TacticalPoint.deleted_at.is_(None))",
        order_by="TacticalPoint.id",
        viewonly=True,
    )
    alias_rows: Mapped[list["FacilityAlias"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="FacilityAlias.id"
    )
    external_ids: Mapped[list["FacilityExternalId"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="FacilityExternalId.id"
    )

    __history_extra__ = ("aliases", "external_id_pairs")

    @property
    def aliases(self) -> list[str]:
        return [row.alias for row in self.alias_rows]

    @property
    def external_id_pairs(self) -> list[str]:
        return [f"{row.system}:{row.external_id}" for row in self.external_ids]

    def refresh_match_keys(self) -> "addresses.AddressError | None":
        """Derive the lookup keys from the address and name as entered.

        Nothing derives them by itself and the CAD lookup searches only the keys, so whatever
        sets a facility's address or name calls this before the row is written: the facility
        service (`validate`, on create and update; `restore`), the demo data, bench seeding.
        Returns why the address cannot be matched, if it cannot.
        """
        address, error = None, None
        try:
            address = addresses.parse_parts(
                self.address_line1, self.address_line2, self.city, self.state, self.postal_code
            )
        except addresses.AddressError as exc:
            # The API refuses such addresses (FacilityService.validate); rows written another
            # way stay findable by coordinates, phone, name and external id.
            error = exc
        self.normalized_address = address.display if address else None
        self.address_number = address.number if address else None
        self.address_key = address.key if address else None
        self.address_key_core = address.root_key if address else None
        self.unit_key = address.unit if address else None
        self.city_key = addresses.city_key(self.city)
        info = gazetteer.zip_info((self.postal_code or "")[:5])
        self.county_fips = (
            info.county_fips if info is not None and info.state == self.state else None
        )
        self.name_key = addresses.name_key(self.name)
        return error


class FacilityAlias(Base):
    """A place name call-takers use for a facility: "Mall of America", "Terminal 2"."""

    __tablename__ = "facility_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    alias: Mapped[str] = mapped_column(String(200))
    alias_key: Mapped[str] = mapped_column(String(200), index=True)

    @validates("alias")
    def _derive_key(self, _attribute, alias: str) -> str:
        self.alias_key = addresses.name_key(alias)
        return alias


class FacilityExternalId(Base):
    """A CAD premise id of the facility in one agency's system."""

    __tablename__ = "facility_external_ids"
    __table_args__ = (UniqueConstraint("system", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    system: Mapped[str] = mapped_column(String(50))
    external_id: Mapped[str] = mapped_column(String(100))


class _FacilityPoint(Confirmed, SoftDeleted, Versioned):
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
    """A way in or a control point. Its secrets (the door or alarm code, where the key is kept)
    are stored only encrypted, each with the id of the key that sealed it (see sealing.py)."""

    __tablename__ = "access_points"
    __table_args__ = (CheckConstraint(f"kind IN {ACCESS_POINT_KINDS}", name="kind"),)

    kind: Mapped[str] = mapped_column(String(40))
    code_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    code_key_id: Mapped[str | None] = mapped_column(String(40))
    key_location_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_location_key_id: Mapped[str | None] = mapped_column(String(40))
    facility: Mapped[Facility] = relationship(back_populates="access_points")

    # Not attributes: a value is sealed by an explicit call (sealing.py, from the access-point
    # service) and read back only by an audited reveal, so no serializer or log line can pick
    # it up by accident, and `point.code = ...` cannot silently store nothing.
    code = property(lambda self: _sealed("code"), lambda self, _value: _sealed("code"))
    key_location = property(
        lambda self: _sealed("key_location"), lambda self, _value: _sealed("key_location")
    )

    @property
    def has_code(self) -> bool:
        return self.code_ciphertext is not None

    @property
    def has_key_location(self) -> bool:
        return self.key_location_ciphertext is not None


class TacticalPoint(_FacilityPoint, Base):
    """A staging or tactical point: staging area, casualty collection point, command post …

    The address, capacity and activation columns (migration 0012) are what a recovery site
    (RECOVERY_KINDS) needs, often somewhere else than the facility: a school or a hotel down
    the road, opened by someone else (a Red Cross chapter, a school district). Any kind may carry
    them: a staging area across the street has an address too."""

    __tablename__ = "tactical_points"
    __table_args__ = (
        CheckConstraint(f"kind IN {TACTICAL_POINT_KINDS}", name="kind"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    kind: Mapped[str] = mapped_column(String(40))
    # A postal address for people to drive to; the CAD lookup never searches it (it finds
    # facilities, and a hotel used as a family assistance centre is not this facility).
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    capacity: Mapped[int | None] = mapped_column(Integer)  # people it holds
    opened_by: Mapped[str | None] = mapped_column(String(200))
    # Whom to call to have it opened, and how. Text and a number rather than a link to one of
    # the facility's contacts: whoever opens it is usually not the facility's liaison, and
    # contact numbers are what the CAD lookup matches a calling phone to.
    activation_contact: Mapped[str | None] = mapped_column(String(200))
    activation_phone: Mapped[str | None] = mapped_column(String(20))
    activation_notes: Mapped[str | None] = mapped_column(Text)
    facility: Mapped[Facility] = relationship(back_populates="tactical_points")


def _sealed(name: str):
    raise AttributeError(
        f"AccessPoint.{name} is sealed: write it with facilities.sealing (the access-point "
        "service does), read it with the audited reveal"
    )
