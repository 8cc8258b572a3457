"""Faults: the registry under load on PostgreSQL while the database stops and a worker dies.

    .venv/bin/python bench/faults.py [--facilities 2000] [--down 10] [--kills 1]

Seeds a fresh PostgreSQL database `registry_faults_<facilities>` with bench/synthetic.py, starts
the service as production would (gunicorn, REGISTRY_ENV=production), and then:

1. Database outage. Threads send CAD lookups, pre-plan reads and contact creations (as a
   facility manager) through the API, and probe /healthz and /readyz, all the time. After a few
   seconds PostgreSQL is stopped (`pg_ctlcluster … stop -m fast`), kept down for `--down`
   seconds, and started again. Promises checked: while it is down every API response is 503
   application/problem+json and /readyz is 503; no response is ever a 500 or a dropped
   connection; /healthz is 200 throughout; after the restart the service answers normally again
   within `--recover-within` seconds by itself (same gunicorn workers, no restart); every
   acknowledged (201) create is in the database.
2. Worker killed mid-request. `--writers` threads create contacts and facilities with unique
   names, counting every 201; meanwhile a gunicorn worker that is serving a request (it holds an
   accepted client connection) is sent SIGKILL. Promises checked: every acknowledged create is in
   the database afterwards, no response is a 500, gunicorn replaces the worker.

PostgreSQL is shared by everyone's tests on this machine, so: the script waits (up to
`--wait-for-others` seconds, then gives up without stopping anything) while sessions of other
databases are open, and it starts PostgreSQL again in a `finally` block whatever happens
(failure, Ctrl-C, SIGTERM, SIGHUP). Only SIGKILL cannot be caught; after one, run
`pg_ctlcluster --skip-systemctl-redirect <version> main start` by hand.
Exits 1 if any promise is broken.
"""

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench import synthetic
from bench.harness import (
    app_for,
    call,
    database_url,
    drop_database,
    prepare_database,
    start_server,
    stop,
    wait_ready,
)
from registry import transaction
from registry.api.router import API_PREFIX
from registry.auth.passwords import create_user
from registry.contacts.models import Contact
from registry.facilities.models import Facility
from registry.organizations.models import Organization

PASSWORD = "faults-password-0123456789"
PROBLEM_JSON = "application/problem+json"
EXPECTED = {  # what each kind of request answers when all is well
    "lookup by address": 200,
    "lookup by coordinates": 200,
    "pre-plan read": 200,
    "POST contact": 201,
    "POST facility": 201,
    "/healthz": 200,
    "/readyz": 200,
}


# ---------------------------------------------------------------------------------------------
# PostgreSQL: stop, start, and the guarantee that it is running again when we leave


def cluster() -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    if len(versions) != 1:
        raise SystemExit(f"expected one PostgreSQL cluster under /etc/postgresql, found {versions}")
    return [versions[0], "main"]


def pg_ctl(action: str) -> None:
    extra = ["-m", "fast"] if action == "stop" else []
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster(), action, *extra],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


def pg_running() -> bool:
    status = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", *cluster(), "status"],
        capture_output=True,
        timeout=30,
    )
    return status.returncode == 0


def pg_accepting() -> bool:
    ready = subprocess.run(
        ["pg_isready", "-q", "-h", "127.0.0.1", "-p", port_of_cluster()],
        capture_output=True,
        timeout=30,
    )
    return ready.returncode == 0


def port_of_cluster() -> str:
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    version, name = cluster()
    for line in listing.stdout.splitlines():
        fields = line.split()
        if fields[:2] == [version, name]:
            return fields[2]
    raise SystemExit(f"pg_lsclusters does not list {version} {name}")


