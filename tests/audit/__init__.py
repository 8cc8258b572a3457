"""The audit trail: what is recorded, sealing and verification."""
