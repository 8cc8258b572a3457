"""Address matching that 9-1-1 practice would accept (issue 10), and bounded break-glass

- facilities: the Address Number Complete, the county (FIPS) and a review status; match keys
  are recomputed with the new parser for every existing facility;
- agencies: the counties they serve (their state was already there);
- address_aliases (a facility's other site addresses) and street_aliases (an agency's aliases
  for streets in its jurisdiction);
- incidents: who ended a break-glass grant early, when and why.

Plain ALTER TABLE (no batch rebuild), as in 0004 and 0007: the triggers of 0002 stay.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_DATETIME = sa.DateTime(timezone=True)
OLD_KINDS = ("break_glass_access", "break_glass_reveal")
NEW_KINDS = (*OLD_KINDS, "break_glass_ended", "facility_review")


def _notification_kinds(kinds: tuple) -> None:
    """Replace the notifications' kind check (SQLite rebuilds the table; it has no triggers)."""
    quoted = ", ".join(f"'{k}'" for k in kinds)
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint(op.f("ck_notifications_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_notifications_kind"), f"kind IN ({quoted})")


def _versioned() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
    ]


def _recompute_match_keys() -> None:
    """Derive the new keys for the facilities already registered, with the new parser."""
    from registry import addresses
    from registry.addresses import gazetteer

    # Calls the application's parser as it is when the migration runs: the keys are derived
    # data, and this is the parser the lookup will compare them with.
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT id, address_line1, address_line2, city, state, postal_code FROM facilities"
        )
    ).all()
    for row in rows:
        try:
            parsed = addresses.parse_parts(
                row.address_line1, row.address_line2, row.city, row.state, row.postal_code
            )
        except addresses.AddressError:
            continue  # left as it was: still found by position, phone, name and premise id
        info = gazetteer.zip_info((row.postal_code or "")[:5])
        county = info.county_fips if info is not None and info.state == row.state else None
        connection.execute(
            sa.text(
                "UPDATE facilities SET address_number = :number, address_key = :key, "
                "address_key_core = :core, unit_key = :unit, normalized_address = :display, "
                "city_key = :city, county_fips = :county WHERE id = :id"
            ),
            {
                "number": parsed.number,
                "key": parsed.key,
                "core": parsed.root_key,
                "unit": parsed.unit,
                "display": parsed.display,
                "city": addresses.city_key(row.city),
                "county": county,
                "id": row.id,
            },
        )


def upgrade() -> None:
    op.add_column("facilities", sa.Column("address_number", sa.String(20), nullable=True))
    op.add_column("facilities", sa.Column("county_fips", sa.String(5), nullable=True))
    op.add_column(
        "facilities",
        sa.Column(
            "review_status",
            sa.String(10),
            sa.CheckConstraint(
                "review_status IN ('approved', 'pending')", name="ck_facilities_review_status"
            ),
            nullable=False,
            server_default="approved",
        ),
    )
    op.create_index(
        "ix_facilities_address_number_postal_code",
        "facilities",
        ["address_number", "postal_code"],
    )
    op.add_column(
        "agencies", sa.Column("county_fips", sa.JSON(), nullable=False, server_default="[]")
    )
    for name, column_type in (
        ("break_glass_ended_at", UTC_DATETIME),
        ("break_glass_ended_by", sa.String(40)),
        ("break_glass_end_reason", sa.String(500)),
    ):
        op.add_column("incidents", sa.Column(name, column_type, nullable=True))
    op.create_table(
        "address_aliases",
        *_versioned(),
        sa.Column(
            "facility_id",
            sa.Integer(),
            sa.ForeignKey(
                "facilities.id",
                ondelete="CASCADE",
                name="fk_address_aliases_facility_id_facilities",
            ),
            nullable=False,
        ),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("address_key", sa.String(200), nullable=False),
        sa.Column("address_key_core", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
    )
    op.create_index("ix_address_aliases_facility_id", "address_aliases", ["facility_id"])
    op.create_index(
        "ix_address_aliases_address_key_core", "address_aliases", ["address_key_core"]
    )
    op.create_table(
        "street_aliases",
        *_versioned(),
        sa.Column(
            "agency_id",
            sa.Integer(),
            sa.ForeignKey(
                "agencies.id", ondelete="CASCADE", name="fk_street_aliases_agency_id_agencies"
            ),
            nullable=False,
        ),
        sa.Column("state", sa.String(2), nullable=False),
        sa.Column("county_fips", sa.String(5), nullable=True),
        sa.Column("alias", sa.String(200), nullable=False),
        sa.Column("alias_full", sa.String(200), nullable=False),
        sa.Column("alias_root", sa.String(200), nullable=False),
        sa.Column("street", sa.String(200), nullable=False),
        sa.Column("street_full", sa.String(200), nullable=False),
        sa.Column("street_root", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
    )
    op.create_index("ix_street_aliases_agency_id", "street_aliases", ["agency_id"])
    op.create_index(
        "ix_street_aliases_alias_root_state", "street_aliases", ["alias_root", "state"]
    )
    _notification_kinds(NEW_KINDS)
    _recompute_match_keys()


def downgrade() -> None:
    quoted = ", ".join(f"'{k}'" for k in NEW_KINDS if k not in OLD_KINDS)
    op.execute(f"DELETE FROM notifications WHERE kind IN ({quoted})")
    _notification_kinds(OLD_KINDS)
    op.drop_table("street_aliases")
    op.drop_table("address_aliases")
    for name in ("break_glass_end_reason", "break_glass_ended_by", "break_glass_ended_at"):
        op.drop_column("incidents", name)
    op.drop_column("agencies", "county_fips")
    op.drop_index("ix_facilities_address_number_postal_code", table_name="facilities")
    op.drop_column("facilities", "review_status")
    op.drop_column("facilities", "county_fips")
    op.drop_column("facilities", "address_number")
