"""Fixes from the outside security test (issue 15): the demo data set never reaches a production
database, backups keep the database password out of the process list and their files private,
a multipart body with too many parts is told so, and a reader refused the history is told why."""

from registry.auth.models import User
from registry.organizations.models import Organization
from tests.conftest import count


def test_seed_demo_refuses_a_production_app(build_app, app):
    production = build_app(REGISTRY_ENV="production")
    result = production.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output and "demo" in result.output
    # Nothing written: not the published admin login, nor any other demo row.
    assert count(app, User) == 0
    assert count(app, Organization) == 0


def test_seed_demo_still_loads_in_development(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert count(app, User, User.username == "admin") == 1
