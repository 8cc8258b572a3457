"""The delivery worker: sends the outbox's pending deliveries, retries them, and runs the
time-based announcements (scans.py). `flask --app wsgi notifications deliver`.

Claiming. A worker claims a batch of due deliveries by stamping them with its name and a lease
(`lease_until`, REGISTRY_DELIVERY_LEASE_SECONDS ahead) in one short transaction; on PostgreSQL
the rows are picked with FOR UPDATE SKIP LOCKED, so workers never wait on each other, and the
UPDATE re-checks that nobody holds a live lease. No transaction stays open while anything is
sent (SQLite has one writer, and an API request must never wait for a partner's web server).

Sending. Before each send the worker makes sure its lease outlasts the send (renewing it when
less than two timeouts are left, and skipping the delivery if another worker has it), sends,
and commits the outcome of that one delivery at once. So a worker killed at any moment loses
nothing: what it had claimed and not sent comes back when its lease ends, and the one delivery
in flight, which may have reached the receiver without its outcome being recorded, is sent
again, with the same `webhook-id`: at-least-once delivery, where the only duplicate a kill can
cause is that one delivery, and a receiver drops it by its id.

Retries. A failed attempt is retried after a wait drawn at random between 0 and
REGISTRY_DELIVERY_BACKOFF_SECONDS * 2^(attempts - 1), capped at
REGISTRY_DELIVERY_BACKOFF_CAP_SECONDS ("full jitter": failing partners are not all retried at
the same instant); after REGISTRY_DELIVERY_MAX_ATTEMPTS attempts the delivery is dead until an
administrator replays it.
"""

import logging
import os
import random
import signal
import socket
import threading
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from .. import db, transaction
from . import scans, senders
from .models import Delivery, Notification

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 50
# How long an idle worker waits before looking again: with a quarter second, an incident's
# notification leaves about an eighth of a second after its commit on average.
DEFAULT_POLL_INTERVAL = 0.25
# How often the time-based announcements are looked for (MOUs ending, stale data).
DEFAULT_SCAN_INTERVAL = 300.0

_deliveries = Delivery.__table__
_notifications = Notification.__table__


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"[:100]


def backoff(attempts: int, config, rng=random) -> timedelta:
    """The wait before the next attempt after `attempts` failed ones (full jitter)."""
    base, cap = (
        config["REGISTRY_DELIVERY_BACKOFF_SECONDS"],
        config["REGISTRY_DELIVERY_BACKOFF_CAP_SECONDS"],
    )
    ceiling = min(cap, base * 2 ** min(attempts - 1, 40))
    return timedelta(seconds=rng.uniform(0, ceiling))


