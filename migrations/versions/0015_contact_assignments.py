"""One person, many sites: an organization's contact listed at its facilities (issue 11, item 2)

- contact_assignments: (contact, facility) with the contact's place in that facility's call
  order;
- a facility moved to another organization is listed by none of its old organization's
  contacts any more (a trigger deletes its assignments: no writer can leave them);
- triggers, like those of 0002, that bump the `preplan_version` of every facility a change
  reaches: an assignment added, moved or removed (that facility), and a change to an assigned
  contact or to one of its phones (every facility it is assigned to). A regional director's new
  number is then in every store's pre-plan at once, whoever wrote it.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BUMP = "UPDATE facilities SET preplan_version = preplan_version + 1 WHERE id IN ({})"
ASSIGNED = "SELECT facility_id FROM contact_assignments WHERE contact_id = {}"

UNLIST = "DELETE FROM contact_assignments WHERE facility_id = NEW.id;"
MOVED = "NEW.organization_id <> OLD.organization_id"

# The contact a changed row belongs to: a contact itself, or one of its phones.
CONTACT_OF = {"contacts": "id", "contact_phones": "contact_id"}

POSTGRES_FUNCTIONS = f"""
CREATE FUNCTION registry_touch_preplans_of_contact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- After an UPDATE or a DELETE (a new contact is assigned nowhere yet); ids never change.
  {BUMP.format(ASSIGNED.format("OLD.id"))};
  RETURN NULL;
END $$;

CREATE FUNCTION registry_unlist_moved_facility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {UNLIST}
  RETURN NULL;
END $$;

CREATE FUNCTION registry_touch_preplans_of_contact_phone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {BUMP.format(ASSIGNED.format("OLD.contact_id"))}; END IF;
  IF TG_OP <> 'DELETE' THEN {BUMP.format(ASSIGNED.format("NEW.contact_id"))}; END IF;
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "contact_assignments",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("call_order", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "call_order >= 1", name=op.f("ck_contact_assignments_call_order_positive")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_assignments_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_contact_assignments_facility_id_facilities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "facility_id", name=op.f("pk_contact_assignments")),
    )
    op.create_index(
        op.f("ix_contact_assignments_facility_id"), "contact_assignments", ["facility_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTIONS)
        # The assignment's own facility: the function of 0002, for rows that name a facility.
        op.execute(
            "CREATE TRIGGER contact_assignments_preplan AFTER INSERT OR UPDATE OR DELETE "
            "ON contact_assignments FOR EACH ROW EXECUTE FUNCTION registry_touch_preplan()"
        )
        op.execute(
            "CREATE TRIGGER contacts_assigned_preplan AFTER UPDATE OR DELETE ON contacts "
            "FOR EACH ROW EXECUTE FUNCTION registry_touch_preplans_of_contact()"
        )
        op.execute(
            "CREATE TRIGGER facilities_moved_unlist AFTER UPDATE OF organization_id ON facilities "
            f"FOR EACH ROW WHEN ({MOVED}) EXECUTE FUNCTION registry_unlist_moved_facility()"
        )
        op.execute(
            "CREATE TRIGGER contact_phones_assigned_preplan AFTER INSERT OR UPDATE OR DELETE "
            "ON contact_phones FOR EACH ROW EXECUTE FUNCTION "
            "registry_touch_preplans_of_contact_phone()"
        )
        return
    own = "{}.facility_id"
    statements = [
        f"CREATE TRIGGER contact_assignments_preplan_insert AFTER INSERT ON contact_assignments "
        f"BEGIN {BUMP.format(own.format('NEW'))}; END",
        f"CREATE TRIGGER contact_assignments_preplan_update AFTER UPDATE ON contact_assignments "
        f"BEGIN {BUMP.format(own.format('OLD') + ', ' + own.format('NEW'))}; END",
        f"CREATE TRIGGER contact_assignments_preplan_delete AFTER DELETE ON contact_assignments "
        f"BEGIN {BUMP.format(own.format('OLD'))}; END",
    ]
    statements.append(
        "CREATE TRIGGER facilities_moved_unlist AFTER UPDATE OF organization_id ON facilities "
        f"WHEN {MOVED} BEGIN {UNLIST} END"
    )
    for table, column in CONTACT_OF.items():
        whens = ("update", "delete") if table == "contacts" else ("insert", "update", "delete")
        for when in whens:
            row = "OLD" if when == "delete" else "NEW"
            statements.append(
                f"CREATE TRIGGER {table}_assigned_preplan_{when} AFTER {when.upper()} ON {table} "
                f"BEGIN {BUMP.format(ASSIGNED.format(f'{row}.{column}'))}; END"
            )
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER facilities_moved_unlist ON facilities")
        op.execute("DROP FUNCTION registry_unlist_moved_facility()")
        op.execute("DROP TRIGGER contact_phones_assigned_preplan ON contact_phones")
        op.execute("DROP TRIGGER contacts_assigned_preplan ON contacts")
        op.execute("DROP TRIGGER contact_assignments_preplan ON contact_assignments")
        op.execute("DROP FUNCTION registry_touch_preplans_of_contact_phone()")
        op.execute("DROP FUNCTION registry_touch_preplans_of_contact()")
    else:
        op.execute("DROP TRIGGER facilities_moved_unlist")
        for when in ("update", "delete"):
            op.execute(f"DROP TRIGGER contacts_assigned_preplan_{when}")
        for when in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER contact_phones_assigned_preplan_{when}")
            op.execute(f"DROP TRIGGER contact_assignments_preplan_{when}")
    op.drop_index(op.f("ix_contact_assignments_facility_id"), table_name="contact_assignments")
    op.drop_table("contact_assignments")
