"""Rendered pre-plans are stored in the database, shared by every worker and instance (issue 14)

A cold read (the first of a facility by any worker since its last change) rendered the pre-plan
from about ten queries in each worker separately. The rendered parts every reader sees alike are
now kept in `preplan_documents`, keyed by the facility's `preplan_version` and the renderer's
code (registry/preplans/models.py); the table starts empty and fills on reads, or at once with
`flask preplans render`.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "preplan_documents",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("render_key", sa.String(length=100), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("geojson", sa.Text(), nullable=False),
        sa.Column("rendered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_preplan_documents_facility_id_facilities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("facility_id", name=op.f("pk_preplan_documents")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("preplan_documents")
