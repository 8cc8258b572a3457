"""Operator commands: `flask --app wsgi <command>`."""

import json
import os
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from . import audit, history, transaction
from .access.roles import USER_ROLES
from .audit.cli import audit_group
from .auth import passwords
from .backup import backup, restore
from .demo import DemoRefused, load_demo
from .facilities.cli import secrets_group
from .floorplans.cli import files_group
from .imports.cli import facilities_group
from .notifications.cli import notifications_group
from .packs.cli import packs_group
from .preplans.cli import preplans_group

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_PATH = ROOT / "openapi" / "swagger.json"


def alembic_config() -> AlembicConfig:
    config = AlembicConfig(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = current_app.config["REGISTRY_DATABASE_URL"]
    return config


db_group = AppGroup("db", help="Database migrations (Alembic).")


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Apply migrations up to REVISION (default: head)."""
    alembic_command.upgrade(alembic_config(), revision)


@db_group.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision):
    """Revert migrations down to REVISION (default: one step)."""
    alembic_command.downgrade(alembic_config(), revision)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message):
    """Autogenerate a migration from the models."""
    alembic_command.revision(alembic_config(), message=message, autogenerate=True)


@db_group.command("check")
def db_check():
    """Fail if the models and the migrations disagree."""
    alembic_command.check(alembic_config())


@click.command("create-user")
@click.option("--username", required=True)
@click.option(
    "--role",
    required=True,
    # Values, not members: click matches an enum's members by name ("ADMIN").
    type=click.Choice([role.value for role in USER_ROLES]),
)
@click.option("--organization-id", type=int)
@click.option("--agency-id", type=int)
@with_appcontext
def create_user(username, role, organization_id, agency_id):
    """Create a user; the password comes from REGISTRY_PASSWORD, else a prompt."""
    password = os.environ.get("REGISTRY_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    with transaction.session_scope() as session:
        user = passwords.create_user(
            session,
            username=username,
            password=password,
            role=role,
            organization_id=organization_id,
            agency_id=agency_id,
        )
        audit.record(
            session,
            None,
            "user.create",
            record=user,
            actor="cli",
            changes=history.diff({}, history.snapshot(user)),
        )
        click.echo(f"created user {user.username} (id {user.id}, role {user.role})")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Load the demo data set (idempotent: does nothing if it is already there; refused when
    REGISTRY_ENV is production)."""
    try:
        with transaction.session_scope() as session:
            click.echo(load_demo(session))
    except DemoRefused as refusal:
        raise click.ClickException(str(refusal)) from None


@click.command("export-openapi")
@click.option("--output", type=click.Path(path_type=Path), default=OPENAPI_PATH)
@with_appcontext
def export_openapi(output):
    """Write the API document generated from the code to openapi/swagger.json."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi() + "\n")
    click.echo(f"wrote {output}")


def render_openapi() -> str:
    api = current_app.extensions["registry.api"]
    with current_app.test_request_context():
        return json.dumps(api.__schema__, indent=2, sort_keys=True)


@click.command("backup")
@click.argument("output", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(output):
    """Back up the database (and a local file store) into the new directory OUTPUT."""
    manifest = backup(output)
    click.echo(f"backed up {sum(manifest['tables'].values())} rows to {output}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask; the database's contents are replaced.")
@with_appcontext
def restore_command(source, yes):
    """Restore a backup made by `backup` (stop the service first)."""
    if not yes:
        click.confirm("Replace the database's contents with this backup?", abort=True)
    manifest = restore(source)
    click.echo(f"restored {sum(manifest['tables'].values())} rows from {source}; counts verified")


commands = [
    db_group,
    create_user,
    seed_demo,
    export_openapi,
    backup_command,
    restore_command,
    files_group,
    secrets_group,
    audit_group,
    preplans_group,
    packs_group,
    notifications_group,
    facilities_group,
]
