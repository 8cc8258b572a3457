"""The CAD read's statements on the driver (registry/db.py: first_row, execute) answer what
SQLAlchemy would, and fail as SQLAlchemy would, on both databases."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, literal, select, text
from sqlalchemy.exc import DataError, ProgrammingError

from registry import db
from registry.access.visibility import scope_of
from registry.audit import trail
from registry.audit.models import AuditEvent
from registry.auth.identity import _account_statement, principal_of
from registry.auth.models import CadClient, User
from registry.preplans.document import _stamp_statement
from registry.preplans.lookup import _statements
from registry.transaction import session_scope


def through_sqlalchemy(connection, statement, values):
    return connection.execute(statement, values).first()


def typed(row) -> tuple:
    """A row's values with their types: 1, 1.0 and True are equal, but not the same answer."""
    return tuple((type(value), value) for value in row)


@pytest.fixture
def shared(make):
    organization, agency = make.organization(), make.agency()
    facility = make.facility(organization)
    make.mou(organization, agency)
    return agency, facility


def test_the_identity_and_stamp_rows_are_sqlalchemys(app, make, shared):
    agency, facility = shared
    organization = make.organization()
    accounts = (
        (CadClient, make.cad_client(agency)),
        (User, make.user("agency_user", agency=agency)),
        (User, make.user("admin")),
        (User, make.user("facility_manager", organization=organization)),
    )
    with app.app_context():
        connection = db.session().connection()
        for model, account in accounts:
            values = {"jti": "not-revoked", "account_id": account.id}
            row = db.first_row(connection, _account_statement(model), values)
            expected = through_sqlalchemy(connection, _account_statement(model), values)
            assert typed(row) == typed(expected)
            assert row.is_active is True and row.revoked is False and row.id == account.id
            statement = _stamp_statement(scope_of(principal_of(account)))
            values = {"facility_id": facility.id, "now": datetime.now(UTC)}
            row = db.first_row(connection, statement, values)
            assert typed(row) == typed(through_sqlalchemy(connection, statement, values))
            assert row.id == facility.id and row.created_at.utcoffset() is not None
            # The manager is another organization's: the facts say it may not read this one.
            assert bool(row.visible) is (getattr(account, "role", "cad") != "facility_manager")
        missing = {"facility_id": facility.id + 1000, "now": datetime.now(UTC)}
        assert db.first_row(connection, statement, missing) is None


def test_what_sqlalchemy_would_compute_per_run_is_refused(app):
    if app.extensions["registry.engine"].dialect.name != "postgresql":
        pytest.skip("SQLite runs these statements through SQLAlchemy itself")
    with app.app_context():
        connection = db.session().connection()
        in_list = select(literal(1)).where(literal(1).in_(bindparam("ids", expanding=True)))
        with pytest.raises(ValueError, match="IN lists"):
            db.first_row(connection, in_list, {"ids": [1]})
        per_run = select(bindparam("now", callable_=lambda: datetime.now(UTC)).label("now"))
        with pytest.raises(ValueError, match="computed per run"):
            db.first_row(connection, per_run, {})


def test_constants_in_the_expression_are_bound_and_given_values_converted(app):
    # A literal in the expression, a parameter given per execution, and one whose type converts
    # it (a UTC time: a naive one is refused, as SQLAlchemy refuses it).
    statement = select(
        literal("constant").label("constant"),
        bindparam("given").label("given"),
        bindparam("at", type_=db.UTCDateTime).label("at"),
    )
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    with app.app_context():
        connection = db.session().connection()
        row = db.first_row(connection, statement, {"given": 7, "at": at})
        assert (row.constant, row.given) == ("constant", 7)
        assert row.at == at
        with pytest.raises(Exception, match="naive"):
            db.first_row(connection, statement, {"given": 7, "at": datetime(2026, 11, 30)})


def test_the_audit_insert_writes_the_event(app):
    if app.extensions["registry.engine"].dialect.name != "postgresql":
        pytest.skip("PostgreSQL's INSERT of a read's event (SQLite's is test_trail_appends...)")
    event = {
        "at": datetime.now(UTC),
        "actor": "cad:1",
        "role": "cad",
        "action": "preplan.view",
        "record_type": "facility",
        "record_id": 1,
        "facility_id": 1,
        "break_glass": False,
        "changes": {},
        "details": {"format": "json", "nested": {"a": [1, 2]}},
        "request_id": "driver-test",
        "client_address": "127.0.0.1",
    }
    statement = trail._INSERT_RELAXING_READS
    with app.app_context(), session_scope() as session:
        db.execute(session.connection(), statement, event)
    with app.app_context(), session_scope() as session:
        stored = session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == "driver-test")
        ).one()
        assert stored.details == event["details"] and stored.at == event["at"]


def test_a_driver_error_is_raised_as_sqlalchemys(app):
    # errors.py maps SQLAlchemy's exceptions (DataError: 422, lost connections: 503); one from
    # the driver must reach it in the same shape.
    if app.extensions["registry.engine"].dialect.name != "postgresql":
        pytest.skip("SQLite runs these statements through SQLAlchemy itself")
    not_a_number = select(text("CAST(:value AS INTEGER)").bindparams(bindparam("value")))
    with app.app_context(), pytest.raises(DataError):
        db.first_row(db.session().connection(), not_a_number, {"value": "four"})
    with app.app_context(), pytest.raises(ProgrammingError):
        db.first_row(db.session().connection(), select(text("no_such_column")), {})


def test_trail_appends_through_the_driver(app):
    # trail.append's first event goes through db.execute on PostgreSQL: still one row per event.
    with app.app_context(), session_scope() as session:
        trail.record(session, None, "driver.test", actor="driver-test", details={"n": 1})
        trail.record(session, None, "driver.test", actor="driver-test", details={"n": 2})
    with app.app_context(), session_scope() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "driver.test")).all()
        assert sorted(row.details["n"] for row in rows) == [1, 2]


def test_a_lookups_search_rows_are_sqlalchemys(app, make, shared):
    # Addresses and positions (lookup._statements): floats, booleans, and the caller's
    # jurisdiction (JSON) come back as SQLAlchemy gives them.
    agency, facility = shared
    officer = make.user("agency_user", agency=agency)
    statements = _statements(scope_of(principal_of(officer)))
    address = {
        "core": facility.address_key_core,
        "number_": f"{facility.address_number} ",
        "root": "main",
        "agency_id": agency.id,
    }
    box = {"south": 39, "north": 40, "west": -90, "east": -89}
    with app.app_context():
        connection = db.session().connection()
        for name, values in (("address", address), ("position", box)):
            rows = db.all_rows(connection, statements[name], values)
            assert rows, name
            expected = connection.execute(statements[name], values).all()
            assert [typed(row) for row in rows] == [typed(row) for row in expected]
            assert [row._fields for row in rows] == [tuple(row._fields) for row in expected]
