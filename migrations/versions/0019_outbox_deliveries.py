"""Notifications that leave the building (issue 12, item 3): subscriptions and deliveries

- subscriptions: where an organization's or an agency's notifications are sent (a webhook URL
  with its sealed signing secret, or an email address), for every kind or the kinds listed;
  versioned, soft-deleted;
- notification_deliveries: one notification to one subscription (pending, delivered, dead),
  with its attempts, when the next is due, and the worker's claim (`claimed_by`,
  `lease_until`);
- notifications.announcement_key: unique, so a time-based announcement (an MOU ending, stale
  data) is written once.

SQLite rebuilds notifications (batch mode) to add the unique constraint.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
CHANNELS = "('webhook', 'email')"
STATUSES = "('pending', 'delivered', 'dead')"


def upgrade() -> None:
    with op.batch_alter_table("notifications", table_kwargs={"sqlite_autoincrement": True}) as b:
        b.add_column(sa.Column("announcement_key", sa.String(200), nullable=True))
        b.create_unique_constraint(
            op.f("uq_notifications_announcement_key"), ["announcement_key"]
        )

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.Column("deleted_at", UTC_DATETIME, nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("secret_key_id", sa.String(40), nullable=True),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name=op.f("ck_subscriptions_channel")),
        sa.CheckConstraint(
            "(organization_id IS NULL) <> (agency_id IS NULL)",
            name=op.f("ck_subscriptions_one_owner"),
        ),
        sa.CheckConstraint(
            "(channel = 'webhook' AND url IS NOT NULL AND email IS NULL)"
            " OR (channel = 'email' AND email IS NOT NULL AND url IS NULL)",
            name=op.f("ck_subscriptions_channel_target"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_subscriptions_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agencies.id"],
            name=op.f("fk_subscriptions_agency_id_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sqlite_autoincrement=True,
    )
    for column in ("organization_id", "agency_id", "deleted_at"):
        op.create_index(op.f(f"ix_subscriptions_{column}"), "subscriptions", [column])

    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_DATETIME, nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=True),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_attempt_at", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("delivered_at", UTC_DATETIME, nullable=True),
        sa.CheckConstraint(
            f"status IN {STATUSES}", name=op.f("ck_notification_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_notification_deliveries_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_deliveries")),
        sa.UniqueConstraint(
            "notification_id",
            "subscription_id",
            name=op.f("uq_notification_deliveries_notification_id_subscription_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_notification_deliveries_due",
        "notification_deliveries",
        ["status", "next_attempt_at"],
    )
    for column in ("notification_id", "subscription_id"):
        op.create_index(
            op.f(f"ix_notification_deliveries_{column}"), "notification_deliveries", [column]
        )


def downgrade() -> None:
    op.drop_table("notification_deliveries")
    op.drop_table("subscriptions")
    with op.batch_alter_table("notifications", table_kwargs={"sqlite_autoincrement": True}) as b:
        b.drop_constraint(op.f("uq_notifications_announcement_key"), type_="unique")
        b.drop_column("announcement_key")
