"""From an incident's commit to its webhook's arrival, and the delivery worker's throughput.

    python bench/notify_latency.py                      # SQLite file under bench/results/
    python bench/notify_latency.py --database-url postgresql://postgres@127.0.0.1:5432/NAME

Builds the schema on the database (migrations; an existing registry database is reused and its
records left alone: the bench adds its own partner, agency and subscription), starts a local
webhook receiver (http.server on 127.0.0.1, verifying every signature with the Standard
Webhooks library) and the worker as operators run it (`flask --app wsgi notifications
deliver`, default settings, its own process), then:

1. opens `--incidents` incidents (1,000) through the API at `--rate` a second at a shared
   facility whose organization subscribed to `incident_opened`, and records, per incident, the
   time its POST returned (the commit is before the answer) and the time its webhook arrived:
   p50, p99 and the largest;
2. stops the worker, writes `--drain` notifications (2,000) with their deliveries in one
   transaction, starts it again and measures deliveries per second from the first arrival to
   the last (the worker's start-up is not counted).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from alembic import command as alembic_command  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from bench.harness import KEYS, app_for  # noqa: E402
from registry import transaction  # noqa: E402
from registry.agencies.models import Agency  # noqa: E402
from registry.auth.login import issue_access_token  # noqa: E402
from registry.auth.models import CadClient  # noqa: E402
from registry.cli import alembic_config  # noqa: E402
from registry.facilities.models import Facility  # noqa: E402
from registry.mous.models import Mou, MouScope, signed_by_both  # noqa: E402
from registry.notifications import secrets  # noqa: E402
from registry.notifications.models import Subscription  # noqa: E402
from registry.notifications.service import notify  # noqa: E402
from registry.organizations.models import Organization  # noqa: E402


class Receiver:
    """Takes every webhook at once (200), verifies its signature, and notes when it came."""

    def __init__(self):
        self.arrivals: dict[str, tuple[float, dict]] = {}  # webhook-id -> (time, payload)
        self.duplicates = 0
        self.bad_signatures = 0
        self.secret = None
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                try:
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except Exception:
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    return
                with receiver.lock:
                    message_id = self.headers["webhook-id"]
                    if message_id in receiver.arrivals:
                        receiver.duplicates += 1
                    else:
                        receiver.arrivals[message_id] = (at, payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def start_worker(url: str, log) -> subprocess.Popen:
    env = {**os.environ, **KEYS, "REGISTRY_DATABASE_URL": url, "REGISTRY_AUDIT_SEAL_INTERVAL": "0"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "notifications", "deliver"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def stop_worker(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()


def seed(app, receiver_url: str, run: str) -> tuple[dict, int, str]:
    """A partner with one facility shared with an agency, its subscription to incident_opened,
    and the agency's CAD client. Returns (the facility's address, the org id, a CAD token)."""
    now = datetime.now(UTC)
    with app.app_context(), transaction.session_scope() as session:
        org = Organization(name=f"Bench Partner {run}", kind="retailer")
        agency = Agency(name=f"Bench Agency {run}", agency_type="law_enforcement", state="IL")
        session.add_all([org, agency])
        session.flush()
        facility = Facility(
            organization_id=org.id,
            name=f"Bench Store {run}",
            facility_type="retail_store",
            address_line1=f"{int(run[-4:], 16) % 9000 + 100} Bench Ave",
            city="Springfield",
            state="IL",
            postal_code="62701",
            lat=39.8,
            lon=-89.6,
            confirmed_at=now,
            confirmed_by="bench",
        )
        facility.refresh_match_keys()
        session.add(facility)
        mou = Mou(
            organization_id=org.id,
            agency_id=agency.id,
            title="Bench sharing",
            status="active",
            effective_date=date.today() - timedelta(days=1),
            covers_all_facilities=True,
            drafting_party="organization",
            **signed_by_both("bench", "bench", now),
        )
        mou.scope_rows = [MouScope(scope="data_sharing")]
        # No login: its token is issued directly below, so no secret opens it.
        cad = CadClient(
            client_id=f"bench-{run}",
            secret_hash="!",  # noqa: S106 - matches no secret
            agency_id=agency.id,
            name="CAD",
        )
        subscription = Subscription(
            organization_id=org.id,
            channel="webhook",
            url=receiver_url,
            kinds=["incident_opened"],
            created_by="bench",
        )
        session.add_all([mou, cad, subscription])
        session.flush()
        secret = secrets.new_secret()
        secrets.seal_new(session, subscription, secret)
        address = f"{facility.address_line1}, Springfield IL 62701"
        ids = (org.id, cad.id)
    with app.app_context():
        token = issue_access_token(f"cad:{ids[1]}", fresh=False)
    return {"address": address, "secret": secret}, ids[0], token


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a SQLite file under bench/results/")
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=25.0, help="incidents opened a second")
    parser.add_argument("--drain", type=int, default=2000, help="deliveries in the second phase")
    args = parser.parse_args()
    output = ROOT / "bench" / "results"
    output.mkdir(exist_ok=True)
    url = args.database_url or f"sqlite:///{output / 'notify_latency.db'}"
    app = app_for(url)
    with app.app_context():
        alembic_command.upgrade(alembic_config(), "head")
    receiver = Receiver()
    run = os.urandom(4).hex()
    site, organization_id, token = seed(app, receiver.url, run)
    receiver.secret = site["secret"]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    log = open(output / "notify_latency_worker.log", "ab")  # noqa: SIM115 - the workers' log
    worker = start_worker(url, log)
    try:
        # Wait for the worker to be up (the app, the address tables): one incident, not
        # counted, until its webhook arrives.
        client.post(
            "/api/v1/incidents",
            json={
                "cad_incident_number": f"W-{run}",
                "incident_type": "fire",
                "address": site["address"],
            },
            headers=headers,
        )
        deadline = time.monotonic() + 60
        while receiver.count() < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Phase 1: incidents at a steady pace; commit (the POST's answer) to arrival.
        committed: dict[int, float] = {}
        started = time.monotonic()
        for n in range(args.incidents):
            pause = started + n / args.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            response = client.post(
                "/api/v1/incidents",
                json={
                    "cad_incident_number": f"B-{run}-{n}",
                    "incident_type": "fire",
                    "address": site["address"],
                },
                headers=headers,
            )
            committed[response.json["id"]] = time.time()
            assert response.status_code == 201 and response.json["facility_id"], response.json
        deadline = time.monotonic() + 60
        while receiver.count() < args.incidents + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        latencies = []
        with receiver.lock:
            for at, payload in receiver.arrivals.values():
                incident_id = payload["data"]["incident_id"]
                if incident_id in committed:
                    latencies.append(at - committed[incident_id])
        stop_worker(worker)
        # Phase 2: a backlog drained as fast as the worker goes.
        before = receiver.count()
        with app.app_context(), transaction.session_scope() as session:
            for n in range(args.drain):
                notify(
                    session,
                    organization_id=organization_id,
                    kind="incident_opened",
                    actor="bench",
                    message=f"backlog {n}",
                )
        worker = start_worker(url, log)
        deadline = time.monotonic() + 600
        while receiver.count() < before + args.drain and time.monotonic() < deadline:
            time.sleep(0.05)
        with receiver.lock:
            drained = sorted(at for at, _ in list(receiver.arrivals.values())[before:])
    finally:
        stop_worker(worker)
        receiver.server.shutdown()
        log.close()
    dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    rate = (len(drained) - 1) / (drained[-1] - drained[0]) if len(drained) > 1 else 0.0
    result = {
        "database": dialect,
        "incidents": args.incidents,
        "arrived": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "drain": args.drain,
        "drained": len(drained),
        "deliveries_per_second": round(rate, 1),
        "duplicates": receiver.duplicates,
        "bad_signatures": receiver.bad_signatures,
    }
    print(json.dumps(result, indent=2))
    if result["arrived"] < args.incidents or result["p50_ms"] >= 1000:
        sys.exit(1)


if __name__ == "__main__":
    main()