class Worker:
    def __init__(
        self,
        batch_size: int = DEFAULT_BATCH_SIZE,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        scan_interval: float = DEFAULT_SCAN_INTERVAL,
        name: str | None = None,
    ):
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.scan_interval = scan_interval
        self.name = name or worker_name()
        self.stopping = threading.Event()
        self.config = current_app.config
        self.lease = timedelta(seconds=self.config["REGISTRY_DELIVERY_LEASE_SECONDS"])
        self.timeout = timedelta(seconds=self.config["REGISTRY_DELIVERY_TIMEOUT_SECONDS"])
        self.leases = {}  # delivery id -> when this worker's lease on it ends
        self.counts = {"delivered": 0, "failed": 0, "dead": 0, "announced": 0}

    # --- the loop -----------------------------------------------------------------------------
    def run(self, once: bool = False, announce: bool = True) -> dict:
        """Deliver until stopped (SIGTERM, SIGINT or `stop()`), or with `once` until nothing
        is due, announcing what the clock brought first (unless not to `announce`)."""
        next_scan = 0.0
        while not self.stopping.is_set():
            if announce and time.monotonic() >= next_scan:
                self.scan()
                next_scan = time.monotonic() + self.scan_interval
            claimed = self.claim()
            for delivery in claimed:
                if self.stopping.is_set():
                    break
                self.deliver(delivery)
            if not claimed:
                if once:
                    break
                # Idle: look again shortly. After a batch, at once: more may have come.
                self.stopping.wait(self.poll_interval)
        self.release()
        return self.counts

    def stop(self, *_signal) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def scan(self) -> None:
        try:
            self.counts["announced"] += scans.announce_all()
        except Exception:
            # A failing scan must not stop deliveries; it is tried again next round.
            log.exception("the announcement scan failed")

    # --- claiming -------------------------------------------------------------------------------
    def claim(self) -> list[Delivery]:
        """Claim up to a batch of due deliveries for this worker, oldest due first, loaded with
        their notification and subscription (as they are now: a subscription changed while the
        batch is being sent takes effect with the next batch)."""
        now = db.utcnow()
        free = or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)
        due = and_(Delivery.status == "pending", Delivery.next_attempt_at <= now, free)
        with transaction.session_scope() as session:
            pick = (
                select(Delivery.id)
                .where(due)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(self.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(session.scalars(pick))
            if not ids:
                return []
            claimed = session.scalars(
                update(Delivery)
                .where(Delivery.id.in_(ids), due)
                .values(claimed_by=self.name, lease_until=now + self.lease)
                .returning(Delivery.id)
            ).all()
            if not claimed:
                return []
            loaded = {
                d.id: d for d in session.scalars(select(Delivery).where(Delivery.id.in_(claimed)))
            }
            session.expunge_all()
        for delivery_id in claimed:
            self.leases[delivery_id] = now + self.lease
        return [loaded[delivery_id] for delivery_id in sorted(claimed, key=ids.index)]

    def _hold(self, delivery_id: int) -> bool:
        """Make sure this worker's lease on the delivery outlasts a send: nothing to do while
        more than two send timeouts are left of the lease this worker took; otherwise renew it,
        which fails (False) when the delivery is no longer this worker's (its lease ran out and
        another worker took it)."""
        now = db.utcnow()
        if self.leases.get(delivery_id, now) - now > 2 * self.timeout:
            return True
        with transaction.session_scope() as session:
            renewed = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id,
                    Delivery.status == "pending",
                    Delivery.claimed_by == self.name,
                    Delivery.lease_until > now,
                )
                .values(lease_until=now + self.lease)
            ).rowcount
        if renewed != 1:
            self.leases.pop(delivery_id, None)
            return False
        self.leases[delivery_id] = now + self.lease
        return True

    def release(self) -> None:
        """On a clean stop: give back what was claimed and not sent, at once (no lease wait)."""
        with transaction.session_scope() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.claimed_by == self.name, Delivery.status == "pending")
                .values(claimed_by=None, lease_until=None)
            )

    # --- one delivery -------------------------------------------------------------------------
    def deliver(self, delivery: Delivery) -> None:
        if not self._hold(delivery.id):
            return
        subscription = delivery.subscription
        error = None
        if not subscription.active or subscription.deleted_at is not None:
            error = "the subscription was paused or deleted"
        else:
            try:
                senders.SENDERS[subscription.channel](delivery, self.config)
            except senders.SendFailed as failed:
                error = str(failed)
            except Exception as unexpected:  # a bug must not kill the worker, nor be retried blind
                log.exception("delivery %s: unexpected error", delivery.id)
                error = f"unexpected error: {type(unexpected).__name__}"
        self.record(delivery, error, final=error == "the subscription was paused or deleted")

    def record(self, delivery: Delivery, error: str | None, final: bool = False) -> None:
        """Commit one delivery's outcome (only while this worker holds it)."""
        now = db.utcnow()
        attempts = delivery.attempts + 1
        values = {
            "attempts": attempts,
            "last_attempt_at": now,
            "claimed_by": None,
            "lease_until": None,
        }
        if error is None:
            values.update(status="delivered", delivered_at=now, last_error=None)
            outcome = "delivered"
        elif final or attempts >= self.config["REGISTRY_DELIVERY_MAX_ATTEMPTS"]:
            values.update(status="dead", last_error=error[:500])
            outcome = "dead"
        else:
            values.update(
                next_attempt_at=now + backoff(attempts, self.config), last_error=error[:500]
            )
            outcome = "failed"
        with transaction.session_scope() as session:
            # Core statements on the tables: the ORM's bookkeeping for a bulk UPDATE cost more
            # than the UPDATE itself, once per delivery.
            session.execute(
                update(_deliveries)
                .where(_deliveries.c.id == delivery.id, _deliveries.c.claimed_by == self.name)
                .values(**values)
            )
            if outcome == "delivered":
                _mark_notification_delivered(session, delivery.notification_id, now)
        self.leases.pop(delivery.id, None)
        self.counts[outcome] += 1
        if outcome != "delivered":
            log.warning("delivery %s attempt %d: %s (%s)", delivery.id, attempts, error, outcome)


def _mark_notification_delivered(session, notification_id: int, now) -> None:
    """The notification is delivered once none of its deliveries is left undelivered."""
    undelivered = select(_deliveries.c.id).where(
        _deliveries.c.notification_id == notification_id, _deliveries.c.status != "delivered"
    )
    session.execute(
        update(_notifications)
        .where(
            _notifications.c.id == notification_id,
            _notifications.c.delivered_at.is_(None),
            ~undelivered.exists(),
        )
        .values(delivered_at=now)
    )
