"""CAD lookup benchmark: the registry under gunicorn on PostgreSQL, driven by wrk on loopback.

    .venv/bin/python bench/cad_lookup.py [--sizes 10000 100000] [--duration 20]

For each registry size it seeds a PostgreSQL database (once; reused while it has the right
number of facilities), starts the service as production would (gunicorn, REGISTRY_ENV=production),
and measures requests/s and p50/p99 latency of lookup by address, lookup by coordinates and
pre-plan by id, beside a bare Flask endpoint under the same server settings (the floor).
Prints one table with each scenario's ratio to the floor. Needs wrk (`apt-get install wrk`).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import synthetic
from bench.harness import (
    app_for,
    call,
    prepare_database,
    start_server,
    stop,
    wait_ready,
)
from registry import transaction

WRK_SCRIPT = """
local paths = {%s}
local token = "%s"
local i = math.random(#paths)
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Authorization"] = "Bearer " .. token})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %%d, "seconds": %%f, "socket_errors": %%d, "non_2xx": %%d, "p50_ms": %%f, "p99_ms": %%f}\\n',
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk(
    base: str, paths: list[str], token: str, duration: int, connections: int, warmup: int = 3
) -> dict:
    lua = WRK_SCRIPT % (", ".join(json.dumps(p) for p in paths), token)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        # A short warm-up fills connection pools and caches before the measured run.
        subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
                f"-c{connections}",
                f"-d{warmup}s",
                "-s",
                script.name,
                base,
            ],
            capture_output=True,
            check=True,
        )
        out = subprocess.run(
            [
                "wrk",
                f"-t{min(2, connections)}",
                f"-c{connections}",
                f"-d{duration}s",
                "-s",
                script.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    result = json.loads(out.split("RESULT ", 1)[1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def match_rate(base: str, token: str, sites, query) -> float:
    hits = 0
    for site in sites:
        answer = call(base, query(site), token)
        hits += answer["status"] == "matched" and answer["facility_id"] == site.facility_id
    return hits / len(sites)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=15, help="seconds of warm-up per size")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (both servers)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--port", type=int, default=18900)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    base = f"http://127.0.0.1:{args.port}"
    rows = []
    floor_server = start_server("bench.floor_app:app", args.port, args.workers, {})
    try:
        wait_ready(base + "/floor")
        floor = wrk(base, ["/floor"], "unused", args.duration, args.connections)
        floor["p50_alone_ms"] = wrk(base, ["/floor"], "unused", 5, 1, warmup=1)["p50_ms"]
    finally:
        stop(floor_server)
    rows.append(("floor: bare Flask constant JSON", "-", floor, None))

    for size in args.sizes:
        url = prepare_database(args.postgres, size)
        app = app_for(url)
        with app.app_context(), transaction.session_scope() as session:
            sites = synthetic.sample_sites(session, 500)
        app.extensions["registry.engine"].dispose()
        rng = random.Random(3)
        # The caller's phone is within ~10 m of the building.
        near = {
            s.facility_id: (s.lat + rng.uniform(-9e-5, 9e-5), s.lon + rng.uniform(-9e-5, 9e-5))
            for s in sites
        }
        scenarios = {
            "lookup by address": lambda s: "/api/v1/preplans/lookup?" + urllib.parse.urlencode({"address": s.address}),
            "lookup by coordinates": lambda s, near=near: "/api/v1/preplans/lookup?lat={:.6f}&lon={:.6f}".format(*near[s.facility_id]),
            "pre-plan by id": lambda s: f"/api/v1/preplans/{s.facility_id}",
            # The cost of authenticating alone (token check + account query), for comparison.
            "authenticated no-op (/auth/me)": lambda s: "/api/v1/auth/me",
        }  # fmt: skip
        server = start_server("wsgi:app", args.port, args.workers, {"REGISTRY_DATABASE_URL": url})
        try:
            wait_ready(base + "/readyz")
            token = call(
                base,
                "/api/v1/auth/token",
                body={
                    "client_id": synthetic.CAD_CLIENT_ID,
                    "client_secret": synthetic.CAD_CLIENT_SECRET,
                },
            )["access_token"]
            rates = {
                "lookup by address": match_rate(base, token, sites[:200], scenarios["lookup by address"]),
                "lookup by coordinates": match_rate(base, token, sites[:200], scenarios["lookup by coordinates"]),
            }  # fmt: skip
            # Every worker renders each of the 500 pre-plans before anything is measured: the
            # figures are the steady state of dispatch asking about facilities it has seen.
            everything = [path_of(s) for path_of in scenarios.values() for s in sites]
            wrk(base, everything, token, 1, args.connections, warmup=args.warmup)
            for name, path_of in scenarios.items():
                paths = [path_of(s) for s in sites]
                result = wrk(base, paths, token, args.duration, args.connections)
                # One request at a time: the latency a single dispatcher sees, without queueing.
                result["p50_alone_ms"] = wrk(base, paths, token, 5, 1, warmup=1)["p50_ms"]
                rows.append((name, f"{size:,}", result, rates.get(name)))
        finally:
            stop(server)
        if size == args.sizes[0]:
            # What the audit trail costs: the same requests with its commit hook detached.
            server = start_server(
                "bench.unaudited_app:app", args.port, args.workers, {"REGISTRY_DATABASE_URL": url}
            )
            try:
                wait_ready(base + "/readyz")
                for name in ("lookup by address", "pre-plan by id"):
                    paths = [scenarios[name](s) for s in sites]
                    wrk(base, paths, token, 1, args.connections, warmup=args.warmup)
                    result = wrk(base, paths, token, args.duration, args.connections)
                    result["p50_alone_ms"] = wrk(base, paths, token, 5, 1, warmup=1)["p50_ms"]
                    rows.append((f"{name}, audit trail off", f"{size:,}", result, None))
            finally:
                stop(server)

    print()
    print(
        f"wrk -t2 -c{args.connections} -d{args.duration}s on loopback; gunicorn --workers {args.workers}; PostgreSQL; {os.cpu_count()} cores"
    )
    print()
    print(
        "| scenario | facilities | req/s | p50 ms | p99 ms | vs floor req/s | errors "
        "| p50 ms, 1 connection | unambiguous & right |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, size, r, rate in rows:
        ratio = r["rps"] / floor["rps"]
        errors = r["socket_errors"] + r["non_2xx"]
        shown = "-" if rate is None else f"{rate:.0%}"
        print(
            f"| {name} | {size} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {ratio:.0%} | {errors} "
            f"| {r['p50_alone_ms']:.2f} | {shown} |"
        )
    by = {(n, s): r for n, s, r, _ in rows}
    if len(args.sizes) >= 2:
        small, large = f"{args.sizes[0]:,}", f"{args.sizes[-1]:,}"
        print()
        for name in ("lookup by address", "lookup by coordinates", "pre-plan by id"):
            growth = by[(name, large)]["p50_ms"] / by[(name, small)]["p50_ms"]
            print(f"p50 {name}: {large} / {small} facilities = {growth:.2f}x")
    small = f"{args.sizes[0]:,}"
    print()
    for name in ("lookup by address", "pre-plan by id"):
        on, off = by[(name, small)], by[(f"{name}, audit trail off", small)]
        print(
            f"audit trail, {name}: +{on['p50_alone_ms'] - off['p50_alone_ms']:.2f} ms p50 alone, "
            f"{on['rps'] / off['rps']:.0%} of the unaudited req/s"
        )


if __name__ == "__main__":
    main()
