"""Telling an organization what happened to its facilities (break-glass access, reveals), and
either party of an MOU what the other did with it."""

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
    kind: str,
    message: str,
    actor: str,
    organization_id: int | None = None,
    agency_id: int | None = None,
    facility_id: int | None = None,
    incident_id: int | None = None,
    mou_id: int | None = None,
) -> Notification:
    """Record a notification for an organization or an agency (one of them), in the caller's
    transaction."""
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
    )
    session.add(notification)
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
