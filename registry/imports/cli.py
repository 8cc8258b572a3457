"""`flask --app wsgi facilities import|export`: the bulk file from the command line, with the
same rules as the API (service.py), recorded under the account named by `--user`."""

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .. import errors, transaction
from ..auth.models import User
from ..auth.principal import Principal
from . import service, writer
from .reader import Limits

facilities_group = AppGroup("facilities", help="Bulk import and export of facilities.")

_user_option = click.option(
    "--user",
    "username",
    required=True,
    help="The account the changes are recorded under (history, audit): an administrator or "
    "one of the organization's facility managers.",
)


def _principal(session, username: str) -> Principal:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise click.ClickException(f"No active user {username!r}.")
    return Principal("user", user.id, user.role, user.organization_id, user.agency_id)


@facilities_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--organization", "organization_id", type=int, required=True)
@_user_option
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete the contacts, access and tactical points of each facility with a facility row "
    "that the file does not list.",
)
def import_command(file, organization_id, username, dry_run, prune):
    """Import FILE (CSV or XLSX): all rows or none. Prints the report as JSON; exit 1 when the
    file has errors."""
    try:
        with transaction.session_scope() as session, file.open("rb") as stream:
            principal = _principal(session, username)
            report = service.import_file(
                session,
                principal,
                organization_id,
                stream,
                Limits.from_config(current_app.config),
                dry_run=dry_run,
                prune=prune,
            )
            if dry_run:
                transaction.rollback(session)
            elif report.error_count:
                raise service.refusal(report)
    except errors.RowsRefused as refused:
        click.echo(json.dumps({"detail": refused.detail, **refused.extensions}, indent=1))
        raise SystemExit(1) from None
    except errors.RegistryError as refused:
        raise click.ClickException(refused.detail) from None
    click.echo(json.dumps(report.__dict__, indent=1))
    if report.error_count:
        raise SystemExit(1)


@facilities_group.command("export")
@click.option("--organization", "organization_id", type=int, required=True)
@_user_option
@click.option("--format", "file_format", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_command(organization_id, username, file_format, output):
    """Export the organization's facilities to OUTPUT (codes are never exported)."""
    try:
        with transaction.session_scope() as session:
            principal = _principal(session, username)
            rows = list(service.export_rows(session, principal, organization_id, file_format))
    except errors.RegistryError as refused:
        raise click.ClickException(refused.detail) from None
    if file_format == "csv":
        with output.open("w", encoding="utf-8", newline="") as out:
            out.writelines(writer.csv_lines(rows))
    else:
        with writer.xlsx_file(rows) as spooled, output.open("wb") as out:
            while chunk := spooled.read(1024 * 1024):
                out.write(chunk)
    click.echo(f"wrote {len(rows)} rows to {output}")
