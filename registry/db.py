"""Database engine, the per-request session and the base of every model. Transactions end in
registry/transaction.py."""

import time
from datetime import UTC, date, datetime

from flask import current_app, g, has_request_context, request
from sqlalchemy import DateTime, Integer, MetaData, Table, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

# Stable constraint names make Alembic migrations reproducible on SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_today() -> date:
    """Today in UTC: the day MOUs start and expire by."""
    return utcnow().date()


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on both databases (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


@event.listens_for(Table, "after_parent_attach")
def _never_reuse_ids(table, parent) -> None:
    # Without AUTOINCREMENT, SQLite hands a deleted last row's id to the next insert, and a
    # record's ETag ("facility-5-v1") or a cached pre-plan could then name a different record.
    if parent is Base.metadata:
        table.dialect_kwargs["sqlite_autoincrement"] = True


class Versioned:
    """Columns every registry record has: an id, timestamps and a row version.

    The version is SQLAlchemy's `version_id_col`: every UPDATE and DELETE says
    `WHERE version = <the version we read>`, so a concurrent change is detected by the database
    itself, and the version is what the HTTP layer exposes as the ETag.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    @declared_attr.directive
    def __mapper_args__(cls):  # noqa: N805 - a declared_attr receives the class
        return {"version_id_col": cls.version}


class SoftDeleted:
    """Deleting sets `deleted_at`: normal readers get 404, the owner can list and restore it."""

    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


def _enable_sqlite_foreign_keys(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets readers (the CAD lookup) proceed while a manager writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


# A pooled connection unused for longer than this is pinged before a request gets it.
PING_AFTER_IDLE_SECONDS = 2.0


def _ping_after_idle(engine: Engine) -> None:
    """Replace pooled connections the server dropped (a PostgreSQL restart, an idle timeout in
    between) before a request gets one, pinging only those that sat idle.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip on every request, most of
    them on a connection that answered milliseconds ago. A connection that dies while in busy
    use fails its request with a 503 (errors.py) and SQLAlchemy then replaces every pooled
    connection, so a restart costs at most one such answer per worker.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and hands out another (SQLAlchemy's recipe).
            raise DisconnectionError("the pooled connection is gone") from error


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    else:
        engine = create_engine(url, pool_size=5, max_overflow=10)
        _ping_after_idle(engine)
    return engine


def init_app(app) -> None:
    engine = make_engine(app.config["REGISTRY_DATABASE_URL"])
    app.extensions["registry.engine"] = engine
    app.extensions["registry.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["registry.reading_sessionmaker"] = sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


# Requests that change nothing (RFC 9110's safe methods).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session() -> Session:
    """The current request's (or CLI command's) session, opened on first use.

    A GET runs each statement in its own implicit transaction (autocommit) instead of one
    transaction: it writes nothing but its audit events, one INSERT at the end, and caches that
    are never served for a version they were not made from (a stored pre-plan rendering), so
    BEGIN and COMMIT would be two round trips for nothing; under READ COMMITTED each statement
    sees the latest commits either way. Its audit events are still written before the answer
    leaves, and a failure to write them fails the request (transaction.commit). Anything that
    changes data is a POST, PUT, PATCH or DELETE and gets one transaction, committed once.
    """
    if "db_session" not in g:
        reading = has_request_context() and request.method in READING_METHODS
        factory = "registry.reading_sessionmaker" if reading else "registry.sessionmaker"
        g.db_session = current_app.extensions[factory]()
    return g.db_session


def engine() -> Engine:
    return current_app.extensions["registry.engine"]
