"""Floor plans and MOU documents are soft-deleted like facilities and their parts

Plain ALTER TABLE (no batch rebuild), as in 0004: the floor_plans triggers of 0005 stay.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("floor_plans", "mou_documents")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        op.create_index(op.f(f"ix_{table}_deleted_at"), table, ["deleted_at"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_deleted_at"), table_name=table)
        op.drop_column(table, "deleted_at")
