"""Address-matching evaluation of the CAD lookup: how many messy addresses it resolves right,
how many wrong pre-plans it gives, and what one lookup costs.

    .venv/bin/python bench/match_eval.py [--database-url URL] [--baseline PATH]

Loads the evaluation set (tests/addresses/match_eval: facilities, agencies with their counties, CAD
clients) into a fresh database through the HTTP API, runs every query through
GET /preplans/lookup as its caller's CAD client, and prints the share of positives resolved
right (per kind), wrong pre-plans on positives and negatives, and typos whose facility is among
the candidates. Then it times the domain function `registry.preplans.lookup.lookup()` alone
(no HTTP, one session per lookup, after a warm-up pass) over every query, and prints p50/p95.

--database-url: SQLite (a temporary file) by default; a PostgreSQL URL is emptied first (its
public schema is dropped), so give it a database of its own.
--registry-path: import `registry` (and its migrations) from another checkout, e.g. a
`git worktree` of an older commit; the set and this script stay this checkout's.
--baseline PATH: also run the timing with --registry-path PATH (in a subprocess, on the same
kind of database), before and after this one, and print the ratio of the p50s.
"""

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def module_from(path: Path, name: str):
    """Import one file by path: the set's loader from this checkout, whichever registry runs."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build_app(registry_root: Path, database_url: str | None, workdir: Path):
    """A registry app on a fresh database migrated to head, configured as the tests are."""
    from alembic import command as alembic_command
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from registry import create_app, db
    from registry.cli import alembic_config

    # The keys and generous rate limits of the tests, from the same checkout as the registry.
    conftest = module_from(registry_root / "tests" / "conftest.py", "match_eval_conftest")
    url = database_url or f"sqlite:///{workdir / 'registry.db'}"
    if make_url(url).get_backend_name() == "postgresql" and make_url(url).database in (
        "test",
        "postgres",
    ):
        sys.exit(f"refusing to empty the shared database {make_url(url).database!r}")
    app = create_app(
        {
            "REGISTRY_DATABASE_URL": url,
            "REGISTRY_STORAGE_DIR": str(workdir / "files"),
            **conftest.TEST_KEYS,
            **conftest.GENEROUS_LIMITS,
        }
    )
    with app.app_context():
        engine = db.engine()
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        alembic_command.upgrade(alembic_config(), "head")
    return app


def time_lookups(app, eval_set, loaded, repeat: int) -> list[float]:
    """Microseconds of `lookup()` per query: one warm-up pass, then `repeat` timed passes."""
    from registry import errors
    from registry.auth.principal import Principal
    from registry.preplans.lookup import LookupQuery, lookup

    loader = sys.modules["match_eval_loader"]
    work = []
    for query in eval_set.queries:
        caller = loaded.callers[loader.caller_key(query["caller"])]
        principal = Principal("cad", caller.cad_client_id, "cad", agency_id=caller.agency_id)
        work.append((principal, query["text"]))
    samples = []
    with app.app_context():
        for n in range(repeat + 1):
            for principal, address in work:
                with loader.session_scope() as session:
                    started = time.perf_counter_ns()
                    # A refused address (a 422 over HTTP) costs what it costs.
                    with contextlib.suppress(errors.InvalidInput):
                        lookup(session, principal, LookupQuery(address=address))
                    elapsed = time.perf_counter_ns() - started
                if n:  # the first pass warms caches and connections
                    samples.append(elapsed / 1000)
    return samples


def percentile(samples: list[float], share: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[round(share * 100) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--registry-path", type=Path, default=ROOT)
    parser.add_argument("--baseline", type=Path, help="a checkout to time the same queries on")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--failures", type=int, default=6, help="failing queries shown per kind")
    parser.add_argument("--timing-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    # The baseline is timed before and after this registry, so that a machine busy with
    # something else for a while weighs on both.
    before = time_baseline(args) if args.baseline else None
    registry_root = args.registry_path.resolve()
    sys.path.insert(0, str(registry_root))
    loader = module_from(
        ROOT / "tests" / "addresses" / "match_eval" / "loader.py", "match_eval_loader"
    )
    eval_set = loader.read_set()
    with tempfile.TemporaryDirectory(prefix="match-eval-") as workdir:
        app = build_app(registry_root, args.database_url, Path(workdir))
        from registry import db

        with app.app_context():
            dialect = db.engine().dialect.name
        loaded = loader.load(app, eval_set)
        with app.app_context(), db.engine().begin() as connection:
            # A served database has planner statistics (autovacuum, or SQLite's ANALYZE);
            # a freshly loaded one has none, and PostgreSQL then walks every facility for an
            # alias search that an index answers.
            connection.exec_driver_sql("ANALYZE")
        if not args.timing_only:
            report = loader.run(app, eval_set, loaded)
        samples = time_lookups(app, eval_set, loaded, args.repeat)
        with app.app_context():
            db.engine().dispose()
    p50, p95 = percentile(samples, 0.50), percentile(samples, 0.95)
    if args.timing_only:
        print(json.dumps({"p50_us": p50, "p95_us": p95, "samples": len(samples)}))
        return

    commit = subprocess.run(
        ["git", "-C", str(registry_root), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    print(
        f"match evaluation: {len(eval_set.facilities)} facilities, {len(eval_set.positives)} "
        f"positives, {len(eval_set.typos)} typos, {len(eval_set.negatives)} negatives; "
        f"registry {registry_root} ({commit}{', with local changes' if dirty(registry_root) else ''}); "
        f"{dialect}; loaded in {loaded.seconds:.1f} s, queried over HTTP in {report.seconds:.1f} s"
    )
    print(report.summary(args.failures))
    print(
        f"lookup() cost, {len(samples)} calls ({args.repeat} passes after a warm-up): "
        f"p50 {p50:.0f} µs, p95 {p95:.0f} µs"
    )
    if args.baseline:
        after = time_baseline(args)
        baselines = [before, after]
        base50 = statistics.mean(b["p50_us"] for b in baselines)
        runs = ", ".join(f"p50 {b['p50_us']:.0f} µs / p95 {b['p95_us']:.0f} µs" for b in baselines)
        print(
            f"baseline {args.baseline}, timed before and after: {runs}; "
            f"p50 ratio {p50 / base50:.2f}x (target: at most 1.2x)"
        )
    print(f"load average of the machine: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def time_baseline(args) -> dict:
    """The same timing on `--baseline`'s registry, in a subprocess on the same kind of database."""
    command = [sys.executable, __file__, "--registry-path", str(args.baseline), "--timing-only",
               "--repeat", str(args.repeat)]  # fmt: skip
    if args.database_url:
        command += ["--database-url", args.database_url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])


def dirty(root: Path) -> bool:
    out = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--", "registry", "migrations"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return bool(out.strip())


if __name__ == "__main__":
    main()
