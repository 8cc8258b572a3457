"""What the bench scripts share: a seeded PostgreSQL database, the registry under gunicorn as
production runs it (REGISTRY_ENV=production, real keys), and a tiny JSON client.

Used by bench/cad_lookup.py, bench/load_test.py and bench/faults.py.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import synthetic  # noqa: E402
from registry import create_app, transaction  # noqa: E402
from registry.facilities.models import Facility  # noqa: E402

KEYS = {
    "REGISTRY_JWT_SECRET": "bench-jwt-key-0123456789-0123456789-abcdef",
    "REGISTRY_SECRET_KEY": "bench-flask-key-0123456789-0123456789-abcdef",
    "REGISTRY_FIELD_KEYS": "bench1:YmVuY2gtZmllbGQta2V5LTAxMjM0NTY3ODktYWJjZGU",
    "REGISTRY_PACK_SIGNING_KEY": "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=",
    # The limiter still counts every request (its cost is measured), but a benchmark that
    # drives one CAD client at thousands of requests a second, or logs 40 users in from one
    # address, must not be refused.
    "REGISTRY_RATE_LIMIT": "100000000/minute",
    "REGISTRY_CAD_RATE_LIMIT": "100000000/minute",
    "REGISTRY_LOGIN_RATE_LIMIT": "100000000/minute",
    "REGISTRY_LOGIN_ADDRESS_RATE_LIMIT": "100000000/minute",
}


def database_url(base: str, size: int, prefix: str = "registry_bench") -> str:
    return make_url(base).set(database=f"{prefix}_{size}").render_as_string(False)


def app_for(url: str):
    """The registry app on `url` with the bench keys, for seeding and reading in-process."""
    return create_app(
        {
            "REGISTRY_DATABASE_URL": url,
            "JWT_SECRET_KEY": KEYS["REGISTRY_JWT_SECRET"],
            "SECRET_KEY": KEYS["REGISTRY_SECRET_KEY"],
            "REGISTRY_FIELD_KEYS": KEYS["REGISTRY_FIELD_KEYS"],
            "REGISTRY_PACK_SIGNING_KEY": KEYS["REGISTRY_PACK_SIGNING_KEY"],
        }
    )


def prepare_database(
    base: str, size: int, prefix: str = "registry_bench", fresh: bool = False
) -> str:
    """A database `<prefix>_<size>` at the current schema holding `size` synthetic facilities.

    Reused while it has the right number of facilities, the migration head and a finished load
    (see synthetic.COMPLETE), unless `fresh`.
    """
    url = database_url(base, size, prefix)
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    if not fresh:
        try:
            engine = create_engine(url)
            with engine.connect() as connection:
                have = connection.scalar(select(func.count()).select_from(Facility))
                schema = connection.scalar(text("SELECT version_num FROM alembic_version"))
                complete = synthetic.is_complete(connection)
            engine.dispose()
            if have == size and schema == head and complete:
                print(f"[{size}] reusing {url} ({have} facilities)")
                return url
            print(f"[{size}] rebuilding {url} (an older schema or seeding, or an unfinished load)")
        except Exception as exc:  # no database yet, or no schema: build it
            print(f"[{size}] building {url} ({type(exc).__name__})")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    env = {**os.environ, **KEYS, "REGISTRY_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    started = time.monotonic()
    app = app_for(url)
    with app.app_context(), transaction.session_scope() as session:
        organization_ids = synthetic.seed_partners(session)
    app.extensions["registry.engine"].dispose()
    steps = synthetic.load_facilities(url, size, organization_ids)
    seconds = time.monotonic() - started
    print(
        f"[{size}] seeded {size} facilities in {seconds:.0f} s ({size / seconds:,.0f} a second; "
        + ", ".join(f"{step} {took:.0f} s" for step, took in steps.items())
        + ")"
    )
    return url


def drop_database(base: str, url: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def start_server(
    app_path: str,
    port: int,
    workers: int,
    env_extra: dict,
    log_path: Path | None = None,
    extra_args: tuple[str, ...] = (),
) -> subprocess.Popen:
    """gunicorn as production runs it; its own process group, so `stop` ends the lot.

    With `log_path`, gunicorn's output (error log, and the access log if `extra_args` asks for
    it on "-") goes to that file instead of this terminal.
    """
    env = {
        **os.environ,
        **KEYS,
        "REGISTRY_ENV": "production",
        "REGISTRY_ACCESS_TOKEN_MINUTES": "240",
        **env_extra,
    }
    output = open(log_path, "ab") if log_path else None  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", *extra_args, app_path],
            cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output,
        )  # fmt: skip
    finally:
        if output:
            output.close()
    return process


def gunicorn_settings(worker_class: str, threads: int = 4, keep_alive: int = 5) -> tuple[str, ...]:
    """gunicorn arguments for a worker class, for `start_server`'s `extra_args`.

    sync (gunicorn's default): one request at a time per worker, and the connection is closed
    after each response. gthread: `threads` requests at a time per worker, and an idle
    connection is kept open `keep_alive` seconds for the client's next request.
    """
    if worker_class == "sync":
        return ("--worker-class", "sync")
    return ("--worker-class", "gthread", "--threads", str(threads), "--keep-alive", str(keep_alive))


def wait_until_sealed(url: str, timeout: float = 60) -> int:
    """Wait until the sealers of a running server have sealed every audit event in the
    database at `url`; returns how many still wait after `timeout` seconds.

    Call it before stopping a server: events it appended in its last moments would otherwise
    wait for the next server's sealers, and its /readyz would say 503 until they ran.
    """
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                waiting = connection.scalar(
                    text("SELECT count(*) FROM audit_events WHERE seq IS NULL")
                )
            if waiting == 0 or time.monotonic() > deadline:
                return waiting
            time.sleep(0.5)
    finally:
        engine.dispose()


def wait_ready(url: str, timeout: float = 180) -> None:
    """Wait until `url` answers 2xx. Generous: four workers importing the registry at once on a
    busy two-core machine take tens of seconds to boot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


def call(base: str, path: str, token: str | None = None, body: dict | None = None):
    request = urllib.request.Request(base + path)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
