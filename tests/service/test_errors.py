"""How database failures reach the caller: outages and lost races are 503 (retry), bugs are
500 — never a leak of SQL or driver details."""

import sqlite3

import psycopg.errors
import pytest
from sqlalchemy.exc import DataError, OperationalError

from registry.errors import problem_response


def wrapped(cls, orig):
    return cls("SELECT secret FROM vault", {}, orig)


@pytest.mark.parametrize(
    "orig",
    [
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        psycopg.OperationalError("connection refused"),
        sqlite3.OperationalError("database is locked"),
    ],
)
def test_outages_and_lost_races_are_503_with_retry_after(app, orig):
    with app.test_request_context():
        response = problem_response(wrapped(OperationalError, orig))
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert b"vault" not in response.data and b"deadlock" not in response.data


def test_a_schema_bug_is_a_500_not_an_outage(app):
    with app.test_request_context():
        response = problem_response(
            wrapped(OperationalError, sqlite3.OperationalError("no such column: deleted_at"))
        )
    assert response.status_code == 500
    assert b"deleted_at" not in response.data


def test_a_value_the_column_cannot_hold_is_422(app):
    with app.test_request_context():
        response = problem_response(wrapped(DataError, psycopg.errors.StringDataRightTruncation()))
    assert response.status_code == 422
    assert b"vault" not in response.data
