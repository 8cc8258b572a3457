from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

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

    def derive_keys(self) -> None:
        """The lookup's keys from the address as entered; raises addresses.AddressError."""
        parsed = addresses.parse_parts(self.address, None, None, None, None)
        if parsed.unit:
            raise addresses.AddressError("An address alias names a site, without a unit.")
        self.address_key, self.address_key_core = parsed.key, parsed.root_key


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

    def derive_keys(self) -> None:
        alias, street = streets.parse_street(self.alias), streets.parse_street(self.street)
        self.alias_full, self.alias_root = alias.full, alias.root
        self.street_full, self.street_root = street.full, street.root
