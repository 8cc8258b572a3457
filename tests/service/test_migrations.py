"""The migrations build the schema the models describe, and run down and up again."""

import os
import uuid

import pytest
from alembic import command as alembic_command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from registry import create_app
from registry.cli import alembic_config
from registry.db import Base
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
