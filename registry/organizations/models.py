from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, Versioned

ORGANIZATION_KINDS = (
    "retailer",
    "mall_owner",
    "theater",
    "airport_authority",
    "stadium",
    "hotel",
    "transit",
    "other",
)


class Organization(Versioned, Base):
    """A private-sector partner: a retailer, a mall owner, an airport authority."""

    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(f"kind IN {ORGANIZATION_KINDS}", name="kind"),)

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="other")
    website: Mapped[str | None] = mapped_column(String(300))
    main_phone: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str | None] = mapped_column(Text)
