"""Offline packs: every pre-plan an agency may read, in one signed ZIP for a command vehicle
that loses its link.

- `service`: whose pack and what goes in it (read from the database before the answer starts).
- `archive`: the ZIP, written while it is sent; its manifest of SHA-256 hashes, signed.
- `keys`: the Ed25519 signing key and key ids; `verify`: the offline verifier (neither imports
  Flask: a laptop runs `python -m registry.packs` with the pack and the public key).
- `routes`: GET /api/v1/packs/agency and /api/v1/packs/public-key; `cli`: `flask packs …`.
"""
