import socket

import pytest
from aiosmtpd.controller import Controller

from registry.notifications.worker import Worker
from tests.notifications.receiver import Mailbox, Receiver

API = "/api/v1"


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def mailbox():
    box = Mailbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's readiness check needs a real one)
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def deliver(app, monkeypatch):
    """Run the worker once (as `notifications deliver --once` does), with these settings;
    without its announcement scan unless asked (tests/notifications/test_announcements.py)."""

    def run(announce=False, **settings):
        for name, value in settings.items():
            monkeypatch.setitem(app.config, name, value)
        with app.app_context():
            return Worker().run(once=True, announce=announce)

    return run


def subscribe(client, headers, **fields):
    """Create a subscription through the API; its JSON (with the secret, shown once)."""
    body = {"channel": "webhook", **fields}
    response = client.post(f"{API}/subscriptions", json=body, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()
