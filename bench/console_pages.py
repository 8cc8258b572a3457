"""Web console benchmark (issue 13): the server time of the console's main pages with 500
facilities in one organization, on PostgreSQL.

    .venv/bin/python bench/console_pages.py [--database-url postgresql://postgres@127.0.0.1:5432/registry_bench_console]
        [--requests 300] [--warmup 30] [--fresh] [--profile PAGE]

The database (created when missing) gets the schema from the migrations and the synthetic
registry of bench/synthetic.py with all its --facilities (500) in one organization, each with
two contacts, three access points and two tactical points; the organization shares them with
the bench agency through an active MOU; there are a facility manager for every partner
organization, agency users and an administrator (password PASSWORD). Every pre-plan's rendering
is stored first, as `flask preplans render` leaves them. The database is reused while it holds
that finished load at the migrations' head (--fresh builds it again); anything else in it is
dropped.

Each page is requested in-process through Flask's test client, signed in through the sign-in
form like a browser (cookie and form token): a facility manager (the dashboard's "needing
attention" view, "all facilities" page 1 and page 15, a search, a facility page), an agency user
(the look-up page with an address, a pre-plan page) and an administrator (the users list). The
time is the app's handling of the request (a WSGI wrapper: from the call to the last byte of the
body), --warmup requests first, then --requests timed ones; the pages that take an id walk
through 50 facilities. Pages whose view is not in this checkout are skipped with a message.
Prints p50, p95, the SQL statements per request and the issue's target (p50 under 100 ms) for
each page. --profile PAGE runs cProfile over that page's requests and prints what took the time.
"""

import argparse
import cProfile
import io
import pstats
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alembic import command as alembic_command  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import create_engine, event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import synthetic  # noqa: E402
from bench.harness import KEYS  # noqa: E402
from registry import create_app, db, transaction  # noqa: E402
from registry.agencies.models import Agency  # noqa: E402
from registry.auth.models import User  # noqa: E402
from registry.auth.passwords import hash_secret  # noqa: E402
from registry.cli import alembic_config  # noqa: E402
from registry.facilities.models import Facility  # noqa: E402
from registry.organizations.models import Organization  # noqa: E402
from registry.preplans.document import render_unrendered  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/registry_bench_console"
PASSWORD = "bench-console-password-1"
TARGET_P50_MS = 100.0
MANAGER, OFFICER, ADMIN = "bench.manager", "bench.officer", "bench.admin"
WALK = 50  # facilities the id-taking pages walk through
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- the database ------------------------------------------------------------------------------


def prepare(url: str, facilities: int, fresh: bool) -> None:
    """The database at `url` holding the finished load (see the module docstring)."""
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    _create_database(url)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            ready = (
                not fresh
                and connection.scalar(text("SELECT to_regclass('alembic_version')")) is not None
                and connection.scalar(text("SELECT version_num FROM alembic_version")) == head
                and synthetic.is_complete(connection)
                and connection.scalar(select(func.count()).select_from(Facility)) == facilities
                and connection.scalar(select(User.id).where(User.username == ADMIN)) is not None
            )
            if ready:
                print(f"reusing {_safe(url)} ({facilities} facilities in one organization)")
                return
        print(f"building {_safe(url)}: the migrations, then {facilities} facilities")
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
    started = time.monotonic()
    app = bench_app(url)
    with app.app_context():
        alembic_command.upgrade(alembic_config(), "head")
        with transaction.session_scope() as session:
            organization_ids = synthetic.seed_partners(session)
        # Every facility in the first organization: the dashboard's worst case.
        synthetic.load_facilities(url, facilities, organization_ids[:1])
        with transaction.session_scope() as session:
            _seed_people(session, organization_ids)
        while True:
            with transaction.session_scope() as session:
                if render_unrendered(session, 500) < 500:
                    break
        db.engine().dispose()
    print(f"built in {time.monotonic() - started:.0f} s")


def _create_database(url: str) -> None:
    name = make_url(url).database
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        )
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()


