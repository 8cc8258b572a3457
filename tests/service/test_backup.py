"""A backup restores every record, on the database under test."""

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from registry import create_app, db, transaction
from registry.backup import BackupError, backup, restore
from registry.db import Base
from registry.facilities.models import Facility
from registry.floorplans.storage import LocalBlobStore, S3BlobStore
from tests import file_store, sample_files
from tests.conftest import TEST_KEYS, count
from tests.file_store import stored_keys, upload

store = file_store.store  # the file-store fixture: a local directory, then moto's S3


def dump(app) -> dict:
    """Every row of every table, as plain values."""
    with app.app_context(), db.engine().connect() as connection:
        return {
            name: sorted(map(tuple, connection.execute(table.select()).all()), key=repr)
            for name, table in Base.metadata.tables.items()
        }


@pytest.fixture
def restore_target(app, tmp_path):
    """A second, empty database of the same kind to restore into."""
    url = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    if not url:
        target = create_app(
            {
                "REGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'restored.db'}",
                "REGISTRY_STORAGE_DIR": str(tmp_path / "restored-files"),
                **TEST_KEYS,
            }
        )
        yield target
        return
    name = f"registry_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    target_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    target = create_app(
        {
            "REGISTRY_DATABASE_URL": target_url,
            "REGISTRY_STORAGE_DIR": str(tmp_path / "restored-files"),
            **TEST_KEYS,
        }
    )
    try:
        yield target
    finally:
        with target.app_context():
            db.engine().dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_a_restored_backup_has_every_record(app, make, tmp_path, restore_target):
    org, agency = make.organization(), make.agency()
    for _ in range(3):
        facility = make.facility(org)
        make.contact(facility_id=facility.id)
        make.access_point(facility)
    make.mou(org, agency)
    make.user("facility_manager", organization=org)
    before = dump(app)

    with app.app_context():
        manifest = backup(tmp_path / "backup")
    assert manifest["tables"]["facilities"] == 3
    with restore_target.app_context():
        restored = restore(tmp_path / "backup")
    assert restored == manifest
    assert dump(restore_target) == before
    # The restored database is a working one: its triggers and sequences came along.
    assert count(restore_target, Facility) == 3


def test_a_backup_directory_is_never_overwritten(app, tmp_path):
    (tmp_path / "existing").mkdir()
    with app.app_context(), pytest.raises(FileExistsError):
        backup(tmp_path / "existing")


def test_restore_refuses_a_backup_of_the_other_database_kind(app, tmp_path, restore_target):
    with app.app_context():
        backup(tmp_path / "backup")
    manifest = (tmp_path / "backup" / "manifest.json").read_text()
    other = "postgresql" if '"sqlite"' in manifest else "sqlite"
    (tmp_path / "backup" / "manifest.json").write_text(
        manifest.replace('"database": "postgresql"', f'"database": "{other}"').replace(
            '"database": "sqlite"', f'"database": "{other}"'
        )
    )
    with restore_target.app_context(), pytest.raises(BackupError):
        restore(tmp_path / "backup")


def test_the_commands_back_up_and_restore(app, make, tmp_path):
    org = make.organization()
    kept = make.facility(org, name="Kept")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["backup", str(tmp_path / "nightly")])
    assert result.exit_code == 0, result.output
    with app.app_context(), transaction.session_scope() as session:
        session.delete(session.get(Facility, kept.id))
    assert count(app, Facility) == 0
    result = runner.invoke(args=["restore", str(tmp_path / "nightly"), "--yes"])
    assert result.exit_code == 0, result.output
    assert "counts verified" in result.output
    assert count(app, Facility) == 1


def test_floor_plan_files_come_back_with_the_database(
    app, client, make, tmp_path, restore_target, store
):
    """For either file store (a local directory or S3): the files travel with the backup."""
    org = make.organization()
    facility = make.facility(org)
    admin = make.admin()
    content = sample_files.png()
    plan = upload(client, admin, facility.id, content, name="ground.png")
    assert plan.status_code == 201, plan.get_data(as_text=True)
    plan_id = plan.get_json()["id"]

    with app.app_context():
        manifest = backup(tmp_path / "backup")
    assert len(manifest["files"]) == 2  # the plan and its preview

    # An empty store of the same kind behind the restored service.
    if isinstance(store, S3BlobStore):
        store.client.create_bucket(Bucket="registry-restored")
        empty = S3BlobStore("registry-restored", "registry/", client=store.client)
    else:
        empty = LocalBlobStore(tmp_path / "restored-files")
    restore_target.extensions["registry.storage"] = empty
    with restore_target.app_context():
        restore(tmp_path / "backup")

    assert stored_keys(empty) == set(manifest["files"])
    with restore_target.test_client().get(
        f"/api/v1/floor-plans/{plan_id}/file", headers=admin
    ) as downloaded:
        assert downloaded.status_code == 200
        assert downloaded.data == content
