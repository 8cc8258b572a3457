from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    select,
    union_all,
)
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

    # An organization's contact, listed at some of its facilities (ContactAssignment). Loaded
    # only when asked for: lists and pre-plans never show it.
    assignment_rows: Mapped[list["ContactAssignment"]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ContactAssignment.facility_id",
    )

    __history_extra__ = ("phones", "facilities")

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

    @property
    def facilities(self) -> list[dict]:
        """[{"facility_id": 12, "call_order": 2}, ...]: where an organization's contact is
        listed, at which place in each facility's call order."""
        return [
            {"facility_id": row.facility_id, "call_order": row.call_order}
            for row in self.assignment_rows
        ]

    @facilities.setter
    def facilities(self, values: list[dict]) -> None:
        # Changed in place, not replaced: a new row for a (contact, facility) pair still held
        # by an old one would clash on the key within the same flush.
        wanted = {value["facility_id"]: value["call_order"] for value in values}
        kept = []
        for row in self.assignment_rows:
            if row.facility_id in wanted:
                if row.call_order != wanted[row.facility_id]:
                    row.call_order = wanted[row.facility_id]
                kept.append(row)
        have = {row.facility_id for row in kept}
        kept += [
            ContactAssignment(facility_id=facility_id, call_order=call_order)
            for facility_id, call_order in wanted.items()
            if facility_id not in have
        ]
        self.assignment_rows = sorted(kept, key=lambda row: row.facility_id)


def in_call_order(call_order=Contact.call_order) -> tuple:
    """How contacts are listed everywhere: round-the-clock contacts first (during an attack at
    3 a.m. they are the ones who answer), then the order the facility chose (`call_order`: an
    organization's contact has its place in each facility's order, ContactAssignment)."""
    return (Contact.available_24_7.desc(), call_order, Contact.name, Contact.id)


class ContactAssignment(Base):
    """An organization's contact listed at one of its facilities, at a place in that
    facility's call order (a regional security director is called first at one store and third
    at another). The person is edited once, on the contact, and every pre-plan that lists them
    changes (the rows' triggers bump those facilities' `preplan_version`)."""

    __tablename__ = "contact_assignments"
    __table_args__ = (CheckConstraint("call_order >= 1", name="call_order_positive"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    call_order: Mapped[int] = mapped_column(Integer)


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


def contact_listings():
    """Every contact as the facilities list it, one row per (facility, contact): a facility's
    own contacts, and each organization's contact at every facility it is assigned to. Columns:
    `facility_id` (the facility that lists it), `call_order` (its place there), and the
    contact's `id`, `name`, `available_24_7`, `confirmed_at`, `confirmed_by`, `deleted_at`.
    A condition on `facility_id` reaches both halves' indexes."""
    columns = (
        Contact.name,
        Contact.available_24_7,
        Contact.confirmed_at,
        Contact.confirmed_by,
        Contact.deleted_at,
    )
    own = select(Contact.id, Contact.facility_id, Contact.call_order, *columns).where(
        Contact.facility_id.is_not(None)
    )
    assigned = select(
        Contact.id, ContactAssignment.facility_id, ContactAssignment.call_order, *columns
    ).join(ContactAssignment, ContactAssignment.contact_id == Contact.id)
    return union_all(own, assigned).subquery("contact_listings")
