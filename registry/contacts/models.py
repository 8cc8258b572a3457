from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..confirmation import Confirmed
from ..db import Base, SoftDeleted, Versioned
from ..facilities.models import Facility

PHONE_KINDS = ("mobile", "office", "desk", "home", "pager", "satellite", "other")


class Contact(Confirmed, SoftDeleted, Versioned, Base):
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
    call_order: Mapped[int] = mapped_column(Integer, default=1)
    available_24_7: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)

    facility: Mapped[Facility | None] = relationship()
    phone_rows: Mapped[list["ContactPhone"]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ContactPhone.position",
        lazy="selectin",
    )

    __history_extra__ = ("phones",)

    @property
    def phones(self) -> list[dict]:
        """[{"kind": "mobile", "number": "+16175550100", "extension": None}, ...] in call order."""
        return [
            {"kind": row.kind, "number": row.number, "extension": row.extension}
            for row in self.phone_rows
        ]

    @phones.setter
    def phones(self, values: list[dict]) -> None:
        self.phone_rows = [
            ContactPhone(
                position=i, kind=v["kind"], number=v["number"], extension=v.get("extension")
            )
            for i, v in enumerate(values)
        ]


def in_call_order() -> tuple:
    """How contacts are listed everywhere: round-the-clock contacts first (during an attack at
    3 a.m. they are the ones who answer), then the order the facility chose."""
    return (Contact.available_24_7.desc(), Contact.call_order, Contact.name, Contact.id)


class ContactPhone(Base):
    """One number of a contact; a table, not a JSON list, so the CAD lookup can search numbers."""

    __tablename__ = "contact_phones"
    __table_args__ = (CheckConstraint(f"kind IN {PHONE_KINDS}", name="kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(20), index=True)
    extension: Mapped[str | None] = mapped_column(String(10))
