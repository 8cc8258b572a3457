"""When bytes are written and when they are deleted, so that no committed row ever names a
missing blob and no visible blob is half-written.

- **Claim** (an upload, inside the request's transaction): insert the blob's row if it is
  missing and hold it (a shared row lock on PostgreSQL; SQLite's write lock), write the bytes
  and the preview if the store lacks them, then the caller flushes its record. The record can
  only commit after its bytes are stored. If the transaction rolls back instead, the blob is
  collected at once.
- **Release** (a record really deleted: an MOU's documents go with the MOU; floor plans and
  facilities are only soft-deleted): after the transaction commits — when the row is really
  gone — the blob is collected. registry/transaction.py calls `settle` once the transaction
  has ended, either way.
- **Collect** (its own transaction): hold the blob's row exclusively, which waits for every
  upload still holding it; if no record refers to the blob, delete the preview, the bytes and
  the row. Two records with the same content share one blob, so deleting one keeps it.

What can still be left behind: bytes whose upload crashed before its transaction ended (the
process died), or a blob whose collection failed (the store was down). Nothing refers to them
and they are never served; `flask --app wsgi files prune` collects both once they are older
than a grace period.
"""

import io
import logging
from collections.abc import Iterable
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import errors
from ..db import utcnow
from ..mous.models import Mou
from .inspection import Inspected
from .models import STORED_FILE_MODELS, FileBlob, MouDocument
from .storage import BlobStore, StorageError, blob_key, preview_key, sha256_of_key, storage

log = logging.getLogger(__name__)

_ON_COMMIT = "registry.blobs.collect_on_commit"
_ON_ROLLBACK = "registry.blobs.collect_on_rollback"


def _insert_if_missing(session: Session, **values) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(FileBlob)
        .values(created_at=utcnow(), **values)
        .on_conflict_do_nothing(index_elements=["sha256"])
    )


def _hold(session: Session, sha256: str, exclusive: bool) -> FileBlob | None:
    return session.scalar(
        select(FileBlob)
        .where(FileBlob.sha256 == sha256)
        .with_for_update(read=not exclusive)
        .execution_options(populate_existing=True)
    )


def unavailable() -> errors.ServiceUnavailable:
    return errors.ServiceUnavailable("The file store is unavailable; nothing was saved. Retry.")


def claim(session: Session, inspected: Inspected, stream) -> FileBlob:
    """Make the blob exist, with its bytes stored, for as long as this transaction runs."""
    values = {
        "sha256": inspected.sha256,
        "size": inspected.size,
        "media_type": inspected.media_type,
        "preview_size": len(inspected.preview),
    }
    # A collector may delete the row between the insert and the lock: then insert again.
    for _ in range(3):
        _insert_if_missing(session, **values)
        blob = _hold(session, inspected.sha256, exclusive=False)
        if blob is not None:
            break
    else:
        raise unavailable()
    _pending(session, _ON_ROLLBACK).add(inspected.sha256)
    store = storage()
    try:
        if not store.exists(blob_key(inspected.sha256)):
            store.put(blob_key(inspected.sha256), stream, inspected.size, inspected.media_type)
        if not store.exists(preview_key(inspected.sha256)):
            preview = io.BytesIO(inspected.preview)
            store.put(preview_key(inspected.sha256), preview, len(inspected.preview), "image/png")
    except StorageError as exc:
        log.warning("file store: %s", exc)
        raise unavailable() from None
    return blob


def release(session: Session, *sha256s: str) -> None:
    """Collect these blobs once the transaction that stopped referring to them commits."""
    _pending(session, _ON_COMMIT).update(sha256s)


def _pending(session: Session, name: str) -> set[str]:
    return session.info.setdefault(name, set())


def collect(session_factory, store: BlobStore, sha256: str) -> bool:
    """Delete a blob nobody refers to; True if it was deleted."""
    with session_factory() as session, session.begin():
        # The insert only takes the lock when the row is already gone (it is deleted below).
        _insert_if_missing(session, sha256=sha256, size=0, media_type="", preview_size=0)
        if _hold(session, sha256, exclusive=True) is None:
            return False
        for model in STORED_FILE_MODELS:
            if session.scalar(select(exists().where(model.sha256 == sha256))):
                return False
        store.delete(preview_key(sha256))
        store.delete(blob_key(sha256))
        session.execute(FileBlob.__table__.delete().where(FileBlob.sha256 == sha256))
    return True


def _collect_quietly(sha256s: Iterable[str]) -> None:
    # The request's outcome is settled; a failure here only leaves an orphan for `files prune`.
    if not has_app_context():
        return
    factory = current_app.extensions["registry.sessionmaker"]
    store = storage()
    for sha256 in sorted(sha256s):
        try:
            collect(factory, store, sha256)
        except Exception:
            log.warning("could not collect blob %s; `files prune` will", sha256, exc_info=True)


def settle(session: Session, committed: bool) -> None:
    """Called by the transaction boundary once the transaction has ended: collect the blobs the
    committed changes released, or, after a rollback, the ones its uploads claimed."""
    on_commit = session.info.pop(_ON_COMMIT, None) or set()
    on_rollback = session.info.pop(_ON_ROLLBACK, None) or set()
    chosen = on_commit if committed else on_rollback
    if chosen:
        _collect_quietly(chosen)


def release_mou_documents(session: Session, mou: Mou) -> None:
    """An MOU is about to be deleted: the database cascades its documents away, and their
    blobs are collected after the commit."""
    documents = session.scalars(
        select(MouDocument.sha256).where(MouDocument.mou_id == mou.id)
    ).all()
    if documents:
        release(session, *documents)


def prune(older_than: timedelta) -> tuple[int, int]:
    """Collect orphans older than `older_than`: bytes with no row, rows nobody refers to.
    Returns (blobs examined, blobs deleted)."""
    factory = current_app.extensions["registry.sessionmaker"]
    store = storage()
    cutoff = utcnow() - older_than
    candidates = {sha256_of_key(key) for key in store.stored_before(cutoff)}
    with factory() as session:
        in_use = set()
        for model in STORED_FILE_MODELS:
            in_use.update(session.scalars(select(model.sha256).distinct()))
        unreferenced = session.scalars(
            select(FileBlob.sha256).where(FileBlob.created_at < cutoff)
        ).all()
    # In use now may be unused by the time collect() looks: it checks again under the lock.
    candidates = (candidates | set(unreferenced)) - in_use
    deleted = sum(collect(factory, store, sha256) for sha256 in sorted(candidates))
    return len(candidates), deleted
