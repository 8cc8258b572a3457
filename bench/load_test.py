"""Load test: the registry under a realistic mix on PostgreSQL under gunicorn, driven by locust.

    .venv/bin/python bench/load_test.py [--facilities 10000] [--users 40] [--duration 60]

Seeds (or reuses) the PostgreSQL database `registry_load_<facilities>` with bench/synthetic.py,
adds facility managers bound to seeded organizations and agency users of the seeded agency,
starts the service as production would (gunicorn, REGISTRY_ENV=production), runs
bench/load/locustfile.py headless with a fixed number of users for a fixed time, and prints, per
operation: requests, errors and error rate, p50/p95/p99 (ms). Edits refused with 412 because
another manager saved the same record first are counted on their own rows, not as errors.
The database is kept for the next run (rebuilt when the migrations or --facilities change, or
with --fresh; --drop drops it). Exits 1 if any request failed. Everything locust and gunicorn
wrote is kept in `--out` (default: a new directory under the system's temporary directory).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench import synthetic
from bench.harness import (
    ROOT,
    app_for,
    drop_database,
    prepare_database,
    start_server,
    stop,
    wait_ready,
)
from registry import transaction
from registry.agencies.models import Agency
from registry.api.router import API_PREFIX
from registry.auth.models import User
from registry.auth.passwords import create_user
from registry.contacts.models import Contact
from registry.facilities.models import AccessPoint, Facility
from registry.organizations.models import Organization

PASSWORD = "load-password-0123456789"
LOCUSTFILE = ROOT / "bench" / "load" / "locustfile.py"


def ensure_user(session, username: str, **binding) -> None:
    if session.scalar(select(User.id).where(User.username == username)) is None:
        create_user(session, username=username, password=PASSWORD, **binding)


def build_plan(url: str, args) -> dict:
    """Accounts and targets for the locust users, read from (and added to) the seeded database."""
    app = app_for(url)
    with app.app_context(), transaction.session_scope() as session:
        sites = synthetic.sample_sites(session, args.sites)
        agency_id = session.scalar(
            select(Agency.id).where(Agency.name == "Bench Police Department")
        )
        organizations = session.scalars(
            select(Organization.id)
            .where(Organization.name.like("Bench Partner %"))
            .order_by(Organization.id)
            .limit(args.managers)
        ).all()
        agency_users = []
        for n in range(args.agency_users):
            username = f"load.officer.{n}"
            ensure_user(session, username, role="agency_user", agency_id=agency_id)
            agency_users.append({"username": username, "password": PASSWORD})
        managers = []
        for n, organization_id in enumerate(organizations):
            username = f"load.manager.{n}"
            ensure_user(session, username, role="facility_manager", organization_id=organization_id)
            # A few records per organization, so two managers of it sometimes edit the same one.
            facility_ids = session.scalars(
                select(Facility.id)
                .where(Facility.organization_id == organization_id)
                .order_by(Facility.id)
                .limit(args.hot_records)
            ).all()
            contact_ids = session.scalars(
                select(Contact.id).where(Contact.facility_id.in_(facility_ids)).order_by(Contact.id)
            ).all()
            access_point_ids = session.scalars(
                select(AccessPoint.id)
                .where(AccessPoint.facility_id.in_(facility_ids))
                .order_by(AccessPoint.id)
            ).all()
            managers.append(
                {
                    "username": username,
                    "password": PASSWORD,
                    "organization_id": organization_id,
                    "records": {
                        "facility": facility_ids,
                        "contact": contact_ids[: args.hot_records],
                        "access point": access_point_ids[: args.hot_records],
                    },
                }
            )
    app.extensions["registry.engine"].dispose()
    return {
        "api": API_PREFIX,
        "cad": {"client_id": synthetic.CAD_CLIENT_ID, "secret": synthetic.CAD_CLIENT_SECRET},
        "agency_users": agency_users,
        "managers": managers,
        "sites": [vars(s) for s in sites],
        "weights": dict(zip(("cad", "agency", "manager"), args.weights, strict=True)),
        "wait_seconds": args.wait,
        "think_seconds": args.think,
    }


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def report(results: dict, seconds: float) -> tuple[list[str], int, int]:
    """The table: steady-state operations, their sum, then the logins of the ramp-up."""
    latencies, failures = results["latencies"], results["failures"]
    lines = [
        "| operation | requests | req/s | errors | error rate | p50 ms | p95 ms | p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def row(name: str, values: list[float], errors: int, rate: str) -> str:
        return (
            f"| {name} | {len(values)} | {rate} | {errors} | {errors / max(len(values), 1):.2%} "
            f"| {percentile(values, 50):.1f} | {percentile(values, 95):.1f} "
            f"| {percentile(values, 99):.1f} | {values[-1] if values else float('nan'):.1f} |"
        )

    steady = sorted(n for n in latencies if not n.startswith("auth:"))
    logins = sorted(n for n in latencies if n.startswith("auth:"))
    errors_of = {n: sum(failures.get(n, {}).values()) for n in latencies}
    for name in steady:
        values = sorted(latencies[name])
        lines.append(row(name, values, errors_of[name], f"{len(values) / seconds:.1f}"))
    every = sorted(v for n in steady for v in latencies[n])
    steady_errors = sum(errors_of[n] for n in steady)
    lines.append(row("**all of the above**", every, steady_errors, f"{len(every) / seconds:.1f}"))
    for name in logins:
        lines.append(row(f"{name} (ramp-up)", sorted(latencies[name]), errors_of[name], "-"))
    total = sum(len(v) for v in latencies.values())
    return lines, total, sum(errors_of.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facilities", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=40, help="concurrent locust users")
    parser.add_argument("--spawn-rate", type=float, default=20, help="users started per second")
    parser.add_argument("--duration", type=int, default=60, help="seconds of steady load measured")
    parser.add_argument(
        "--settle", type=int, default=5, help="seconds after the ramp-up before measuring"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--weights",
        type=int,
        nargs=3,
        default=[5, 2, 1],
        metavar=("CAD", "AGENCY", "MANAGER"),
        help="share of locust users that are CAD clients, agency users, facility managers",
    )
    parser.add_argument(
        "--wait", type=float, nargs=2, default=[0.1, 0.5], help="seconds between a user's tasks"
    )
    parser.add_argument(
        "--think", type=float, nargs=2, default=[0.2, 1.5], help="seconds a manager edits"
    )
    parser.add_argument("--managers", type=int, default=3, help="facility-manager accounts")
    parser.add_argument("--agency-users", type=int, default=3, help="agency-user accounts")
    parser.add_argument(
        "--hot-records", type=int, default=4, help="records of each kind a manager edits"
    )
    parser.add_argument("--sites", type=int, default=500, help="facilities CAD asks about")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--port", type=int, default=18910)
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    parser.add_argument("--out", type=Path, help="where to keep locust's and gunicorn's output")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix=f"registry-load-{time.strftime('%H%M%S')}-"))
    out.mkdir(parents=True, exist_ok=True)

    load_before = os.getloadavg()[0]
    url = prepare_database(args.postgres, args.facilities, prefix="registry_load", fresh=args.fresh)
    plan = build_plan(url, args)
    (out / "plan.json").write_text(json.dumps(plan))
    base = f"http://127.0.0.1:{args.port}"
    server_log = out / "gunicorn.log"
    server = start_server(
        "wsgi:app", args.port, args.workers, {"REGISTRY_DATABASE_URL": url}, server_log
    )
    try:
        wait_ready(base + "/readyz")
        ramp = math.ceil(args.users / args.spawn_rate)
        command = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
            "--host", base, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
            "--run-time", f"{args.duration + ramp + args.settle}s", "--stop-timeout", "10",
            "--csv", str(out / "locust"), "--only-summary",
        ]  # fmt: skip
        env = {
            **os.environ,
            "LOAD_PLAN": str(out / "plan.json"),
            "LOAD_RESULTS": str(out / "results.json"),
            "LOAD_SETTLE": str(args.settle),
        }
        print(f"locust: {args.users} users ({args.spawn_rate:g}/s), {args.duration} s on {base}")
        started = time.monotonic()
        with open(out / "locust.log", "w") as log:
            locust = subprocess.run(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        elapsed = time.monotonic() - started
    finally:
        stop(server)
        if args.drop:
            drop_database(args.postgres, url)

    if not (out / "results.json").exists():
        print((out / "locust.log").read_text()[-3000:])
        sys.exit(f"locust exited with {locust.returncode} and wrote no results")
    results = json.loads((out / "results.json").read_text())
    lines, total, errors = report(results, results["seconds"])
    server_problems = [
        line
        for line in server_log.read_text(errors="replace").splitlines()
        if any(word in line for word in ("ERROR", "CRITICAL", "Traceback", "unhandled"))
    ]
    print()
    print(
        f"locust {args.users} users ({':'.join(map(str, args.weights))} CAD:agency:manager), "
        f"{results['seconds']:.0f} s measured, wait {args.wait[0]:g}-{args.wait[1]:g} s; gunicorn --workers "
        f"{args.workers}; PostgreSQL; {args.facilities:,} facilities; {os.cpu_count()} cores"
    )
    print()
    print("\n".join(lines))
    print()
    conflicts = sum(
        len(v) for name, v in results["latencies"].items() if name.endswith("[412 conflict]")
    )
    patches = sum(len(v) for name, v in results["latencies"].items() if "PATCH" in name)
    print(
        f"edits refused with 412 (a concurrent edit saved first; not errors): {conflicts} "
        f"of {patches} PATCHes"
    )
    print(f"error rate: {errors}/{total} = {errors / max(total, 1):.3%} (target 0)")
    for name, messages in sorted(results["failures"].items()):
        for message, count in messages.items():
            print(f"  {count} x {name}: {message}")
    print(f"gunicorn error lines: {len(server_problems)}")
    for line in server_problems[:20]:
        print(f"  {line}")
    print(
        f"locust exit code {locust.returncode}; ran {elapsed:.0f} s; 1-min load average "
        f"before {load_before:.2f} (anything else busy on the machine skews latency); "
        f"output kept in {out}"
    )
    if errors or server_problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
