"""Freshness: when and by whom each part of a pre-plan was last confirmed, and when that goes
stale.

The parts (a facility, its contacts, access points, tactical points and floor plans) carry
`confirmed_at` and `confirmed_by` (the `Confirmed` columns). A write by whoever may change the
part confirms it (`confirm_write`, called by the service base on create, update and restore,
and by the floor-plan upload); `POST /facilities/{id}/confirm` confirms a whole facility at once
(facilities/confirm.py). `confirmed_by` is the account's name at that moment (a username, or a
CAD client's client id), so it still means something after the account is gone; the history
and the audit trail keep the account's id beside it.

A part is stale once it is older than its kind's maximum age (REGISTRY_STALE_DAYS_*, in days):
confirmed on day D with a maximum of N days, it is fresh up to and including day D + N (its
`due_on`) and stale from the day after. Ages count whole UTC days. A part nobody ever confirmed
(rows from before migration 0011, or written outside the API) is stale, with no age.

The pre-plan shows `stale` and `age_days` per part (preplans/freshness.py), and
`GET /reports/freshness` lists what is or soon will be stale (reports/freshness.py); both take
today from `db.utc_today()`.
"""

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import db
from .auth.models import CadClient, User
from .auth.principal import Principal

# Kind of part -> the setting that holds its maximum age in days (defaults in config.py).
MAX_AGE_SETTINGS = {
    "facility": "REGISTRY_STALE_DAYS_FACILITIES",
    "contact": "REGISTRY_STALE_DAYS_CONTACTS",
    "access_point": "REGISTRY_STALE_DAYS_ACCESS_POINTS",
    "tactical_point": "REGISTRY_STALE_DAYS_TACTICAL_POINTS",
    "floor_plan": "REGISTRY_STALE_DAYS_FLOOR_PLANS",
}
KINDS = tuple(MAX_AGE_SETTINGS)


class Confirmed:
    """The columns of a part of a pre-plan that is confirmed (see the module docstring)."""

    confirmed_at: Mapped[datetime | None] = mapped_column(db.UTCDateTime)
    # The confirming account's username (or CAD client id) at that moment.
    confirmed_by: Mapped[str | None] = mapped_column(String(120))


def max_ages(config) -> dict[str, int]:
    """The maximum age in days of each kind of part, from the app's configuration."""
    return {kind: config[setting] for kind, setting in MAX_AGE_SETTINGS.items()}


def confirmer(session: Session, principal: Principal) -> str:
    """The name the caller's confirmations are signed with: its username, or its client id.
    Read once per session and caller (a bulk import confirms thousands of records)."""
    known = session.info.setdefault("confirmers", {})
    if principal.subject not in known:
        if principal.kind == "cad":
            query = select(CadClient.client_id).where(CadClient.id == principal.id)
        else:
            query = select(User.username).where(User.id == principal.id)
        known[principal.subject] = session.scalar(query)
    return known[principal.subject]


def confirm(
    session: Session, principal: Principal, record: Confirmed, stated: datetime | None = None
) -> None:
    """Confirm `record` now, by the caller; or as of `stated`, when a body says when the part
    was last verified (a record kept outside the registry) and it is not the time already
    stored (a body sent back as it was read confirms now)."""
    now = db.utcnow()
    at = now
    if stated is not None and stated != record.confirmed_at:
        at = min(stated, now)
    record.confirmed_at, record.confirmed_by = at, confirmer(session, principal)


def confirm_write(
    session: Session, principal: Principal, record, stated: datetime | None = None
) -> None:
    """A write by whoever may change a part of a pre-plan confirms it; other records have
    nothing to confirm."""
    if isinstance(record, Confirmed):
        confirm(session, principal, record, stated)


def age_days(confirmed_at: datetime | None, today: date) -> int | None:
    """Whole UTC days since the confirmation (0 on its day; never negative), or None."""
    if confirmed_at is None:
        return None
    return max(0, (today - confirmed_at.astimezone(UTC).date()).days)


def due_on(confirmed_at: datetime | None, max_age: int) -> date | None:
    """The last day the part counts as fresh, or None when it was never confirmed."""
    if confirmed_at is None:
        return None
    try:
        return confirmed_at.astimezone(UTC).date() + timedelta(days=max_age)
    except OverflowError:  # confirmed near the end of the calendar (only old data can be)
        return date.max


def is_stale(age: int | None, max_age: int) -> bool:
    return age is None or age > max_age


def stale_by_cutoff(today: date, max_age: int, within_days: int) -> datetime:
    """Parts confirmed before this instant are stale on some day up to `today + within_days`
    (with the never confirmed ones, what the report lists): `due_on < today + within_days`."""
    first_fresh_day = today + timedelta(days=within_days - max_age)
    return datetime.combine(first_fresh_day, time(), tzinfo=UTC)
