"""Test fixtures: one migrated database per run (SQLite by default, PostgreSQL when
REGISTRY_TEST_DATABASE_URL says so), emptied before every test, and factories that build records
and real tokens.

The app runs with its production error handling: TESTING and DEBUG stay off, because flask-restx
behaves differently (and hides 500s) in testing mode.
"""

import os
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command as alembic_command
from sqlalchemy import func, select, text, update

from registry import create_app, db, transaction
from registry.agencies.models import Agency
from registry.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from registry.audit.trail import seal_all
from registry.auth.login import issue_access_token
from registry.auth.models import CadClient, User
from registry.auth.passwords import hash_secret
from registry.changes.models import FeedChange
from registry.cli import alembic_config
from registry.contacts.models import Contact
from registry.db import Base
from registry.facilities import sealing
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.mous.models import Mou, MouScope
from registry.organizations.models import Organization

PASSWORD = "correct-horse-battery"
CLIENT_SECRET = "cad-client-secret-for-tests"
# Hash once: argon2 is deliberately slow, and every factory-made account shares these.
PASSWORD_HASH = hash_secret(PASSWORD)
CLIENT_SECRET_HASH = hash_secret(CLIENT_SECRET)

TEST_KEYS = {
    "JWT_SECRET_KEY": "test-jwt-key-0123456789-0123456789-abcdef",
    "SECRET_KEY": "test-flask-key-0123456789-0123456789-abcdef",
    # Access-point secrets (encryption.py): one 32-byte key, id "test1".
    "REGISTRY_FIELD_KEYS": "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    # Signs offline packs (packs/keys.py): an Ed25519 seed in base64.
    "REGISTRY_PACK_SIGNING_KEY": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
}
# Rate limits no test trips by accident (the session app's counters last the whole run); the
# tests of the limits build their own app with low ones.
GENEROUS_LIMITS = {
    "REGISTRY_RATE_LIMIT": "1000000/minute",
    "REGISTRY_CAD_RATE_LIMIT": "1000000/minute",
    "REGISTRY_LOGIN_RATE_LIMIT": "1000000/minute",
    "REGISTRY_LOGIN_ADDRESS_RATE_LIMIT": "1000000/minute",
    "REGISTRY_PACK_RATE_LIMIT": "1000000/minute",
}


def database_url(tmp_path_factory) -> str:
    url = os.environ.get("REGISTRY_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = create_app(
        {
            "REGISTRY_DATABASE_URL": database_url(tmp_path_factory),
            # Uploads (floor plans, MOU documents) never land in the checkout's instance/.
            "REGISTRY_STORAGE_DIR": str(tmp_path_factory.mktemp("files")),
            **TEST_KEYS,
            **GENEROUS_LIMITS,
        }
    )
    with app.app_context():
        engine = db.engine()
        if engine.dialect.name == "postgresql":
            # Start from nothing so the migration itself is what builds the schema.
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        alembic_command.upgrade(alembic_config(), "head")
    yield app
    with app.app_context():
        db.engine().dispose()


@pytest.fixture(autouse=True)
def _empty_database(app):
    with app.app_context(), db.engine().begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        # Again last: deleting facilities and MOUs writes change-feed rows (their triggers).
        connection.execute(FeedChange.__table__.delete())
        # Back to the state the migrations leave: the audit trail's chain head exists from the
        # start, and its absence is tampering (audit/trail.py).
        connection.execute(AuditHead.__table__.insert().values(id=1, seq=0, last_hash=GENESIS_HASH))
    yield


