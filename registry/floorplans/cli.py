"""`flask --app wsgi files …`: maintenance of the file store."""

from datetime import timedelta

import click
from flask.cli import AppGroup

from .blobs import prune

files_group = AppGroup("files", help="Uploaded files (floor plans, MOU documents).")


@files_group.command("prune")
@click.option(
    "--older-than-minutes",
    type=int,
    default=60,
    show_default=True,
    help="Leave younger blobs alone: an upload may still be on its way to its commit.",
)
def prune_command(older_than_minutes):
    """Delete stored files that no record refers to (left by crashes or store outages)."""
    examined, deleted = prune(timedelta(minutes=older_than_minutes))
    click.echo(f"{examined} unreferenced blob(s) found, {deleted} deleted")
