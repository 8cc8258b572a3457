"""`flask --app wsgi notifications deliver`: the delivery worker (worker.py), for a service
manager to keep running (systemd, a container), or `--once` from cron or a test."""

import logging

import click
from flask.cli import AppGroup

from .worker import DEFAULT_BATCH_SIZE, DEFAULT_POLL_INTERVAL, DEFAULT_SCAN_INTERVAL, Worker

notifications_group = AppGroup("notifications", help="Deliver notifications (webhooks, email).")


@notifications_group.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--batch-size", type=click.IntRange(1, 1000), default=DEFAULT_BATCH_SIZE, show_default=True
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(0.01, 60),
    default=DEFAULT_POLL_INTERVAL,
    show_default=True,
    help="Seconds an idle worker waits before looking again.",
)
@click.option(
    "--scan-interval",
    type=click.FloatRange(1, 86400),
    default=DEFAULT_SCAN_INTERVAL,
    show_default=True,
    help="Seconds between scans for MOUs ending and stale data.",
)
def deliver(once, batch_size, poll_interval, scan_interval):
    """Send pending deliveries until stopped (SIGTERM or Ctrl-C finish the one in flight)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    worker = Worker(batch_size, poll_interval, scan_interval)
    worker.install_signal_handlers()
    click.echo(f"worker {worker.name}: delivering", err=True)
    counts = worker.run(once=once)
    click.echo(
        f"delivered {counts['delivered']}, failed {counts['failed']} (to retry), "
        f"dead {counts['dead']}, announced {counts['announced']}"
    )
