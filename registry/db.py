"""Database engine, the per-request session and the base of every model. Transactions end in
registry/transaction.py."""

import time
from datetime import UTC, date, datetime
from functools import lru_cache

from flask import current_app, g, has_request_context, request
from psycopg.rows import namedtuple_row
from sqlalchemy import DateTime, Integer, MetaData, Table, create_engine, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
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


# The statements every CAD read runs (the identity's, the pre-plan's stamp, a lookup's search by
# address or position, the audit INSERT) go to PostgreSQL's driver directly: compiled by
# SQLAlchemy once, then handed to psycopg on the session's own connection (same transaction,
# same pool). SQLAlchemy's execution around a statement (its context, result and row objects,
# events) was about a fifth of these requests' Python. Only for statements whose rows need
# nothing more from SQLAlchemy: psycopg itself converts what they read (integers, text,
# booleans, floats, times with time zone, and JSON, which SQLAlchemy has psycopg parse), and
# tests/service/test_driver_statements.py compares their rows, values and types, with
# SQLAlchemy's; a column of another type (Numeric, Enum, a naive DateTime) added to them needs
# that test to say so. What these statements skip: SQLAlchemy's cursor events and
# `handle_error`, and its echo logging. SQLite runs them through SQLAlchemy.


# Room for each visibility scope's cached statements (lookup._statements, _stamp_statement: 256
# scopes each, three of theirs on the driver): a miss compiles again, which costs more than a read.
@lru_cache(maxsize=1024)
def _driver_form(dialect: Dialect, statement) -> tuple:
    """(SQL text, constant parameters, converters by parameter name) of a statement, compiled
    once: the constants are the values bound in the expression itself (its literals), already
    converted; the converters, each parameter type's own (a UTC time, JSON), are for the values
    given at each execution."""
    compiled = statement.compile(dialect=dialect)
    # What SQLAlchemy would render or compute anew at each execution has no place here.
    if compiled.escaped_bind_names or compiled.post_compile_params:
        raise ValueError("a statement for the driver needs plain parameters (no IN lists)")
    constants, converters = {}, {}
    for bind, name in compiled.bind_names.items():
        if bind.callable is not None:
            raise ValueError("a statement for the driver cannot bind a value computed per run")
        convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if convert is not None:
            converters[name] = convert
        if not bind.required:
            value = bind.effective_value
            constants[name] = convert(value) if convert is not None else value
    return compiled.string, constants, converters


def _on_driver(connection: Connection, statement, values: dict):
    """Run a statement on the connection's driver; a cursor holding its result."""
    sql, constants, converters = _driver_form(connection.dialect, statement)
    parameters = dict(constants)
    for name, value in values.items():
        convert = converters.get(name)
        parameters[name] = value if convert is None else convert(value)
    try:
        cursor = connection.connection.driver_connection.cursor(row_factory=namedtuple_row)
        try:
            cursor.execute(sql, parameters)
        except BaseException:
            cursor.close()
            raise
    except connection.dialect.loaded_dbapi.Error as error:
        raise _as_sqlalchemy_error(connection, sql, parameters, error) from error
    return cursor


def _as_sqlalchemy_error(connection: Connection, sql: str, parameters: dict, error) -> DBAPIError:
    """A driver's error as SQLAlchemy would have raised it (errors.py maps those), with what
    SQLAlchemy's own execution does on a lost connection (engine.base, _handle_dbapi_exception):
    the pool marks every connection older than this one for replacement at its next checkout
    (a restarted server dropped them too), and this one is discarded. `pool._invalidate` is
    SQLAlchemy's internal call for that; requirements.txt pins the version it was read in."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.dbapi_connection, None)
    if lost:
        connection.engine.pool._invalidate(connection.connection, error)
        connection.invalidate(error)
    return DBAPIError.instance(
        sql,
        parameters,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=dialect,
    )


def first_row(connection: Connection, statement, values: dict):
    """The first row of one of the CAD read's statements (see above), or None."""
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, values).first()
    with _on_driver(connection, statement, values) as cursor:
        return cursor.fetchone()


def all_rows(connection: Connection, statement, values: dict) -> list:
    """Every row of one of the CAD read's statements (see above): a lookup's search."""
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, values).all()
    with _on_driver(connection, statement, values) as cursor:
        return cursor.fetchall()


def execute(connection: Connection, statement, values: dict) -> None:
    """Run one of the CAD read's statements that returns no rows (the audit INSERT)."""
    if connection.dialect.name != "postgresql":
        connection.execute(statement, values)
        return
    _on_driver(connection, statement, values).close()
