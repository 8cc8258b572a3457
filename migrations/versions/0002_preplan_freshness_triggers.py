"""Pre-plan freshness: database triggers bump facilities.preplan_version

Every row that appears in a facility's pre-plan bumps the facility's preplan_version when it is
inserted, changed or deleted, whoever writes it (the API, a bulk load, a cascade, manual SQL), so
a rendered pre-plan cached under the old value can never be served again.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Tables whose rows carry facility_id directly.
FACILITY_PARTS = (
    "access_points",
    "tactical_points",
    "contacts",
    "facility_aliases",
    "facility_external_ids",
)
BUMP = "UPDATE facilities SET preplan_version = preplan_version + 1 WHERE id IN ({})"
PHONE_OWNER = "(SELECT facility_id FROM contacts WHERE id = {}.contact_id)"

POSTGRES_FUNCTIONS = f"""
CREATE FUNCTION registry_touch_preplan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {BUMP.format("OLD.facility_id")}; END IF;
  IF TG_OP <> 'DELETE' THEN {BUMP.format("NEW.facility_id")}; END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION registry_touch_preplan_of_phone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {BUMP.format(PHONE_OWNER.format("OLD"))}; END IF;
  IF TG_OP <> 'DELETE' THEN {BUMP.format(PHONE_OWNER.format("NEW"))}; END IF;
  RETURN NULL;
END $$;

-- The facility row itself: any change that did not already bump the counter does.
CREATE FUNCTION registry_touch_own_preplan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.preplan_version = OLD.preplan_version THEN
    NEW.preplan_version := OLD.preplan_version + 1;
  END IF;
  RETURN NEW;
END $$;
"""


def _sqlite_triggers(table: str, owner: str) -> list[str]:
    """owner: an SQL expression naming the facility, with {} for OLD or NEW."""
    return [
        f"CREATE TRIGGER {table}_preplan_insert AFTER INSERT ON {table} "
        f"BEGIN {BUMP.format(owner.format('NEW'))}; END",
        f"CREATE TRIGGER {table}_preplan_update AFTER UPDATE ON {table} "
        f"BEGIN {BUMP.format(owner.format('OLD') + ', ' + owner.format('NEW'))}; END",
        f"CREATE TRIGGER {table}_preplan_delete AFTER DELETE ON {table} "
        f"BEGIN {BUMP.format(owner.format('OLD'))}; END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTIONS)
        for table in FACILITY_PARTS:
            op.execute(
                f"CREATE TRIGGER {table}_preplan AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION registry_touch_preplan()"
            )
        op.execute(
            "CREATE TRIGGER contact_phones_preplan AFTER INSERT OR UPDATE OR DELETE "
            "ON contact_phones FOR EACH ROW EXECUTE FUNCTION registry_touch_preplan_of_phone()"
        )
        op.execute(
            "CREATE TRIGGER facilities_preplan BEFORE UPDATE ON facilities "
            "FOR EACH ROW EXECUTE FUNCTION registry_touch_own_preplan()"
        )
        return
    statements = []
    for table in FACILITY_PARTS:
        statements += _sqlite_triggers(table, "{}.facility_id")
    statements += _sqlite_triggers("contact_phones", PHONE_OWNER)
    statements.append(
        "CREATE TRIGGER facilities_preplan AFTER UPDATE ON facilities "
        "WHEN NEW.preplan_version = OLD.preplan_version "
        f"BEGIN {BUMP.format('NEW.id')}; END"
    )
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*FACILITY_PARTS, "contact_phones", "facilities"):
            op.execute(f"DROP TRIGGER {table}_preplan ON {table}")
        for function in (
            "registry_touch_preplan",
            "registry_touch_preplan_of_phone",
            "registry_touch_own_preplan",
        ):
            op.execute(f"DROP FUNCTION {function}()")
        return
    for table in (*FACILITY_PARTS, "contact_phones"):
        for when in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_preplan_{when}")
    op.execute("DROP TRIGGER facilities_preplan")