def _seed_people(session, organization_ids: list[int]) -> None:
    """A facility manager per partner organization, ten agency users, one administrator."""
    password_hash = hash_secret(PASSWORD)
    agency_id = session.scalar(select(Agency.id))
    people = [
        User(username=MANAGER, full_name="Bench Manager", role="facility_manager",
             organization_id=organization_ids[0], password_hash=password_hash),
        User(username=OFFICER, full_name="Bench Officer", role="agency_user",
             agency_id=agency_id, password_hash=password_hash),
        User(username=ADMIN, full_name="Bench Admin", role="admin", password_hash=password_hash),
    ]  # fmt: skip
    people += [
        User(username=f"manager.{n}", full_name=f"Manager {n}", role="facility_manager",
             organization_id=organization_id, password_hash=password_hash)
        for n, organization_id in enumerate(organization_ids[1:], start=1)
    ]  # fmt: skip
    people += [
        User(username=f"officer.{n}", full_name=f"Officer {n}", role="agency_user",
             agency_id=agency_id, password_hash=password_hash)
        for n in range(1, 10)
    ]  # fmt: skip
    session.add_all(people)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def bench_app(url: str):
    return create_app(
        {
            "REGISTRY_DATABASE_URL": url,
            "JWT_SECRET_KEY": KEYS["REGISTRY_JWT_SECRET"],
            "SECRET_KEY": KEYS["REGISTRY_SECRET_KEY"],
            "REGISTRY_FIELD_KEYS": KEYS["REGISTRY_FIELD_KEYS"],
            "REGISTRY_PACK_SIGNING_KEY": KEYS["REGISTRY_PACK_SIGNING_KEY"],
            "REGISTRY_RATE_LIMIT": KEYS["REGISTRY_RATE_LIMIT"],
            "REGISTRY_LOGIN_RATE_LIMIT": KEYS["REGISTRY_LOGIN_RATE_LIMIT"],
        }
    )


# --- measuring ---------------------------------------------------------------------------------


class Timed:
    """WSGI wrapper: the time the app takes over a request, body included, and the SQL
    statements it ran with the time they took (from sending each to having its result)."""

    def __init__(self, app):
        self.app, self.wsgi_app = app, app.wsgi_app
        self.seconds, self.statements, self.sql_seconds = 0.0, 0, 0.0
        self._sent = 0.0
        app.wsgi_app = self
        with app.app_context():
            event.listen(db.engine(), "before_cursor_execute", self._before)
            event.listen(db.engine(), "after_cursor_execute", self._after)

    def _before(self, *args) -> None:
        self.statements += 1
        self._sent = time.perf_counter()

    def _after(self, *args) -> None:
        self.sql_seconds += time.perf_counter() - self._sent

    def __call__(self, environ, start_response):
        self.statements, self.sql_seconds = 0, 0.0
        started = time.perf_counter()
        body = b"".join(self.wsgi_app(environ, start_response))
        self.seconds = time.perf_counter() - started
        return [body]


@dataclass
class Page:
    """One page as one person asks for it: `request(client, n)` makes the n-th request."""

    name: str
    person: str
    endpoint: str
    request: object
    skipped: str | None = None
    times_ms: list = field(default_factory=list)
    sql_ms: list = field(default_factory=list)
    statements: int = 0


