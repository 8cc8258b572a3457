"""Sealing an access point's secrets (the door or alarm code, where the key is kept).

Stored only encrypted (encryption.py), each value bound to its row: the associated data names
the table, the access point, its facility and the field, so a ciphertext copied into another
access point (another facility's, or the other field of the same one) does not decrypt.

Nothing here runs by itself. The access-point service (service.py) calls `seal` for a stored
point before its UPDATE, `seal_new` right after a new point's INSERT (the binding needs the id,
which only the INSERT gives), and `rebind` when a point moves to another facility. Code that
writes access points without that service (the demo data, the tests' factory) calls them too.
Reading a value back is `open_secret`, which only the audited reveal (reveal.py) and key
rotation use.
"""

import logging

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..encryption import UnreadableSecret, keyring
from .models import AccessPoint

FIELDS = ("code", "key_location")
_table = AccessPoint.__table__
log = logging.getLogger(__name__)


def associated_data(point_id: int, facility_id: int, field: str) -> bytes:
    return f"{_table.name}:{point_id}:{facility_id}:{field}".encode()


def sealed_columns(point_id: int, facility_id: int, field: str, plaintext: str | None) -> dict:
    """The two columns of `field`: ciphertext and key id (both None to clear)."""
    if not plaintext:
        return {f"{field}_ciphertext": None, f"{field}_key_id": None}
    ciphertext, key_id = keyring().seal(plaintext, associated_data(point_id, facility_id, field))
    return {f"{field}_ciphertext": ciphertext, f"{field}_key_id": key_id}


def seal(point: AccessPoint, secrets: dict[str, str | None]) -> None:
    """Seal new values (field -> plaintext; None or "" clears it) into a stored point, bound to
    its id and `facility_id`; they are written with the point's next UPDATE."""
    if point.id is None:
        raise ValueError("a new access point has no id to bind its secrets to: use seal_new")
    for field, plaintext in secrets.items():
        for name, value in sealed_columns(point.id, point.facility_id, field, plaintext).items():
            setattr(point, name, value)


def seal_new(session: Session, point: AccessPoint, secrets: dict[str, str | None]) -> None:
    """Seal the secrets of a point whose INSERT was just flushed (so it has its id).

    A Core UPDATE in the same transaction writes the ciphertext without going through the ORM,
    so the row `version` (the ETag) stays 1 and no second history entry appears; `updated_at`
    is set to itself so its onupdate does not fire. The instance is then told the stored values
    as if it had loaded them, so it is not dirty.
    """
    values = {}
    for field, plaintext in secrets.items():
        values.update(sealed_columns(point.id, point.facility_id, field, plaintext))
    if all(value is None for value in values.values()):
        return
    session.execute(
        update(_table)
        .where(_table.c.id == point.id)
        .values(**values, updated_at=_table.c.updated_at)
    )
    for name, value in values.items():
        set_committed_value(point, name, value)


def rebind(point: AccessPoint, old_facility_id: int) -> None:
    """The point now names another facility: its stored values are bound to the old one, so
    seal them again for `point.facility_id` (in the same UPDATE) rather than let them become
    unreadable."""
    for field in FIELDS:
        ciphertext = getattr(point, f"{field}_ciphertext")
        if ciphertext is None:
            continue
        plaintext = keyring().open(
            ciphertext,
            getattr(point, f"{field}_key_id"),
            associated_data(point.id, old_facility_id, field),
        )
        seal(point, {field: plaintext})


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
