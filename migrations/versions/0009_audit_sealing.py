"""Audit events are inserted unsealed and sealed into the chain shortly after (issue 14)

Appending no longer locks the chain head: `seq`, `prev_hash` and `hash` are set by the sealer,
so they may be empty for the fraction of a second an event waits. A partial index finds the
waiting events. Existing events are all sealed already and keep their numbers and hashes.

On SQLite a column's NOT NULL can only go by rebuilding the table (batch mode); audit_events
has no triggers, so nothing is lost by the rebuild.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COUNTER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # see registry/audit/models.py
CHAIN_COLUMNS = (("seq", COUNTER), ("prev_hash", sa.String(length=64)), ("hash", sa.String(64)))


def upgrade() -> None:
    # Keep AUTOINCREMENT through the rebuild: an id is never reused (see registry/db.py).
    with op.batch_alter_table("audit_events", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name, type_ in CHAIN_COLUMNS:
            batch.alter_column(name, existing_type=type_, nullable=True)
    op.create_index(
        "ix_audit_events_unsealed",
        "audit_events",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )


def downgrade() -> None:
    # Only a sealed trail can go back: seal it first (`flask audit seal`).
    op.drop_index("ix_audit_events_unsealed", table_name="audit_events")
    # Keep AUTOINCREMENT through the rebuild: an id is never reused (see registry/db.py).
    with op.batch_alter_table("audit_events", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name, type_ in CHAIN_COLUMNS:
            batch.alter_column(name, existing_type=type_, nullable=False)
