"""Two registry instances on one PostgreSQL database: does audited throughput grow with the
second one, and does the audit trail stay whole?

    .venv/bin/python bench/two_instances.py [--facilities 10000] [--workers 1 4]
        [--connections 16] [--duration 20] [--redis-db 5]

Seeds (or reuses) `registry_bench_two_<facilities>` (bench/synthetic.py) and, for each
--workers value, starts two instances of the registry under gunicorn as production runs them
(REGISTRY_ENV=production, rate limits counted in Redis, so both instances share them) on that
one database, and drives an audited scenario, pre-plan by id (each answer writes a
`preplan.view` event):

1. one instance: one wrk with --connections connections against the first;
2. two instances: two wrk at once, each with half the connections, one per instance.

It reports audited requests/s in each phase (events written per second of the phase, from the
events' own timestamps, beside the 2xx answers wrk counted) and the ratio, and where the CPU
went: the whole machine, the registry's workers, this database's PostgreSQL backends, wrk, and
the share of each busy worker's time spent on the CPU (the rest is waiting: on PostgreSQL, on
the network, or for a core). With one worker per instance a quiet machine's CPU is not
saturated, so that run shows what the trail's design allows; with more, the instances share the
same cores.

Then it waits for the sealers (one thread per gunicorn worker) to seal every event, runs
`flask --app wsgi audit verify` on the database, and checks that nothing was lost or
duplicated: every wrk run tags its requests with its own X-Request-ID prefix, and the
`preplan.view` events carrying that prefix must number exactly the 2xx answers wrk received for
them, with no request id twice. So that no audited request is still in flight when wrk stops,
each run sends audited requests for --duration seconds and then only /healthz until wrk ends.
Exits 1 if the verification fails or any count differs.
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
import redis
from sqlalchemy import create_engine, text

from bench import synthetic
from bench.harness import (
    KEYS,
    ROOT,
    app_for,
    call,
    gunicorn_settings,
    prepare_database,
    start_server,
    stop,
    wait_ready,
    wait_until_sealed,
)
from registry import transaction
from registry.api.router import API_PREFIX

TAIL_SECONDS = 2  # of /healthz after the audited phase, for the last answers to come back

WRK_SCRIPT = """
local paths = {%(paths)s}
local token, prefix, seconds = "%(token)s", "%(prefix)s-", %(seconds)d
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  deadline = os.time() + seconds
  index = id * 97
  sent, answered, refused = 0, 0, 0
end
function request()
  if os.time() >= deadline then
    -- Past the audited phase: unaudited requests until wrk stops, so that every audited
    -- request has been answered (and counted) by then.
    return wrk.format("GET", "/healthz")
  end
  sent = sent + 1
  index = index %% #paths + 1
  return wrk.format("GET", paths[index], {
    ["Authorization"] = "Bearer " .. token,
    ["X-Request-ID"] = prefix .. id .. "-" .. sent,
  })
end
function response(status, headers, body)
  local given = headers["X-Request-ID"]
  if given ~= nil and given:sub(1, #prefix) == prefix then
    if status >= 200 and status < 300 then answered = answered + 1 else refused = refused + 1 end
  end
end
function done(summary, latency, requests)
  local sent, answered, refused = 0, 0, 0
  for _, thread in ipairs(threads) do
    sent = sent + thread:get("sent")
    answered = answered + thread:get("answered")
    refused = refused + thread:get("refused")
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"sent": %%d, "answered": %%d, "refused": %%d, "socket_errors": %%d}\\n',
    sent, answered, refused, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Run:
    """One wrk process: its X-Request-ID prefix, what it counted, what the database holds."""

    prefix: str
    target: str
    counted: dict | None = None
    events: int = 0
    distinct: int = 0
    unsealed: int = 0


class CpuSample:
    """CPU seconds used so far by the machine and by groups of processes."""

    def __init__(self, groups: dict[str, list[psutil.Process]]):
        self.at = time.monotonic()
        self.machine = psutil.cpu_times()
        self.processes = {
            name: {p.pid: _cpu_seconds(p) for p in processes} for name, processes in groups.items()
        }


def _cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def cpu_between(before: CpuSample, after: CpuSample) -> dict:
    """Shares of the machine (all cores) over the interval, and each process's time on a CPU
    as a share of the interval."""
    wall = after.at - before.at
    capacity = wall * psutil.cpu_count()
    total = sum(after.machine) - sum(before.machine)
    idle = (after.machine.idle + after.machine.iowait) - (
        before.machine.idle + before.machine.iowait
    )
    shares = {"machine": 1 - idle / total if total else 0.0}
    per_process = {}
    for name, seconds in after.processes.items():
        used = {pid: s - before.processes[name].get(pid, 0.0) for pid, s in seconds.items()}
        shares[name] = sum(used.values()) / capacity
        per_process[name] = {pid: u / wall for pid, u in used.items()}
    shares["per_process"] = per_process
    return shares


