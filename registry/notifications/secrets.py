"""A webhook subscription's signing secret: made by the registry, shown once, stored sealed.

The secret is `whsec_` + base64 of 32 random bytes, the form of the Standard Webhooks spec (and
of its libraries, which receivers use to verify). It is sealed with the registry's field
encryption (encryption.py), bound to the subscription's row like an access point's code
(facilities/sealing.py): a ciphertext copied into another row does not open. Nothing reads it
back but the worker that signs with it, and key rotation.
"""

import base64
import os

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..encryption import keyring
from .models import Subscription

PREFIX = "whsec_"
SECRET_BYTES = 32
_table = Subscription.__table__


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
