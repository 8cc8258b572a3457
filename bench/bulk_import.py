"""Bulk import benchmark: 10,000 rows (2,000 facilities, each with two contacts, an access point
with a door code and a tactical point) into a fresh database, then the same file again.

    .venv/bin/python bench/bulk_import.py                       # a fresh SQLite file
    .venv/bin/python bench/bulk_import.py --format xlsx
    .venv/bin/python bench/bulk_import.py --database-url postgresql://postgres@127.0.0.1:5432/x

With --database-url, a database named `registry_bench_bulk_import` is (re)built on that server
(the URL's own database is not touched). The import runs in-process through the same service
the API and the CLI call (registry/imports/service.py), as a facility manager, in one
transaction; the file is read from disk as an upload is. Prints the time and peak memory of
reading the file alone (tracemalloc: what the streaming reader holds), then the seconds and the
peak memory each import added (ru_maxrss: the process's high-water mark, before and after; that
is mostly the transaction's records, held until the commit) for the first import and for the
re-import, which should find every record unchanged.
"""

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alembic import command as alembic_command  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.harness import KEYS  # noqa: E402
from registry import create_app, db, transaction  # noqa: E402
from registry.auth.models import User  # noqa: E402
from registry.auth.principal import Principal  # noqa: E402
from registry.cli import alembic_config  # noqa: E402
from registry.imports import service, writer  # noqa: E402
from registry.imports.reader import Limits, open_sheet  # noqa: E402
from registry.organizations.models import Organization  # noqa: E402

STREETS = ("Main St", "Oak Ave", "Wabash Ave", "Monroe St", "Adams St", "Lincoln Blvd")


def rows(facilities: int):
    for i in range(facilities):
        code = f"S-{i:05d}"
        yield {
            "record": "facility",
            "site_code": code,
            "name": f"Prairie Goods #{i}",
            "facility_type": "retail_store",
            "address_line1": f"{100 + i // len(STREETS)} {STREETS[i % len(STREETS)]}",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
            "lat": 39.70 + (i % 100) * 0.002,
            "lon": -89.70 + (i // 100) * 0.002,
            "main_phone": "+12175550100",
            "occupancy": 300,
            "has_sprinklers": "true",
            "hazards": "Propane in the garden centre",
        }
        for n, name in enumerate(("Jordan Reyes", "Security desk"), start=1):
            yield {
                "record": "contact",
                "site_code": code,
                "name": name,
                "role": "Store manager" if n == 1 else "Corporate security",
                "phones": f"mobile:+1217555{n:04d}; office:+12175550100 x2{n:02d}",
                "call_order": n,
                "available_24_7": "true",
            }
        yield {
            "record": "access_point",
            "site_code": code,
            "kind": "loading_dock",
            "name": "Rear dock",
            "level": "Ground",
            "code": f"{4700 + i % 100}#",
        }
        yield {
            "record": "tactical_point",
            "site_code": code,
            "kind": "staging_area",
            "name": "North lot",
            "capacity": 40,
        }


def write_file(path: Path, file_format: str, facilities: int) -> None:
    if file_format == "csv":
        with path.open("w", encoding="utf-8", newline="") as out:
            out.writelines(writer.csv_lines(rows(facilities)))
    else:
        with writer.xlsx_file(rows(facilities)) as spooled, path.open("wb") as out:
            out.write(spooled.read())


def fresh_url(args, workdir: Path) -> str:
    if not args.database_url:
        return f"sqlite:///{workdir / 'bulk.db'}"
    url = make_url(args.database_url).set(database="registry_bench_bulk_import")
    admin = create_engine(make_url(args.database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return url.render_as_string(hide_password=False)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run(app, principal, organization_id, path: Path) -> tuple[str, float, service.Report]:
    limits = Limits.from_config(app.config)
    before = peak_mib()
    started, cpu = time.perf_counter(), time.process_time()
    with app.app_context(), transaction.session_scope() as session, path.open("rb") as stream:
        report = service.import_file(
            session, principal, organization_id, stream, limits, dry_run=False
        )
        assert not report.error_count, report.errors[:5]
    seconds = f"{time.perf_counter() - started:.1f} s (this process's CPU: {time.process_time() - cpu:.1f} s)"
    return seconds, peak_mib() - before, report


def read_only(app, path: Path) -> tuple[float, float, int]:
    """Reading the file alone, every row, applying nothing: seconds, tracemalloc's peak in MiB
    (what the reader holds at most: a streaming reader's stays small whatever the file's size),
    rows."""
    tracemalloc.start()
    started = time.perf_counter()
    with path.open("rb") as stream:
        rows = sum(1 for _ in open_sheet(stream, Limits.from_config(app.config)).rows)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    return seconds, peak, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--facilities", type=int, default=2000, help="5 rows each")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = fresh_url(args, workdir)
        app = create_app(
            {
                "REGISTRY_DATABASE_URL": url,
                "REGISTRY_STORAGE_DIR": str(workdir / "files"),
                "JWT_SECRET_KEY": KEYS["REGISTRY_JWT_SECRET"],
                "SECRET_KEY": KEYS["REGISTRY_SECRET_KEY"],
                "REGISTRY_FIELD_KEYS": KEYS["REGISTRY_FIELD_KEYS"],
                "REGISTRY_PACK_SIGNING_KEY": KEYS["REGISTRY_PACK_SIGNING_KEY"],
            }
        )
        with app.app_context():
            alembic_command.upgrade(alembic_config(), "head")
            with transaction.session_scope() as session:
                organization = Organization(name="Prairie Goods Stores", kind="retailer")
                session.add(organization)
                session.flush()
                user = User(
                    username="bulk.manager",
                    password_hash="-",  # noqa: S106 - no password: never logs in
                    role="facility_manager",
                    organization_id=organization.id,
                )
                session.add(user)
                session.flush()
                organization_id = organization.id
                principal = Principal("user", user.id, user.role, organization.id)
        path = workdir / f"facilities.{args.format}"
        write_file(path, args.format, args.facilities)
        size = path.stat().st_size
        database = make_url(url).get_backend_name()
        print(
            f"{database}, {args.format}: {args.facilities * 5:,} rows "
            f"({args.facilities:,} facilities), file {size / 1024 / 1024:.1f} MiB"
        )
        seconds, mib, count = read_only(app, path)
        print(
            f"  reading alone: {seconds:.1f} s for {count:,} rows, peak {mib:.1f} MiB (tracemalloc)"
        )
        seconds, mib, report = run(app, principal, organization_id, path)
        print(f"  first import: {seconds}, peak memory +{mib:.0f} MiB, created {report.created}")
        seconds, mib, report = run(app, principal, organization_id, path)
        print(
            f"  re-import:    {seconds}, peak memory +{mib:.0f} MiB, "
            f"unchanged {report.unchanged}, updated {report.updated}"
        )
        with app.app_context():
            db.engine().dispose()


if __name__ == "__main__":
    main()
