"""The delivery guarantee under a kill: the worker runs as its own process (the CLI an operator
runs), is killed with SIGKILL while a slow receiver is answering it mid-batch, and is started
again. Counting by webhook-id: every delivery arrived, and the only one that arrived twice is
the one in flight at the kill (received, its outcome not yet committed)."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from registry import transaction
from registry.notifications.models import Delivery
from registry.notifications.service import notify
from tests.conftest import TEST_KEYS
from tests.notifications.conftest import subscribe

ROOT = Path(__file__).resolve().parents[2]
DELIVERIES = 24
LEASE_SECONDS = 2


def _worker(app, *args) -> subprocess.Popen:
    env = {
        **os.environ,
        "REGISTRY_DATABASE_URL": app.config["REGISTRY_DATABASE_URL"],
        "REGISTRY_JWT_SECRET": TEST_KEYS["JWT_SECRET_KEY"],
        "REGISTRY_SECRET_KEY": TEST_KEYS["SECRET_KEY"],
        "REGISTRY_FIELD_KEYS": TEST_KEYS["REGISTRY_FIELD_KEYS"],
        "REGISTRY_PACK_SIGNING_KEY": TEST_KEYS["REGISTRY_PACK_SIGNING_KEY"],
        "REGISTRY_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
        "REGISTRY_AUDIT_SEAL_INTERVAL": "0",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "deliver", *args]
    return subprocess.Popen(  # noqa: S603 - our own CLI, arguments from this test
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _statuses(app) -> dict[int, str]:
    with app.app_context(), transaction.session_scope() as session:
        return dict(session.execute(select(Delivery.id, Delivery.status)).all())


def test_a_killed_worker_loses_nothing_and_resends_at_most_the_one_in_flight(
    app, client, make, receiver
):
    org = make.organization()
    subscribe(client, make.manager(org), url=receiver.url)
    with app.app_context(), transaction.session_scope() as session:
        for n in range(DELIVERIES):
            notify(
                session, organization_id=org.id, kind="facility_review", message=f"n{n}", actor="t"
            )
    receiver.delay = 0.2  # a slow partner: the kill lands while one request is being answered

    worker = _worker(app, "--batch-size", "10")
    try:
        deadline = time.monotonic() + 60
        while len(receiver.arrivals) < 5 or not receiver.busy.is_set():
            assert time.monotonic() < deadline and worker.poll() is None, "the worker stalled"
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()
    arrived_before = Counter(receiver.ids())
    statuses = _statuses(app)
    with app.app_context(), transaction.session_scope() as session:
        held = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status == "pending", Delivery.claimed_by.is_not(None))
        )
    # The dead worker still holds claims beyond the one in flight: they come back by lease.
    assert held >= 2
    # Mid-batch: some were delivered, others were claimed or waiting and not yet sent.
    recorded = {f"delivery_{i}" for i, s in statuses.items() if s == "delivered"}
    assert 0 < len(recorded) < DELIVERIES
    # What the receiver got and the database does not show as delivered: the one in flight.
    in_flight = set(arrived_before) - recorded
    assert len(in_flight) == 1, (arrived_before, recorded)

    time.sleep(LEASE_SECONDS + 0.5)  # the killed worker's claims come back
    receiver.delay = 0
    again = _worker(app, "--once")
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()

    assert set(_statuses(app).values()) == {"delivered"}
    arrivals = Counter(receiver.ids())
    assert set(arrivals) == {f"delivery_{i}" for i in statuses}  # none missing
    twice = {delivery for delivery, times in arrivals.items() if times > 1}
    assert twice <= in_flight  # only the one in flight, if at all
    assert all(times <= 2 for times in arrivals.values())
