"""Fixes from the outside security test (issue 15): the demo data set never reaches a production
database, backups keep the database password out of the process list and their files private,
a multipart body with too many parts is told so, and a reader refused the history is told why."""

import os
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from registry import backup as backup_module
from registry.auth.models import User
from registry.backup import backup, restore
from registry.floorplans.models import FloorPlan
from registry.multipart import MAX_FORM_PARTS
from registry.organizations.models import Organization
from tests import sample_files
from tests.conftest import assert_problem, count
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


# --- multipart bodies (issue 15.13) ---------------------------------------------------------


def many_parts_body(parts: int, boundary: str = "parts-boundary") -> bytes:
    """A small multipart body of `parts` tiny fields and one file."""
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
        for i in range(parts - 1)
    ]
    chunks.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n"
        f"--{boundary}--\r\n"
    )
    return "".join(chunks).encode()


@pytest.mark.parametrize("key", [None, "parts-1"])
def test_a_body_of_many_tiny_parts_is_refused_for_its_parts(client, make, app, key):
    org = make.organization()
    facility = make.facility(org)
    headers = {**make.manager(org), **({"Idempotency-Key": key} if key else {})}
    body = many_parts_body(3000)
    assert len(body) < app.config["REGISTRY_MAX_UPLOAD_BYTES"] / 100  # far under the byte cap
    response = client.post(
        f"/api/v1/facilities/{facility.id}/floor-plans",
        data=body,
        content_type="multipart/form-data; boundary=parts-boundary",
        headers=headers,
    )
    problem = assert_problem(response, 413)
    assert f"more than {MAX_FORM_PARTS} parts" in problem["detail"]
    assert "bytes" not in problem["detail"]
    assert count(app, FloorPlan) == 0


def test_a_form_field_over_the_memory_limit_is_named_as_such(client, make, app):
    org = make.organization()
    facility = make.facility(org)
    held_in_memory = app.config["MAX_FORM_MEMORY_SIZE"]  # Flask's cap on one text field
    response = client.post(
        f"/api/v1/facilities/{facility.id}/floor-plans",
        data={"title": "x" * (held_in_memory + 1), "file": file_part(b"%PDF-1.4", "p.pdf")},
        content_type="multipart/form-data",
        headers=make.manager(org),
    )
    problem = assert_problem(response, 413)
    assert f"form field is larger than {held_in_memory:,} bytes" in problem["detail"]


def test_a_few_parts_are_still_an_ordinary_upload(client, make):
    org = make.organization()
    facility = make.facility(org)
    response = client.post(
        f"/api/v1/facilities/{facility.id}/floor-plans",
        data=many_parts_body(MAX_FORM_PARTS),
        content_type="multipart/form-data; boundary=parts-boundary",
        headers=make.manager(org),
    )
    # Within the part limit the form is judged on its fields, not refused for its shape.
    assert_problem(response, 422)


# --- refusals of reads say "read" (issue 15.13) ---------------------------------------------


def test_a_reader_refused_the_history_is_told_it_is_for_managers(client, make):
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    make.mou(org, agency)
    officer = make.officer(agency)
    assert client.get(f"/api/v1/facilities/{facility.id}", headers=officer).status_code == 200
    problem = assert_problem(
        client.get(f"/api/v1/facilities/{facility.id}/history", headers=officer), 403
    )
    assert "history" in problem["detail"] and "manag" in problem["detail"]
    assert "change" not in problem["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/facilities?deleted=true",
        "/api/v1/facilities/{fid}/access-points?deleted=true",
        "/api/v1/facilities/{fid}/tactical-points?deleted=true",
    ],
)
def test_a_reader_refused_the_deleted_records_is_told_why(client, make, path):
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    make.mou(org, agency)
    response = client.get(path.format(fid=facility.id), headers=make.officer(agency))
    problem = assert_problem(response, 403)
    assert "deleted" in problem["detail"] and "restore" in problem["detail"]
    assert "create" not in problem["detail"]


def test_deleted_contacts_are_listed_only_to_who_may_restore_them(client, make):
    """An agency keeps its own contacts (so it may list its deleted ones) and reads a partner's
    facility contacts, but a partner's deleted contact, phone number and all, is not its to see."""
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    make.mou(org, agency)
    gone = make.contact(facility_id=facility.id, name="Gone Guard")
    manager, officer = make.manager(org), make.officer(agency)
    path = f"/api/v1/contacts/{gone.id}"
    etag = client.get(path, headers=manager).headers["ETag"]
    assert client.delete(path, headers={**manager, "If-Match": etag}).status_code == 204
    own = make.contact(agency_id=agency.id, name="Own Liaison")
    path = f"/api/v1/contacts/{own.id}"
    etag = client.get(path, headers=officer).headers["ETag"]
    assert client.delete(path, headers={**officer, "If-Match": etag}).status_code == 204

    listed = f"/api/v1/facilities/{facility.id}/contacts?deleted=true"
    response = client.get(listed, headers=officer)
    assert response.status_code == 200
    assert response.get_json()["items"] == []
    response = client.get(listed, headers=manager)
    assert [c["name"] for c in response.get_json()["items"]] == ["Gone Guard"]
    response = client.get(f"/api/v1/agencies/{agency.id}/contacts?deleted=true", headers=officer)
    assert [c["name"] for c in response.get_json()["items"]] == ["Own Liaison"]
