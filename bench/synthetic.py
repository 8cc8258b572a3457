"""A synthetic registry for benchmarks: N facilities with contacts, access points and tactical
points, spread over real-looking US addresses, all shared with one agency through MOUs.

The few shared records (the agency, its CAD client, 50 partner organizations and their MOUs) go in
through the ORM (`seed_partners`). The facilities and the rows of their pre-plans go in with
`load_facilities`: a process pool derives each chunk's rows (the match keys by the application's
own `Facility.refresh_match_keys`) and streams them with COPY, with the secondary indexes of those
tables dropped during the load and built again after it. A million facilities take minutes that
way; inserting them row by row took hours.

The data is the same whatever the number of processes: each chunk of facilities draws from its
own random generator, seeded by the chunk's position.
"""

import multiprocessing
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from registry.agencies.models import Agency
from registry.auth.models import CadClient
from registry.auth.passwords import hash_secret
from registry.contacts.models import Contact, ContactPhone
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.mous.models import Mou, MouScope, signed_by_both
from registry.organizations.models import Organization

CAD_CLIENT_ID = "bench-cad"
CAD_CLIENT_SECRET = "bench-cad-secret-0123456789abcdef"

CITIES = [  # name, state, ZIP prefix, lat, lon
    ("Springfield", "IL", "627", 39.80, -89.64),
    ("Chicago", "IL", "606", 41.88, -87.63),
    ("Peoria", "IL", "616", 40.69, -89.59),
    ("Columbus", "OH", "432", 39.96, -83.00),
    ("Cleveland", "OH", "441", 41.50, -81.69),
    ("Indianapolis", "IN", "462", 39.77, -86.16),
    ("Madison", "WI", "537", 43.07, -89.40),
    ("Milwaukee", "WI", "532", 43.04, -87.91),
    ("Saint Louis", "MO", "631", 38.63, -90.20),
    ("Kansas City", "MO", "641", 39.10, -94.58),
    ("Denver", "CO", "802", 39.74, -104.99),
    ("Austin", "TX", "787", 30.27, -97.74),
    ("Dallas", "TX", "752", 32.78, -96.80),
    ("Phoenix", "AZ", "850", 33.45, -112.07),
    ("Portland", "OR", "972", 45.52, -122.68),
    ("Seattle", "WA", "981", 47.61, -122.33),
    ("Atlanta", "GA", "303", 33.75, -84.39),
    ("Nashville", "TN", "372", 36.16, -86.78),
    ("Richmond", "VA", "232", 37.54, -77.44),
    ("Boston", "MA", "021", 42.36, -71.06),
]
STREETS = [
    "Main", "Oak", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Pine",
    "Lincoln", "Jefferson", "Madison", "Franklin", "Wabash", "Dirksen", "Monroe", "Adams",
    "Jackson", "Grand", "Market", "Church", "Spring", "River", "Sunset", "Highland",
    "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "12th", "21st",
]  # fmt: skip
TYPES = ["St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Pkwy", "Way", "Ct", "Pl"]
DIRECTIONS = ["", "", "", "N", "S", "E", "W"]
FACILITY_TYPES = ["retail_store", "shopping_mall", "theater", "hotel", "office", "stadium"]


@dataclass
class Site:
    """What the benchmark asks about one seeded facility."""

    facility_id: int
    address: str
    lat: float
    lon: float


def _address(rng: random.Random, city):
    name, state, zip_prefix, lat, lon = city
    direction = rng.choice(DIRECTIONS)
    street = f"{rng.randint(1, 9999)} {direction + ' ' if direction else ''}"
    street += f"{rng.choice(STREETS)} {rng.choice(TYPES)}"
    postal = f"{zip_prefix}{rng.randint(0, 99):02d}"
    # Up to ~15 km from the centre: dense enough that radius searches find neighbours.
    return (
        street,
        name,
        state,
        postal,
        lat + rng.uniform(-0.14, 0.14),
        lon + rng.uniform(-0.18, 0.18),
    )


def seed_partners(session: Session) -> list[int]:
    """The agency, its CAD client, and 50 partner organizations whose MOUs share their
    facilities with it; returns the organizations' ids (in the order facilities take them)."""
    agency = Agency(name="Bench Police Department", agency_type="law_enforcement")
    session.add(agency)
    session.flush()
    session.add(
        CadClient(
            client_id=CAD_CLIENT_ID,
            secret_hash=hash_secret(CAD_CLIENT_SECRET),
            agency_id=agency.id,
            name="Bench CAD",
        )
    )
    organizations = [Organization(name=f"Bench Partner {i}", kind="retailer") for i in range(50)]
    session.add_all(organizations)
    session.flush()
    for org in organizations:
        session.add(
            Mou(
                organization_id=org.id,
                agency_id=agency.id,
                title="Data sharing",
                status="active",
                effective_date=date.today() - timedelta(days=30),
                **signed_by_both("bench", "bench", datetime.now(UTC)),
                scope_rows=[MouScope(scope="data_sharing")],
            )
        )
    session.flush()
    return [org.id for org in organizations]


