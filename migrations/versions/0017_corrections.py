"""Correction reports (issue 12, item 5): a responder reports that part of a pre-plan is wrong;
the facility's managers answer and resolve it

The pre-plan shows each unresolved report on its item, to every reader, from the rendering
stored under the facility's preplan_version: so every insert, change or delete of a report
bumps that version, by trigger as for every other part (0002; on PostgreSQL the same function,
registry_touch_preplan, on SQLite the same three triggers), whoever writes it.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

BUMP = "UPDATE facilities SET preplan_version = preplan_version + 1 WHERE id IN ({})"
ITEM_KINDS = "('facility', 'contact', 'access_point', 'tactical_point', 'floor_plan')"


def upgrade() -> None:
    op.create_table(
        "corrections",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("item_kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("item_name", sa.String(length=200), nullable=False),
        sa.Column("discrepancy", sa.String(length=20), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("observed", sa.Text(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("reported_by", sa.String(length=40), nullable=False),
        sa.Column("reporter_name", sa.String(length=120), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_by", sa.String(length=120), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'resolved') = (resolution IS NOT NULL)", name=op.f("ck_corrections_resolved")
        ),
        sa.CheckConstraint(
            "discrepancy IN ('wrong', 'missing', 'outdated', 'unsafe', 'other')",
            name=op.f("ck_corrections_discrepancy"),
        ),
        sa.CheckConstraint(f"item_kind IN {ITEM_KINDS}", name=op.f("ck_corrections_item_kind")),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution <> 'rejected' OR resolution_reason IS NOT NULL",
            name=op.f("ck_corrections_rejection_reason"),
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('fixed', 'rejected')",
            name=op.f("ck_corrections_resolution"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_corrections_status")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_corrections_agency_id_agencies"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_corrections_facility_id_facilities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_corrections_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_corrections_agency_id"), "corrections", ["agency_id"])
    op.create_index(op.f("ix_corrections_facility_id"), "corrections", ["facility_id"])
    op.create_index("ix_corrections_facility_id_status", "corrections", ["facility_id", "status"])
    op.create_index(op.f("ix_corrections_incident_id"), "corrections", ["incident_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER corrections_preplan AFTER INSERT OR UPDATE OR DELETE ON corrections "
            "FOR EACH ROW EXECUTE FUNCTION registry_touch_preplan()"
        )
        return
    op.execute(
        "CREATE TRIGGER corrections_preplan_insert AFTER INSERT ON corrections "
        f"BEGIN {BUMP.format('NEW.facility_id')}; END"
    )
    op.execute(
        "CREATE TRIGGER corrections_preplan_update AFTER UPDATE ON corrections "
        f"BEGIN {BUMP.format('OLD.facility_id, NEW.facility_id')}; END"
    )
    op.execute(
        "CREATE TRIGGER corrections_preplan_delete AFTER DELETE ON corrections "
        f"BEGIN {BUMP.format('OLD.facility_id')}; END"
    )


def downgrade() -> None:
    # Dropping the table drops its triggers on both databases.
    op.drop_table("corrections")
