"""A webhook subscription's signing secret: made by the registry, shown once, stored sealed.

The secret is `whsec_` + base64 of 32 random bytes, the form of the Standard Webhooks spec (and
of its libraries, which receivers use to verify). It is sealed with the registry's field
encryption (encryption.py), bound to the subscription's row like an access point's code
(facilities/sealing.py): a ciphertext copied into another row does not open. Nothing reads it
back but the worker that signs with it, and key rotation (`flask secrets rotate` moves these
with the access points' secrets).
"""

import base64
import logging
import os

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .. import transaction
from ..encryption import UnreadableSecret, keyring
from .models import Subscription

PREFIX = "whsec_"
SECRET_BYTES = 32
_table = Subscription.__table__
log = logging.getLogger(__name__)


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def associated_data(subscription_id: int) -> bytes:
    return f"{_table.name}:{subscription_id}:secret".encode()


def seal_new(session: Session, subscription: Subscription, secret: str) -> None:
    """Seal the secret of a subscription whose INSERT was just flushed (the binding needs its
    id), with a Core UPDATE so its version (the ETag) stays 1."""
    ciphertext, key_id = keyring().seal(secret, associated_data(subscription.id))
    session.execute(
        update(_table)
        .where(_table.c.id == subscription.id)
        .values(secret_ciphertext=ciphertext, secret_key_id=key_id, updated_at=_table.c.updated_at)
    )
    set_committed_value(subscription, "secret_ciphertext", ciphertext)
    set_committed_value(subscription, "secret_key_id", key_id)


def seal(subscription: Subscription, secret: str) -> None:
    """A new secret for a stored subscription, written with its next UPDATE (a rotation)."""
    ciphertext, key_id = keyring().seal(secret, associated_data(subscription.id))
    subscription.secret_ciphertext, subscription.secret_key_id = ciphertext, key_id


def open_secret(subscription: Subscription) -> str:
    """The plaintext, or UnreadableSecret (its key left the keyring, or the row was tampered
    with): the worker then records the delivery's attempt as failed, never signs with a guess."""
    return keyring().open(
        subscription.secret_ciphertext,
        subscription.secret_key_id,
        associated_data(subscription.id),
    )


def key_counts(session: Session) -> dict[str, int]:
    """How many webhook secrets each key id seals (for `flask secrets status`)."""
    key_id = _table.c.secret_key_id
    rows = session.execute(select(key_id, func.count()).where(key_id.is_not(None)).group_by(key_id))
    return dict(rows.all())


def rotate(batch_size: int = 100) -> dict[str, int]:
    """Seal every webhook secret that is not under the active key with the active key (with
    `flask secrets rotate`, as access points' secrets are: facilities/rotation.py). Short
    transactions, a compare-and-swap per row, the ORM bypassed so no ETag moves."""
    ring = keyring()
    counts = {"rotated": 0, "changed_meanwhile": 0, "unreadable": 0}
    last_id = 0
    while True:
        with transaction.session_scope() as session:
            rows = session.execute(
                select(_table.c.id, _table.c.secret_ciphertext, _table.c.secret_key_id)
                .where(
                    _table.c.secret_ciphertext.is_not(None),
                    _table.c.secret_key_id != ring.active_id,
                    _table.c.id > last_id,
                )
                .order_by(_table.c.id)
                .limit(batch_size)
            ).all()
            if not rows:
                return counts
            for subscription_id, ciphertext, key_id in rows:
                last_id = subscription_id
                data = associated_data(subscription_id)
                try:
                    plaintext = ring.open(ciphertext, key_id, data)
                except UnreadableSecret:
                    log.error(
                        "subscription %s: its webhook secret (key %s) cannot be rotated",
                        subscription_id,
                        key_id,
                    )
                    counts["unreadable"] += 1
                    continue
                new_ciphertext, new_key_id = ring.seal(plaintext, data)
                swapped = session.execute(
                    update(_table)
                    .where(_table.c.id == subscription_id, _table.c.secret_ciphertext == ciphertext)
                    .values(
                        secret_ciphertext=new_ciphertext,
                        secret_key_id=new_key_id,
                        updated_at=_table.c.updated_at,
                    )
                ).rowcount
                counts["rotated" if swapped else "changed_meanwhile"] += 1