@pytest.fixture
def build_app(app, tmp_path):
    """Another app on the session database, with its own settings (and its own rate-limit
    counters): for tests of configuration, limits, CORS."""
    built = []

    def build(**overrides):
        other = create_app(
            {
                "REGISTRY_DATABASE_URL": app.config["REGISTRY_DATABASE_URL"],
                "REGISTRY_STORAGE_DIR": str(tmp_path / "files"),
                **TEST_KEYS,
                **GENEROUS_LIMITS,
                **overrides,
            }
        )
        built.append(other)
        return other

    yield build
    for other in built:
        with other.app_context():
            db.engine().dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context, for calling services and reading the database directly."""
    with app.app_context():
        yield


class Factory:
    """Builds records straight into the database (committed), and tokens for accounts."""

    def __init__(self, app):
        self.app = app
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def _save(self, record):
        with self.app.app_context(), transaction.session_scope() as session:
            session.add(record)
            session.flush()
            session.expunge(record)
        return record

    def organization(self, **fields):
        n = self._next()
        return self._save(Organization(**{"name": f"Partner {n}", "kind": "retailer", **fields}))

    def agency(self, **fields):
        n = self._next()
        return self._save(
            Agency(**{"name": f"Agency {n}", "agency_type": "law_enforcement", **fields})
        )

    def facility(self, organization, **fields):
        n = self._next()
        values = {
            "organization_id": organization.id,
            "name": f"Store {n}",
            "facility_type": "retail_store",
            "address_line1": f"{100 + n} Main St",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "lat": 39.8,
            "lon": -89.6,
        }
        facility = Facility(**{**values, **fields})
        facility.refresh_match_keys()
        return self._save(facility)

    def access_point(self, facility, **fields):
        """`code` and `key_location` are sealed after the INSERT, as the service does."""
        secrets = {field: fields.pop(field) for field in sealing.FIELDS if field in fields}
        values = {"facility_id": facility.id, "kind": "entrance", "name": "Main entrance"}
        point = AccessPoint(**{**values, **fields})
        with self.app.app_context(), transaction.session_scope() as session:
            session.add(point)
            session.flush()
            sealing.seal_new(session, point, secrets)
            session.expunge(point)
        return point

    def tactical_point(self, facility, **fields):
        values = {"facility_id": facility.id, "kind": "staging_area", "name": "North lot"}
        return self._save(TacticalPoint(**{**values, **fields}))

    def contact(self, **fields):
        values = {"name": "Pat Doe", "phones": [{"kind": "mobile", "number": "+12175550123"}]}
        return self._save(Contact(**{**values, **fields}))

    def mou(self, organization, agency, scopes=("data_sharing",), facilities=(), **fields):
        """An MOU row as it is stored, active by default: one that grants (or was proposed)
        carries the acceptances the lifecycle would have recorded (registry/mous/lifecycle.py)."""
        values = {
            "organization_id": organization.id,
            "agency_id": agency.id,
            "title": "Data sharing",
            "status": "active",
            "effective_date": date.today() - timedelta(days=1),
            "covers_all_facilities": not facilities,
            "drafting_party": "organization",
        }
        values.update(fields)
        accepted_at = datetime.now(UTC) - timedelta(days=2)
        if values["status"] in ("proposed", "active", "superseded", "terminated"):
            values.setdefault("proposed_at", accepted_at)
            values.setdefault("proposed_by", "factory")
            proposer = values["drafting_party"]
            values.setdefault(f"{proposer}_accepted_at", accepted_at)
            values.setdefault(f"{proposer}_accepted_by", "factory")
        if values["status"] in ("active", "superseded", "terminated"):
            for party in ("organization", "agency"):
                values.setdefault(f"{party}_accepted_at", accepted_at)
                values.setdefault(f"{party}_accepted_by", "factory")
        if values["status"] == "superseded":
            values.setdefault("superseded_on", date.today())
        with self.app.app_context(), transaction.session_scope() as session:
            mou = Mou(**values)
            mou.scope_rows = [MouScope(scope=s) for s in scopes]
            mou.facilities = [session.get(Facility, f.id) for f in facilities]
            session.add(mou)
            session.flush()
            session.refresh(mou)
            mou.scope_rows, mou.facilities  # noqa: B018 - load before detaching
            session.expunge_all()
        return mou

    def user(self, role="admin", organization=None, agency=None, **fields):
        n = self._next()
        values = {
            "username": f"user{n}",
            "password_hash": PASSWORD_HASH,
            "role": role,
            "organization_id": organization.id if organization else None,
            "agency_id": agency.id if agency else None,
        }
        return self._save(User(**{**values, **fields}))

    def cad_client(self, agency, **fields):
        n = self._next()
        values = {
            "client_id": f"cad-{n}",
            "secret_hash": CLIENT_SECRET_HASH,
            "agency_id": agency.id,
            "name": f"CAD {n}",
        }
        return self._save(CadClient(**{**values, **fields}))

    def token(self, account, fresh: bool = True) -> str:
        """A real access token, as /auth/login or /auth/token would issue it (fresh), or as
        /auth/refresh would (`fresh=False`)."""
        kind = "cad" if isinstance(account, CadClient) else "user"
        with self.app.app_context():
            return issue_access_token(f"{kind}:{account.id}", fresh=fresh)

    def headers(self, account, fresh: bool = True, **extra) -> dict:
        return {"Authorization": f"Bearer {self.token(account, fresh)}", **extra}

    # Common casts of characters --------------------------------------------------------------
    def admin(self):
        return self.headers(self.user("admin"))

    def manager(self, organization):
        return self.headers(self.user("facility_manager", organization=organization))

    def officer(self, agency):
        return self.headers(self.user("agency_user", agency=agency))


@pytest.fixture
def make(app):
    return Factory(app)


def count(app, model, *where) -> int:
    """Rows of `model` in the database right now (committed state)."""
    with app.app_context(), transaction.session_scope() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def seal(app) -> int:
    """Seal the audit events waiting, as the server's sealer thread does every fraction of a
    second (tests run no sealer, so what is sealed when is up to the test)."""
    with app.app_context():
        return seal_all(app.extensions["registry.sessionmaker"])


def fetch(app, model, record_id):
    """A fresh copy of one row from the database, or None."""
    with app.app_context(), transaction.session_scope() as session:
        record = session.get(model, record_id)
        if record is not None:
            session.expunge(record)
        return record


def assert_problem(response, status, field=None):
    """The response is an RFC 9457 problem with `status`, naming `field` when given."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"]
    if field is not None:
        assert field in body.get("errors", {}), body
    return body


def set_columns(app, model, record_id, **values) -> None:
    """Change columns of one row behind the application's back (time travel, tampering)."""
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(model).where(model.id == record_id).values(**values))


def audit_events(app, action=None) -> list[AuditEvent]:
    """The audit events written so far (of `action`), in insertion order (`seq` waits for the
    sealer)."""
    with app.app_context(), transaction.session_scope() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        events = session.scalars(query).all()
        session.expunge_all()
        return events
