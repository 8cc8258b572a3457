"""Freshness: when and by whom each part of a pre-plan was last confirmed (issue 12, item 1)

- facilities, contacts: `last_verified_at` becomes `confirmed_at` (its values kept: they were
  the verification dates partners entered), and `confirmed_by` is added (empty for those);
- access_points, tactical_points, floor_plans: `confirmed_at` and `confirmed_by`, empty.

A part with no `confirmed_at` was never confirmed and counts as stale until someone confirms it
(an edit, or `POST /facilities/{id}/confirm` for a whole facility): the registry cannot know
whether anyone checked it. Plain ALTER TABLE (no batch rebuild, as in 0004, 0007 and 0008):
SQLite renames and adds columns in place, and the triggers of 0002 and 0005 stay.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RENAMED = ("facilities", "contacts")
ADDED = ("access_points", "tactical_points", "floor_plans")


def upgrade() -> None:
    for table in RENAMED:
        op.alter_column(table, "last_verified_at", new_column_name="confirmed_at")
    for table in ADDED:
        op.add_column(table, sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    for table in (*RENAMED, *ADDED):
        op.add_column(table, sa.Column("confirmed_by", sa.String(120), nullable=True))


def downgrade() -> None:
    for table in (*RENAMED, *ADDED):
        op.drop_column(table, "confirmed_by")
    for table in ADDED:
        op.drop_column(table, "confirmed_at")
    for table in RENAMED:
        op.alter_column(table, "confirmed_at", new_column_name="last_verified_at")