def wrk_script(directory: Path, paths: list[str], token: str, prefix: str, seconds: int) -> Path:
    script = directory / f"{prefix}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "paths": ", ".join(json.dumps(p) for p in paths),
            "token": token,
            "prefix": prefix,
            "seconds": seconds,
        }
    )
    return script


def drive(
    directory: Path,
    runs: list[Run],
    connections: list[int],
    seconds: int,
    paths: list[str],
    token: str,
    groups: dict[str, list[psutil.Process]],
) -> dict:
    """Run one wrk per run at once; returns the CPU shares over the audited phase."""
    processes = []
    for run, count in zip(runs, connections, strict=True):
        script = wrk_script(directory, paths, token, run.prefix, seconds)
        command = ["wrk", f"-t{min(2, count)}", f"-c{count}", f"-d{seconds + TAIL_SECONDS}s", "--timeout", "10s", "-s", str(script), run.target]  # fmt: skip
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
    measured = {**groups, "wrk": [psutil.Process(p.pid) for p in processes]}
    before = CpuSample(measured)
    time.sleep(seconds)
    after = CpuSample(measured)
    for run, process in zip(runs, processes, strict=True):
        out, _ = process.communicate()
        if process.returncode != 0 or "RESULT " not in out:
            raise RuntimeError(f"wrk failed for {run.prefix}: {out}")
        run.counted = json.loads(out.split("RESULT ", 1)[1])
    return cpu_between(before, after)


def count_events(engine, runs: list[Run]) -> None:
    with engine.connect() as connection:
        for run in runs:
            row = connection.execute(
                text(
                    "SELECT count(*), count(DISTINCT request_id), count(*) FILTER (WHERE seq IS NULL) "
                    "FROM audit_events WHERE action = 'preplan.view' AND request_id LIKE :pattern"
                ),
                {"pattern": run.prefix + "-%"},
            ).one()
            run.events, run.distinct, run.unsealed = row