# The tables a facility load fills, in load order, with the columns it writes. Every row gets an
# explicit id derived from its facility's position, so the pool's tasks never collide.
FACILITY_COLUMNS = tuple(Facility.__table__.columns)
CHILD_COLUMNS = {
    Contact.__tablename__: ("id", "facility_id", "name", "role", "call_order", "available_24_7", "version", "created_at", "updated_at"),
    ContactPhone.__tablename__: ("id", "contact_id", "position", "kind", "number"),
    AccessPoint.__tablename__: ("id", "facility_id", "kind", "name", "lat", "lon", "level", "version", "created_at", "updated_at"),
    TacticalPoint.__tablename__: ("id", "facility_id", "kind", "name", "lat", "lon", "version", "created_at", "updated_at"),
}  # fmt: skip
TABLES = (Facility.__tablename__, *CHILD_COLUMNS)
PER_FACILITY = {"contacts": 2, "contact_phones": 2, "access_points": 3, "tactical_points": 2}
CHUNK = 5000  # facilities per task
# Written on the facilities table once a load has finished (indexes rebuilt, sequences moved,
# statistics taken): harness.prepare_database reuses only a database that carries it.
COMPLETE = "bench/synthetic.py: load complete (format 2)"


@dataclass(frozen=True)
class _Chunk:
    """One task of the pool: the facilities at positions first .. first + count - 1."""

    dsn: str
    first: int
    count: int
    first_ids: dict  # table -> the id of the row the load's first facility starts at
    organization_ids: tuple[int, ...]
    seed_value: int
    now: datetime


def load_facilities(
    url: str,
    facilities: int,
    organization_ids: list[int],
    seed_value: int = 7,
    processes: int | None = None,
) -> dict[str, float]:
    """Add `facilities` facilities with two contacts (a phone each), three access points and
    two tactical points apiece to the PostgreSQL database at `url` (a SQLAlchemy URL).

    The secondary indexes of those tables are dropped for the load and built again after it
    (building an index once is far cheaper than updating it ten million times); then the id
    sequences are moved past the explicit ids, statistics are taken, and `COMPLETE` is written.
    Returns the seconds each step took.
    """
    seconds, started = {}, time.monotonic()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as connection:
        first_ids = {
            table: connection.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]  # noqa: S608 - fixed names
            for table in TABLES
        }
        connection.execute("COMMENT ON TABLE facilities IS NULL")
        indexes = _secondary_indexes(connection)
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
    now = datetime.now(UTC)
    chunks = [
        _Chunk(dsn, first, min(CHUNK, facilities - first), first_ids, tuple(organization_ids), seed_value, now)
        for first in range(0, facilities, CHUNK)
    ]  # fmt: skip
    # Forked, not spawned: the workers start with the registry already imported.
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(processes or os.cpu_count(), mp_context=fork) as pool:
        for _ in pool.map(_load_chunk, chunks):
            pass
        seconds["rows"], started = time.monotonic() - started, time.monotonic()
        for _ in pool.map(_build_index, [(dsn, definition) for _, definition in indexes]):
            pass
        seconds["indexes"], started = time.monotonic() - started, time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as connection:
        for table in TABLES:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608 - fixed names
            )
        connection.execute("ANALYZE")
        connection.execute(f"COMMENT ON TABLE facilities IS '{COMPLETE}'")
    seconds["statistics"] = time.monotonic() - started
    return seconds


def is_complete(connection) -> bool:
    """Whether the database behind `connection` (SQLAlchemy) holds a finished load."""
    sql = "SELECT obj_description('facilities'::regclass, 'pg_class')"
    return connection.exec_driver_sql(sql).scalar() == COMPLETE


def _secondary_indexes(connection) -> list[tuple[str, str]]:
    """(name, definition) of the loaded tables' indexes that back no constraint (primary keys
    and unique constraints stay: the load fills them in id order, cheaply)."""
    return connection.execute(
        """
        SELECT index.relname, pg_get_indexdef(index.oid)
        FROM pg_index i
        JOIN pg_class index ON index.oid = i.indexrelid
        JOIN pg_class tab ON tab.oid = i.indrelid
        WHERE tab.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY tab.relname, index.relname
        """,
        [list(TABLES)],
    ).fetchall()


def _build_index(task: tuple[str, str]) -> None:
    dsn, definition = task
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("SET maintenance_work_mem = '256MB'")
        connection.execute(definition)


