"""Offline pack benchmark (issue 11, item 5): time and memory of one agency's pack.

    .venv/bin/python bench/offline_pack.py [--facilities 500] [--plans 50] [--plan-mb 5]
        [--database-url postgresql://postgres@127.0.0.1:5432/registry_bench_pack]

Seeds a fresh database (a SQLite file in a temporary directory unless --database-url names a
PostgreSQL database, which is emptied first) with one agency sharing --facilities facilities,
each with two contacts, three access points, two tactical points and one floor plan; the plans
are --plans distinct files of --plan-mb MiB put straight into a local file store (a chain's
stores share layouts; the pack holds each content once). Stored pre-plan renderings are made
first, as `flask preplans render` leaves them. Then, in-process (no HTTP):

1. gathering (what the view does before the first byte): seconds with the worker's pre-plan
   cache cold and warm, and the memory the gathered pre-plans hold;
2. streaming the ZIP to a file: seconds, MiB, chunks and the largest chunk, and the time per
   printable page (HTML);
3. streaming again under tracemalloc, bytes discarded: the peak Python memory while writing,
   against the bytes of floor plans streamed;
4. verifying the written pack (registry.packs.verify): seconds.
"""

import argparse
import hashlib
import io
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command as alembic_command
from sqlalchemy import text

from bench.harness import KEYS
from registry import create_app, db, transaction
from registry.agencies.models import Agency
from registry.auth.principal import Principal
from registry.cli import alembic_config
from registry.contacts.models import Contact
from registry.db import utcnow
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.floorplans.models import FileBlob, FloorPlan
from registry.floorplans.storage import blob_key, preview_key
from registry.mous.models import Mou, MouScope, signed_by_both
from registry.organizations.models import Organization
from registry.packs import archive, verify
from registry.packs.service import agency_reader, pack_contents, signing_key
from registry.preplans import printing
from registry.preplans.document import cache, render_unrendered
from tests import sample_files

MIB = 1024 * 1024


