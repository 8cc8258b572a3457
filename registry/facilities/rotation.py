"""Key rotation for access-point secrets: how many values each key seals, and moving them all
to the active key (`flask --app wsgi secrets status|rotate`, facilities/cli.py).

Keys are configured in REGISTRY_FIELD_KEYS (encryption.py); an old key stays listed until
`rotate` has moved every value sealed under it. The binding is sealing.py's.
"""

import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import audit, transaction
from ..encryption import UnreadableSecret, keyring
from .models import AccessPoint
from .sealing import FIELDS, associated_data

_table = AccessPoint.__table__
log = logging.getLogger(__name__)


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
