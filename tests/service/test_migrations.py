"""The migrations build the schema the models describe, and run down and up again."""

import os
import uuid

import pytest
from alembic import command as alembic_command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from registry import create_app
from registry.cli import alembic_config
from registry.db import Base
from registry.notifications.models import NOTIFICATION_KINDS
from tests.conftest import TEST_KEYS


@pytest.fixture
def empty_database_url(tmp_path):
    """A brand-new database of the kind under test (SQLite file or PostgreSQL database)."""
    url = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"registry_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_downgrade_upgrade_matches_models(empty_database_url):
    app = create_app({"REGISTRY_DATABASE_URL": empty_database_url, **TEST_KEYS})
    with app.app_context():
        config = alembic_config()
        alembic_command.upgrade(config, "head")
        alembic_command.check(config)  # raises if models and migrations disagree
        alembic_command.downgrade(config, "base")
        engine = create_engine(empty_database_url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        alembic_command.upgrade(config, "head")
        tables = set(inspect(engine).get_table_names())
        engine.dispose()
    assert set(Base.metadata.tables) <= tables


# The MOU lifecycle's migration, and the one before it.
MOU_LIFECYCLE, BEFORE_MOU_LIFECYCLE = "0013", "0012"


def test_the_mou_lifecycle_migration_takes_existing_mous_in(empty_database_url):
    """An active MOU stays active, accepted by both parties at its creation; a suspended one is
    terminated, with the reason; a draft stays a draft; every one was drafted by its
    organization. And back down again."""
    app = create_app({"REGISTRY_DATABASE_URL": empty_database_url, **TEST_KEYS})
    created, changed = "2024-03-01 12:00:00+00:00", "2024-06-01 12:00:00+00:00"
    with app.app_context():
        config = alembic_config()
        alembic_command.upgrade(config, BEFORE_MOU_LIFECYCLE)
        engine = create_engine(empty_database_url)
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO organizations (id, name, kind, version, created_at, updated_at) "
                "VALUES (1, 'Acme', 'retailer', 1, :created, :created)",
                "INSERT INTO agencies (id, name, agency_type, version, created_at, updated_at) "
                "VALUES (1, 'Springfield PD', 'law_enforcement', 1, :created, :created)",
            ):
                connection.execute(text(statement), {"created": created})
            for mou_id, status in (
                (1, "active"),
                (2, "suspended"),
                (3, "draft"),
                (4, "terminated"),
            ):
                connection.execute(
                    text(
                        "INSERT INTO mous (id, organization_id, agency_id, title, status, "
                        "effective_date, covers_all_facilities, version, created_at, updated_at) "
                        "VALUES (:id, 1, 1, 'MOU', :status, '2024-03-01', :all, 1, :created, "
                        ":changed)"
                    ),
                    {
                        "id": mou_id,
                        "status": status,
                        "all": True,
                        "created": created,
                        "changed": changed,
                    },
                )
        alembic_command.upgrade(config, MOU_LIFECYCLE)
        with engine.connect() as connection:
            rows = {
                row.id: row
                for row in connection.execute(text("SELECT * FROM mous ORDER BY id")).all()
            }
        assert [rows[i].status for i in (1, 2, 3, 4)] == [
            "active",
            "terminated",
            "draft",
            "terminated",
        ]
        assert {row.drafting_party for row in rows.values()} == {"organization"}
        active = rows[1]
        for column in ("proposed", "organization_accepted", "agency_accepted"):
            assert getattr(active, f"{column}_by") == f"migration {MOU_LIFECYCLE}"
            assert str(getattr(active, f"{column}_at"))[:19] == created[:19]
        assert rows[3].organization_accepted_at is None and rows[3].proposed_at is None
        assert "Suspended" in rows[2].termination_reason
        assert str(rows[2].terminated_at)[:19] == changed[:19]
        assert (
            rows[4].termination_reason is None
            and rows[4].terminated_by == f"migration {MOU_LIFECYCLE}"
        )

        alembic_command.downgrade(config, BEFORE_MOU_LIFECYCLE)
        with engine.connect() as connection:
            statuses = connection.execute(text("SELECT status FROM mous ORDER BY id")).scalars()
            assert list(statuses) == ["active", "terminated", "draft", "terminated"]
        engine.dispose()


def test_the_migrated_notifications_table_takes_every_kind_the_registry_writes(
    empty_database_url,
):
    """The kinds live twice, in the model and in the migrated check: a kind added to one only
    would fail the first notification of that kind in production (tests build their schema from
    the models)."""
    app = create_app({"REGISTRY_DATABASE_URL": empty_database_url, **TEST_KEYS})
    with app.app_context():
        alembic_command.upgrade(alembic_config(), "head")
    engine = create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organizations (id, name, kind, version, created_at, updated_at) "
                "VALUES (1, 'Acme', 'retailer', 1, '2024-03-01', '2024-03-01')"
            )
        )
        for kind in NOTIFICATION_KINDS:
            connection.execute(
                text(
                    "INSERT INTO notifications (created_at, organization_id, kind, actor, message) "
                    "VALUES ('2024-03-01', 1, :kind, 'test', 'm')"
                ),
                {"kind": kind},
            )
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO notifications (created_at, organization_id, kind, actor, message) "
                "VALUES ('2024-03-01', 1, 'no_such_kind', 'test', 'm')"
            )
        )
    engine.dispose()
