"""Upload safety benchmark (issue 15): CAD lookups while hostile uploads run.

    .venv/bin/python bench/upload_budget.py [--duration 20] [--uploaders 1 2] [--lookup-clients 2]

Starts the registry as production would (gunicorn with 2 sync workers, REGISTRY_ENV=production)
on a fresh SQLite database in a temporary directory, seeded with 300 synthetic facilities
shared with one CAD client, and then measures:

1. ordinary uploads, one at a time: a small PNG and a small PDF floor plan (ms per upload);
2. CAD lookups by address, from --lookup-clients threads back to back, for --duration seconds;
3. the same lookups while 1, then 2 (--uploaders) threads send the tester's PDF back to back
   (issue 15: page 1 draws 23 blank 1 GiB FlateDecode images; 24 MB of file, 23 GiB of pixels);
4. the same with the most uploaders and the decoded-bytes budget lifted
   (REGISTRY_UPLOAD_DECODED_BYTES = 1 TiB), so every check of that PDF runs until its time
   budget stops it: a costly file the pre-check does not recognise (skipped with --skip-lifted).

Prints lookup latency (p50, p99, max) per phase and what the uploads got. The hostile file is
generated (tests/sample_files.py), never stored in the repository.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench import synthetic
from bench.harness import KEYS, ROOT, app_for, call, start_server, stop, wait_ready
from registry import transaction
from registry.agencies.models import Agency
from registry.api.router import API_PREFIX
from registry.auth.models import CadClient, User
from registry.auth.passwords import hash_secret
from registry.facilities.models import Facility
from registry.mous.models import Mou, MouScope, signed_by_both
from registry.organizations.models import Organization
from tests import sample_files

PASSWORD = "bench-manager-password-1"
BOUNDARY = "bench-upload-boundary"


def seed(session, facilities: int) -> int:
    """One organization's `facilities`, shared with one agency and its CAD client, and a
    manager who may upload their floor plans; returns a facility's id. Through the ORM, so
    every column default applies (a few hundred rows: no need for bulk inserts)."""
    agency = Agency(name="Bench Police Department", agency_type="law_enforcement")
    organization = Organization(name="Bench Partner", kind="retailer")
    session.add_all([agency, organization])
    session.flush()
    session.add_all(
        [
            CadClient(
                client_id=synthetic.CAD_CLIENT_ID,
                secret_hash=hash_secret(synthetic.CAD_CLIENT_SECRET),
                agency_id=agency.id,
                name="Bench CAD",
            ),
            Mou(
                organization_id=organization.id,
                agency_id=agency.id,
                title="Data sharing",
                status="active",
                effective_date=date.today() - timedelta(days=30),
                scope_rows=[MouScope(scope="data_sharing")],
                **signed_by_both("bench", "bench", datetime.now(UTC)),
            ),
            User(
                username="bench.manager",
                password_hash=hash_secret(PASSWORD),
                role="facility_manager",
                organization_id=organization.id,
            ),
        ]
    )
    rng = random.Random(7)
    for n in range(facilities):
        line1, city, state, postal, lat, lon = synthetic._address(rng, rng.choice(synthetic.CITIES))
        facility = Facility(
            organization_id=organization.id,
            name=f"Site {n}",
            facility_type="retail_store",
            address_line1=line1,
            city=city,
            state=state,
            postal_code=postal,
            lat=lat,
            lon=lon,
        )
        facility.refresh_match_keys()
        session.add(facility)
    session.flush()
    return session.scalar(select(Facility.id).order_by(Facility.id).limit(1))


def prepare(directory: Path) -> tuple[str, int, list]:
    """A migrated, seeded SQLite database: its URL, a facility the manager owns, sites to ask
    about."""
    url = f"sqlite:///{directory / 'registry.db'}"
    env = {**os.environ, **KEYS, "REGISTRY_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    app = app_for(url)
    with app.app_context(), transaction.session_scope() as session:
        facility_id = seed(session, 300)
        sites = synthetic.sample_sites(session, 300)
    app.extensions["registry.engine"].dispose()
    return url, facility_id, sites


def multipart(content: bytes, name: str) -> bytes:
    fields = {
        "building": "Main building",
        "level_number": "1",
        "level_label": "Level 1",
        "title": "First floor",
    }
    out = b""
    for key, value in fields.items():
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        ).encode()
    out += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return out + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def request(port: int, method: str, path: str, token: str, body: bytes | None = None):
    """(status, seconds, first bytes of the body)."""
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return response.status, time.monotonic() - started, data[:600]
    except OSError as exc:
        return 0, time.monotonic() - started, str(exc).encode()
    finally:
        connection.close()


def upload_path(facility_id: int) -> str:
    return f"{API_PREFIX}/facilities/{facility_id}/floor-plans"


def ordinary_uploads(port: int, token: str, facility_id: int, rounds: int = 20) -> dict:
    figures = {}
    for label, content, name in (
        ("small PNG (40 x 30)", sample_files.png(), "plan.png"),
        ("small PDF (1 page)", sample_files.pdf(), "plan.pdf"),
    ):
        body, times = multipart(content, name), []
        for _ in range(rounds):
            status, seconds, detail = request(port, "POST", upload_path(facility_id), token, body)
            assert status == 201, (status, detail)
            times.append(seconds * 1000)
        figures[label] = statistics.median(times)
    return figures


def run_phase(port, cad_token, sites, duration, lookup_clients, uploaders=0, upload=None):
    """Lookups back to back from `lookup_clients` threads for `duration` seconds, while
    `uploaders` threads send `upload` = (token, facility_id, body)."""
    stop_at = time.monotonic() + duration
    lookups, uploads = [], []
    paths = [
        f"{API_PREFIX}/preplans/lookup?" + urllib.parse.urlencode({"address": site.address})
        for site in sites
    ]

    def look(offset: int) -> None:
        n = offset
        while time.monotonic() < stop_at:
            lookups.append(request(port, "GET", paths[n % len(paths)], cad_token))
            n += lookup_clients

    def send() -> None:
        token, facility_id, body = upload
        while time.monotonic() < stop_at:
            uploads.append(request(port, "POST", upload_path(facility_id), token, body))

    threads = [threading.Thread(target=look, args=(i,)) for i in range(lookup_clients)]
    threads += [threading.Thread(target=send) for _ in range(uploaders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return lookups, uploads


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def describe_lookups(lookups) -> dict:
    times = [seconds * 1000 for _, seconds, _ in lookups]
    return {
        "lookups": len(lookups),
        "errors": sum(status != 200 for status, _, _ in lookups),
        "p50_ms": percentile(times, 0.50),
        "p99_ms": percentile(times, 0.99),
        "max_ms": max(times),
    }


def describe_uploads(uploads) -> str:
    if not uploads:
        return "-"
    statuses = Counter(status for status, _, _ in uploads)
    parts = []
    for status, n in sorted(statuses.items()):
        times = [seconds for s, seconds, _ in uploads if s == status]
        parts.append(f"{n} x {status or 'no answer'} (median {statistics.median(times):.2f} s)")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds per phase")
    parser.add_argument("--uploaders", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--lookup-clients", type=int, default=2)
    parser.add_argument("--port", type=int, default=18930)
    parser.add_argument("--skip-lifted", action="store_true", help="skip phase 4")
    args = parser.parse_args()

    hostile = sample_files.pdf_of_blank_images(23, 32768, 32768)
    print(f"the tester's PDF: {len(hostile) / 1e6:.1f} MB, 23 GiB of pixels on page 1")
    rows, upload_rows = [], []
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        directory = Path(tmp)
        url, facility_id, sites = prepare(directory)
        env = {"REGISTRY_DATABASE_URL": url, "REGISTRY_STORAGE_DIR": str(directory / "files")}
        most = max(args.uploaders)
        phases = [("budget as configured (defaults)", {}, args.uploaders)]
        if not args.skip_lifted:
            lifted = {"REGISTRY_UPLOAD_DECODED_BYTES": str(2**40)}
            phases.append(("decoded-bytes budget lifted", lifted, [most]))
        log = directory / "gunicorn.log"
        for number, (label, extra, uploader_counts) in enumerate(phases):
            server = start_server("wsgi:app", args.port, 2, {**env, **extra}, log_path=log)
            try:
                base = f"http://127.0.0.1:{args.port}"
                wait_ready(base + "/readyz")
                cad = call(
                    base,
                    f"{API_PREFIX}/auth/token",
                    body={
                        "client_id": synthetic.CAD_CLIENT_ID,
                        "client_secret": synthetic.CAD_CLIENT_SECRET,
                    },
                )["access_token"]
                manager = call(
                    base,
                    f"{API_PREFIX}/auth/login",
                    body={"username": "bench.manager", "password": PASSWORD},
                )["access_token"]
                if number == 0:
                    for name, ms in ordinary_uploads(args.port, manager, facility_id).items():
                        print(f"ordinary upload, {name}: median {ms:.1f} ms")
                    run_phase(args.port, cad, sites, 3, args.lookup_clients)  # warm-up
                    lookups, _ = run_phase(
                        args.port, cad, sites, args.duration, args.lookup_clients
                    )
                    rows.append(("lookups alone", describe_lookups(lookups)))
                for uploaders in uploader_counts:
                    lookups, uploads = run_phase(
                        args.port, cad, sites, args.duration, args.lookup_clients,
                        uploaders, (manager, facility_id, multipart(hostile, "plan.pdf")),
                    )  # fmt: skip
                    name = f"{uploaders} hostile uploader(s), {label}"
                    rows.append((name, describe_lookups(lookups)))
                    upload_rows.append((name, describe_uploads(uploads), uploads))
            finally:
                stop(server)
        errors = [
            line for line in log.read_text().splitlines() if "Traceback" in line or "WORKER TIMEOUT" in line
        ]  # fmt: skip

    print()
    print(
        f"gunicorn --workers 2 (sync), SQLite, {os.cpu_count()} cores, {args.lookup_clients} "
        f"lookup clients back to back, {args.duration} s per phase"
    )
    print()
    print("| phase | lookups | errors | p50 ms | p99 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, r in rows:
        print(
            f"| {label} | {r['lookups']} | {r['errors']} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['max_ms']:.0f} |"
        )
    print()
    for label, summary, uploads in upload_rows:
        print(f"hostile uploads, {label}: {summary}")
        for status in sorted({status for status, _, _ in uploads}):
            sample = next(body for s, _, body in uploads if s == status)
            try:
                sample = json.loads(sample).get("detail", sample)
            except ValueError:
                sample = sample[:120]
            print(f"  {status}: {sample}")
    print(f"gunicorn log: {len(errors)} worker timeouts or tracebacks")
    for line in errors[:5]:
        print("  " + line)


if __name__ == "__main__":
    main()
