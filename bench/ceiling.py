"""What an audited pre-plan read can reach at best on this machine: issue 14's ratios against
the ceiling of the work every such read must do (bench/ceiling_app.py), in one run.

    .venv/bin/python bench/ceiling.py [--worker-class sync gthread] [--duration 10]

Serves bench/ceiling_app.py under gunicorn exactly as bench/cad_lookup.py serves the floor and
the registry (same workers, worker classes and wrk settings, on `registry_bench_10000`, seeded
if missing) and prints req/s, the share of the floor, p50 alone and CPU per request for each
route. Compare the registry's rows in a cad_lookup.py run with these: the distance between
them is what the registry's own code costs; the distance from these to issue 14's targets is
what no code running these three statements per read can remove.
"""

import argparse
import random
import shutil
import sys
import tempfile
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cad_lookup import FLOOR_SHARE, Paths, measure, settings, store_preplans
from bench.harness import prepare_database, start_server, stop, wait_ready

SIZE = 10_000
ROUTES = {
    "floor: bare Flask constant JSON": "/floor",
    "1 statement (identity), psycopg": "/statements/1",
    "3 statements (identity, stamp, audit), psycopg": "/statements/3",
    "3 statements through SQLAlchemy Core": "/statements/3-sqlalchemy",
    "3 statements on a pooled connection's driver": "/statements/3-pooled-driver",
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker-class", nargs="+", choices=("sync", "gthread"), default=["sync", "gthread"])  # fmt: skip
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep-alive", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--port", type=int, default=18950)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    url = prepare_database(args.postgres, SIZE)
    base = f"http://127.0.0.1:{args.port}"
    ids = random.Random(7).sample(range(1, SIZE + 1), 2_000)
    # Each read answers its stored rendering's JSON, as the registry's cold reads do.
    store_preplans(url, SIZE, "all", [[types.SimpleNamespace(facility_id=i) for i in ids]])
    print(
        "| worker class | route | req/s | vs floor | p50 ms | p99 ms | p50 alone ms "
        "| CPU ms per request: workers / PostgreSQL / machine |\n|---|---|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory(prefix="ceiling-") as scratch:
        directory = Path(scratch)
        for worker_class in args.worker_class:
            server = start_server(
                "bench.ceiling_app:app",
                args.port,
                args.workers,
                {"REGISTRY_DATABASE_URL": url},
                extra_args=settings(args, worker_class),
            )
            try:
                wait_ready(base + "/floor")
                floor = None
                for name, route in ROUTES.items():
                    paths = [route] if route == "/floor" else [f"{route}/{i}" for i in ids]
                    result = measure(base, Paths(directory, "ceiling", paths), "-", args, server)
                    if result["non_2xx"] or result["socket_errors"]:
                        sys.exit(f"{route}: {result['non_2xx']} errors; is the database seeded?")
                    floor = floor or result["rps"]
                    cpu = " / ".join(f"{result['cpu_ms'][k]:.2f}" for k in ("workers", "postgres", "machine"))  # fmt: skip
                    print(
                        f"| {worker_class} | {name} | {result['rps']:,.0f} "
                        f"| {result['rps'] / floor:.2f} | {result['p50_ms']:.2f} "
                        f"| {result['p99_ms']:.2f} | {result['p50_alone_ms']:.2f} | {cpu} |",
                        flush=True,
                    )
            finally:
                stop(server)
    print(f"\nissue 14's targets: audited reads {FLOOR_SHARE['lookup']:.2f} of the floor, "
          f"the no-op {FLOOR_SHARE['no-op']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
