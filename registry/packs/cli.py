"""`flask --app wsgi packs …`: offline packs (see packs/__init__.py)."""

from pathlib import Path

import click
from flask.cli import AppGroup

from . import keys, verify
from .service import signing_key

packs_group = AppGroup("packs", help="Offline pre-plan packs.")


@packs_group.command("verify")
@click.argument("pack", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The registry's public key (PEM). Default: this registry's own signing key.",
)
def verify_command(pack, public_key):
    """Verify PACK offline: its signature and every file's size and SHA-256; exit 1, naming
    what failed, when it was changed, cut short or signed with another key.

    Needs no database and no network. Without the registry's configuration, run the same check
    as `python -m registry.packs PACK --public-key FILE`."""
    if public_key is None:
        key = signing_key().public_key()
    else:
        try:
            key = keys.load_public_key(public_key.read_bytes())
        except keys.BadKey as exc:
            raise click.ClickException(f"cannot use the public key {public_key}: {exc}") from None
    raise SystemExit(verify.report(pack, key))


@packs_group.command("public-key")
def public_key_command():
    """Print the public key (PEM) that verifies this registry's packs, and its key id."""
    public_key = signing_key().public_key()
    click.echo(keys.public_key_pem(public_key).decode("ascii"), nl=False)
    click.echo(f"key id {keys.key_id(public_key)}", err=True)
