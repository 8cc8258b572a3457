"""Notification kinds for the coordination work of issue 12 (items 3 to 5), all at once

- incident_opened: an agency opened an incident at a partner's facility (the partner is told at
  once);
- mou_ending_soon, mou_expired: an active MOU's end date is near, or has passed;
- data_stale: a facility's pre-plan holds items past their confirmation age;
- correction_reported, correction_answered: a responder reported a wrong part of a pre-plan; the
  facility's managers answered it.

One migration for every new kind, so that the features that use them can land in any order.
SQLite rebuilds the table (batch mode) to change its check.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "break_glass_access",
    "break_glass_reveal",
    "break_glass_ended",
    "facility_review",
    "mou_proposed",
    "mou_changed",
    "mou_accepted",
    "mou_terminated",
)
NEW_KINDS = (
    *OLD_KINDS,
    "incident_opened",
    "mou_ending_soon",
    "mou_expired",
    "data_stale",
    "correction_reported",
    "correction_answered",
)


def _in(values: tuple) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _set_kinds(kinds: tuple) -> None:
    with op.batch_alter_table("notifications", table_kwargs={"sqlite_autoincrement": True}) as b:
        b.drop_constraint(op.f("ck_notifications_kind"), type_="check")
        b.create_check_constraint(op.f("ck_notifications_kind"), f"kind IN {_in(kinds)}")


def upgrade() -> None:
    _set_kinds(NEW_KINDS)


def downgrade() -> None:
    op.execute(f"DELETE FROM notifications WHERE kind NOT IN {_in(OLD_KINDS)}")
    _set_kinds(OLD_KINDS)
