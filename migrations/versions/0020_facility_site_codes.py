"""Facilities get the organization's own site code (issue 11, item 1: bulk import and export)

`facilities.site_code`: nullable (existing facilities have none until their managers set one),
unique per organization among live facilities (a partial unique index: a deleted facility's
code may be reused). Plain ALTER TABLE: SQLite adds a column in place and keeps the triggers of
0002; a partial index needs no table rebuild either.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

LIVE_WITH_CODE = sa.text("deleted_at IS NULL AND site_code IS NOT NULL")


def upgrade() -> None:
    op.add_column("facilities", sa.Column("site_code", sa.String(40), nullable=True))
    op.create_index(
        "uq_facilities_site_code",
        "facilities",
        ["organization_id", "site_code"],
        unique=True,
        postgresql_where=LIVE_WITH_CODE,
        sqlite_where=LIVE_WITH_CODE,
    )


def downgrade() -> None:
    op.drop_index("uq_facilities_site_code", table_name="facilities")
    op.drop_column("facilities", "site_code")  # in place, as 0011 does: the triggers stay
