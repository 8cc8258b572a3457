"""Floor plans and MOU documents: file_blobs, floor_plans, mou_documents; floor plans join the
pre-plan freshness triggers of 0002

A floor plan is part of its facility's pre-plan, so inserting, changing or deleting one bumps
facilities.preplan_version like every other part (same trigger function on PostgreSQL, the same
three triggers per table on SQLite). MOU documents are not shown in the pre-plan.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BUMP = "UPDATE facilities SET preplan_version = preplan_version + 1 WHERE id IN ({})"


def _record_columns() -> list:
    """The Versioned columns every record has."""
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _stored_file_columns() -> list:
    return [
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "file_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("preview_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_file_blobs_size_not_negative")),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_file_blobs")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "floor_plans",
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("building", sa.String(length=100), nullable=False),
        sa.Column("level_number", sa.Integer(), nullable=False),
        sa.Column("level_label", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        *_stored_file_columns(),
        *_record_columns(),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_floor_plans_revision_positive")),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_floor_plans_facility_id_facilities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["file_blobs.sha256"],
            name=op.f("fk_floor_plans_sha256_file_blobs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_floor_plans")),
        sa.UniqueConstraint(
            "facility_id",
            "building",
            "level_number",
            "revision",
            name=op.f("uq_floor_plans_facility_id_building_level_number_revision"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_floor_plans_facility_id"), "floor_plans", ["facility_id"])
    op.create_index(op.f("ix_floor_plans_sha256"), "floor_plans", ["sha256"])
    op.create_table(
        "mou_documents",
        sa.Column("mou_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        *_stored_file_columns(),
        *_record_columns(),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_mou_documents_revision_positive")),
        sa.ForeignKeyConstraint(
            ["mou_id"], ["mous.id"], name=op.f("fk_mou_documents_mou_id_mous"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sha256"],
            ["file_blobs.sha256"],
            name=op.f("fk_mou_documents_sha256_file_blobs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mou_documents")),
        sa.UniqueConstraint("mou_id", "revision", name=op.f("uq_mou_documents_mou_id_revision")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_mou_documents_mou_id"), "mou_documents", ["mou_id"])
    op.create_index(op.f("ix_mou_documents_sha256"), "mou_documents", ["sha256"])

    if op.get_bind().dialect.name == "postgresql":
        # registry_touch_preplan() comes from 0002: it bumps OLD's and NEW's facility.
        op.execute(
            "CREATE TRIGGER floor_plans_preplan AFTER INSERT OR UPDATE OR DELETE ON floor_plans "
            "FOR EACH ROW EXECUTE FUNCTION registry_touch_preplan()"
        )
        return
    for statement in (
        "CREATE TRIGGER floor_plans_preplan_insert AFTER INSERT ON floor_plans "
        f"BEGIN {BUMP.format('NEW.facility_id')}; END",
        "CREATE TRIGGER floor_plans_preplan_update AFTER UPDATE ON floor_plans "
        f"BEGIN {BUMP.format('OLD.facility_id, NEW.facility_id')}; END",
        "CREATE TRIGGER floor_plans_preplan_delete AFTER DELETE ON floor_plans "
        f"BEGIN {BUMP.format('OLD.facility_id')}; END",
    ):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER floor_plans_preplan ON floor_plans")
    else:
        for when in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER floor_plans_preplan_{when}")
    op.drop_index(op.f("ix_mou_documents_sha256"), table_name="mou_documents")
    op.drop_index(op.f("ix_mou_documents_mou_id"), table_name="mou_documents")
    op.drop_table("mou_documents")
    op.drop_index(op.f("ix_floor_plans_sha256"), table_name="floor_plans")
    op.drop_index(op.f("ix_floor_plans_facility_id"), table_name="floor_plans")
    op.drop_table("floor_plans")
    op.drop_table("file_blobs")
