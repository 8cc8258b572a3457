"""CAD lookup benchmark: the registry under gunicorn on PostgreSQL, driven by wrk on loopback.

    .venv/bin/python bench/cad_lookup.py [--sizes 10000 1000000] [--worker-class sync gthread]
        [--threads 4] [--keep-alive 5] [--duration 20] [--warmup 15] [--stored-preplans all]

For each registry size it seeds a PostgreSQL database `registry_bench_<size>` (once; reused
while it holds a finished load of that size, see synthetic.py), and for each gunicorn worker
class it serves a bare Flask endpoint (the floor) and then the registry (production mode, audit
trail on) under the same gunicorn settings, and measures with wrk:

- lookup by address and lookup by coordinates: a matched lookup answers with the facility's
  pre-plan, so these are "a lookup with its pre-plan", what a dispatcher waits for;
- pre-plan by id;
- each of those three with the pre-plan cache COLD (every request asks about a different
  facility, none in any worker's cache: a list of up to --cold-facilities distinct facilities,
  shuffled, walked on across all cold runs; only a registry smaller than the requests of the
  cold runs makes the walk wrap, and the table says so; by default the rendering of every
  pre-plan the run reads is stored in the database first, as `flask preplans render` leaves
  it, and with --stored-preplans none none is, so every cold request is the first read of
  its facility) and WARM (500 facilities
  whose pre-plans every worker rendered before anything is measured);
- the authenticated no-op (/auth/me): the token check and account query alone;
- at the first size and worker class, lookup by address and pre-plan by id (warm) with the audit
  trail detached (bench/unaudited_app.py), to say what the trail costs.

Per scenario it prints req/s and the ratio to the floor at --connections, p50, p99 and p99/p50
there, p50 with one connection (one dispatcher alone), errors, the share of lookups that
found the right facility unambiguously with its pre-plan, and the CPU each request cost in the
workers, in PostgreSQL and on the whole machine (where the time goes), with issue 14's targets beside the
figures and whether each is met. Needs wrk (`apt-get install wrk`).

Worker classes: sync (gunicorn's default) closes every connection after its response, so wrk
reconnects for each request; gthread keeps connections alive for --keep-alive seconds, as CAD
clients reusing connections expect. The floor runs under the same class and settings, so each
ratio compares like with like.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from sqlalchemy import create_engine, text

from bench import synthetic
from bench.harness import (
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
from registry.preplans import document

# Issue 14's targets.
FLOOR_SHARE = {"lookup": 0.30, "no-op": 0.50}  # req/s as a share of the floor's
ALONE_P50_MS = 1.5  # one dispatcher alone, a lookup with its pre-plan
TAIL = 3.0  # p99 at most this many times p50, under load
SCALE = 1.5  # p50 at the largest size at most this many times p50 at the smallest

WARM_SITES = 500
RATE_SITES = 200  # lookups checked one by one for the right facility
# Per-run warm-up and one-connection run, in seconds (shortened with --duration / --warmup).
RUN_WARMUP, ALONE = 3, 5
RENDER_BATCH, RENDER_PROCESSES = 200, 2

WRK_SCRIPT = """
local paths = {}
for line in io.lines(%(file)s) do paths[#paths + 1] = line end
local headers = {["Authorization"] = "Bearer %(token)s"}
local threads, start, created = %(threads)d, %(start)d, 0
function setup(thread)
  thread:set("offset", created)
  created = created + 1
end
function init(args)
  -- Thread k asks for paths start+k, start+k+threads, ...: no two requests of a run ask for
  -- the same path until the list is used up.
  index = start + offset
end
function request()
  local path = paths[index %% #paths + 1]
  index = index + threads
  return wrk.format("GET", path, headers)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "socket_errors": %%d, "non_2xx": %%d, "p50_ms": %%f, "p99_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


class Paths:
    """Request paths in a file wrk reads, and where the next run starts in the list.

    Cold lists share one `walk` across scenarios, so a run never asks about a facility an
    earlier run (of any scenario) asked about until the list is used up; warm lists start at
    the beginning each time.
    """

    def __init__(self, directory: Path, name: str, paths: list[str], walk: "Walk | None" = None):
        self.file = directory / f"{name}.paths"
        self.file.write_text("\n".join(paths) + "\n")
        self.count, self.walk = len(paths), walk

    def run(self, base: str, token: str, seconds: float, connections: int) -> dict:
        start = self.walk.position if self.walk else 0
        result = wrk(base, self.file, token, seconds, connections, start)
        if self.walk:
            # Requests still in flight when wrk stopped were sent too.
            self.walk.position += result["requests"] + connections
        return result


@dataclass
class Walk:
    """How far the cold runs have gone through the list of distinct facilities."""

    facilities: int
    position: int = 0


def wrk(
    base: str, file: Path, token: str, seconds: float, connections: int, start: int = 0
) -> dict:
    threads = min(2, connections)
    lua = WRK_SCRIPT % {
        "file": json.dumps(str(file)),
        "token": token,
        "threads": threads,
        "start": start,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", script.name, base],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    result = json.loads(out.split("RESULT ", 1)[1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def measure(base: str, paths: Paths, token: str, args, server) -> dict:
    """A short warm-up (connection pools, code paths), the measured run at --connections with
    the CPU it cost, and the p50 of one connection alone."""
    paths.run(base, token, min(RUN_WARMUP, args.warmup), args.connections)
    before = cpu_seconds(server)
    result = paths.run(base, token, args.duration, args.connections)
    after = cpu_seconds(server)
    # CPU per request, in ms, by where it was spent (wrk's own is the rest of "machine").
    result["cpu_ms"] = {
        where: (after[where] - before[where]) / max(result["requests"], 1) * 1e3 for where in after
    }
    result["p50_alone_ms"] = paths.run(base, token, min(ALONE, args.duration), 1)["p50_ms"]
    return result


def cpu_seconds(server) -> dict:
    """CPU seconds used so far: by the server's gunicorn workers, by every PostgreSQL process
    (backends, WAL writer, checkpointer), and by the whole machine (all cores)."""

    def used(processes) -> float:
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:  # gone meanwhile
                continue
            total += times.user + times.system
        return total

    workers = psutil.Process(server.pid).children()
    postgres = [
        p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")
    ]
    machine = psutil.cpu_times()
    return {
        "workers": used(workers),
        "postgres": used(postgres),
        "machine": sum(machine) - machine.idle - getattr(machine, "iowait", 0.0),
    }


def keeps_alive(base: str, path: str) -> bool:
    """Whether the server keeps a connection open after answering (HTTP/1.1 keep-alive)."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return not response.will_close
    finally:
        connection.close()


def match_rate(base: str, token: str, sites, query) -> float:
    """The share of `sites` the lookup matched unambiguously, to the right facility, with its
    pre-plan in the answer."""
    hits = 0
    for site in sites:
        answer = call(base, query(site), token)
        hits += (
            answer["status"] == "matched"
            and answer["facility_id"] == site.facility_id
            and bool(answer.get("preplan"))
        )
    return hits / len(sites)


@dataclass
class Scenario:
    name: str
    path_of: object  # Site -> path
    target: str  # the FLOOR_SHARE key
    lookup: bool = False  # a lookup with its pre-plan: the one-dispatcher target applies
    cached: bool = True  # whether the pre-plan cache plays a part


@dataclass
class Row:
    worker_class: str
    scenario: str
    cache: str
    size: str
    result: dict
    rate: float | None = None
    scenario_spec: Scenario | None = None


def scenarios_for(near: dict) -> list[Scenario]:
    def address(s):
        return f"{API_PREFIX}/preplans/lookup?" + urllib.parse.urlencode({"address": s.address})

    def coordinates(s):
        lat, lon = near[s.facility_id]
        return f"{API_PREFIX}/preplans/lookup?lat={lat:.6f}&lon={lon:.6f}"

    return [
        Scenario("lookup by address", address, "lookup", lookup=True),
        Scenario("lookup by coordinates", coordinates, "lookup", lookup=True),
        Scenario("pre-plan by id", lambda s: f"{API_PREFIX}/preplans/{s.facility_id}", "lookup"),
        # The cost of authenticating alone (token check + account query), for comparison.
        Scenario("authenticated no-op (/auth/me)", lambda s: f"{API_PREFIX}/auth/me", "no-op", cached=False),
    ]  # fmt: skip


def near_positions(sites, seed_value: int = 3) -> dict:
    """Where a caller's phone puts them: within ~10 m of the building."""
    rng = random.Random(seed_value)
    return {
        s.facility_id: (s.lat + rng.uniform(-9e-5, 9e-5), s.lon + rng.uniform(-9e-5, 9e-5))
        for s in sites
    }


def sites_of(url: str, cold_count: int):
    """(warm sites, sites for the cold match-rate check, cold sites): disjoint, the cold ones
    shuffled so that consecutive requests do not read neighbouring rows."""
    app = app_for(url)
    with app.app_context(), transaction.session_scope() as session:
        warm = synthetic.sample_sites(session, WARM_SITES)
        taken = {s.facility_id for s in warm}
        pool = synthetic.sample_sites(session, cold_count + RATE_SITES + len(warm), seed_value=13)
    app.extensions["registry.engine"].dispose()
    cold = [s for s in pool if s.facility_id not in taken]
    random.Random(5).shuffle(cold)
    return warm, cold[:RATE_SITES], cold[RATE_SITES : RATE_SITES + cold_count]


def get_token(base: str) -> str:
    return call(
        base,
        f"{API_PREFIX}/auth/token",
        body={"client_id": synthetic.CAD_CLIENT_ID, "client_secret": synthetic.CAD_CLIENT_SECRET},
    )["access_token"]


def measure_floor(args, worker_class: str, directory: Path) -> tuple[Row, bool]:
    base = f"http://127.0.0.1:{args.port}"
    server = start_server(
        "bench.floor_app:app", args.port, args.workers, {}, extra_args=settings(args, worker_class)
    )
    try:
        wait_ready(base + "/floor")
        alive = keeps_alive(base, "/floor")
        floor = measure(base, Paths(directory, "floor", ["/floor"]), "unused", args, server)
    finally:
        stop(server)
    return Row(worker_class, "floor: bare Flask constant JSON", "-", "-", floor), alive


def store_preplans(url: str, size: int, which: str, sites) -> None:
    """The rendering of every pre-plan the run reads stored in the database, as `flask preplans
    render` leaves them (--stored-preplans all), or none stored (none).

    Only the facilities read: at a million facilities rendering them all would take most of an
    hour, and a stored rendering nobody reads changes nothing measured. Two processes, in
    batches, each through the registry's own `shared_parts` (stored where current, rendered and
    stored otherwise)."""
    if which == "none":
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM preplan_documents"))
        engine.dispose()
        return
    started = time.monotonic()
    ids = sorted({site.facility_id for group in sites for site in group})
    batches = [(url, ids[i : i + RENDER_BATCH]) for i in range(0, len(ids), RENDER_BATCH)]
    with multiprocessing.get_context("spawn").Pool(RENDER_PROCESSES) as pool:
        pool.map(_store_renderings, batches, chunksize=8)
    print(
        f"[{size}] {len(ids):,} pre-plans read by this run rendered and stored "
        f"in {time.monotonic() - started:.0f} s",
        flush=True,
    )


def _store_renderings(batch: tuple[str, list[int]]) -> None:
    url, ids = batch
    app = _render_apps.get(url)
    if app is None:
        app = _render_apps[url] = app_for(url)
    with app.app_context(), transaction.session_scope() as session:
        document.shared_parts(session, ids)


_render_apps: dict = {}  # per rendering process


def settings(args, worker_class: str) -> tuple[str, ...]:
    return gunicorn_settings(worker_class, args.threads, args.keep_alive)


def measure_registry(args, worker_class: str, size: int, url: str, sites, directory: Path):
    """Rows for every scenario at one size under one worker class; the cold list's walk."""
    warm, rate_sites, cold = sites
    near = near_positions([*warm, *rate_sites, *cold])
    scenarios = scenarios_for(near)
    base = f"http://127.0.0.1:{args.port}"
    rows = []
    walk = Walk(len(cold))
    env = {"REGISTRY_DATABASE_URL": url}
    server = start_server(
        "wsgi:app", args.port, args.workers, env, extra_args=settings(args, worker_class)
    )
    try:
        wait_ready(base + "/readyz")
        token = get_token(base)
        shown = f"{size:,}"
        for scenario in scenarios:
            if not scenario.cached:
                paths = Paths(directory, "noop", [scenario.path_of(warm[0])])
                rows.append(Row(worker_class, scenario.name, "n/a", shown, measure(base, paths, token, args, server), scenario_spec=scenario))  # fmt: skip
                continue
            # Cold first: the warm runs below render their 500 pre-plans in every worker.
            rate = (
                match_rate(base, token, rate_sites, scenario.path_of) if scenario.lookup else None
            )
            paths = Paths(directory, f"cold-{len(rows)}", [scenario.path_of(s) for s in cold], walk)
            result = measure(base, paths, token, args, server)
            rows.append(Row(worker_class, scenario.name, "cold", shown, result, rate, scenario))
        # Every worker renders each of the 500 pre-plans before anything warm is measured: the
        # steady state of dispatch asking about facilities it has seen.
        warm_scenarios = [s for s in scenarios if s.cached]
        everything = [s.path_of(site) for s in warm_scenarios for site in warm]
        Paths(directory, "everything", everything).run(base, token, args.warmup, args.connections)
        for scenario in warm_scenarios:
            rate = (
                match_rate(base, token, warm[:RATE_SITES], scenario.path_of)
                if scenario.lookup
                else None
            )
            paths = Paths(directory, f"warm-{len(rows)}", [scenario.path_of(s) for s in warm])
            result = measure(base, paths, token, args, server)
            rows.append(Row(worker_class, scenario.name, "warm", shown, result, rate, scenario))
        wait_until_sealed(url)
    finally:
        stop(server)
    return rows, walk, token


def measure_unaudited(args, worker_class, size, url, warm, token, directory: Path) -> list[Row]:
    """What the audit trail costs: the same warm requests with the trail's append replaced."""
    base = f"http://127.0.0.1:{args.port}"
    scenarios = {s.name: s for s in scenarios_for(near_positions(warm))}
    server = start_server(
        "bench.unaudited_app:app",
        args.port,
        args.workers,
        {"REGISTRY_DATABASE_URL": url},
        extra_args=settings(args, worker_class),
    )
    rows = []
    try:
        wait_ready(base + "/readyz")
        for name in ("lookup by address", "pre-plan by id"):
            paths = Paths(directory, f"off-{name}", [scenarios[name].path_of(s) for s in warm])
            paths.run(base, token, args.warmup, args.connections)
            result = measure(base, paths, token, args, server)
            rows.append(Row(worker_class, f"{name}, audit trail off", "warm", f"{size:,}", result))
    finally:
        stop(server)
    return rows


def divide(a: float, b: float) -> float:
    """a / b, infinite when b is 0 (a run that completed no request)."""
    return a / b if b else float("inf")


def report(args, rows: list[Row], floors: dict, alive: dict, walks: dict) -> None:
    judged = []  # whether each target was met

    def judge(met: bool) -> str:
        judged.append(met)
        return "✓" if met else "✗"

    print()
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s on loopback; gunicorn --workers "
        f"{args.workers}; PostgreSQL; {os.cpu_count()} cores; audit trail on unless said"
    )
    for worker_class in args.worker_class:
        how = "kept alive" if alive[worker_class] else "closed after each response"
        print(f"- {' '.join(settings(args, worker_class))}: connections {how}")
    stored = (
        "its rendering stored in the database beforehand (`flask preplans render`), none in "
        "any worker's cache"
        if args.stored_preplans == "all"
        else "none rendered before, in a worker or in the database (--stored-preplans none)"
    )
    print(
        f"- cache cold: every request a different facility, {stored} "
        f"({args.cold_facilities:,} at most, shuffled, one walk per size and worker class); "
        f"warm: {WARM_SITES} facilities, every pre-plan rendered by every worker first"
    )
    for (worker_class, size), walk in walks.items():
        if walk.position > walk.facilities:
            print(
                f"- cold at {size} facilities, {worker_class}: the runs made {walk.position:,} "
                f"requests over {walk.facilities:,} facilities, so the walk wrapped (a facility "
                f"came back after {walk.facilities:,} others; each worker caches 2,048)"
            )
    print(
        "- lookups answer with the matched facility's pre-plan: they are the 'lookup with its "
        "pre-plan' of the targets"
    )
    print(
        "- CPU ms per request, over the measured run: the gunicorn workers, every PostgreSQL "
        "process, and the whole machine (wrk and the rest make up the difference)"
    )
    print()
    print(
        f"| worker class | scenario | cache | facilities | req/s | vs floor (target) | p50 ms "
        f"| p99 ms | p99/p50 (≤ {TAIL:g}) | p50 ms, 1 connection (target) | errors "
        f"| unambiguous & right | CPU ms per request: workers / PostgreSQL / machine |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        r, spec = row.result, row.scenario_spec
        floor = floors[row.worker_class]
        ratio = divide(r["rps"], floor["rps"])
        tail = divide(r["p99_ms"], r["p50_ms"])
        ratio_cell, tail_cell = f"{ratio:.0%}", f"{tail:.1f}"
        alone_cell = f"{r['p50_alone_ms']:.2f}"
        if spec is not None:
            share = FLOOR_SHARE[spec.target]
            ratio_cell += f" {judge(ratio >= share)} (≥ {share:.0%})"
            tail_cell += f" {judge(tail <= TAIL)}"
            if spec.lookup:
                met = r["p50_alone_ms"] <= ALONE_P50_MS
                alone_cell += f" {judge(met)} (≤ {ALONE_P50_MS:g})"
        errors = r["socket_errors"] + r["non_2xx"]
        rate = "-" if row.rate is None else f"{row.rate:.0%}"
        cpu = r["cpu_ms"]
        print(
            f"| {row.worker_class} | {row.scenario} | {row.cache} | {row.size} | {r['rps']:.0f} "
            f"| {ratio_cell} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {tail_cell} "
            f"| {alone_cell} | {errors} | {rate} "
            f"| {cpu['workers']:.2f} / {cpu['postgres']:.2f} / {cpu['machine']:.2f} |"
        )

    by = {(r.worker_class, r.scenario, r.cache, r.size): r.result for r in rows}
    if len(args.sizes) >= 2:
        small, large = f"{min(args.sizes):,}", f"{max(args.sizes):,}"
        print()
        print(f"p50 at {large} / p50 at {small} facilities (target ≤ {SCALE:g}x):")
        for row in rows:
            if row.size != large or row.scenario_spec is None:
                continue
            before = by[(row.worker_class, row.scenario, row.cache, small)]
            growth = divide(row.result["p50_ms"], before["p50_ms"])
            alone = divide(row.result["p50_alone_ms"], before["p50_alone_ms"])
            what = f"{row.scenario}, {row.cache}, {row.worker_class}"
            print(
                f"- {what}: {growth:.2f}x {judge(growth <= SCALE)} at "
                f"{args.connections} connections; {alone:.2f}x "
                f"{judge(alone <= SCALE)} with one"
            )

    audit_off = [r for r in rows if r.scenario.endswith("audit trail off")]
    if audit_off:
        print()
        for off_row in audit_off:
            name = off_row.scenario.removesuffix(", audit trail off")
            on = by[(off_row.worker_class, name, "warm", off_row.size)]
            off = off_row.result
            print(
                f"audit trail, {name} (warm, {off_row.size}, {off_row.worker_class}): "
                f"{on['p50_alone_ms'] - off['p50_alone_ms']:+.2f} ms p50 alone, "
                f"{divide(on['rps'], off['rps']):.0%} of the unaudited req/s"
            )

    print()
    print(f"targets met: {sum(judged)} of {len(judged)} (each marked ✓ or ✗ above)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument(
        "--worker-class",
        nargs="+",
        choices=("sync", "gthread"),
        default=["sync", "gthread"],
        help="gunicorn worker classes to measure, each for the floor and the registry alike",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--keep-alive", type=int, default=5, help="seconds gthread keeps an idle connection"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (both servers)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--warmup", type=int, default=15, help="seconds rendering the warm pre-plans, per server"
    )
    parser.add_argument(
        "--cold-facilities",
        type=int,
        default=200_000,
        help="distinct facilities the cold runs walk through (at most the registry's)",
    )
    parser.add_argument(
        "--stored-preplans",
        choices=("all", "none"),
        default="all",
        help="all: render and store every pre-plan the run reads before measuring, as `flask "
        "preplans render` does (the cold runs read stored renderings); none: delete them all "
        "(cold = first reads)",
    )
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--port", type=int, default=18900)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    rows, floors, alive, walks = [], {}, {}, {}
    with tempfile.TemporaryDirectory(prefix="cad-lookup-") as scratch:
        directory = Path(scratch)
        for worker_class in args.worker_class:
            floor_row, alive[worker_class] = measure_floor(args, worker_class, directory)
            floors[worker_class] = floor_row.result
            rows.append(floor_row)
        for size in args.sizes:
            url = prepare_database(args.postgres, size)
            sites = sites_of(url, args.cold_facilities)
            store_preplans(url, size, args.stored_preplans, sites)
            for worker_class in args.worker_class:
                print(f"[{size}] {worker_class}: measuring", flush=True)
                measured, walk, token = measure_registry(
                    args, worker_class, size, url, sites, directory
                )
                rows += measured
                walks[(worker_class, f"{size:,}")] = walk
                if size == args.sizes[0] and worker_class == args.worker_class[0]:
                    rows += measure_unaudited(
                        args, worker_class, size, url, sites[0], token, directory
                    )
    report(args, rows, floors, alive, walks)


if __name__ == "__main__":
    main()
