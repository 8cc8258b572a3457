"""The two-party MOU lifecycle (issue 12, item 2): proposals, acceptances, renewals

- mous: the drafting party, the proposal, each party's acceptance (when and by whom), the
  termination (when, by whom, which party, why), the MOU a renewal renews (`supersedes_id`) and
  the day a renewal takes over (`superseded_on`); statuses draft, proposed, active, terminated,
  superseded (`expired` is derived, never stored); a check that an MOU that grants was
  accepted by both parties;
- mou_history: every edit and lifecycle step of an MOU;
- notifications: for an agency too (`agency_id`; exactly one recipient), tied to an MOU
  (`mou_id`), with the MOU kinds.

Existing MOUs: every one is taken as drafted by its organization (only organizations wrote
MOUs before). An `active` MOU is migrated as proposed and accepted by both parties at its
creation (`created_at`), by "migration 0013": the registry cannot know who signed it, and it
granted access until now, so it keeps doing so. A `suspended` MOU becomes `terminated` (the
lifecycle has no suspension; the parties agree a new MOU to resume), and it and an already
`terminated` one are stamped as terminated at their last change, with the reason saying so.

SQLite rebuilds mous and notifications (batch mode) to change their checks; neither has
triggers, and the migration's connection does not enforce foreign keys, so the rebuild leaves
their children (scopes, facility lists, documents) alone. Downgrading maps proposed to draft
and superseded to terminated, and drops agency notifications: what the old schema cannot say.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
MIGRATED_BY = "migration 0013"
OLD_STATUSES = ("draft", "active", "suspended", "terminated")
NEW_STATUSES = ("draft", "proposed", "active", "terminated", "superseded")
PARTIES = ("organization", "agency")
OLD_KINDS = ("break_glass_access", "break_glass_reveal", "break_glass_ended", "facility_review")
NEW_KINDS = (*OLD_KINDS, "mou_proposed", "mou_changed", "mou_accepted", "mou_terminated")
SUSPENDED_REASON = (
    "Suspended before the two-party MOU lifecycle (migration 0013), which has no suspension: "
    "the parties agree a new MOU to share again."
)


def _in(values: tuple) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table("mous", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("drafting_party", sa.String(20), nullable=True))
        for name in ("proposed", "organization_accepted", "agency_accepted", "terminated"):
            batch.add_column(sa.Column(f"{name}_at", UTC_DATETIME, nullable=True))
            batch.add_column(sa.Column(f"{name}_by", sa.String(120), nullable=True))
        batch.add_column(sa.Column("terminating_party", sa.String(20), nullable=True))
        batch.add_column(sa.Column("termination_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("supersedes_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("superseded_on", sa.Date(), nullable=True))
        batch.drop_constraint(op.f("ck_mous_status"), type_="check")

    mous = sa.table(
        "mous",
        sa.column("status", sa.String),
        sa.column("drafting_party", sa.String),
        sa.column("created_at", UTC_DATETIME),
        sa.column("updated_at", UTC_DATETIME),
        *(sa.column(f"{name}_at", UTC_DATETIME) for name in ("proposed", "terminated")),
        *(sa.column(f"{name}_by", sa.String) for name in ("proposed", "terminated")),
        *(sa.column(f"{p}_accepted_at", UTC_DATETIME) for p in PARTIES),
        *(sa.column(f"{p}_accepted_by", sa.String) for p in PARTIES),
        sa.column("termination_reason", sa.Text),
    )
    op.execute(mous.update().values(drafting_party="organization"))
    op.execute(
        mous.update()
        .where(mous.c.status == "active")
        .values(
            proposed_at=mous.c.created_at,
            proposed_by=MIGRATED_BY,
            organization_accepted_at=mous.c.created_at,
            organization_accepted_by=MIGRATED_BY,
            agency_accepted_at=mous.c.created_at,
            agency_accepted_by=MIGRATED_BY,
        )
    )
    op.execute(
        mous.update()
        .where(mous.c.status == "suspended")
        .values(status="terminated", termination_reason=SUSPENDED_REASON)
    )
    op.execute(
        mous.update()
        .where(mous.c.status == "terminated")
        .values(terminated_at=mous.c.updated_at, terminated_by=MIGRATED_BY)
    )

    with op.batch_alter_table("mous", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("drafting_party", existing_type=sa.String(20), nullable=False)
        batch.create_check_constraint(op.f("ck_mous_status"), f"status IN {_in(NEW_STATUSES)}")
        batch.create_check_constraint(
            op.f("ck_mous_drafting_party"), f"drafting_party IN {_in(PARTIES)}"
        )
        batch.create_check_constraint(
            op.f("ck_mous_terminating_party"),
            f"terminating_party IS NULL OR terminating_party IN {_in(PARTIES)}",
        )
        batch.create_check_constraint(
            op.f("ck_mous_accepted_by_both"),
            "status NOT IN ('active', 'superseded') OR (organization_accepted_at IS NOT NULL "
            "AND agency_accepted_at IS NOT NULL)",
        )
        batch.create_check_constraint(
            op.f("ck_mous_superseded_on"), "status <> 'superseded' OR superseded_on IS NOT NULL"
        )
        batch.create_foreign_key(
            op.f("fk_mous_supersedes_id_mous"),
            "mous",
            ["supersedes_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_mous_supersedes_id"), ["supersedes_id"])

    op.create_table(
        "mou_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mou_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("party", sa.String(20), nullable=True),
        sa.Column("actor", sa.String(40), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mou_id"], ["mous.id"], name=op.f("fk_mou_history_mou_id_mous"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mou_history")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_mou_history_mou_id"), "mou_history", ["mou_id"])

    with op.batch_alter_table("notifications", table_kwargs={"sqlite_autoincrement": True}) as b:
        b.alter_column("organization_id", existing_type=sa.Integer(), nullable=True)
        b.add_column(sa.Column("agency_id", sa.Integer(), nullable=True))
        b.add_column(sa.Column("mou_id", sa.Integer(), nullable=True))
        b.create_foreign_key(
            op.f("fk_notifications_agency_id_agencies"),
            "agencies",
            ["agency_id"],
            ["id"],
            ondelete="CASCADE",
        )
        b.create_foreign_key(
            op.f("fk_notifications_mou_id_mous"), "mous", ["mou_id"], ["id"], ondelete="SET NULL"
        )
        b.create_index(op.f("ix_notifications_agency_id"), ["agency_id"])
        b.create_index(op.f("ix_notifications_mou_id"), ["mou_id"])
        b.drop_constraint(op.f("ck_notifications_kind"), type_="check")
        b.create_check_constraint(op.f("ck_notifications_kind"), f"kind IN {_in(NEW_KINDS)}")
        b.create_check_constraint(
            op.f("ck_notifications_one_recipient"),
            "(organization_id IS NULL) <> (agency_id IS NULL)",
        )


def downgrade() -> None:
    op.execute(
        f"DELETE FROM notifications WHERE agency_id IS NOT NULL OR kind NOT IN {_in(OLD_KINDS)}"
    )
    with op.batch_alter_table("notifications", table_kwargs={"sqlite_autoincrement": True}) as b:
        b.drop_constraint(op.f("ck_notifications_one_recipient"), type_="check")
        b.drop_constraint(op.f("ck_notifications_kind"), type_="check")
        b.create_check_constraint(op.f("ck_notifications_kind"), f"kind IN {_in(OLD_KINDS)}")
        b.drop_index(op.f("ix_notifications_mou_id"))
        b.drop_index(op.f("ix_notifications_agency_id"))
        b.drop_constraint(op.f("fk_notifications_mou_id_mous"), type_="foreignkey")
        b.drop_constraint(op.f("fk_notifications_agency_id_agencies"), type_="foreignkey")
        b.drop_column("mou_id")
        b.drop_column("agency_id")
        b.alter_column("organization_id", existing_type=sa.Integer(), nullable=False)

    op.drop_index(op.f("ix_mou_history_mou_id"), table_name="mou_history")
    op.drop_table("mou_history")

    with op.batch_alter_table("mous", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name in (
            "superseded_on",
            "accepted_by_both",
            "terminating_party",
            "drafting_party",
            "status",
        ):
            batch.drop_constraint(op.f(f"ck_mous_{name}"), type_="check")
    op.execute("UPDATE mous SET status = 'draft' WHERE status = 'proposed'")
    op.execute("UPDATE mous SET status = 'terminated' WHERE status = 'superseded'")
    with op.batch_alter_table("mous", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_index(op.f("ix_mous_supersedes_id"))
        batch.drop_constraint(op.f("fk_mous_supersedes_id_mous"), type_="foreignkey")
        for name in (
            "superseded_on",
            "supersedes_id",
            "termination_reason",
            "terminating_party",
            "drafting_party",
        ):
            batch.drop_column(name)
        for name in ("terminated", "agency_accepted", "organization_accepted", "proposed"):
            batch.drop_column(f"{name}_by")
            batch.drop_column(f"{name}_at")
        batch.create_check_constraint(op.f("ck_mous_status"), f"status IN {_in(OLD_STATUSES)}")
