"""Field encryption: AES-256-GCM under a keyring of named keys.

A sealed value is `nonce (12 random bytes) + AESGCM(plaintext, associated data)`, stored beside
the id of the key that sealed it. New values are sealed with the active key; older keys stay in
the keyring so rows sealed under them still open until `secrets rotate` has moved them on. The
associated data names the row and field a value belongs to, so a ciphertext copied anywhere else
fails to open instead of showing the wrong secret.

Configuration (see config.py): `REGISTRY_FIELD_KEYS` = `id:base64url-key,id:base64url-key`,
`REGISTRY_FIELD_KEY_ID` = the active id (default: the first listed).
"""

import base64
import binascii
import os
import re
from dataclasses import dataclass
from http import HTTPStatus

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from .errors import RegistryError

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")  # fits the *_key_id columns


class KeyringError(ValueError):
    """A keyring spec that is not a usable keyring; config.py refuses to start with it (as a
    ConfigError: this module does not import config.py, which imports it)."""


class UnreadableSecret(RegistryError):
    """A stored secret that does not open: its key left the keyring, or the ciphertext does not
    belong to this row and field (copied, or tampered with). Nothing the caller can fix by
    retrying, and not the server's bug either: the stored value must be entered again."""

    status, slug = HTTPStatus.CONFLICT, "secret-unreadable"


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]
    active_id: str

    @classmethod
    def parse(cls, spec: str, active_id: str | None = None) -> "Keyring":
        """Read `id:base64url-key,...`; KeyringError for anything that is not a usable keyring."""
        keys: dict[str, bytes] = {}
        for entry in (part.strip() for part in (spec or "").split(",")):
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            if not sep or not KEY_ID.match(key_id):
                raise KeyringError(
                    "REGISTRY_FIELD_KEYS entries must be id:base64url-key "
                    "(id: up to 40 letters, digits, '.', '_' or '-')"
                )
            if key_id in keys:
                raise KeyringError(f"REGISTRY_FIELD_KEYS lists key {key_id} twice")
            try:
                key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError):
                raise KeyringError(f"REGISTRY_FIELD_KEYS: key {key_id} is not base64url") from None
            if len(key) != KEY_BYTES:
                raise KeyringError(
                    f"REGISTRY_FIELD_KEYS: key {key_id} must be exactly {KEY_BYTES} bytes "
                    f"(it is {len(key)})"
                )
            keys[key_id] = key
        if not keys:
            raise KeyringError("REGISTRY_FIELD_KEYS names no key")
        active_id = active_id or next(iter(keys))
        if active_id not in keys:
            raise KeyringError(f"REGISTRY_FIELD_KEY_ID {active_id} is not in REGISTRY_FIELD_KEYS")
        return cls(keys, active_id)

    def seal(self, plaintext: str, associated_data: bytes) -> tuple[bytes, str]:
        """Encrypt under the active key; returns (ciphertext, key id)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_id]).encrypt(
            nonce, plaintext.encode(), associated_data
        )
        return nonce + sealed, self.active_id

    def open(self, ciphertext: bytes, key_id: str | None, associated_data: bytes) -> str:
        """Decrypt, or raise UnreadableSecret: never a wrong value."""
        key = self.keys.get(key_id or "")
        if key is None:
            raise UnreadableSecret(
                "The stored secret was sealed with a key this service no longer has."
            )
        try:
            plaintext = AESGCM(key).decrypt(
                bytes(ciphertext[:NONCE_BYTES]), bytes(ciphertext[NONCE_BYTES:]), associated_data
            )
        except (InvalidTag, ValueError):
            raise UnreadableSecret(
                "The stored secret does not belong to this record and cannot be decrypted."
            ) from None
        return plaintext.decode()


def new_key_spec(key_id: str) -> str:
    """A fresh `id:key` entry for REGISTRY_FIELD_KEYS."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip('=')}"


def init_app(app) -> None:
    app.extensions["registry.keyring"] = Keyring.parse(
        app.config["REGISTRY_FIELD_KEYS"], app.config.get("REGISTRY_FIELD_KEY_ID")
    )


def keyring() -> Keyring:
    return current_app.extensions["registry.keyring"]
