"""The ceiling of an audited pre-plan read on this stack: bare Flask plus only the database work
issue 14 requires of every such read, run on the bare driver, for bench/ceiling.py.

Each read must (1) check the token's account and revocation in the database, (2) read the
facility's pre-plan stamp and whether the caller may read it, and (3) insert its audit event.
These routes run exactly the registry's statements for that (built by the registry's own code,
compiled once) and nothing else: no token signature, no rate limit, no routing of the registry,
no audit sealer, no caching logic. No code that runs these three statements per read, as the
registry's design requires, can be faster than this.

- /floor: bench/floor_app.py's constant JSON;
- /statements/1/<id>: step 1 alone, on psycopg: the best an authenticated no-op can do;
- /statements/3/<id>: steps 1 to 3 on psycopg, answering the stored pre-plan's JSON text;
- /statements/3-sqlalchemy/<id>: the same three through SQLAlchemy Core on a pooled
  connection, as the registry runs them (what the library costs on top of the driver);
- /statements/3-pooled-driver/<id>: the same three on the driver connection under a pooled
  SQLAlchemy connection (what running only these statements on the driver could save).

The events it inserts are real rows of the bench database's trail (actor `cad:1`, action
`preplan.view`); the registry's sealers seal them on its next run there.
"""

import json
import os
import threading
import uuid

import psycopg
from flask import Flask, Response, abort
from psycopg.rows import namedtuple_row
from sqlalchemy import create_engine
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

from registry.access.roles import Role
from registry.access.visibility import scope_of
from registry.audit.trail import _INSERT_RELAXING_READS
from registry.auth.identity import _account_statement
from registry.auth.models import CadClient
from registry.auth.principal import Principal
from registry.db import utcnow
from registry.preplans.document import _stamp_statement

URL = os.environ["REGISTRY_DATABASE_URL"]
CAD = Principal("cad", 1, Role.CAD, agency_id=1)  # the bench's CAD client (bench/synthetic.py)

IDENTITY = _account_statement(CadClient)
AUDIT = _INSERT_RELAXING_READS
_dialect = psycopg_dialect.dialect()
_compiled = {}


def _stamp():
    # Built per day like the registry's (the scope holds the day MOUs are in force on).
    return _stamp_statement(scope_of(CAD))


def _driver_form(statement, values: dict) -> tuple[str, dict]:
    """The statement's SQL for psycopg and its parameters, compiled once per statement."""
    compiled = _compiled.get(statement)
    if compiled is None:
        compiled = _compiled[statement] = statement.compile(dialect=_dialect)
    return compiled.string, compiled.construct_params(values)


def _event(facility_id: int, json_text) -> dict:
    return {
        "at": utcnow(),
        "actor": CAD.subject,
        "role": CAD.role,
        "action": "preplan.view",
        "record_type": "facility",
        "record_id": facility_id,
        "facility_id": facility_id,
        "break_glass": False,
        "changes": json_text({}),
        "details": json_text({"format": "json", "incident_id": None}),
        "request_id": uuid.uuid4().hex,
        "client_address": "127.0.0.1",
    }


def _stored(stamp) -> Response:
    # bench/ceiling.py stores the rendering of every facility it asks about first.
    if stamp is None or stamp.stored_document is None:
        abort(500, "no stored rendering for this facility")
    return Response(stamp.stored_document, mimetype="application/json")


def _identity_values() -> dict:
    return {"jti": uuid.uuid4().hex, "account_id": CAD.id}


app = Flask(__name__)
_connections = threading.local()  # one per worker thread, made after gunicorn forks
_engine = None


def _driver():
    connection = getattr(_connections, "connection", None)
    if connection is None:
        connection = psycopg.connect(URL, autocommit=True, row_factory=namedtuple_row)
        _connections.connection = connection
    return connection


@app.get("/floor")
def floor():
    return {"status": "matched", "facility_id": 1, "name": "constant"}


@app.get("/statements/1/<int:facility_id>")
def identity_only(facility_id):
    connection = _driver()
    connection.execute(*_driver_form(IDENTITY, _identity_values())).fetchone()
    return {"status": "matched", "facility_id": facility_id, "name": "constant"}


@app.get("/statements/3/<int:facility_id>")
def three_on_the_driver(facility_id):
    connection = _driver()
    connection.execute(*_driver_form(IDENTITY, _identity_values())).fetchone()
    stamp = connection.execute(
        *_driver_form(_stamp(), {"facility_id": facility_id, "now": utcnow()})
    ).fetchone()
    # The driver takes JSON as text; SQLAlchemy's JSON type encodes it in the other route.
    connection.execute(*_driver_form(AUDIT, _event(facility_id, json.dumps)))
    return _stored(stamp)


@app.get("/statements/3-sqlalchemy/<int:facility_id>")
def three_through_sqlalchemy(facility_id):
    global _engine
    if _engine is None:
        _engine = create_engine(URL, isolation_level="AUTOCOMMIT", pool_size=5)
    with _engine.connect() as connection:
        connection.execute(IDENTITY, _identity_values()).first()
        stamp = connection.execute(_stamp(), {"facility_id": facility_id, "now": utcnow()}).first()
        connection.execute(AUDIT, _event(facility_id, lambda value: value))
    return _stored(stamp)


@app.get("/statements/3-pooled-driver/<int:facility_id>")
def three_on_a_pooled_driver(facility_id):
    global _engine
    if _engine is None:
        _engine = create_engine(URL, isolation_level="AUTOCOMMIT", pool_size=5)
    with _engine.connect() as pooled:
        connection = pooled.connection.driver_connection
        with connection.cursor(row_factory=namedtuple_row) as cursor:
            cursor.execute(*_driver_form(IDENTITY, _identity_values()))
            cursor.fetchone()
            cursor.execute(*_driver_form(_stamp(), {"facility_id": facility_id, "now": utcnow()}))
            stamp = cursor.fetchone()
            cursor.execute(*_driver_form(AUDIT, _event(facility_id, json.dumps)))
    return _stored(stamp)
