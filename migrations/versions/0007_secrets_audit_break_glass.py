"""Encrypted access-point secrets, the audit trail, notifications, break-glass incidents and
account lockout

Plain ALTER TABLE (no batch rebuild), as in 0004: the access_points triggers of 0002 stay.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
COUNTER = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # see registry/audit/models.py
ROLE_BINDING = (
    "(role IN ({admins}) AND organization_id IS NULL AND agency_id IS NULL)"
    " OR (role = 'facility_manager' AND organization_id IS NOT NULL AND agency_id IS NULL)"
    " OR (role = 'agency_user' AND agency_id IS NOT NULL AND organization_id IS NULL)"
)


def _user_roles(roles: tuple, admins: tuple) -> None:
    """Replace the users table's role checks (SQLite rebuilds the table; it has no triggers)."""
    quoted = ", ".join(f"'{r}'" for r in roles)
    with op.batch_alter_table("users", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.drop_constraint(op.f("ck_users_role_binding"), type_="check")
        batch.create_check_constraint(op.f("ck_users_role"), f"role IN ({quoted})")
        batch.create_check_constraint(
            op.f("ck_users_role_binding"),
            ROLE_BINDING.format(admins=", ".join(f"'{r}'" for r in admins)),
        )


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", COUNTER, nullable=False),
        sa.Column("seq", COUNTER, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("break_glass", sa.Boolean(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("seq", name=op.f("uq_audit_events_seq")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])
    op.create_index("ix_audit_events_actor_at", "audit_events", ["actor", "at"])
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index("ix_audit_events_facility_id_at", "audit_events", ["facility_id", "at"])

    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", COUNTER, nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
        sqlite_autoincrement=True,
    )
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "last_hash": GENESIS_HASH}])

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('break_glass_access', 'break_glass_reveal')",
            name=op.f("ck_notifications_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_notifications_facility_id_facilities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_notifications_incident_id_incidents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_notifications_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sqlite_autoincrement=True,
    )
    for column in ("created_at", "facility_id", "incident_id", "organization_id"):
        op.create_index(op.f(f"ix_notifications_{column}"), "notifications", [column])

    for name in ("code", "key_location"):
        op.add_column("access_points", sa.Column(f"{name}_ciphertext", sa.LargeBinary()))
        op.add_column("access_points", sa.Column(f"{name}_key_id", sa.String(length=40)))

    op.add_column("cad_clients", sa.Column("tokens_valid_after", sa.DateTime(timezone=True)))

    op.add_column(
        "incidents",
        sa.Column("break_glass", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("incidents", sa.Column("access_expires_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_incidents_agency_id_facility_id_status",
        "incidents",
        ["agency_id", "facility_id", "status"],
    )

    op.add_column(
        "users", sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("users", sa.Column("locked_until", sa.DateTime(timezone=True)))
    op.add_column("users", sa.Column("tokens_valid_after", sa.DateTime(timezone=True)))
    _user_roles(("admin", "facility_manager", "agency_user", "auditor"), ("admin", "auditor"))


def downgrade() -> None:
    op.execute("DELETE FROM users WHERE role = 'auditor'")
    _user_roles(("admin", "facility_manager", "agency_user"), ("admin",))
    for column in ("tokens_valid_after", "locked_until", "failed_logins"):
        op.drop_column("users", column)
    op.drop_index("ix_incidents_agency_id_facility_id_status", table_name="incidents")
    op.drop_column("incidents", "access_expires_at")
    op.drop_column("incidents", "break_glass")
    op.drop_column("cad_clients", "tokens_valid_after")
    for name in ("key_location", "code"):
        op.drop_column("access_points", f"{name}_key_id")
        op.drop_column("access_points", f"{name}_ciphertext")
    op.drop_table("notifications")
    op.drop_table("audit_head")
    op.drop_table("audit_events")
