"""Health checks, and a database outage answered with 503 problems (never 500)."""

import pytest

from registry import create_app
from tests.conftest import TEST_KEYS, assert_problem


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready"}


@pytest.fixture
def unreachable_client():
    # Nothing listens on port 1: every connection attempt is refused at once.
    app = create_app(
        {
            "REGISTRY_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/test?connect_timeout=2",
            **TEST_KEYS,
        }
    )
    return app.test_client()


def test_database_outage_is_503_and_health_stays_up(unreachable_client):
    assert unreachable_client.get("/healthz").status_code == 200
    body = assert_problem(unreachable_client.get("/readyz"), 503)
    assert "127.0.0.1" not in body["detail"]


def test_api_during_outage_is_503_problem_with_retry_after(unreachable_client):
    response = unreachable_client.post(
        "/api/v1/auth/login", json={"username": "someone", "password": "whatever-password"}
    )
    body = assert_problem(response, 503)
    assert response.headers["Retry-After"]
    # No SQL, driver names or hosts leak into the answer.
    text = response.get_data(as_text=True)
    for leak in ("psycopg", "SELECT", "127.0.0.1", "Traceback"):
        assert leak not in text
    assert body["type"].endswith("service-unavailable")
