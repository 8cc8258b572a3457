"""Where a transaction ends: the one commit per request (and per CLI command), in plain calls.

Commit, in order: flush the changes; append the audit events the request queued (they commit
with what they record, or not at all); COMMIT; then collect the file blobs the committed changes
stopped referring to. Roll back: ROLLBACK; forget the queued events; collect the blobs that
uploads in the rolled-back transaction had stored. Services only flush, never commit.

A GET's session runs in autocommit (db.session): there is no transaction to end, each statement
committed as it ran, and the audit append at the end is the request's one write.

A refusal that must leave a trace (a failed login, a refused reveal) raises an error marked
`keep_changes`: the boundary commits what the request wrote, then the error becomes the answer.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps

from flask import current_app, g
from sqlalchemy.orm import Session

from .audit import trail
from .floorplans import blobs


def commit(session: Session) -> None:
    session.flush()
    trail.append(session)
    session.commit()
    blobs.settle(session, committed=True)


def rollback(session: Session) -> None:
    session.rollback()
    trail.discard(session)
    blobs.settle(session, committed=False)


def _finish(keep: bool) -> None:
    """End the request's transaction, if it opened one: commit when `keep`, else roll back. A
    commit that fails (a constraint at the last flush, the database gone) is rolled back too."""
    session = g.get("db_session")
    if session is None:
        return
    if not keep:
        rollback(session)
        return
    try:
        commit(session)
    except BaseException:
        rollback(session)
        raise


def transactional(view):
    """Wraps every API resource: commit once after the view succeeds, roll back on any
    exception (except `keep_changes`), so there is exactly one commit point per request."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            response = view(*args, **kwargs)
        except BaseException as error:
            _finish(keep=getattr(error, "keep_changes", False))
            raise
        _finish(keep=True)
        return response

    return wrapper


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for CLI commands and scripts: commit on success, roll back on any error."""
    session = current_app.extensions["registry.sessionmaker"]()
    try:
        yield session
        commit(session)
    except BaseException:
        rollback(session)
        raise
    finally:
        session.close()
