from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64
# One row per lookup adds up: 64-bit counters (SQLite's INTEGER already is, and AUTOINCREMENT
# needs that exact type name).
Counter = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    """One write or one sensitive read: who, as what, did what to which record, and from where.

    Rows are inserted unsealed; the sealer then sets `seq` (numbering them without gaps),
    `prev_hash` and `hash` (chaining each row to the one before it), once (see audit.trail), so a
    deleted or edited row is detectable. Nothing else ever changes a row. No foreign keys: the
    trail outlives the records it names.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_facility_id_at", "facility_id", "at"),
        Index("ix_audit_events_actor_at", "actor", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        # What the sealer reads: the few events still waiting, in insertion order.
        Index(
            "ix_audit_events_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Counter, primary_key=True)
    seq: Mapped[int | None] = mapped_column(Counter, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))  # "user:12", "cad:3", "anonymous", "cli"
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))  # "facility.update", "preplan.view" ...
    record_type: Mapped[str | None] = mapped_column(String(40))
    record_id: Mapped[int | None] = mapped_column(Integer)
    facility_id: Mapped[int | None] = mapped_column(Integer)
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [before, after]
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # reason, incident, outcome ...
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_address: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """The end of the chain: one row, moved by every sealing. A sealer locks it first (skipping
    it when another sealer holds it), so the chain never forks; appending never touches it."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Counter, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
