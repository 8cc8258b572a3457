"""`flask --app wsgi preplans …`: the stored pre-plans (see preplans/document.py)."""

import click
from flask.cli import AppGroup

from .. import transaction
from .document import render_unrendered

preplans_group = AppGroup("preplans", help="Stored pre-plans.")


@preplans_group.command("render")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=200, show_default=True)
def render_command(batch_size):
    """Render and store every live facility's pre-plan that is missing or out of date.

    Reads render a missing pre-plan themselves; this fills the store ahead of them, after a
    deploy (stored renderings are keyed by the code's fingerprint) or a bulk load. Safe while the service runs: each batch
    commits on its own, and a facility changed meanwhile is rendered again on its next read.
    """
    total = 0
    while True:
        with transaction.session_scope() as session:
            stored = render_unrendered(session, batch_size)
        total += stored
        if stored < batch_size:
            break
    click.echo(f"{total} pre-plans rendered and stored")