def _load_chunk(chunk: _Chunk) -> None:
    rng = random.Random(chunk.seed_value * 1_000_003 + chunk.first)
    rows = {table: [] for table in TABLES}
    for n in range(chunk.first, chunk.first + chunk.count):
        facility = _facility(rng, n, chunk)
        rows["facilities"].append(tuple(getattr(facility, c.key) for c in FACILITY_COLUMNS))
        _children(rng, n, facility, chunk, rows)
    with psycopg.connect(chunk.dsn) as connection:
        # A fresh synthetic load: skip the pre-plan freshness triggers (and the foreign-key
        # triggers) for these sessions; nothing is cached yet and the ids are made consistent.
        connection.execute("SET session_replication_role = replica")
        connection.execute("SET synchronous_commit = off")
        with connection.cursor() as cursor:
            for table in TABLES:
                columns = CHILD_COLUMNS.get(table) or [c.name for c in FACILITY_COLUMNS]
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows[table]:
                        copy.write_row(row)


def _facility(rng: random.Random, n: int, chunk: _Chunk) -> Facility:
    """The facility at position `n`, with its match keys derived as the application derives them
    (a transient object: never added to a session)."""
    line1, city, state, postal, lat, lon = _address(rng, rng.choice(CITIES))
    now = chunk.now
    facility = Facility(
        id=chunk.first_ids["facilities"] + n,
        version=1,
        preplan_version=1,
        created_at=now,
        updated_at=now,
        organization_id=chunk.organization_ids[n % len(chunk.organization_ids)],
        name=f"Site {n}",
        facility_type=rng.choice(FACILITY_TYPES),
        address_line1=line1,
        address_line2=f"Ste {rng.randint(1, 400)}" if rng.random() < 0.2 else None,
        city=city,
        state=state,
        postal_code=postal,
        country="US",
        lat=lat,
        lon=lon,
        main_phone=f"+1{rng.randint(201, 989)}555{n % 10000:04d}",
        occupancy=rng.randint(50, 20000),
        hazards="Propane cylinders in the garden centre." if rng.random() < 0.3 else None,
        confirmed_at=now - timedelta(days=rng.randint(0, 400)),
        confirmed_by="bench",
        review_status="approved",
    )
    facility.refresh_match_keys()
    return facility


def _children(rng: random.Random, n: int, facility: Facility, chunk: _Chunk, rows: dict) -> None:
    """The rows of the facility's pre-plan: contacts with a phone each, access and tactical
    points near the building."""
    ids = {table: chunk.first_ids[table] + n * each for table, each in PER_FACILITY.items()}
    stamps = (1, chunk.now, chunk.now)  # version, created_at, updated_at
    for order in (1, 2):
        contact_id = ids["contacts"] + order - 1
        rows["contacts"].append(
            (contact_id, facility.id, f"Contact {contact_id}", "Store manager" if order == 1 else "Security", order, order == 2, *stamps)
        )  # fmt: skip
        number = f"+1{rng.randint(201, 989)}55{contact_id % 100000:05d}"
        rows["contact_phones"].append(
            (ids["contact_phones"] + order - 1, contact_id, 0, "mobile", number)
        )
    points = (("entrance", "Main entrance"), ("loading_dock", "Dock"), ("key_box", "Knox box"))
    for k, (kind, name) in enumerate(points):
        lat = facility.lat + rng.uniform(-0.0003, 0.0003)
        lon = facility.lon + rng.uniform(-0.0003, 0.0003)
        rows["access_points"].append(
            (ids["access_points"] + k, facility.id, kind, name, lat, lon, "Ground", *stamps)
        )
    points = (("staging_area", "North lot"), ("casualty_collection_point", "East gate"))
    for k, (kind, name) in enumerate(points):
        lat = facility.lat + rng.uniform(-0.001, 0.001)
        lon = facility.lon + rng.uniform(-0.001, 0.001)
        rows["tactical_points"].append(
            (ids["tactical_points"] + k, facility.id, kind, name, lat, lon, *stamps)
        )


def sample_sites(session: Session, count: int, seed_value: int = 11) -> list[Site]:
    """`count` facilities to ask about, drawn at random (in id order), with their address as a
    call-taker might type it."""
    total = session.scalar(select(func.count()).select_from(Facility))
    ids = sorted(random.Random(seed_value).sample(range(1, total + 1), min(count, total)))
    sites = []
    for start in range(0, len(ids), 10_000):  # a statement takes at most 65,535 parameters
        rows = session.execute(
            select(
                Facility.id, Facility.address_line1, Facility.city, Facility.state,
                Facility.postal_code, Facility.lat, Facility.lon,
            ).where(Facility.id.in_(ids[start : start + 10_000])).order_by(Facility.id)
        )  # fmt: skip
        sites += [
            Site(
                r.id, f"{r.address_line1.lower()}, {r.city} {r.state} {r.postal_code}", r.lat, r.lon
            )
            for r in rows
        ]
    return sites