class Person:
    """A browser signed in through the sign-in form."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        page = self.client.get("/console/sign-in")
        token = CSRF.search(page.get_data(as_text=True)).group(1)
        answer = self.client.post(
            "/console/sign-in",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
        )
        assert answer.status_code == 302, f"{username} could not sign in ({answer.status_code})"
        self.csrf = CSRF.search(self.client.get("/console/account").get_data(as_text=True)).group(1)

    def get(self, path: str):
        return self.client.get(path)

    def post(self, path: str, data: dict):
        return self.client.post(path, data={**data, "csrf_token": self.csrf})


def pages(app, facility_ids: list[int], addresses: list[str]) -> list[Page]:
    urls = app.url_map.bind("localhost")

    def url_for(endpoint: str, **values) -> str:
        return urls.build(endpoint, values)

    def walk(n: int) -> int:
        return facility_ids[n % len(facility_ids)]

    def look_up(person: Person, n: int):
        path = url_for("console.search")
        rule = next(app.url_map.iter_rules("console.search"))
        if "POST" in rule.methods:  # the form keeps a caller's address out of URLs
            return person.post(path, {"way": "address", "address": addresses[n % len(addresses)]})
        return person.get(f"{path}?address={addresses[n % len(addresses)]}")

    dashboard = "console.dashboard"
    return [
        Page("dashboard: needing attention", MANAGER, dashboard,
             lambda p, n: p.get(url_for(dashboard))),
        Page("dashboard: all, page 1", MANAGER, dashboard,
             lambda p, n: p.get(url_for(dashboard, view="all"))),
        Page("dashboard: all, page 15", MANAGER, dashboard,
             lambda p, n: p.get(url_for(dashboard, view="all", page=15))),
        Page("dashboard: search", MANAGER, dashboard,
             lambda p, n: p.get(url_for(dashboard, view="all", q="Springfield"))),
        Page("facility page", MANAGER, "console.facility",
             lambda p, n: p.get(url_for("console.facility", facility_id=walk(n)))),
        Page("look up an address", OFFICER, "console.search", look_up),
        Page("pre-plan page", OFFICER, "console.preplan",
             lambda p, n: p.get(url_for("console.preplan", facility_id=walk(n)))),
        Page("admin: users", ADMIN, "console.admin_users",
             lambda p, n: p.get(url_for("console.admin_users"))),
    ]  # fmt: skip


def measure(timer: Timed, page: Page, person: Person, warmup: int, requests: int, profile):
    for n in range(warmup):
        _checked(page, page.request(person, n))
    if profile is not None:
        profile.enable()
    for n in range(requests):
        _checked(page, page.request(person, n))
        page.times_ms.append(timer.seconds * 1000)
        page.sql_ms.append(timer.sql_seconds * 1000)
        page.statements = max(page.statements, timer.statements)
    if profile is not None:
        profile.disable()


def _checked(page: Page, response) -> None:
    if response.status_code != 200:
        raise SystemExit(f"{page.name}: HTTP {response.status_code}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a PostgreSQL database")
    parser.add_argument("--facilities", type=int, default=500)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=WALK, help="untimed requests per page first")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--profile", metavar="PAGE", help="cProfile the pages whose name has this")
    args = parser.parse_args()
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url: a PostgreSQL database (the issue's target is on PostgreSQL)")

    prepare(args.database_url, args.facilities, args.fresh)
    app = bench_app(args.database_url)
    timer = Timed(app)
    with app.app_context(), transaction.session_scope() as session:
        organization_id = session.scalar(
            select(Facility.organization_id).group_by(Facility.organization_id)
        )
        facility_ids = list(
            session.scalars(
                select(Facility.id)
                .where(Facility.organization_id == organization_id)
                .order_by(Facility.id)
                .limit(WALK)
            )
        )
        addresses = [
            f"{row.address_line1}, {row.city}, {row.state} {row.postal_code}"
            for row in session.execute(
                select(Facility.address_line1, Facility.city, Facility.state, Facility.postal_code)
                .where(Facility.id.in_(facility_ids))
                .order_by(Facility.id)
            )
        ]
        name = session.get(Organization, organization_id).name
    print(f"{args.facilities} facilities in {name}; {args.warmup} requests to warm up, then "
          f"{args.requests} timed, per page")  # fmt: skip

    planned = pages(app, facility_ids, addresses)
    people: dict[str, Person] = {}
    for page in planned:
        if page.endpoint not in app.view_functions:
            page.skipped = f"skipped: no view {page.endpoint} in this checkout"
            print(f"{page.name}: {page.skipped}")
            continue
        person = people.get(page.person) or people.setdefault(page.person, Person(app, page.person))
        profile = cProfile.Profile() if args.profile and args.profile in page.name else None
        measure(timer, page, person, args.warmup, args.requests, profile)
        if profile is not None:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
            print(f"--- profile of {page.name} ---\n{out.getvalue()}")

    print()
    header = (
        f"{'page':<30} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>4} {'SQL ms':>7} {'target':>12}  met?"
    )
    print(header)
    print("-" * len(header))
    for page in planned:
        if page.skipped:
            print(f"{page.name:<30} {'—':>8} {'—':>8} {'—':>4} {'—':>7} {'p50 < 100 ms':>12}  "
                  f"{page.skipped}")  # fmt: skip
            continue
        p50 = statistics.median(page.times_ms)
        p95 = percentile(page.times_ms, 0.95)
        sql = statistics.median(page.sql_ms)
        met = "yes" if p50 < TARGET_P50_MS else "NO"
        print(f"{page.name:<30} {p50:>8.1f} {p95:>8.1f} {page.statements:>4} {sql:>7.1f} "
              f"{'p50 < 100 ms':>12}  {met}")  # fmt: skip
    print(
        "SQL: the most statements one request ran; SQL ms: the median time a request waited "
        "for them"
    )


if __name__ == "__main__":
    main()
