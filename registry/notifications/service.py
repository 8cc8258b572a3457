"""Telling an organization what happened to its facilities (break-glass access and reveals,
incidents, stale data), and either party of an MOU what the other did with it; and the
subscriptions and deliveries that carry it out of the building.

`notify` is the outbox's one entry: the notification and its deliveries are written in the
caller's transaction, so they commit with the event or not at all.
"""

import re

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, db, errors, history
from ..access import visibility, writes
from ..access.roles import Role
from ..agencies.models import Agency
from ..api.pagination import Page
from ..audit.models import AuditEvent
from ..auth.principal import Principal
from ..crud import RecordService, paginate
from ..organizations.models import Organization
from . import secrets, targets
from .models import Delivery, Notification, Subscription


def notify(
    session: Session,
    *,
    kind: str,
    message: str,
    actor: str,
    organization_id: int | None = None,
    agency_id: int | None = None,
    facility_id: int | None = None,
    incident_id: int | None = None,
    mou_id: int | None = None,
    announcement_key: str | None = None,
) -> Notification:
    """Record a notification for an organization or an agency (one of them), and a delivery
    to each of the recipient's active subscriptions that wants its kind, in the caller's
    transaction. The subscriptions are those at the time of the event."""
    if (organization_id is None) == (agency_id is None):
        raise ValueError("A notification is for an organization or an agency, one of them.")
    notification = Notification(
        organization_id=organization_id,
        agency_id=agency_id,
        kind=kind,
        message=message,
        actor=actor,
        facility_id=facility_id,
        incident_id=incident_id,
        mou_id=mou_id,
        announcement_key=announcement_key,
    )
    session.add(notification)
    session.flush()
    owner = (
        Subscription.organization_id == organization_id
        if organization_id is not None
        else Subscription.agency_id == agency_id
    )
    subscriptions = session.scalars(
        select(Subscription).where(
            owner, Subscription.active.is_(True), Subscription.deleted_at.is_(None)
        )
    )
    now = db.utcnow()
    for subscription in subscriptions:
        if subscription.wants(kind):
            session.add(
                Delivery(
                    notification_id=notification.id,
                    subscription_id=subscription.id,
                    next_attempt_at=now,
                )
            )
    session.flush()
    return notification


class NotificationService(RecordService):
    """A facility manager reads its organization's notifications, an agency its own; admins
    read all."""

    model = Notification
    noun = "notification"
    creator_roles = ()

    def read_filter(self, principal: Principal):
        return visibility.notifications(principal)

    def filters(self, args):
        return [
            getattr(Notification, name) == args[name]
            for name in (
                "organization_id",
                "agency_id",
                "facility_id",
                "incident_id",
                "mou_id",
                "kind",
            )
            if args.get(name) is not None
        ]

    def order_by(self):
        return (Notification.created_at.desc(), Notification.id.desc())

    def page(self, session: Session, principal: Principal, args: dict) -> Page:
        return self.list(session, principal, args, *self.filters(args))

    def of_incident(self, session: Session, incident_id: int) -> list[Notification]:
        rows = select(Notification).where(Notification.incident_id == incident_id)
        return list(session.scalars(rows.order_by(Notification.id)))


notifications = NotificationService()


# --- subscriptions ----------------------------------------------------------------------------

# A plain address check: the SMTP server is the judge; this only keeps out what cannot be one
# (and header injection: no spaces, commas or line breaks).
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


