"""Back up and restore the registry: the database (SQLite online backup, or pg_dump/pg_restore)
and every stored file the database refers to, read through the file store's own interface, so a
local directory and an S3 bucket are backed up the same way. A manifest records what was saved,
and a restore checks every table's row count and file against it.

Restore into a stopped service: it replaces the database's contents.
"""

import json
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from . import db
from .db import Base
from .floorplans.models import FileBlob
from .floorplans.storage import blob_key, preview_key, storage

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "manifest.json"
SQLITE_FILE = "registry.sqlite3"
POSTGRES_FILE = "registry.pgdump"
FILES_DIR = "files"


class BackupError(RuntimeError):
    """A backup or restore that did not complete, or a restore that does not match its manifest."""


def _row_counts() -> dict[str, int]:
    with db.engine().connect() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table))
            for name, table in sorted(Base.metadata.tables.items())
        }


def _libpq_url(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _backup_files(target: Path) -> list[str]:
    """Copy every blob and preview the database refers to; returns their keys."""
    store, keys = storage(), []
    with db.engine().connect() as connection:
        digests = connection.scalars(select(FileBlob.sha256).order_by(FileBlob.sha256)).all()
    for digest in digests:
        for key in (blob_key(digest), preview_key(digest)):
            if not store.exists(key):
                if key == blob_key(digest):
                    raise BackupError(f"The file store lacks {key}, which the database names.")
                continue  # previews are made once per blob and may be absent
            destination = target / FILES_DIR / key
            destination.parent.mkdir(parents=True, exist_ok=True)
            with store.open(key) as source, destination.open("wb") as copy:
                shutil.copyfileobj(source, copy)
            keys.append(key)
    return keys


def _restore_files(source: Path, keys: list[str]) -> None:
    store = storage()
    for key in keys:
        path = source / FILES_DIR / key
        with path.open("rb") as data:
            store.put(key, data, path.stat().st_size, "application/octet-stream")


def backup(target: Path) -> dict:
    target.mkdir(parents=True, exist_ok=False)
    url = make_url(current_app.config["REGISTRY_DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        # The online backup API copies a consistent snapshot while the service keeps running.
        with sqlite3.connect(url.database) as source, sqlite3.connect(target / SQLITE_FILE) as copy:
            source.backup(copy)
    else:
        result = subprocess.run(
            ["pg_dump", "--format=custom", f"--file={target / POSTGRES_FILE}", _libpq_url(url)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    files = _backup_files(target)
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": url.get_backend_name(),
        "revision": ScriptDirectory(str(ROOT / "migrations")).get_current_head(),
        "tables": _row_counts(),
        "files": files,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def restore(source: Path) -> dict:
    manifest = json.loads((source / MANIFEST).read_text())
    url = make_url(current_app.config["REGISTRY_DATABASE_URL"])
    if manifest["database"] != url.get_backend_name():
        raise BackupError(f"This is a {manifest['database']} backup; the database is {url}.")
    db.engine().dispose()  # no pooled connection may hold the old database open
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source / SQLITE_FILE) as copy, sqlite3.connect(url.database) as live:
            copy.backup(live)
    else:
        result = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(url)}",
                str(source / POSTGRES_FILE),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    _restore_files(source, manifest["files"])
    counts = _row_counts()
    if counts != manifest["tables"]:
        missing = {
            t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n
        }
        raise BackupError(f"Restored row counts differ from the backup: {missing}")
    return manifest
