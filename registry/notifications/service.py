"""Telling an organization what happened to its facilities (break-glass access, reveals)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import visibility
from ..api.pagination import Page
from ..auth.principal import Principal
from ..crud import RecordService
from .models import Notification


def notify(
    session: Session,
    *,
    organization_id: int,
    kind: str,
    message: str,
    actor: str,
    facility_id: int | None = None,
    incident_id: int | None = None,
) -> Notification:
    """Record a notification for `organization_id`, in the caller's transaction."""
    notification = Notification(
        organization_id=organization_id,
        kind=kind,
        message=message,
        actor=actor,
        facility_id=facility_id,
        incident_id=incident_id,
    )
    session.add(notification)
    session.flush()
    return notification


class NotificationService(RecordService):
    """A facility manager reads its organization's notifications; admins read all."""

    model = Notification
    noun = "notification"
    creator_roles = ()

    def read_filter(self, principal: Principal):
        return visibility.notifications(principal)

    def filters(self, args):
        return [
            getattr(Notification, name) == args[name]
            for name in ("organization_id", "facility_id", "incident_id", "kind")
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
