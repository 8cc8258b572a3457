"""The outbox: notifications, who subscribed to them, and each delivery to a subscriber.

A notification is written in the same transaction as its event (service.notify), and with it one
delivery per active subscription of its recipient that wants its kind: what the worker
(worker.py) sends afterwards. Nothing is sent for an event that rolled back, and nothing is lost
while no worker runs.
"""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, SoftDeleted, UTCDateTime, Versioned, utcnow

NOTIFICATION_KINDS = (
    "break_glass_access",
    "break_glass_reveal",
    "break_glass_ended",  # the organization ended an agency's break-glass grant early
    "facility_review",  # a registration at another organization's address waits for review
    # An MOU's lifecycle (mous/lifecycle.py), told to the other party.
    "mou_proposed",
    "mou_changed",  # a proposed MOU's terms changed: the other party must accept them again
    "mou_accepted",
    "mou_terminated",
    "incident_opened",  # an agency opened an incident at the organization's facility
    "mou_ending_soon",  # an active MOU's end date is near (told to both parties)
    "mou_expired",  # an active MOU's end date has passed: it no longer grants access
    "data_stale",  # a facility's pre-plan holds items past their confirmation age
    "correction_reported",  # a responder reported that part of a pre-plan is wrong
    "correction_answered",  # the facility's managers answered a responder's correction
)
CHANNELS = ("webhook", "email")
DELIVERY_STATUSES = ("pending", "delivered", "dead")


class Notification(Base):
    """Something an organization or an agency must be told. Recorded here in the same
    transaction as the event; its deliveries (one per matching subscription) go out later, and
    `delivered_at` is set once every one of them has been delivered."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"kind IN {NOTIFICATION_KINDS}", name="kind"),
        CheckConstraint("(organization_id IS NULL) <> (agency_id IS NULL)", name="one_recipient"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    facility_id: Mapped[int | None] = mapped_column(
        ForeignKey("facilities.id", ondelete="SET NULL"), index=True
    )
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    mou_id: Mapped[int | None] = mapped_column(
        ForeignKey("mous.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a time-based announcement is about ("mou_expired:mou:12:2027-03-31:organization"):
    # unique, so a scan that runs again, or on two workers at once, announces it only once.
    # None for notifications of an event, which happen once by themselves.
    announcement_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class Subscription(Versioned, SoftDeleted, Base):
    """Where an organization's or an agency's notifications are sent: a webhook (an HTTPS URL,
    signed with a secret the registry generates) or an email address; for every kind, or for
    the kinds listed."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        CheckConstraint("(organization_id IS NULL) <> (agency_id IS NULL)", name="one_owner"),
        CheckConstraint(
            "(channel = 'webhook' AND url IS NOT NULL AND email IS NULL)"
            " OR (channel = 'email' AND email IS NOT NULL AND url IS NULL)",
            name="channel_target",
        ),
    )

    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agencies.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    url: Mapped[str | None] = mapped_column(String(2000))
    email: Mapped[str | None] = mapped_column(String(254))
    # Kinds this subscription receives; empty: every kind.
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    description: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(40))
    # The webhook's signing secret, sealed (encryption.py) and bound to this row (secrets.py);
    # sealed right after the INSERT, which gives the id it is bound to.
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_key_id: Mapped[str | None] = mapped_column(String(40))

    def wants(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class Delivery(Base):
    """One notification to one subscription: pending until sent (retried with back-off),
    delivered, or dead after the last attempt (an administrator may replay it)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES}", name="status"),
        UniqueConstraint("notification_id", "subscription_id"),
        # The worker's claim: due pending deliveries, oldest due first.
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker's claim: no other worker sends it before `lease_until` (a killed worker's claims
    # come back when it passes).
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    notification: Mapped[Notification] = relationship(lazy="joined")
    subscription: Mapped[Subscription] = relationship(lazy="joined")
