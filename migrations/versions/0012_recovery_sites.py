"""Recovery sites in full: an address, a capacity, who opens it and how to reach them, on
tactical points (issue 12, item 6)

Reunification sites and family assistance centres are often away from the facility (a school,
a hotel) and opened by someone else (a Red Cross chapter, a school district): tactical_points
get nullable columns for that. Any kind may carry them; a pre-plan and an incident show them.

Plain ALTER TABLE ADD COLUMN (no batch rebuild, as in 0011): SQLite adds columns in place, even
with a column CHECK, so the pre-plan triggers of 0002 on tactical_points stay.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = (
    ("address_line1", sa.String(200)),
    ("address_line2", sa.String(200)),
    ("city", sa.String(100)),
    ("state", sa.String(2)),
    ("postal_code", sa.String(10)),
    ("opened_by", sa.String(200)),
    ("activation_contact", sa.String(200)),
    ("activation_phone", sa.String(20)),
    ("activation_notes", sa.Text()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("tactical_points", sa.Column(name, type_, nullable=True))
    # A column CHECK, which SQLite accepts in ADD COLUMN (a table CHECK would need a rebuild).
    op.add_column(
        "tactical_points",
        sa.Column(
            "capacity",
            sa.Integer(),
            sa.CheckConstraint("capacity > 0", name="ck_tactical_points_capacity_positive"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("tactical_points", "capacity")
    for name, _ in reversed(COLUMNS):
        op.drop_column("tactical_points", name)
