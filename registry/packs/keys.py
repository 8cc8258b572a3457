"""The registry's Ed25519 pack-signing key, and the key id a manifest names it by.

No Flask and nothing else of the registry here: the offline verifier (verify.py) imports this,
and it must run on a laptop with the pack and the public key only.

REGISTRY_PACK_SIGNING_KEY holds the private key as PEM (PKCS#8, what `openssl genpkey
-algorithm ed25519` writes) or as the 32-byte seed in base64. The public key is published as PEM
(SubjectPublicKeyInfo) at GET /api/v1/packs/public-key. The key id is the first 16 hex digits of
the SHA-256 of the raw public key: a manifest names the key that signed it, so after a rotation
an agency knows which of the keys it kept opens an older pack.
"""

import base64
import binascii
import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "Ed25519"


class BadKey(ValueError):
    """A key that is not an Ed25519 key in a form this module reads."""


def load_signing_key(text: str) -> Ed25519PrivateKey:
    """The private key from its PEM or base64 form (REGISTRY_PACK_SIGNING_KEY)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm):
            raise BadKey("not a readable unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise BadKey("the PEM key is not an Ed25519 key")
        return key
    try:
        seed = base64.b64decode(
            text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
        )
    except (binascii.Error, ValueError):
        raise BadKey("neither PEM nor base64") from None
    if len(seed) != 32:
        raise BadKey(f"an Ed25519 seed has 32 bytes, this one {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def new_signing_key_pem() -> str:
    """A fresh private key as PEM (development keys; operators may use openssl instead)."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from PEM (what GET /api/v1/packs/public-key serves)."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise BadKey("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadKey("the public key is not an Ed25519 key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
