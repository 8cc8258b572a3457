"""`flask --app wsgi secrets …`: the keys that seal access-point codes and key locations."""

import click
from flask.cli import AppGroup

from .. import transaction
from ..encryption import keyring
from ..notifications import secrets as webhook_secrets
from .rotation import key_counts, rotate

secrets_group = AppGroup(
    "secrets", help="Encrypted access-point secrets and webhook signing secrets, and their keys."
)


@secrets_group.command("status")
def status_command():
    """Count the stored secrets under each key id."""
    ring = keyring()
    with transaction.session_scope() as session:
        counts = key_counts(session)
        webhooks = webhook_secrets.key_counts(session)
    if not counts and not webhooks:
        click.echo("no secrets stored")
    for key_id, fields in sorted(counts.items()):
        state = "active" if key_id == ring.active_id else "not active"
        if key_id not in ring.keys:
            state = "NOT IN THE KEYRING: these values cannot be read"
        click.echo(
            f"{key_id} ({state}): {fields['code']} codes, {fields['key_location']} key locations"
        )
    for key_id, number in sorted(webhooks.items()):
        state = "active" if key_id == ring.active_id else "not active"
        if key_id not in ring.keys:
            state = "NOT IN THE KEYRING: these values cannot be read"
        click.echo(f"{key_id} ({state}): {number} webhook secrets")


@secrets_group.command("rotate")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=100, show_default=True)
def rotate_command(batch_size):
    """Re-encrypt every secret not under the active key (safe while the service runs)."""
    counts = rotate(batch_size)
    click.echo(
        f"{counts['rotated']} values re-encrypted under {keyring().active_id}; "
        f"{counts['changed_meanwhile']} changed by an edit meanwhile (left as edited); "
        f"{counts['unreadable']} could not be decrypted (see the log)"
    )
    webhooks = webhook_secrets.rotate(batch_size)
    click.echo(
        f"{webhooks['rotated']} webhook secrets re-encrypted; "
        f"{webhooks['changed_meanwhile']} rotated meanwhile; "
        f"{webhooks['unreadable']} could not be decrypted (see the log)"
    )
    if counts["unreadable"] or webhooks["unreadable"]:
        raise SystemExit(1)
