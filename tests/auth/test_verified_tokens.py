"""Each token's signature is checked once per process (issue 14): what the database decides
still applies to the very next request, and an expired token is refused however often it
was accepted before."""

import time
from datetime import timedelta

import flask_jwt_extended.jwt_manager
from flask_jwt_extended import create_access_token
from sqlalchemy import update

from registry import transaction
from registry.auth.models import User

API = "/api/v1"


def test_a_token_is_verified_once_and_then_recognised(app, client, make, monkeypatch):
    headers = make.headers(make.user("admin"))
    decoded = []
    real = flask_jwt_extended.jwt_manager._decode_jwt

    def counting(*args, **kwargs):
        decoded.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(flask_jwt_extended.jwt_manager, "_decode_jwt", counting)
    for _ in range(5):
        assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    assert len(decoded) == 1


def test_a_deactivated_account_is_refused_on_the_next_request(app, client, make):
    user = make.user("admin")
    headers = make.headers(user)
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(User).where(User.id == user.id).values(is_active=False))
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 401


def test_a_logged_out_token_is_refused_on_the_next_request(client, make):
    headers = make.headers(make.user("admin"))
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    assert client.post(f"{API}/auth/logout", headers=headers).status_code in (200, 204)
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 401


def test_an_expired_token_is_refused_though_it_was_accepted_before(app, client, make):
    user = make.user("admin")
    with app.app_context():
        token = create_access_token(f"user:{user.id}", expires_delta=timedelta(seconds=1))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    time.sleep(1.1)
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 401


def test_a_token_verified_under_one_key_is_not_taken_under_another(app, client, make):
    headers = make.headers(make.user("admin"))
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    original = app.config["JWT_SECRET_KEY"]
    app.config["JWT_SECRET_KEY"] = "another-key-" + "x" * 40
    try:
        assert client.get(f"{API}/auth/me", headers=headers).status_code == 401
    finally:
        app.config["JWT_SECRET_KEY"] = original
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
