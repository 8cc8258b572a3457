"""The change feed for CAD mirrors (issue 11, item 3): one row per facility whose pre-plan or
whose sharing changed, numbered in commit order after the fact

- feed_changes: `facility_id` (no foreign key: the row outlives a deleted facility), and for a
  change of sharing the MOU's `mou_id` and `agency_id`; `boundary` for a day an MOU started or
  stopped granting (written by the feed itself, registry/changes/feed.py); `position`, null
  until the feed numbers committed rows (unique: no position is ever given twice).
- triggers that write the rows, whoever changes the data:
  - facilities: a new facility, and every bump of `preplan_version` (the triggers of 0002,
    0005 and 0015 bump it for every change to a part of the pre-plan; a facility's own update
    bumps it too), and a deleted row;
  - mous: every facility an MOU covered before a change and covers after it (all of the
    organization's facilities, or its list); before a delete, so the list is still there. The
    MOU's agency is named only on the rows of an MOU that granted (active or superseded): a
    draft tells its agency nothing about the organization's facilities;
  - a facility moved to another organization: each granting MOU of its old one, with its agency;
  - mou_facilities: the facility added to or taken off an MOU's list;
  - mou_scopes: every facility the MOU covers (a scope decides whether it shares data);
- one row for each existing facility, so that a mirror reading from the start gets them all;
- feed_clock: the last day whose MOU start and end days the feed has written rows for.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FEED = "INSERT INTO feed_changes (facility_id, agency_id, mou_id)"


GRANTING = "('active', 'superseded')"


def _party(mou: str) -> str:
    """The MOU's agency, where the MOU (a row, or the `m` of a query) granted: only an agency
    that may have read the facility is told it no longer does. A draft or a proposal names
    no agency, or it would tell the agency which facilities an organization has."""
    return f"CASE WHEN {mou}.status IN {GRANTING} THEN {mou}.agency_id END"


def _covered(mou: str, agency: bool) -> str:
    """The facilities an MOU row (`OLD` or `NEW`) covers, with its agency (`agency`: the
    facilities it covered before a change, which its agency may have read) and its id. The
    facilities it covers after a change need no agency: one it now shares is read, whoever
    asks."""
    party = _party(mou) if agency else "NULL"
    return (
        f"SELECT f.id, {party}, {mou}.id FROM facilities f "
        f"WHERE f.organization_id = {mou}.organization_id AND ({mou}.covers_all_facilities "
        f"OR f.id IN (SELECT facility_id FROM mou_facilities WHERE mou_id = {mou}.id))"
    )


def _covered_by_id(mou_id: str) -> str:
    """The facilities the MOU with this id covers now (a scope row names only the MOU)."""
    return (
        f"SELECT f.id, {_party('m')}, m.id FROM mous m JOIN facilities f "
        "ON f.organization_id = m.organization_id "
        f"WHERE m.id = {mou_id} AND (m.covers_all_facilities "
        "OR f.id IN (SELECT facility_id FROM mou_facilities WHERE mou_id = m.id))"
    )


def _listed(row: str) -> str:
    """The facility added to or taken off an MOU's list, with the MOU."""
    return f"SELECT {row}.facility_id, {_party('m')}, m.id FROM mous m WHERE m.id = {row}.mou_id"


# A facility moved to another organization leaves the MOUs of its old one.
_MOVED = (
    f"SELECT OLD.id, m.agency_id, m.id FROM mous m WHERE m.organization_id = OLD.organization_id "
    f"AND m.status IN {GRANTING} AND (m.covers_all_facilities "
    "OR OLD.id IN (SELECT facility_id FROM mou_facilities WHERE mou_id = m.id))"
)


POSTGRES = f"""
CREATE FUNCTION registry_feed_facility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    {FEED} VALUES (OLD.id, NULL, NULL);
  ELSIF TG_OP = 'INSERT' OR NEW.preplan_version <> OLD.preplan_version THEN
    {FEED} VALUES (NEW.id, NULL, NULL);
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.organization_id <> OLD.organization_id THEN
    {FEED} {_MOVED};
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION registry_feed_mou() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {FEED} {_covered("OLD", agency=True)}; END IF;
  IF TG_OP <> 'DELETE' THEN {FEED} {_covered("NEW", agency=False)}; END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION registry_feed_mou_facility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {FEED} {_listed("OLD")}; END IF;
  IF TG_OP <> 'DELETE' THEN {FEED} {_listed("NEW")}; END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION registry_feed_mou_scope() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {FEED} {_covered_by_id("OLD.mou_id")}; END IF;
  IF TG_OP <> 'DELETE' THEN {FEED} {_covered_by_id("NEW.mou_id")}; END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER facilities_feed AFTER INSERT OR UPDATE OR DELETE ON facilities
  FOR EACH ROW EXECUTE FUNCTION registry_feed_facility();
CREATE TRIGGER mous_feed AFTER INSERT OR UPDATE ON mous
  FOR EACH ROW EXECUTE FUNCTION registry_feed_mou();
CREATE TRIGGER mous_feed_delete BEFORE DELETE ON mous
  FOR EACH ROW EXECUTE FUNCTION registry_feed_mou();
CREATE TRIGGER mou_facilities_feed AFTER INSERT OR UPDATE OR DELETE ON mou_facilities
  FOR EACH ROW EXECUTE FUNCTION registry_feed_mou_facility();
CREATE TRIGGER mou_scopes_feed AFTER INSERT OR UPDATE OR DELETE ON mou_scopes
  FOR EACH ROW EXECUTE FUNCTION registry_feed_mou_scope();
"""

