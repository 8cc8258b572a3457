from datetime import date

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, Versioned, utc_today
from ..facilities.models import Facility
from ..incidents.models import Incident
from ..preplans.items import ITEM_KINDS

# The exercise types of the Homeland Security Exercise and Evaluation Program (HSEEP).
EXERCISE_KINDS = ("tabletop", "drill", "functional", "full_scale")
SCENARIOS = (
    "active_assailant",
    "vehicle_ramming",
    "edged_weapon",
    "explosive",
    "fire_as_weapon",
    "other",
)
FOLLOW_UP_STATUSES = ("open", "in_progress", "done", "cancelled")
# A follow-up still to be done: what is overdue once its due date has passed.
PENDING = ("open", "in_progress")


class Exercise(Versioned, Base):
    """A joint exercise or training at a facility: its organization and the agencies that took
    part (the parties, who read it), with attendance."""

    __tablename__ = "exercises"
    __table_args__ = (
        CheckConstraint(f"kind IN {EXERCISE_KINDS}", name="kind"),
        CheckConstraint(f"scenario IN {SCENARIOS}", name="scenario"),
        CheckConstraint("organization_participants >= 0", name="participants_not_negative"),
    )

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    scenario: Mapped[str] = mapped_column(String(20))
    held_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    # People of the facility's organization who took part.
    organization_participants: Mapped[int | None] = mapped_column(Integer)
    # Others who took part without being a party (a Red Cross chapter, a school district).
    other_participants: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(40))  # "user:12"

    # Joined: every exercise shown names its organization (the facility's).
    facility: Mapped[Facility] = relationship(lazy="joined")
    agency_rows: Mapped[list["ExerciseAgency"]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ExerciseAgency.agency_id",
        lazy="selectin",
    )

    __history_extra__ = ("agencies",)

    @property
    def organization_id(self) -> int:
        return self.facility.organization_id

    @property
    def agencies(self) -> list[dict]:
        """[{"agency_id": 3, "participants": 12}, ...] by agency id."""
        return [
            {"agency_id": row.agency_id, "participants": row.participants}
            for row in self.agency_rows
        ]

    @property
    def agency_ids(self) -> set[int]:
        return {row.agency_id for row in self.agency_rows}

    @property
    def total_attendance(self) -> int | None:
        """Everyone counted (the organization's and each agency's); None when nobody counted."""
        counts = [self.organization_participants, *(r.participants for r in self.agency_rows)]
        known = [n for n in counts if n is not None]
        return sum(known) if known else None


class ExerciseAgency(Base):
    """An agency that took part in an exercise: a party to it."""

    __tablename__ = "exercise_agencies"
    __table_args__ = (
        UniqueConstraint("exercise_id", "agency_id"),
        CheckConstraint("participants >= 0", name="participants_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agencies.id", ondelete="RESTRICT"), index=True
    )
    participants: Mapped[int | None] = mapped_column(Integer)


class Finding(Versioned, Base):
    """What an exercise or a real incident taught ("staging area B is too small"), optionally
    about one item of the facility's pre-plan; it may become a follow-up with an owner, a due
    date and a status."""

    __tablename__ = "findings"
    __table_args__ = (
        CheckConstraint("(exercise_id IS NULL) <> (incident_id IS NULL)", name="one_source"),
        CheckConstraint(f"item_kind IS NULL OR item_kind IN {ITEM_KINDS}", name="item_kind"),
        CheckConstraint("(item_kind IS NULL) = (item_id IS NULL)", name="item_whole"),
        CheckConstraint(
            f"follow_up_status IS NULL OR follow_up_status IN {FOLLOW_UP_STATUSES}",
            name="follow_up_status",
        ),
        # A follow-up has an owner, a due date and a status, or it is no follow-up at all.
        CheckConstraint(
            "(follow_up_status IS NULL) = (follow_up_owner IS NULL) "
            "AND (follow_up_status IS NULL) = (follow_up_due_on IS NULL)",
            name="follow_up_whole",
        ),
        # The overdue report: pending follow-ups by due date.
        Index("ix_findings_follow_up_status_due_on", "follow_up_status", "follow_up_due_on"),
    )

    exercise_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    # The facility its item belongs to: the exercise's, or the incident's (None: an incident
    # matched to no facility, whose findings name no item).
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    item_kind: Mapped[str | None] = mapped_column(String(20))
    item_id: Mapped[int | None] = mapped_column(Integer)
    follow_up_owner: Mapped[str | None] = mapped_column(String(200))
    follow_up_owner_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    follow_up_owner_agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="SET NULL"), index=True
    )
    follow_up_due_on: Mapped[date | None] = mapped_column(Date)
    follow_up_status: Mapped[str | None] = mapped_column(String(20))
    recorded_by: Mapped[str] = mapped_column(String(40))

    exercise: Mapped[Exercise | None] = relationship()
    incident: Mapped[Incident | None] = relationship()
    facility: Mapped[Facility | None] = relationship()

    __history_extra__ = ()

    @property
    def follow_up(self) -> dict | None:
        if self.follow_up_status is None:
            return None
        return {
            "owner": self.follow_up_owner,
            "owner_organization_id": self.follow_up_owner_organization_id,
            "owner_agency_id": self.follow_up_owner_agency_id,
            "due_on": self.follow_up_due_on,
            "status": self.follow_up_status,
            "overdue": self.follow_up_status in PENDING and self.follow_up_due_on < utc_today(),
        }

    @follow_up.setter
    def follow_up(self, value: dict | None) -> None:
        value = value or {}
        self.follow_up_owner = value.get("owner")
        self.follow_up_owner_organization_id = value.get("owner_organization_id")
        self.follow_up_owner_agency_id = value.get("owner_agency_id")
        self.follow_up_due_on = value.get("due_on")
        self.follow_up_status = value.get("status") if value else None