def events_per_second(engine, runs: list[Run]) -> float:
    """Audited throughput as the database saw it: events of these runs over the time between
    their first and last one."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*), extract(epoch FROM max(at) - min(at)) FROM audit_events "
                "WHERE action = 'preplan.view' AND request_id LIKE ANY(:patterns)"
            ),
            {"patterns": [run.prefix + "-%" for run in runs]},
        ).one()
    events, seconds = row
    return events / float(seconds) if seconds else 0.0


def workers_of(server) -> list[psutil.Process]:
    return psutil.Process(server.pid).children()


def backends_of(engine) -> list[psutil.Process]:
    """The PostgreSQL backends serving this database (the instances' pooled connections)."""
    with engine.connect() as connection:
        pids = connection.scalars(
            text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.Error):  # a backend that has just ended
            found.append(psutil.Process(pid))
    return found


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--facilities", type=int, default=10_000)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 4], help="gunicorn workers per instance"
    )
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default="sync")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--keep-alive", type=int, default=5, help="gthread keep-alive, seconds")
    parser.add_argument("--connections", type=int, default=16, help="in all, in each phase")
    parser.add_argument("--duration", type=int, default=20, help="seconds of each audited phase")
    parser.add_argument("--warmup", type=int, default=5, help="seconds driving both first")
    parser.add_argument("--redis-db", type=int, default=5, help="Redis database for rate limits")
    parser.add_argument("--seal-timeout", type=float, default=60)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--port", type=int, default=18940, help="and the next one")
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    storage = f"redis://127.0.0.1:6379/{args.redis_db}"
    redis.Redis.from_url(storage).ping()

    url = prepare_database(args.postgres, args.facilities, "registry_bench_two", args.fresh)
    app = app_for(url)
    with app.app_context(), transaction.session_scope() as session:
        sites = synthetic.sample_sites(session, 500)
    app.extensions["registry.engine"].dispose()
    paths = [f"{API_PREFIX}/preplans/{s.facility_id}" for s in sites]
    engine = create_engine(url)
    tag = uuid.uuid4().hex[:8]  # this invocation's runs, apart from earlier ones
    bases = [f"http://127.0.0.1:{args.port}", f"http://127.0.0.1:{args.port + 1}"]
    env = {
        "REGISTRY_DATABASE_URL": url,
        "REGISTRY_RATELIMIT_STORAGE_URI": storage,
        "REGISTRY_RATELIMIT_KEY_PREFIX": f"bench-two-{tag}",
    }
    half = [args.connections // 2, args.connections - args.connections // 2]
    all_runs: list[Run] = []
    lines = []
    unsealed_left = 0
    with tempfile.TemporaryDirectory(prefix="two-instances-") as scratch:
        directory = Path(scratch)
        for workers in args.workers:
            settings = gunicorn_settings(args.worker_class, args.threads, args.keep_alive)
            servers = [
                start_server("wsgi:app", args.port + n, workers, env, extra_args=settings)
                for n in range(2)
            ]
            try:
                for base in bases:
                    wait_ready(base + "/readyz")
                token = call(
                    bases[0],
                    f"{API_PREFIX}/auth/token",
                    body={"client_id": synthetic.CAD_CLIENT_ID, "client_secret": synthetic.CAD_CLIENT_SECRET},
                )["access_token"]  # fmt: skip
                # Both instances render the pre-plans and fill their pools before measuring.
                warm = [Run(f"b2-{tag}-w{workers}-warm-{n}", base) for n, base in enumerate(bases)]
                drive(directory, warm, half, args.warmup, paths, token, {})
                groups = {
                    "registry": [w for s in servers for w in workers_of(s)],
                    "postgres": backends_of(engine),
                }
                instance_of = {w.pid: n for n, s in enumerate(servers) for w in workers_of(s)}
                one = [Run(f"b2-{tag}-w{workers}-one", bases[0])]
                cpu_one = drive(directory, one, [args.connections], args.duration, paths, token, groups)  # fmt: skip
                two = [Run(f"b2-{tag}-w{workers}-two-{n}", base) for n, base in enumerate(bases)]
                cpu_two = drive(directory, two, half, args.duration, paths, token, groups)
                # The sealers run in the workers: wait for them before stopping the instances.
                unsealed_left = wait_until_sealed(url, args.seal_timeout)
            finally:
                for server in servers:
                    stop(server)
            all_runs += [*warm, *one, *two]
            rates = [events_per_second(engine, one), events_per_second(engine, two)]
            for instances, runs, cpu, rate in ((1, one, cpu_one, rates[0]), (2, two, cpu_two, rates[1])):  # fmt: skip
                answered = sum(run.counted["answered"] for run in runs)
                on_cpu = []
                for n in range(instances):
                    busy = [
                        share
                        for pid, share in cpu["per_process"]["registry"].items()
                        if instance_of.get(pid) == n
                    ]
                    on_cpu.append(f"{mean(busy):.0%}")
                lines.append(
                    f"| {workers} | {instances} | {' + '.join(str(r.counted['answered']) for r in runs)} "
                    f"| {answered / args.duration:.0f} | {rate:.0f} | {rate / rates[0]:.2f}x "
                    f"| {cpu['machine']:.0%} | {cpu['registry']:.0%} | {cpu['postgres']:.0%} "
                    f"| {cpu['wrk']:.0%} | {' / '.join(on_cpu)} |"
                )

    print()
    print(
        f"pre-plan by id (audited), {args.worker_class} workers"
        + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
        + f", {args.connections} connections in all, {args.duration} s per phase, "
        f"{args.facilities:,} facilities, PostgreSQL {url.rsplit('/', 1)[-1]}, rate limits in "
        f"Redis; {psutil.cpu_count()} cores shared by everything"
    )
    print()
    print(
        "| workers per instance | instances | 2xx answers (wrk) | answers/s | audited events/s "
        "| vs one instance | machine CPU busy | registry workers | PostgreSQL (this db) | wrk "
        "| each busy worker on CPU |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for line in lines:
        print(line)
    print()
    print(
        "CPU shares are of the whole machine over the audited phase; 'on CPU' is the share of "
        "a worker's time spent computing, per instance (the rest it waits: on PostgreSQL, on the "
        "network, or for a core when the machine is busy)."
    )

    failures = []
    if unsealed_left:
        failures.append(f"{unsealed_left} events still unsealed after {args.seal_timeout:.0f} s")
    count_events(engine, all_runs)
    engine.dispose()
    print()
    print("| run | 2xx answers (wrk) | preplan.view events | distinct request ids | unsealed |")
    print("| --- | --- | --- | --- | --- |")
    for run in all_runs:
        c = run.counted
        print(
            f"| {run.prefix} | {c['answered']} | {run.events} | {run.distinct} | {run.unsealed} |"
        )
        if run.events != c["answered"]:
            failures.append(
                f"{run.prefix}: {run.events} events for {c['answered']} 2xx answers "
                f"({c['sent']} sent, {c['refused']} refused, {c['socket_errors']} socket errors)"
            )
        if run.distinct != run.events:
            failures.append(f"{run.prefix}: {run.events - run.distinct} request ids twice")
        if run.unsealed:
            failures.append(f"{run.prefix}: {run.unsealed} events unsealed")

    verify = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"],
        cwd=ROOT,
        env={**os.environ, **KEYS, "REGISTRY_DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    print()
    print(f"flask --app wsgi audit verify: {(verify.stdout + verify.stderr).strip()}")
    if verify.returncode != 0:
        failures.append(f"audit verify exited {verify.returncode}")
    print()
    if failures:
        for failure in failures:
            print(f"FAILED: {failure}")
        return 1
    print("trail verified; every 2xx answer has exactly one event, and no event lacks one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
