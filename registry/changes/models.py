from datetime import date

from sqlalchemy import BigInteger, Date, Index, Integer, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base


class FeedChange(Base):
    """A facility whose pre-plan, or whose sharing with an agency, changed: a row of the change
    feed (changes/feed.py).

    Written by database triggers (migration 0016) in the transaction that made the change, so
    no writer can forget it and a rolled-back change leaves none. `position` is given after the
    row commits, by the feed, in the order it finds committed rows: a reader that has seen
    position N has seen every row numbered up to N, and no later row ever gets a number at or
    below N, however long the transaction that wrote it ran.

    A row of sharing names the MOU and its agency (`mou_id`, `agency_id`); a row written
    because a day came when an MOU starts or stops granting also names that day (`boundary`).
    """

    __tablename__ = "feed_changes"
    __table_args__ = (
        Index(
            "ix_feed_changes_unnumbered",
            "id",
            postgresql_where=text("position IS NULL"),
            sqlite_where=text("position IS NULL"),
        ),
        Index("ix_feed_changes_mou_id", "mou_id", "boundary"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    # No foreign key: the row says what happened to a facility that may be gone since.
    facility_id: Mapped[int] = mapped_column(Integer)
    agency_id: Mapped[int | None] = mapped_column(Integer)
    mou_id: Mapped[int | None] = mapped_column(Integer)
    boundary: Mapped[date | None] = mapped_column(Date)


class FeedClock(Base):
    """One row: the last day (UTC) whose MOU start and end days the feed has written rows for
    (feed.number_committed). Those changes come with the day, not with a write."""

    __tablename__ = "feed_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checked_through: Mapped[date] = mapped_column(Date)