def ensure_postgres_running() -> None:
    """Leave PostgreSQL accepting connections, whatever state it is in; never cut short by Ctrl-C.

    A stop that was interrupted may still be shutting the server down, so "running" is not
    enough: wait until it either accepts connections (twice, a second apart) or has stopped, and
    start it in the second case.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if pg_accepting():
                    time.sleep(1)
                    if pg_accepting():
                        return
                elif not pg_running():
                    print("PostgreSQL is down: starting it again", flush=True)
                    pg_ctl("start")
                else:
                    time.sleep(0.5)  # shutting down or starting up
            except Exception as exc:
                print(f"starting PostgreSQL: {exc}", flush=True)
                time.sleep(2)
        print("!! PostgreSQL could NOT be restarted: run `pg_ctlcluster "
              f"--skip-systemctl-redirect {' '.join(cluster())} start`", flush=True)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)


def others_on_postgres(base: str, ours: str) -> list[str]:
    """Sessions of other databases: someone else's tests, which a stop would cut off."""
    engine = create_engine(base)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT datname, application_name, state FROM pg_stat_activity "
                    "WHERE datname IS NOT NULL AND datname <> :ours AND pid <> pg_backend_pid()"
                ),
                {"ours": ours},
            ).all()
    finally:
        engine.dispose()
    return [f"{r.datname} ({r.application_name or '-'}, {r.state})" for r in rows]


def wait_until_alone(args, url: str) -> None:
    """Stopping a shared PostgreSQL under someone's running tests would fail them: wait."""
    ours = make_url(url).database
    deadline = time.monotonic() + args.wait_for_others
    while others := others_on_postgres(args.postgres, ours):
        if args.force:
            print(f"  --force: stopping PostgreSQL although others use it: {others}")
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                f"PostgreSQL is in use by others ({', '.join(others)}); not stopping it. "
                "Retry when it is idle, or pass --force."
            )
        print(f"  waiting: others use PostgreSQL: {', '.join(others)}", flush=True)
        time.sleep(5)


# ---------------------------------------------------------------------------------------------
# One HTTP request, recorded whatever happens


@dataclass
class Result:
    kind: str
    started: float
    finished: float
    status: int | None  # None: no HTTP response (refused, reset, timed out)
    content_type: str = ""
    body: bytes = b""
    error: str = ""
    retry_after: str | None = None
    sent: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status == EXPECTED[self.kind]

    @property
    def problem_503(self) -> bool:
        if self.status != 503 or self.content_type.split(";")[0].strip() != PROBLEM_JSON:
            return False
        try:
            return json.loads(self.body).get("status") == 503
        except ValueError:
            return False

    def json(self) -> dict:
        return json.loads(self.body)

    def describe(self) -> str:
        what = f"HTTP {self.status} {self.content_type}" if self.status else self.error
        return f"{self.kind} at +{self.started - T0:.2f}s: {what} {self.body[:200]!r}"


T0 = time.monotonic()


def send(base: str, kind: str, method: str, path: str, token=None, body=None) -> Result:
    url = urllib.parse.urlsplit(base)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=15)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        return Result(
            kind, started, time.monotonic(), response.status,
            response.getheader("Content-Type", ""), payload, "",
            response.getheader("Retry-After"), body,
        )  # fmt: skip
    except (OSError, http.client.HTTPException) as exc:
        return Result(kind, started, time.monotonic(), None, error=type(exc).__name__, sent=body)
    finally:
        connection.close()


class Load:
    """Request loops on threads, each appending its results, until stopped."""

    def __init__(self):
        self.results: list[Result] = []
        self.halt = threading.Event()
        self.threads: list[threading.Thread] = []

    def loop(self, make_request, pause: float) -> None:
        def run():
            while not self.halt.is_set():
                self.results.append(make_request())
                time.sleep(pause)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)

    def stop(self) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(timeout=30)


# ---------------------------------------------------------------------------------------------
# Setup


def setup(url: str) -> dict:
    app = app_for(url)
    with app.app_context(), transaction.session_scope() as session:
        sites = synthetic.sample_sites(session, 200)
        organization_id = session.scalar(
            select(Organization.id).where(Organization.name == "Bench Partner 0")
        )
        create_user(
            session,
            username="faults.manager",
            password=PASSWORD,
            role="facility_manager",
            organization_id=organization_id,
        )
        own = session.scalars(
            select(Facility.id).where(Facility.organization_id == organization_id).limit(20)
        ).all()
    app.extensions["registry.engine"].dispose()
    return {"sites": sites, "own_facilities": own}


def workers_of(master: int) -> list[psutil.Process]:
    return psutil.Process(master).children()


