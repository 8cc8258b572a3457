"""Access-point secrets: the door or alarm code, and where the key is kept.

Stored only sealed (encryption.py), each value bound to its row: the associated data names the
table, the access point, its facility and the field, so a ciphertext copied into another access
point (another facility's, or the other field of the same one) does not decrypt.

Nobody reads a secret back through the API's records: they show `has_code` and
`has_key_location`. `reveal` is the one way to the values: allowed to the people who hold the
keys (the facility's managers, agencies whose MOU has a key scope) and to an agency with a live
break-glass grant there (access.break_glass.may_reveal decides), audited every time (refusals
too), and under break-glass the facility's organization is told.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .. import audit, errors, transaction
from ..access.break_glass import may_reveal
from ..auth.principal import Principal
from ..encryption import UnreadableSecret, keyring
from ..fields import MAX_ID
from ..incidents.models import Incident
from ..notifications.service import notify
from .models import AccessPoint, Facility
from .schemas import RevealRequestSchema

FIELDS = ("code", "key_location")
PENDING_SECRETS = "_pending_secrets"
_REQUEST_FIELDS = frozenset(RevealRequestSchema().fields)
_table = AccessPoint.__table__
log = logging.getLogger(__name__)


def associated_data(point_id: int, facility_id: int, field: str) -> bytes:
    return f"{_table.name}:{point_id}:{facility_id}:{field}".encode()


def _sealed(point_id: int, facility_id: int, field: str, plaintext: str | None) -> dict:
    """The two columns of `field`: ciphertext and key id (both None to clear)."""
    if not plaintext:
        return {f"{field}_ciphertext": None, f"{field}_key_id": None}
    ciphertext, key_id = keyring().seal(plaintext, associated_data(point_id, facility_id, field))
    return {f"{field}_ciphertext": ciphertext, f"{field}_key_id": key_id}


def stage(point: AccessPoint, field: str, plaintext: str | None) -> None:
    """Set a secret (None or "" clears it). A stored row is sealed at once. A new one has no id
    until its INSERT, so the value waits on the instance for `seal_after_insert`."""
    if point.id is not None and point.facility_id is not None:
        for name, value in _sealed(point.id, point.facility_id, field, plaintext).items():
            setattr(point, name, value)
    else:
        point.__dict__.setdefault(PENDING_SECRETS, {})[field] = plaintext


def seal_after_insert(connection, point: AccessPoint) -> None:
    """Seal the secrets of a just-inserted access point, now that its id is known.

    Why here: the id is part of the associated data and only exists after the INSERT. A Core
    UPDATE on the flush's own connection writes the ciphertext in the same transaction without
    going through the ORM, so the row `version` (the ETag) stays 1 and no second history entry
    appears; `updated_at` is set to itself so its onupdate does not fire. The instance is then
    told the stored values as if it had loaded them, so it is not dirty.
    """
    pending = point.__dict__.pop(PENDING_SECRETS, None)
    if not pending:
        return
    values = {}
    for field, plaintext in pending.items():
        values.update(_sealed(point.id, point.facility_id, field, plaintext))
    if all(value is None for value in values.values()):
        return
    connection.execute(
        update(_table)
        .where(_table.c.id == point.id)
        .values(**values, updated_at=_table.c.updated_at)
    )
    for name, value in values.items():
        set_committed_value(point, name, value)


def reseal_if_moved(point: AccessPoint) -> None:
    """An access point moved to another facility: its sealed values name the old facility, so
    seal them again for the new one (in the same UPDATE) rather than let them become unreadable."""
    moved = inspect(point).attrs.facility_id.history
    if not moved.deleted or not moved.added or moved.deleted[0] is None:
        return
    old_facility_id = moved.deleted[0]
    for field in FIELDS:
        ciphertext = getattr(point, f"{field}_ciphertext")
        if ciphertext is None:
            continue
        plaintext = keyring().open(
            ciphertext,
            getattr(point, f"{field}_key_id"),
            associated_data(point.id, old_facility_id, field),
        )
        for name, value in _sealed(point.id, point.facility_id, field, plaintext).items():
            setattr(point, name, value)


def open_secret(point: AccessPoint, field: str) -> str | None:
    """The plaintext of one secret, or None when unset; UnreadableSecret when it does not open."""
    ciphertext = getattr(point, f"{field}_ciphertext")
    if ciphertext is None:
        return None
    key_id = getattr(point, f"{field}_key_id")
    try:
        return keyring().open(
            ciphertext, key_id, associated_data(point.id, point.facility_id, field)
        )
    except UnreadableSecret as exc:
        # Worth an operator's attention (a key dropped too early, or tampering); no value logged.
        log.error(
            "access point %s: stored %s (key %s) cannot be decrypted: %s",
            point.id,
            field,
            key_id,
            exc.detail,
        )
        raise UnreadableSecret(
            f"The stored {field.replace('_', ' ')} of access point {point.id} cannot be "
            "decrypted; ask the facility's manager to enter it again."
        ) from None


# ---------------------------------------------------------------------------------------------
# Reveal


@dataclass
class Revealed:
    access_point_id: int
    code: str | None
    key_location: str | None
    break_glass: bool
    incident_id: int | None


def _invalid_fields(problem: errors.RegistryError) -> list[str]:
    """The request fields a refused body got wrong, for the audit row. Only the schema's own
    names: any other is text the caller chose (a code pasted as a field name, say)."""
    return sorted(
        {name if name in _REQUEST_FIELDS else "(unknown field)" for name in problem.errors or {}}
    )


def reveal(
    session: Session,
    principal: Principal,
    point_id: int,
    load_request: Callable[[], dict],
    fresh: bool,
) -> Revealed:
    """An access point's code and key location, for those who may open its doors.

    Every attempt by a known caller is audited, refused ones with why (`refused_because`), and
    a refused or failed one keeps its audit row (keeping_changes). The answers come in the
    API's usual order: a stale login (`fresh` false: 401), then the body (`load_request`, which
    raises 400/415/422), then the access point (404/403), then the stored values (409). The row
    keeps the reason only from a valid body, never the body itself.
    """
    point = None
    if 0 < point_id <= MAX_ID:
        point = session.scalar(
            select(AccessPoint)
            .join(Facility, Facility.id == AccessPoint.facility_id)
            .where(
                AccessPoint.id == point_id,
                AccessPoint.deleted_at.is_(None),
                Facility.deleted_at.is_(None),
            )
        )
    facility = point.facility if point is not None else None
    try:
        reason, invalid_request = load_request()["reason"], None
    except errors.RegistryError as problem:
        reason, invalid_request = None, problem

    def attempt(outcome: str, incident: Incident | None = None, break_glass: bool = False, **more):
        audit.record(
            session,
            principal,
            "access_point.reveal",
            record_type="access_point",
            # An id past the column's range names nothing and would not fit the audit row.
            record_id=point_id if 0 < point_id <= MAX_ID else None,
            facility_id=facility.id if facility else None,
            details={
                "reason": reason,
                "outcome": outcome,
                "incident_id": incident.id if incident else None,
                **more,
            },
            break_glass=break_glass,
        )

    if not fresh:
        attempt("refused", refused_because="fresh_login_required")
        raise errors.FreshLoginRequired().keeping_changes()
    if invalid_request is not None:
        attempt(
            "refused",
            refused_because="invalid_request",
            invalid_fields=_invalid_fields(invalid_request),
        )
        raise invalid_request.keeping_changes()
    if point is None:
        attempt("refused", refused_because="no_such_access_point")
        raise errors.NotFound(
            f"No access point with id {point_id} is visible to you."
        ).keeping_changes()
    decision = may_reveal(session, principal, facility)
    incident, break_glass = decision.incident, decision.break_glass
    if not decision.allowed:
        attempt("refused", refused_because="not_allowed")
        if decision.reason == "not_shared":  # the caller must not learn the point exists
            raise errors.NotFound(
                f"No access point with id {point_id} is visible to you."
            ).keeping_changes()
        raise errors.Forbidden(
            "Only the facility's managers, agencies whose MOU covers key holding or access "
            "codes, and agencies with a live break-glass incident there may reveal its codes."
        ).keeping_changes()

    try:
        values = {field: open_secret(point, field) for field in FIELDS}
    except UnreadableSecret as exc:
        attempt("unreadable", incident, break_glass)
        raise exc.keeping_changes() from None
    attempt("revealed", incident, break_glass)
    if break_glass:
        revealed = " and ".join(f.replace("_", " ") for f in FIELDS if values[f]) or "secrets"
        notify(
            session,
            organization_id=facility.organization_id,
            kind="break_glass_reveal",
            actor=principal.subject,
            facility_id=facility.id,
            incident_id=incident.id,
            message=(
                f"During incident {incident.cad_incident_number} ({incident.incident_type}), "
                f"{principal.subject} revealed the {revealed} of {point.name} at "
                f"{facility.name}. Reason given: {reason}"
            ),
        )
    return Revealed(
        point.id, values["code"], values["key_location"], break_glass, incident and incident.id
    )


# ---------------------------------------------------------------------------------------------
# Key rotation


def key_counts(session: Session) -> dict[str, dict[str, int]]:
    """How many stored values each key id seals, per field."""
    counts: dict[str, dict[str, int]] = {}
    for field in FIELDS:
        key_id = _table.c[f"{field}_key_id"]
        rows = session.execute(
            select(key_id, func.count()).where(key_id.is_not(None)).group_by(key_id)
        )
        for key, number in rows:
            counts.setdefault(key, {name: 0 for name in FIELDS})[field] = number
    return counts


def rotate(batch_size: int = 100) -> dict[str, int]:
    """Seal every value that is not under the active key with the active key.

    No downtime: each batch is its own short transaction, and old-key rows keep opening until
    they are moved. Each row is swapped only if its ciphertext is still the one just decrypted
    (compare-and-swap), so an edit that lands meanwhile is never overwritten; the ORM is
    bypassed, so the row `version`, and with it every editor's If-Match, stays valid.
    """
    ring = keyring()
    counts = {"rotated": 0, "changed_meanwhile": 0, "unreadable": 0}
    for field in FIELDS:
        ciphertext_column = _table.c[f"{field}_ciphertext"]
        key_id_column = _table.c[f"{field}_key_id"]
        last_id = 0
        while True:
            with transaction.session_scope() as session:
                rows = session.execute(
                    select(_table.c.id, _table.c.facility_id, ciphertext_column, key_id_column)
                    .where(
                        ciphertext_column.is_not(None),
                        key_id_column != ring.active_id,
                        _table.c.id > last_id,
                    )
                    .order_by(_table.c.id)
                    .limit(batch_size)
                ).all()
                if not rows:
                    break
                for point_id, facility_id, ciphertext, key_id in rows:
                    last_id = point_id
                    data = associated_data(point_id, facility_id, field)
                    try:
                        plaintext = ring.open(ciphertext, key_id, data)
                    except UnreadableSecret as exc:
                        log.error(
                            "access point %s: stored %s (key %s) cannot be rotated: %s",
                            point_id,
                            field,
                            key_id,
                            exc.detail,
                        )
                        counts["unreadable"] += 1
                        continue
                    new_ciphertext, new_key_id = ring.seal(plaintext, data)
                    swapped = session.execute(
                        update(_table)
                        .where(
                            _table.c.id == point_id,
                            _table.c.facility_id == facility_id,
                            ciphertext_column == ciphertext,
                        )
                        .values(
                            {
                                ciphertext_column: new_ciphertext,
                                key_id_column: new_key_id,
                                _table.c.updated_at: _table.c.updated_at,
                            }
                        )
                    ).rowcount
                    counts["rotated" if swapped else "changed_meanwhile"] += 1
    with transaction.session_scope() as session:
        audit.record(
            session,
            None,
            "secrets.rotate",
            actor="cli",
            details={**counts, "active_key_id": ring.active_id},
        )
    return counts