def seed(app, facilities: int, plans: int, plan_bytes: int) -> int:
    """The agency's id, after seeding everything the pack reads."""
    store = app.extensions["registry.storage"]
    preview = sample_files.png((640, 400))
    shas = []
    for n in range(plans):
        # Incompressible like a real PDF or JPEG: a hash chain, not zeros.
        block = hashlib.sha256(f"plan {n}".encode()).digest() * 2048
        content = (block * (plan_bytes // len(block) + 1))[:plan_bytes]
        sha = hashlib.sha256(content).hexdigest()
        store.put(blob_key(sha), io.BytesIO(content), len(content), "application/pdf")
        store.put(preview_key(sha), io.BytesIO(preview), len(preview), "image/png")
        shas.append(sha)
    with app.app_context(), transaction.session_scope() as session:
        agency = Agency(name="Bench County Sheriff", agency_type="law_enforcement")
        organization = Organization(name="Bench Retail", kind="retailer")
        session.add_all([agency, organization])
        session.flush()
        session.add(
            Mou(
                organization_id=organization.id,
                agency_id=agency.id,
                title="Data sharing",
                status="active",
                effective_date=date.today() - timedelta(days=30),
                scope_rows=[MouScope(scope="data_sharing")],
                **signed_by_both("bench", "bench", datetime.now(UTC)),
            )
        )
        for sha in shas:
            session.add(FileBlob(sha256=sha, size=plan_bytes, media_type="application/pdf",
                                 preview_size=len(preview)))  # fmt: skip
        for n in range(facilities):
            facility = Facility(
                organization_id=organization.id, name=f"Bench Store {n}",
                facility_type="retail_store", address_line1=f"{100 + n} Main St",
                city="Springfield", state="IL", postal_code="62701", lat=39.8, lon=-89.6,
                hazards="Propane cages at the loading dock",
            )  # fmt: skip
            facility.refresh_match_keys()
            session.add(facility)
            session.flush()
            for order, name in enumerate(("Day manager", "Night manager"), 1):
                session.add(Contact(facility_id=facility.id, name=name, call_order=order,
                                    phones=[{"kind": "mobile", "number": "+12175550123"}]))  # fmt: skip
            for kind in ("entrance", "key_box", "fire_alarm_panel"):
                session.add(AccessPoint(facility_id=facility.id, kind=kind, name=kind))
            for kind in ("staging_area", "command_post"):
                session.add(TacticalPoint(facility_id=facility.id, kind=kind, name=kind))
            session.add(
                FloorPlan(facility_id=facility.id, sha256=shas[n % plans], revision=1,
                          file_name="plan.pdf", uploaded_by="user:1", building="Main",
                          level_number=0, level_label="Ground", title="Ground floor")
            )  # fmt: skip
        agency_id = agency.id
    with app.app_context():
        while True:
            with transaction.session_scope() as session:
                if render_unrendered(session, 500) < 500:
                    break
    return agency_id


def gather(app, agency_id: int):
    with app.test_request_context():
        principal = Principal("user", 1, "agency_user", agency_id=agency_id)
        session = db.session()
        agency, reader = agency_reader(session, principal, None)
        return pack_contents(session, principal, agency, reader, "http://bench/", utcnow())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facilities", type=int, default=500)
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--plan-mb", type=float, default=5)
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use")
    args = parser.parse_args()
    plan_bytes = int(args.plan_mb * MIB)

    with tempfile.TemporaryDirectory(prefix="pack-bench-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/registry.db"
        app = create_app(
            {
                "REGISTRY_DATABASE_URL": url,
                "REGISTRY_STORAGE_DIR": f"{tmp}/files",
                "JWT_SECRET_KEY": KEYS["REGISTRY_JWT_SECRET"],
                "SECRET_KEY": KEYS["REGISTRY_SECRET_KEY"],
                "REGISTRY_FIELD_KEYS": KEYS["REGISTRY_FIELD_KEYS"],
                "REGISTRY_PACK_SIGNING_KEY": KEYS["REGISTRY_PACK_SIGNING_KEY"],
            }
        )
        with app.app_context():
            if db.engine().dialect.name == "postgresql":
                with db.engine().begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE"))
                    connection.execute(text("CREATE SCHEMA public"))
            alembic_command.upgrade(alembic_config(), "head")
        started = time.perf_counter()
        agency_id = seed(app, args.facilities, args.plans, plan_bytes)
        print(f"{args.facilities} facilities, {args.plans} distinct plans of {args.plan_mb} MiB "
              f"({url.split(':')[0]}), seeded in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip

        cache.clear()
        tracemalloc.start()
        started = time.perf_counter()
        contents = gather(app, agency_id)
        cold = time.perf_counter() - started
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        started = time.perf_counter()
        gather(app, agency_id)
        warm = time.perf_counter() - started
        print(f"gather: {cold:.2f} s with the pre-plan cache cold, {warm:.2f} s warm; "
              f"{len(contents.facilities)} pre-plans hold {held / MIB:.1f} MiB "
              f"(with the worker's cache)")  # fmt: skip

        key, pack_path = signing_key_of(app), Path(tmp) / "pack.zip"
        with app.test_request_context():
            started = time.perf_counter()
            chunks, largest, total = 0, 0, 0
            with pack_path.open("wb") as out:
                for chunk in archive.stream(contents, key):
                    chunks, largest, total = (
                        chunks + 1,
                        max(largest, len(chunk)),
                        total + len(chunk),
                    )
                    out.write(chunk)
            streamed = time.perf_counter() - started
            started = time.perf_counter()
            for facility in contents.facilities:
                sheet = printing.printable(
                    contents.reader, facility.document, contents.names, contents.generated_at
                )
                printing.render(sheet, "html")
            page_ms = (time.perf_counter() - started) * 1000 / max(1, len(contents.facilities))
        print(f"stream: {streamed:.2f} s for {total / MIB:.0f} MiB ({total / MIB / streamed:.0f} "
              f"MiB/s) in {chunks} chunks, the largest {largest / MIB:.2f} MiB; "
              f"a printable page {page_ms:.1f} ms")  # fmt: skip

        plans_streamed = min(args.plans, args.facilities) * plan_bytes
        with app.test_request_context():
            tracemalloc.start()
            base, _ = tracemalloc.get_traced_memory()
            for _chunk in archive.stream(contents, key):
                pass
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        print(f"memory: peak {(peak - base) / MIB:.1f} MiB above the gathered pre-plans while "
              f"streaming {plans_streamed / MIB:.0f} MiB of floor plans")  # fmt: skip

        started = time.perf_counter()
        verified = verify.verify_pack(pack_path, key.public_key())
        print(f"verify: {time.perf_counter() - started:.2f} s, "
              f"{len(verified.manifest['files'])} files, all hashes and the signature good")  # fmt: skip


def signing_key_of(app):
    with app.app_context():
        return signing_key()


if __name__ == "__main__":
    main()
