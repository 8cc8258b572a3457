"""Back up and restore the registry: the database (SQLite online backup, or pg_dump/pg_restore)
and, when files are kept on local disk, the file store. A manifest records what was saved, and a
restore checks every table's row count against it.

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


def _file_store() -> Path | None:
    """The local file store, if files are kept on disk (an S3 store is backed up by S3)."""
    configured = current_app.config.get("REGISTRY_STORAGE_DIR")
    return Path(configured) if configured else None


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
    store = _file_store()
    if store is not None and store.exists():
        shutil.copytree(store, target / FILES_DIR)
    manifest = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": url.get_backend_name(),
        "revision": ScriptDirectory(str(ROOT / "migrations")).get_current_head(),
        "tables": _row_counts(),
        "files": store is not None and store.exists(),
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
    store = _file_store()
    if manifest["files"] and store is not None:
        shutil.copytree(source / FILES_DIR, store, dirs_exist_ok=True)
    counts = _row_counts()
    if counts != manifest["tables"]:
        missing = {
            t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n
        }
        raise BackupError(f"Restored row counts differ from the backup: {missing}")
    return manifest