class SubscriptionService(RecordService):
    """An organization's subscriptions are managed by its facility managers, an agency's by its
    people (not its CAD clients), any by admins (access.visibility and access.writes)."""

    model = Subscription
    noun = "subscription"
    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER, Role.AGENCY_USER)

    def read_filter(self, principal: Principal):
        return visibility.subscriptions(principal)

    def restorable_filter(self, principal: Principal):
        return visibility.subscriptions(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.subscription(principal, record)

    def filters(self, args):
        return [
            getattr(Subscription, name) == args[name]
            for name in ("organization_id", "agency_id", "channel", "active")
            if args.get(name) is not None
        ]

    def create(self, session: Session, principal: Principal, data: dict):
        data = dict(data)
        # A manager's subscription is its organization's, an agency user's its agency's, unless
        # they name it (anything else is refused by may_write); an admin names the owner.
        if principal.role == Role.FACILITY_MANAGER and not data.get("agency_id"):
            data.setdefault("organization_id", principal.organization_id)
        if principal.role == Role.AGENCY_USER and not data.get("organization_id"):
            data.setdefault("agency_id", principal.agency_id)
        data["created_by"] = principal.subject
        return super().create(session, principal, data)

    def validate(self, session: Session, record: Subscription) -> None:
        problems: dict[str, list[str]] = {}
        if (record.organization_id is None) == (record.agency_id is None):
            problems["organization_id"] = ["Name an organization or an agency, one of them."]
        self.require(session, Organization, record.organization_id, "organization_id")
        self.require(session, Agency, record.agency_id, "agency_id")
        if record.channel == "webhook":
            if record.email is not None:
                problems["email"] = ["A webhook subscription has no email address."]
            if record.url is None:
                problems["url"] = ["A webhook subscription needs its URL."]
            else:
                try:
                    targets.check_on_write(
                        record.url, current_app.config["REGISTRY_WEBHOOK_ALLOW_PRIVATE"]
                    )
                except targets.Refused as refusal:
                    problems["url"] = [str(refusal)]
        else:
            if record.url is not None:
                problems["url"] = ["An email subscription has no URL."]
            if record.email is None:
                problems["email"] = ["An email subscription needs its address."]
            elif not _EMAIL.match(record.email):
                problems["email"] = ["Not an email address."]
        if problems:
            raise errors.InvalidInput(problems)

    def after_insert(self, session: Session, record: Subscription, data: dict) -> None:
        record.secret = None
        if record.channel == "webhook":
            secret = secrets.new_secret()
            secrets.seal_new(session, record, secret)
            record.secret = secret  # shown once, in the creation response

    def rotate_secret(self, session: Session, principal: Principal, record: Subscription):
        """A new signing secret, shown once; the old one stops signing at once (deliveries sent
        from then on carry the new signature)."""
        self.authorize_write(principal, record)
        if record.channel != "webhook":
            raise errors.Conflict("Only a webhook subscription has a signing secret.")
        secret = secrets.new_secret()
        before = history.snapshot(record)
        secrets.seal(record, secret)
        record.updated_at = db.utcnow()
        session.flush()
        self._changed(
            session,
            principal,
            record,
            "rotate_secret",
            history.diff(before, history.snapshot(record)),
        )
        record.secret = secret
        return record

    def history(self, session: Session, principal: Principal, record: Subscription, args):
        """Every change to one subscription, from the audit trail (which records each write with
        its before and after, secrets redacted), newest first."""
        events = select(AuditEvent).where(
            AuditEvent.record_type == "subscription", AuditEvent.record_id == record.id
        )
        page = paginate(session, events.order_by(AuditEvent.id.desc()), args)
        if not principal.is_admin:
            # As in the audit search: a partner sees who changed it, not network addresses.
            columns = AuditEvent.__table__.columns
            page.items = [
                {**{c.key: getattr(e, c.key) for c in columns}, "client_address": None}
                for e in page.items
            ]
        return page


subscriptions = SubscriptionService()


# --- deliveries -------------------------------------------------------------------------------


class DeliveryService(RecordService):
    """Read with their subscription; replayed by administrators."""

    model = Delivery
    noun = "delivery"
    creator_roles = ()

    def read_filter(self, principal: Principal):
        return visibility.deliveries(principal)

    def filters(self, args):
        return [
            getattr(Delivery, name) == args[name]
            for name in ("status", "subscription_id", "notification_id")
            if args.get(name) is not None
        ]

    def order_by(self):
        return (Delivery.id.desc(),)

    def replay(self, session: Session, principal: Principal, delivery: Delivery) -> Delivery:
        """Send a dead delivery again from its first attempt (the same webhook-id: a receiver
        that did get it can still tell)."""
        if not principal.is_admin:
            raise errors.Forbidden("Only an administrator replays a delivery.")
        if delivery.status != "dead":
            raise errors.Conflict(
                f"This delivery is {delivery.status}; only a dead one is replayed."
            )
        delivery.status, delivery.attempts = "pending", 0
        delivery.next_attempt_at = db.utcnow()
        delivery.claimed_by = delivery.lease_until = None
        session.flush()
        audit.record(
            session,
            principal,
            "delivery.replay",
            record_type="notification_delivery",
            record_id=delivery.id,
            details={
                "subscription_id": delivery.subscription_id,
                "notification_id": delivery.notification_id,
                "last_error": delivery.last_error,
            },
        )
        return delivery

    def replay_dead(self, session: Session, principal: Principal, subscription_id: int | None):
        """Replay every dead delivery (of one subscription when named); how many."""
        if not principal.is_admin:
            raise errors.Forbidden("Only an administrator replays deliveries.")
        dead = select(Delivery).where(Delivery.status == "dead")
        if subscription_id is not None:
            dead = dead.where(Delivery.subscription_id == subscription_id)
        replayed = [self.replay(session, principal, d) for d in session.scalars(dead).all()]
        return len(replayed)


deliveries = DeliveryService()
