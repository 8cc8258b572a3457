"""Who did or saw what: the append-only, hash-chained audit trail (see trail.py)."""

from .trail import record, record_type_of

__all__ = ["record", "record_type_of"]
