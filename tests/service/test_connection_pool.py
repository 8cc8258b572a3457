"""Pooled database connections the server dropped are replaced (registry/db.py)."""

import pytest
from sqlalchemy import text

from registry import db
from tests.conftest import assert_problem


@pytest.fixture
def pool_app(app, build_app):
    if app.extensions["registry.engine"].dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    return build_app()


def drop_pooled_connection(app, pool_app) -> None:
    """Terminate, from the server's side, the one connection in pool_app's pool."""
    with pool_app.app_context(), db.engine().connect() as connection:
        pid = connection.scalar(text("SELECT pg_backend_pid()"))
    assert pool_app.extensions["registry.engine"].pool.checkedin() == 1
    with app.app_context(), db.engine().connect() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_connection_dropped_while_idle_is_replaced_unseen(app, pool_app, make, monkeypatch):
    client, headers = pool_app.test_client(), make.admin()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    drop_pooled_connection(app, pool_app)
    # As if the connection had waited in the pool longer than the idle limit.
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


def test_a_connection_dropped_while_in_busy_use_fails_one_request(app, pool_app, make):
    # The trade-off of pinging only idle connections: one 503, then the pool is replaced.
    client, headers = pool_app.test_client(), make.admin()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    drop_pooled_connection(app, pool_app)
    assert_problem(client.get("/api/v1/auth/me", headers=headers), 503)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


def test_a_server_restart_costs_one_request_not_one_per_pooled_connection(app, pool_app, make):
    # Two idle connections in the pool, both dropped (as a restart drops them): the first
    # request meets a dead one and gets a 503; the pool is replaced then, so the next request
    # does not meet the other (the CAD read's statements run on the driver, db.first_row).
    client, headers = pool_app.test_client(), make.admin()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    with pool_app.app_context():
        engine = db.engine()
        first, second = engine.connect(), engine.connect()
        pids = [c.scalar(text("SELECT pg_backend_pid()")) for c in (first, second)]
        first.close()
        second.close()
        assert engine.pool.checkedin() == 2
    with app.app_context(), db.engine().connect() as connection:
        for pid in pids:
            assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert_problem(client.get("/api/v1/auth/me", headers=headers), 503)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
