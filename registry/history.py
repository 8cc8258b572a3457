"""Append-only history of a facility and everything in it, and of each MOU.

Services call `record_change` after each create, update, delete and restore of a facility, an
access or tactical point, or a facility contact: who, when, which record, and the fields that
changed (before and after). An MOU keeps a history of its own (`record_mou_change`: every edit
and every step of its lifecycle, with the party the caller acted for), read by both parties.
Rows are only ever inserted.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, insert, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from .auth.principal import Principal
from .db import Base, UTCDateTime, utcnow

# Bookkeeping, and what is derived from other fields (the lookup's *_key columns and the
# normalized address), says nothing to a reader. A confirmation (confirmed_at/_by) is the change
# row itself: its actor and time (a facility's confirm-all writes rows of its own, "confirm").
_NOT_RECORDED = {
    "id",
    "version",
    "created_at",
    "updated_at",
    "preplan_version",
    "deleted_at",
    "normalized_address",
    "confirmed_at",
    "confirmed_by",
}


class FacilityHistory(Base):
    __tablename__ = "facility_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    record_type: Mapped[str] = mapped_column(String(40))  # facility, access_point, ...
    record_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))  # create, update, delete, restore, confirm
    actor: Mapped[str] = mapped_column(String(40))  # "user:12" / "cad:3"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [before, after]


class MouHistory(Base):
    """One change to an MOU: an edit, or a step of its lifecycle (mous/lifecycle.py)."""

    __tablename__ = "mou_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mou_id: Mapped[int] = mapped_column(ForeignKey("mous.id", ondelete="CASCADE"), index=True)
    # create, update, propose, accept, terminate, renew, supersede
    action: Mapped[str] = mapped_column(String(20))
    party: Mapped[str | None] = mapped_column(String(20))  # organization / agency
    actor: Mapped[str] = mapped_column(String(40))  # "user:12"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [before, after]


# Secrets: an encrypted value (its key id is bookkeeping) or a password/secret hash. History and
# the audit trail show that one changed, under the field's API name, never the value.
_SECRET_SUFFIXES = ("_ciphertext", "_hash")
_SKIPPED_SUFFIXES = ("_key", "_key_id")


class Redacted(str):
    """Shows as "[redacted]" wherever it is stored or serialized, but compares by the stored
    value it stands for, so `diff` still sees a secret change while nobody sees the secret.
    The stored value itself never leaves memory."""

    def __new__(cls, stored):
        text = super().__new__(cls, "[redacted]")
        text._stored = stored
        return text

    def __eq__(self, other):
        return isinstance(other, Redacted) and self._stored == other._stored

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._stored)


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(record) -> dict:
    """The record's own fields (and the lists a reader thinks of as fields), JSON-safe, with
    secrets redacted."""
    values = {}
    for attribute in inspect(type(record)).column_attrs:
        key = attribute.key
        if key in _NOT_RECORDED or key.endswith(_SKIPPED_SUFFIXES):
            continue
        value = getattr(record, key)
        secret_suffix = next((s for s in _SECRET_SUFFIXES if key.endswith(s)), None)
        if secret_suffix:
            key = key.removesuffix(secret_suffix)  # code_ciphertext -> code
            value = None if value is None else Redacted(value)
        values[key] = _plain(value)
    for name in getattr(record, "__history_extra__", ()):
        values[name] = getattr(record, name)
    return values


def diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


_DEFERRED = "history_deferred"


def record_change(
    session: Session, principal: Principal, facility_id: int, record, action: str, changes: dict
) -> None:
    row = {
        "facility_id": facility_id,
        # AccessPoint -> access_point
        "record_type": re.sub(r"(?<!^)(?=[A-Z])", "_", type(record).__name__).lower(),
        "record_id": record.id,
        "action": action,
        "actor": principal.subject,
        "at": utcnow(),
        "changes": changes,
    }
    deferred = session.info.get(_DEFERRED)
    if deferred is not None:
        deferred.append(row)
    else:
        session.add(FacilityHistory(**row))


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Within this block, history rows wait in memory and are inserted together when it ends
    without an error (in the same transaction, in the order they were recorded): a bulk import
    writes thousands, and one INSERT each was a third of its statements."""
    session.info[_DEFERRED] = []
    try:
        yield
    except BaseException:
        session.info.pop(_DEFERRED, None)
        raise
    rows = session.info.pop(_DEFERRED)
    if rows:
        session.execute(insert(FacilityHistory), rows)


def record_mou_change(
    session: Session, principal: Principal, mou, action: str, changes: dict, party=None
) -> None:
    session.add(
        MouHistory(
            mou_id=mou.id,
            action=action,
            party=party,
            actor=principal.subject,
            changes=changes,
        )
    )