SQLITE = [
    f"CREATE TRIGGER facilities_feed_insert AFTER INSERT ON facilities "
    f"BEGIN {FEED} VALUES (NEW.id, NULL, NULL); END",
    # The bump of 0002's trigger is an UPDATE of its own, which fires this one.
    f"CREATE TRIGGER facilities_feed_update AFTER UPDATE ON facilities "
    f"WHEN NEW.preplan_version <> OLD.preplan_version "
    f"BEGIN {FEED} VALUES (NEW.id, NULL, NULL); END",
    f"CREATE TRIGGER facilities_feed_delete AFTER DELETE ON facilities "
    f"BEGIN {FEED} VALUES (OLD.id, NULL, NULL); END",
    f"CREATE TRIGGER facilities_feed_moved AFTER UPDATE OF organization_id ON facilities "
    f"WHEN NEW.organization_id <> OLD.organization_id BEGIN {FEED} {_MOVED}; END",
    f"CREATE TRIGGER mous_feed_insert AFTER INSERT ON mous "
    f"BEGIN {FEED} {_covered('NEW', agency=False)}; END",
    f"CREATE TRIGGER mous_feed_update AFTER UPDATE ON mous "
    f"BEGIN {FEED} {_covered('OLD', agency=True)}; {FEED} {_covered('NEW', agency=False)}; END",
    f"CREATE TRIGGER mous_feed_delete BEFORE DELETE ON mous "
    f"BEGIN {FEED} {_covered('OLD', agency=True)}; END",
    f"CREATE TRIGGER mou_facilities_feed_insert AFTER INSERT ON mou_facilities "
    f"BEGIN {FEED} {_listed('NEW')}; END",
    f"CREATE TRIGGER mou_facilities_feed_delete AFTER DELETE ON mou_facilities "
    f"BEGIN {FEED} {_listed('OLD')}; END",
    f"CREATE TRIGGER mou_scopes_feed_insert AFTER INSERT ON mou_scopes "
    f"BEGIN {FEED} {_covered_by_id('NEW.mou_id')}; END",
    f"CREATE TRIGGER mou_scopes_feed_update AFTER UPDATE ON mou_scopes "
    f"BEGIN {FEED} {_covered_by_id('NEW.mou_id')}; END",
    f"CREATE TRIGGER mou_scopes_feed_delete AFTER DELETE ON mou_scopes "
    f"BEGIN {FEED} {_covered_by_id('OLD.mou_id')}; END",
]
SQLITE_TRIGGERS = [statement.split()[2] for statement in SQLITE]


def upgrade() -> None:
    op.create_table(
        "feed_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=True),
        sa.Column("mou_id", sa.Integer(), nullable=True),
        sa.Column("boundary", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_changes")),
        sa.UniqueConstraint("position", name=op.f("uq_feed_changes_position")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_feed_changes_unnumbered",
        "feed_changes",
        ["id"],
        postgresql_where=sa.text("position IS NULL"),
        sqlite_where=sa.text("position IS NULL"),
    )
    op.create_index(op.f("ix_feed_changes_mou_id"), "feed_changes", ["mou_id", "boundary"])
    op.create_table(
        "feed_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_through", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_clock")),
        sqlite_autoincrement=True,
    )
    op.execute("INSERT INTO feed_changes (facility_id) SELECT id FROM facilities ORDER BY id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES)
        return
    for statement in SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (
            ("facilities_feed", "facilities"),
            ("mous_feed", "mous"),
            ("mous_feed_delete", "mous"),
            ("mou_facilities_feed", "mou_facilities"),
            ("mou_scopes_feed", "mou_scopes"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        for function in ("facility", "mou", "mou_facility", "mou_scope"):
            op.execute(f"DROP FUNCTION registry_feed_{function}()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("feed_clock")
    op.drop_index(op.f("ix_feed_changes_mou_id"), table_name="feed_changes")
    op.drop_index("ix_feed_changes_unnumbered", table_name="feed_changes")
    op.drop_table("feed_changes")
