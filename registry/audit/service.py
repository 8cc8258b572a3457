"""Reading the audit trail: auditors and admins see all of it, a facility manager the events
about its organization's facilities (deleted ones included)."""

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import errors
from ..api.pagination import Page
from ..auth.principal import Principal
from ..crud import paginate
from ..facilities.models import Facility
from .models import AuditEvent
from .trail import Verification, verify

READERS = ("admin", "auditor", "facility_manager")


def _visible(principal: Principal):
    if principal.role in ("admin", "auditor"):
        return AuditEvent.id.is_not(None)
    if principal.role == "facility_manager":
        own = select(Facility.id).where(Facility.organization_id == principal.organization_id)
        return AuditEvent.facility_id.in_(own)
    raise errors.Forbidden("Only auditors, administrators and facility managers read the trail.")


def search(session: Session, principal: Principal, args: dict) -> Page:
    conditions = [_visible(principal)]
    for name in ("actor", "facility_id", "record_type", "record_id", "break_glass"):
        if args.get(name) is not None:
            conditions.append(getattr(AuditEvent, name) == args[name])
    action = args.get("action")
    if action:
        # "facility." asks for every facility action; anything else is exact.
        if action.endswith("."):
            conditions.append(AuditEvent.action.startswith(action, autoescape=True))
        else:
            conditions.append(AuditEvent.action == action)
    if args.get("since"):
        conditions.append(AuditEvent.at >= args["since"])
    if args.get("until"):
        conditions.append(AuditEvent.at < args["until"])
    statement = select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc())
    page = paginate(session, statement, args)
    if principal.role == "facility_manager":
        # A partner sees who read its facilities, not the agencies' network addresses.
        page.items = [_without_address(event) for event in page.items]
    return page


def _without_address(event: AuditEvent) -> dict:
    values = {column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns}
    return {**values, "client_address": None}


def check_chain(session: Session, principal: Principal) -> Verification:
    if principal.role not in ("admin", "auditor"):
        raise errors.Forbidden("Only auditors and administrators verify the trail.")
    return verify(session, current_app.config["REGISTRY_AUDIT_SEAL_WINDOW"])
