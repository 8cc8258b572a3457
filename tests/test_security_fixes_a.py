"""Fixes from the outside security test (issue 15): the demo data set never reaches a production
database, backups keep the database password out of the process list and their files private,
a multipart body with too many parts is told so, and a reader refused the history is told why."""

import os
import stat
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from registry import backup as backup_module
from registry.auth.models import User
from registry.backup import backup, restore
from registry.organizations.models import Organization
from tests import sample_files
from tests.conftest import count
from tests.file_store import file_part


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


# --- backups (issue 15.7) -------------------------------------------------------------------

SECRET = "pw-in-the-url-0x5eCret"


def test_the_database_password_reaches_pg_tools_only_through_their_environment(
    app, make, tmp_path, monkeypatch
):
    """Whatever a local user can read of the command line (ps, /proc/*/cmdline) holds no
    password; PGPASSWORD carries it. On PostgreSQL the real tools run (the test server trusts
    local connections, so the password is carried but not checked); on SQLite a stand-in
    records the calls."""
    real_url = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    url = make_url(real_url or "postgresql://registry@db.invalid:5432/registry")
    with_password = url.set(password=SECRET).render_as_string(hide_password=False)
    monkeypatch.setitem(app.config, "REGISTRY_DATABASE_URL", with_password)
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs.get("env") or {}))
        if real_url:
            return real_run(argv, **kwargs)
        if argv[0] == "pg_dump":
            dump_file = next(a.removeprefix("--file=") for a in argv if a.startswith("--file="))
            Path(dump_file).write_bytes(b"PGDMP stand-in")
        return subprocess.CompletedProcess(argv, 0, "", "")

    real_run = subprocess.run
    monkeypatch.setattr(backup_module.subprocess, "run", run)
    make.facility(make.organization())
    with app.app_context():
        backup(tmp_path / "nightly")
        restore(tmp_path / "nightly")

    assert [argv[0] for argv, _ in calls] == ["pg_dump", "pg_restore"]
    for argv, env in calls:
        assert not any(SECRET in argument for argument in argv), argv
        assert env["PGPASSWORD"] == SECRET
        # The rest of the connection is still named: host, port, user and database.
        dbname = next(a for a in argv if a.startswith("--dbname="))
        assert make_url(dbname.removeprefix("--dbname=")).database == url.database


def test_backups_are_private_whatever_the_umask(app, make, client, tmp_path):
    """Password hashes, contacts and the audit trail: directories 0700, files 0600, even under
    umask 000 (the directory a backup creates for its parents too)."""
    org = make.organization()
    facility = make.facility(org)
    response = client.post(
        f"/api/v1/facilities/{facility.id}/floor-plans",
        data={
            "building": "Main",
            "level_number": "1",
            "level_label": "Level 1",
            "title": "Ground floor",
            "file": file_part(sample_files.png(), "ground.png"),
        },
        headers=make.admin(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    target = tmp_path / "backups" / "2026-11-29"
    previous = os.umask(0)
    try:
        with app.app_context():
            manifest = backup(target)
    finally:
        os.umask(previous)
    assert manifest["files"]  # the plan's file and preview are in it
    paths = [target.parent, *target.rglob("*"), target]
    directories = [p for p in paths if p.is_dir()]
    files = [p for p in paths if p.is_file()]
    assert len(files) == 2 + len(manifest["files"])  # database, manifest, stored files
    for path in directories:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
