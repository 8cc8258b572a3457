from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .. import addresses
from ..addresses import streets
from ..db import Base, Versioned


class AddressAlias(Versioned, Base):
    """Another site address of one facility: an honorary or alternate street ("1211 Avenue of
    the Americas" for "1211 6th Ave") or a landmark address, in the facility's own city and
    ZIP. A lookup that names it matches the facility as surely as its registered address."""

    __tablename__ = "address_aliases"

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(200))  # as entered
    address_key: Mapped[str] = mapped_column(String(200))
    address_key_core: Mapped[str] = mapped_column(String(200), index=True)
    created_by: Mapped[str] = mapped_column(String(40))  # "user:12"

    facility = relationship("Facility")

    @validates("address")
    def _derive_keys(self, _attribute, address: str) -> str:
        parsed = addresses.parse_parts(address, None, None, None, None)
        self.address_key, self.address_key_core = parsed.key, parsed.root_key
        return address


class StreetAlias(Versioned, Base):
    """An agency's alias for a street in its jurisdiction: "Ave of the Americas" is "6th Ave" in
    New York County. It applies to facilities in `state` (and in `county_fips`, when given)."""

    __tablename__ = "street_aliases"
    __table_args__ = (Index("ix_street_aliases_alias_root_state", "alias_root", "state"),)

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(2))
    county_fips: Mapped[str | None] = mapped_column(String(5))
    alias: Mapped[str] = mapped_column(String(200))  # "Ave of the Americas", as entered
    alias_full: Mapped[str] = mapped_column(String(200))  # canonical: "AVE OF THE AMERICAS"
    alias_root: Mapped[str] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))  # "6th Ave", as entered
    street_full: Mapped[str] = mapped_column(String(200))  # "6TH AVE"
    street_root: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(40))

    @validates("alias")
    def _derive_alias(self, _attribute, alias: str) -> str:
        parsed = streets.parse_street(alias)
        self.alias_full, self.alias_root = parsed.full, parsed.root
        return alias

    @validates("street")
    def _derive_street(self, _attribute, street: str) -> str:
        parsed = streets.parse_street(street)
        self.street_full, self.street_root = parsed.full, parsed.root
        return street
