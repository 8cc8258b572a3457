"""A synthetic registry for benchmarks: N facilities with contacts, access points and tactical
points, spread over real-looking US addresses, all shared with one agency through MOUs.

Rows go in with bulk Core inserts (the ORM would take minutes at 100,000 facilities); the match
keys are derived with the same `Facility.refresh_match_keys` the application uses.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from registry.agencies.models import Agency
from registry.auth.models import CadClient
from registry.auth.passwords import hash_secret
from registry.contacts.models import Contact, ContactPhone
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.mous.models import Mou, MouScope
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


def seed(session: Session, facilities: int, seed_value: int = 7) -> None:
    rng = random.Random(seed_value)
    if session.get_bind().dialect.name == "postgresql":
        # A fresh synthetic load: skip the pre-plan freshness triggers (and FK triggers) for
        # this transaction; nothing is cached yet and the generator keeps references valid.
        session.execute(text("SET LOCAL session_replication_role = replica"))
    now = datetime.now(UTC)
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
                scope_rows=[MouScope(scope="data_sharing")],
            )
        )
    session.flush()

    facility_table = Facility.__table__
    next_id = (session.scalar(select(func.max(Facility.id))) or 0) + 1
    batch: list[dict] = []
    for n in range(facilities):
        line1, city, state, postal, lat, lon = _address(rng, rng.choice(CITIES))
        record = Facility(
            id=next_id + n,
            version=1,
            preplan_version=1,
            created_at=now,
            updated_at=now,
            organization_id=organizations[n % len(organizations)].id,
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
            last_verified_at=now - timedelta(days=rng.randint(0, 400)),
            review_status="approved",
        )
        record.refresh_match_keys()
        batch.append({c.key: getattr(record, c.key) for c in facility_table.columns})
        if len(batch) == 5000:
            _flush_batch(session, batch, rng, now)
            batch = []
    if batch:
        _flush_batch(session, batch, rng, now)


def _flush_batch(session: Session, facilities: list[dict], rng: random.Random, now) -> None:
    session.execute(insert(Facility.__table__), facilities)
    contacts, phones, access_points, tactical_points = [], [], [], []
    contact_id = (session.scalar(select(func.max(Contact.id))) or 0) + 1
    stamps = {"version": 1, "created_at": now, "updated_at": now}
    for f in facilities:
        for order in (1, 2):
            contacts.append(
                {
                    "id": contact_id,
                    "facility_id": f["id"],
                    "name": f"Contact {contact_id}",
                    "role": "Store manager" if order == 1 else "Security",
                    "call_order": order,
                    "available_24_7": order == 2,
                    **stamps,
                }
            )
            phones.append(
                {
                    "contact_id": contact_id,
                    "position": 0,
                    "kind": "mobile",
                    "number": f"+1{rng.randint(201, 989)}55{contact_id % 100000:05d}",
                }
            )
            contact_id += 1
        for kind, name in (
            ("entrance", "Main entrance"),
            ("loading_dock", "Dock"),
            ("key_box", "Knox box"),
        ):
            access_points.append(
                {
                    "facility_id": f["id"],
                    "kind": kind,
                    "name": name,
                    "lat": f["lat"] + rng.uniform(-0.0003, 0.0003),
                    "lon": f["lon"] + rng.uniform(-0.0003, 0.0003),
                    "level": "Ground",
                    **stamps,
                }
            )
        for kind, name in (
            ("staging_area", "North lot"),
            ("casualty_collection_point", "East gate"),
        ):
            tactical_points.append(
                {
                    "facility_id": f["id"],
                    "kind": kind,
                    "name": name,
                    "lat": f["lat"] + rng.uniform(-0.001, 0.001),
                    "lon": f["lon"] + rng.uniform(-0.001, 0.001),
                    **stamps,
                }
            )
    session.execute(insert(Contact.__table__), contacts)
    session.execute(insert(ContactPhone.__table__), phones)
    session.execute(insert(AccessPoint.__table__), access_points)
    session.execute(insert(TacticalPoint.__table__), tactical_points)


def sample_sites(session: Session, count: int, seed_value: int = 11) -> list[Site]:
    """Facilities to ask about, with their address as a call-taker might type it."""
    total = session.scalar(select(func.count()).select_from(Facility))
    rng = random.Random(seed_value)
    ids = sorted(rng.sample(range(1, total + 1), min(count, total)))
    rows = session.execute(
        select(
            Facility.id, Facility.address_line1, Facility.city, Facility.state,
            Facility.postal_code, Facility.lat, Facility.lon,
        ).where(Facility.id.in_(ids))
    )  # fmt: skip
    return [
        Site(r.id, f"{r.address_line1.lower()}, {r.city} {r.state} {r.postal_code}", r.lat, r.lon)
        for r in rows
    ]


def reset_sequences(session: Session) -> None:
    """PostgreSQL: explicit ids from the bulk insert leave the id sequences behind."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("facilities", "contacts"):  # fixed names, not input
        sql = (
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
        )
        session.execute(text(sql))
