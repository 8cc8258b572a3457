"""History and soft delete: facility_history, deleted_at on facilities and their parts

Plain ALTER TABLE (no batch rebuild): SQLite can add and drop these columns in place, and a
rebuild of these tables would trip over the pre-plan triggers of 0002.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SOFT_DELETED = ("facilities", "access_points", "tactical_points", "contacts")


def upgrade() -> None:
    op.create_table(
        "facility_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_facility_history_facility_id_facilities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility_history")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_facility_history_facility_id"), "facility_history", ["facility_id"]
    )
    for table in SOFT_DELETED:
        op.add_column(table, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        op.create_index(op.f(f"ix_{table}_deleted_at"), table, ["deleted_at"])


def downgrade() -> None:
    for table in SOFT_DELETED:
        op.drop_index(op.f(f"ix_{table}_deleted_at"), table_name=table)
        op.drop_column(table, "deleted_at")
    op.drop_index(op.f("ix_facility_history_facility_id"), table_name="facility_history")
    op.drop_table("facility_history")