def busy_worker(master: int, port: int, timeout: float = 3) -> tuple[psutil.Process, bool]:
    """A worker holding an accepted client connection (serving a request), else any worker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in workers_of(master):
            try:
                connections = worker.net_connections(kind="tcp")
            except psutil.Error:
                continue
            if any(
                c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
                for c in connections
            ):
                return worker, True
        time.sleep(0.001)
    return random.choice(workers_of(master)), False


# ---------------------------------------------------------------------------------------------
# Reporting


class Verdicts:
    def __init__(self):
        self.rows: list[tuple[bool, str]] = []

    def check(self, kept: bool, promise: str, evidence: str = "") -> None:
        self.rows.append((kept, promise))
        print(f"  [{'KEPT' if kept else 'BROKEN'}] {promise}")
        if evidence:
            for line in evidence.splitlines():
                print(f"      {line}")

    @property
    def broken(self) -> int:
        return sum(not kept for kept, _ in self.rows)


def outcome(result: Result) -> str:
    if result.status is None:
        return result.error
    if result.status == 503:
        return "503 problem" if result.problem_503 else f"503 {result.content_type}"
    return str(result.status)


def histogram(results: list[Result]) -> str:
    counts = Counter(outcome(r) for r in results)
    return ", ".join(f"{k} x{v}" for k, v in sorted(counts.items())) or "-"


def print_phase_table(results: list[Result], phases: list[tuple[str, float, float]]) -> None:
    kinds = [k for k in EXPECTED if any(r.kind == k for r in results)]
    print("| phase | window (s from start) | " + " | ".join(kinds) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in kinds) + " |")
    for name, start, end in phases:
        inside = [r for r in results if start <= r.started < end]
        cells = [histogram([r for r in inside if r.kind == k]) for k in kinds]
        print(f"| {name} | {start - T0:.1f}-{end - T0:.1f} | " + " | ".join(cells) + " |")


def database_rows(url: str, prefix: str) -> dict[tuple[str, int], str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = {}
            for kind, model in (("POST contact", Contact), ("POST facility", Facility)):
                for row in connection.execute(
                    select(model.id, model.name).where(model.name.like(f"{prefix}%"))
                ):
                    rows[(kind, row.id)] = row.name
            return rows
    finally:
        engine.dispose()


def check_writes(
    url: str, prefix: str, writes: list[Result], verdicts: Verdicts, label: str
) -> None:
    acknowledged = [r for r in writes if r.status == 201]
    stored = database_rows(url, prefix)
    lost = [
        r for r in acknowledged if stored.get((r.kind, r.json()["id"])) != r.json()["name"]
    ]  # fmt: skip
    acknowledged_names = {r.json()["name"] for r in acknowledged}
    unacknowledged = [r for r in writes if r.status != 201]
    applied_anyway = [
        r for r in unacknowledged if r.sent and r.sent["name"] in set(stored.values())
    ]
    print(
        f"  {label}: {len(writes)} creates sent, {len(acknowledged)} acknowledged (201), "
        f"{len(unacknowledged)} not ({histogram(unacknowledged)}); "
        f"{len(stored)} rows with the run's names in the database"
    )
    if applied_anyway:
        print(
            f"  {len(applied_anyway)} create(s) without a 201 are in the database anyway "
            "(committed, then the answer was lost: the client cannot tell; idempotency keys "
            "are the cure): " + "; ".join(r.describe() for r in applied_anyway[:5])
        )
    stray = set(stored.values()) - acknowledged_names - {r.sent["name"] for r in writes if r.sent}
    verdicts.check(
        not lost and not stray,
        f"{label}: every acknowledged create is in the database ({len(acknowledged)} checked)",
        "\n".join(
            [f"LOST: {r.describe()}" for r in lost[:20]]
            + [f"unexpected row: {name}" for name in sorted(stray)[:20]]
        ),
    )


# ---------------------------------------------------------------------------------------------
# The two experiments


def outage(args, base: str, url: str, master: int, plan: dict, tokens: dict, run: str) -> None:
    verdicts = args.verdicts
    sites, own = plan["sites"], plan["own_facilities"]
    load = Load()
    counter = iter(range(10**9))

    def lookup_address():
        site = random.choice(sites)
        query = urllib.parse.urlencode({"address": site.address})
        return send(base, "lookup by address", "GET", f"{API_PREFIX}/preplans/lookup?{query}", tokens["cad"])  # fmt: skip

    def lookup_coordinates():
        site = random.choice(sites)
        path = f"{API_PREFIX}/preplans/lookup?lat={site.lat:.6f}&lon={site.lon:.6f}"
        return send(base, "lookup by coordinates", "GET", path, tokens["cad"])

    def preplan():
        path = f"{API_PREFIX}/preplans/{random.choice(sites).facility_id}"
        return send(base, "pre-plan read", "GET", path, tokens["cad"])

    def create_contact():
        body = {"name": f"{run}-outage-{next(counter)}", "role": "Night security"}
        path = f"{API_PREFIX}/facilities/{random.choice(own)}/contacts"
        return send(base, "POST contact", "POST", path, tokens["manager"], body)

    for make in (lookup_address, lookup_coordinates, preplan):
        load.loop(make, 0.02)
    load.loop(create_contact, 0.05)
    load.loop(lambda: send(base, "/healthz", "GET", "/healthz"), 0.2)
    load.loop(lambda: send(base, "/readyz", "GET", "/readyz"), 0.2)

    # When PostgreSQL accepts connections, as pg_isready sees it ten times a second.
    accepting: list[tuple[float, bool]] = []

    def watch_postgres():
        while not load.halt.is_set():
            accepting.append((time.monotonic(), pg_accepting()))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch_postgres, daemon=True)
    watcher.start()
    load.threads.append(watcher)

    workers_before = sorted(w.pid for w in workers_of(master))
    print(f"\n== 1. database outage under load (workers {workers_before})")
    try:
        time.sleep(args.baseline)
        wait_until_alone(args, url)
        stopping = time.monotonic()
        print(f"  +{stopping - T0:.1f}s stopping PostgreSQL (-m fast)", flush=True)
        pg_ctl("stop")
        down = time.monotonic()
        print(
            f"  +{down - T0:.1f}s PostgreSQL is down; keeping it down {args.down:g} s", flush=True
        )
        time.sleep(args.down)
        starting = time.monotonic()
        print(f"  +{starting - T0:.1f}s starting PostgreSQL", flush=True)
        pg_ctl("start")
        up = time.monotonic()
        print(f"  +{up - T0:.1f}s pg_ctlcluster start returned", flush=True)
        time.sleep(args.after)
    finally:
        load.stop()
    end = time.monotonic()
    workers_after = sorted(w.pid for w in workers_of(master))
    results = load.results
    api = [r for r in results if not r.kind.startswith("/")]

    # When did PostgreSQL accept connections again, and the service answer normally again?
    back = min((at for at, ok in accepting if ok and at >= starting), default=up)
    print(f"  +{back - T0:.1f}s pg_isready: PostgreSQL accepts connections again")
    after = [r for r in results if r.started >= starting and r.kind != "/healthz"]
    last_failure = max((r.finished for r in after if not r.ok), default=None)
    recovered_at = max(back, last_failure or back)
    recovery = recovered_at - back
    print(
        f"  +{recovered_at - T0:.1f}s last abnormal answer; the service recovered "
        f"{recovery:.2f} s after PostgreSQL accepted connections"
    )
    phases = [
        ("before", T0, stopping),
        ("stopping (pg_ctlcluster stop)", stopping, down),
        ("down", down, starting),
        ("starting, not yet accepting", starting, back),
        ("accepting, service recovering", back, recovered_at),
        ("recovered", recovered_at, end + 1),
    ]
    print()
    print_phase_table(results, phases)
    print()
    down_window = [r for r in results if r.started >= down and r.finished <= starting]
    down_api = [r for r in down_window if not r.kind.startswith("/")]
    print(
        f"  {len(results)} requests; {len(down_window)} sent and answered while PostgreSQL was down"
    )
    retry_after = Counter(r.retry_after for r in api if r.status == 503)
    if retry_after:
        print(f"  Retry-After on the 503s: {dict(retry_after)}")

    five_hundreds = [r for r in results if r.status is not None and r.status >= 500 and not r.problem_503]  # fmt: skip
    verdicts.check(
        not five_hundreds,
        "no response is a 5xx other than 503 problem+json (never a 500)",
        "\n".join(r.describe() for r in five_hundreds[:10]),
    )
    dropped = [r for r in results if r.status is None]
    verdicts.check(
        not dropped,
        "every request got an HTTP response (no refused/reset/timed-out connection)",
        "\n".join(r.describe() for r in dropped[:10]),
    )
    wrong_down = [r for r in down_api if not r.problem_503]
    verdicts.check(
        bool(down_api) and not wrong_down,
        f"while down, every API response is 503 application/problem+json ({len(down_api)} seen)",
        "\n".join(r.describe() for r in wrong_down[:10]),
    )
    transitions = [
        r for r in api if r.finished > stopping and r.started < recovered_at and not (r.ok or r.problem_503)
    ]  # fmt: skip
    verdicts.check(
        not transitions,
        "while stopping and starting, API responses are either normal or 503 problem+json",
        "\n".join(r.describe() for r in transitions[:10]),
    )
    ready_down = [r for r in down_window if r.kind == "/readyz"]
    verdicts.check(
        bool(ready_down) and all(r.problem_503 for r in ready_down),
        f"/readyz is 503 while down ({histogram(ready_down)})",
    )
    ready_after = [r for r in results if r.kind == "/readyz" and r.started >= recovered_at]
    verdicts.check(
        bool(ready_after) and all(r.status == 200 for r in ready_after),
        f"/readyz is 200 after the restart ({histogram(ready_after)})",
    )
    health = [r for r in results if r.kind == "/healthz"]
    verdicts.check(
        bool(health) and all(r.status == 200 for r in health),
        f"/healthz is 200 throughout ({histogram(health)})",
    )
    settled = [r for r in results if r.started >= recovered_at]
    kinds_back = {r.kind for r in settled if r.ok}
    verdicts.check(
        recovery <= args.recover_within and kinds_back >= {r.kind for r in results},
        f"recovers by itself within {args.recover_within:g} s of PostgreSQL accepting connections: "
        f"{recovery:.2f} s, then {len(settled)} requests all normal ({histogram(settled)})",
    )
    verdicts.check(
        workers_before == workers_after,
        f"no gunicorn restart: the same workers before and after ({workers_after})",
    )
    check_writes(
        url,
        f"{run}-outage-",
        [r for r in results if r.kind == "POST contact"],
        verdicts,
        "outage",
    )


def kill_worker(args, base: str, url: str, master: int, plan: dict, tokens: dict, run: str) -> None:
    verdicts = args.verdicts
    own = plan["own_facilities"]
    load = Load()
    print(
        f"\n== 2. a worker killed (SIGKILL) in the middle of a burst of creates ({args.writers} writers)"
    )

    def writer(n: int):
        count = iter(range(10**9))

        def create():
            i = next(count)
            name = f"{run}-kill-{n}-{i}"
            if i % 2:
                body = {
                    "name": name, "facility_type": "retail_store",
                    "address_line1": f"{100 + n * 1000 + i % 900} Faults Test Rd",
                    "city": "Springfield", "state": "IL", "postal_code": "62701",
                }  # fmt: skip
                return send(base, "POST facility", "POST", f"{API_PREFIX}/facilities", tokens["manager"], body)  # fmt: skip
            path = f"{API_PREFIX}/facilities/{random.choice(own)}/contacts"
            return send(base, "POST contact", "POST", path, tokens["manager"], {"name": name})

        return create

    for n in range(args.writers):
        load.loop(writer(n), 0)
    killed = []
    try:
        time.sleep(args.burst)
        for _ in range(args.kills):
            worker, serving = busy_worker(master, args.port)
            worker.send_signal(signal.SIGKILL)
            at = time.monotonic()
            killed.append((worker.pid, at))
            state = "while it served a request" if serving else "(no worker was seen serving)"
            print(f"  +{at - T0:.2f}s SIGKILL worker {worker.pid} {state}", flush=True)
            time.sleep(1.5)
        time.sleep(args.burst)
    finally:
        load.stop()
    results = load.results
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(workers_of(master)) < args.workers:
        time.sleep(0.2)
    workers = sorted(w.pid for w in workers_of(master))
    print(
        f"  {len(results)} creates in {results[-1].finished - results[0].started:.1f} s: {histogram(results)}"
    )
    dropped = [r for r in results if r.status is None]
    for r in dropped:
        print(f"  no answer: {r.describe()} (sent {r.sent['name']})")
    five_hundreds = [r for r in results if r.status is not None and r.status >= 500]
    verdicts.check(
        not five_hundreds,
        "no create answered with a 5xx",
        "\n".join(r.describe() for r in five_hundreds[:10]),
    )
    others = [r for r in results if r.status is not None and r.status < 500 and not r.ok]
    verdicts.check(
        not others, "every answered create is 201", "\n".join(r.describe() for r in others[:10])
    )
    verdicts.check(
        len(workers) == args.workers and not {pid for pid, _ in killed} & set(workers),
        f"gunicorn replaced the killed worker(s): workers now {workers}",
    )
    check_writes(url, f"{run}-kill-", results, verdicts, "worker kill")
    probe = send(base, "/readyz", "GET", "/readyz")
    verdicts.check(probe.ok, f"the service still answers afterwards (/readyz {outcome(probe)})")


def interrupted(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facilities", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--baseline", type=float, default=5, help="seconds of load before the stop")
    parser.add_argument("--down", type=float, default=10, help="seconds PostgreSQL stays down")
    parser.add_argument("--after", type=float, default=10, help="seconds of load after the start")
    parser.add_argument(
        "--recover-within", type=float, default=5, help="seconds allowed to recover"
    )
    parser.add_argument("--writers", type=int, default=8, help="threads creating during the kill")
    parser.add_argument(
        "--burst", type=float, default=2, help="seconds of creates around the kills"
    )
    parser.add_argument("--kills", type=int, default=1, help="workers to kill, one at a time")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--port", type=int, default=18920)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--wait-for-others",
        type=float,
        default=300,
        help="seconds to wait for other databases' sessions to end before stopping PostgreSQL",
    )
    parser.add_argument(
        "--force", action="store_true", help="stop PostgreSQL even while others use it"
    )
    parser.add_argument("--out", type=Path, help="where to keep gunicorn's log")
    args = parser.parse_args()
    args.verdicts = Verdicts()
    out = args.out or Path(tempfile.mkdtemp(prefix="registry-faults-"))
    out.mkdir(parents=True, exist_ok=True)
    # SIGTERM and SIGHUP unwind like Ctrl-C, so the finally below always runs (SIGINT too, even
    # when started in the background, where a shell leaves it ignored).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)

    if not pg_running():
        sys.exit("PostgreSQL is not running; this script stops and starts it, it does not own it")
    url = database_url(args.postgres, args.facilities, prefix="registry_faults")
    base = f"http://127.0.0.1:{args.port}"
    run = f"faults-{uuid.uuid4().hex[:8]}"
    server = None
    log = out / "gunicorn.log"
    log.touch()
    try:
        wait_until_alone(args, url)
        prepare_database(args.postgres, args.facilities, prefix="registry_faults", fresh=True)
        plan = setup(url)
        server = start_server(
            "wsgi:app", args.port, args.workers, {"REGISTRY_DATABASE_URL": url}, log,
            ("--access-logfile", "-"),
        )  # fmt: skip
        wait_ready(base + "/readyz")
        tokens = {
            "cad": call(base, f"{API_PREFIX}/auth/token", body={"client_id": synthetic.CAD_CLIENT_ID, "client_secret": synthetic.CAD_CLIENT_SECRET})["access_token"],
            "manager": call(base, f"{API_PREFIX}/auth/login", body={"username": "faults.manager", "password": PASSWORD})["access_token"],
        }  # fmt: skip
        outage(args, base, url, server.pid, plan, tokens, run)
        kill_worker(args, base, url, server.pid, plan, tokens, run)
    finally:
        ensure_postgres_running()
        if server is not None:
            stop(server)
        if not args.keep and pg_running():
            drop_database(args.postgres, url)

    lines = log.read_text(errors="replace").splitlines()
    errors = [
        line for line in lines if "Traceback" in line or "ERROR" in line or "unhandled" in line
    ]
    expected = [line for line in errors if "was sent SIGKILL" in line]  # our own kills
    warnings = Counter(
        line.split("] ", 1)[-1] for line in lines if "WARNING" in line and '"' not in line
    )
    print(f"\ngunicorn log {log}: {len(lines)} lines (access log included)")
    for line, count in warnings.most_common():
        print(f"  {count} x {line}")
    for line in errors:
        print(f"  {'(expected) ' if line in expected else ''}{line}")
    args.verdicts.check(
        len(errors) == len(expected),
        "the gunicorn log has no error or traceback besides the workers we killed",
    )
    print(
        f"\n{len(args.verdicts.rows) - args.verdicts.broken} promises kept, {args.verdicts.broken} broken"
    )
    if args.verdicts.broken:
        sys.exit(1)


if __name__ == "__main__":
    main()
