"""Back up and restore the registry: the database (SQLite online backup, or pg_dump/pg_restore)
and every stored file the database refers to, read through the file store's own interface, so a
local directory and an S3 bucket are backed up the same way. A manifest records what was saved,
and a restore checks every table's row count and file against it.

A backup holds password hashes, contacts and the audit trail: its directories are 0700 and its
files 0600 whatever the umask, and the database password reaches pg_dump/pg_restore through
their environment (PGPASSWORD), never their command line, which any local user can read.

Restore into a stopped service: it replaces the database's contents.
"""

import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url

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


def _libpq_connection(url) -> tuple[str, dict[str, str]]:
    """The libpq URL to name on a command line, without the password, and the environment
    that carries the password (an inherited PGPASSWORD or ~/.pgpass still apply without one)."""
    password = url.password or url.query.get("password")
    query = {k: v for k, v in url.query.items() if k != "password"}
    bare = URL.create(  # url.set(password=None) would keep the password
        "postgresql", url.username, None, url.host, url.port, url.database, query
    )
    environment = dict(os.environ)
    if password is not None:
        environment["PGPASSWORD"] = str(password)
    return bare.render_as_string(hide_password=False), environment


def _run_libpq_tool(program: str, arguments: list[str], url) -> None:
    connection, environment = _libpq_connection(url)
    result = subprocess.run(
        [program, f"--dbname={connection}", *arguments],
        env=environment,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()}")


def _private_directory(path: Path) -> None:
    """Create `path` (and any missing parents) for the owner only; FileExistsError if it exists."""
    missing_parents = [parent for parent in path.parents if not parent.exists()]
    for directory in [*reversed(missing_parents), path]:
        directory.mkdir(mode=0o700, exist_ok=directory != path)
        os.chmod(directory, 0o700)  # mkdir's mode is cut by the umask; chmod's is not


def _make_private(target: Path) -> None:
    """Owner-only modes for everything under `target`, however the umask made them."""
    for root, directories, files in os.walk(target):
        for name in directories:
            os.chmod(Path(root) / name, 0o700)
        for name in files:
            os.chmod(Path(root) / name, 0o600)


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
    # Private from the start: whatever is written inside is out of other users' reach at once.
    _private_directory(target)
    try:
        return _write_backup(target)
    finally:
        _make_private(target)


def _write_backup(target: Path) -> dict:
    url = make_url(current_app.config["REGISTRY_DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        # The online backup API copies a consistent snapshot while the service keeps running.
        with sqlite3.connect(url.database) as source, sqlite3.connect(target / SQLITE_FILE) as copy:
            source.backup(copy)
    else:
        _run_libpq_tool("pg_dump", ["--format=custom", f"--file={target / POSTGRES_FILE}"], url)
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
        _run_libpq_tool(
            "pg_restore",
            [
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                str(source / POSTGRES_FILE),
            ],
            url,
        )
    _restore_files(source, manifest["files"])
    counts = _row_counts()
    if counts != manifest["tables"]:
        missing = {
            t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n
        }
        raise BackupError(f"Restored row counts differ from the backup: {missing}")
    return manifest
