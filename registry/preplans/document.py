"""The pre-plan: everything responders need about one facility, in one document.

Rendering a pre-plan takes about ten queries. Two stores keep that off the hot path, both keyed
so that a pre-plan the database has moved past is never served:

- The database keeps each facility's rendered parts that every reader sees alike
  (`StoredPreplan`: facility, contacts, access and tactical points, floor plans, each with the
  unresolved correction reports on it, GeoJSON), keyed by `preplan_version` (bumped by database
  triggers on every change to the facility, the rows in its pre-plan and its correction reports) and by a fingerprint of the registry's code. One worker's render serves every
  worker and instance; a county-wide incident, where every request asks about a different
  facility, reads one stored row instead of rendering. `flask preplans render` fills the store
  ahead of reads (after a deploy, or a bulk load).
- Each worker keeps whole pre-plans, with the MOUs shown to the caller and each part marked
  stale or not (freshness.py), keyed by a *stamp* that one indexed query reads on every
  request: the facility's row version and `preplan_version`, the id and version of each MOU
  shown, the caller's agency, today's date (MOUs start and expire by date, parts grow stale by
  it) and the maximum ages of parts. The same query reads the stored parts and whether the
  caller may read the pre-plan at all (access.break_glass.decide), on every request, cached or
  not. Each MOU version is serialized once per worker and day, for every pre-plan that shows it.
"""

import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib.metadata import version
from pathlib import Path

from flask import current_app
from sqlalchemy import String, and_, bindparam, cast, func, literal, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload, selectinload

from .. import confirmation, db, errors
from ..access import break_glass
from ..access.roles import AGENCY_ROLES, Role
from ..access.sharing import covers_facility
from ..access.visibility import scope_of
from ..auth.principal import Principal
from ..contacts.models import Contact, contact_listings, in_call_order
from ..corrections.models import UNRESOLVED, Correction
from ..corrections.schemas import OpenCorrectionSchema
from ..db import utcnow
from ..facilities.models import Facility
from ..fields import MAX_ID
from ..floorplans.service import floor_plans
from ..mous.models import Mou
from . import freshness, items
from .models import StoredPreplan
from .schemas import PreplanMouSchema, PreplanSchema

CACHE_SIZE = 2048
# The parts every reader sees alike (stored), and the MOUs (the caller's, added per request).
# Stored without `stale` and `age_days`: those change with the day (freshness.py).
_shared_parts = PreplanSchema(exclude=("mous", "break_glass"))
_mous_schema = PreplanMouSchema(many=True)
_open_corrections_schema = OpenCorrectionSchema(many=True)

_PACKAGE = Path(__file__).resolve().parent.parent
# The code a stored pre-plan was rendered with: the whole package (its models' orderings and
# filters, the schemas, the API prefix in links, the print's templates), and marshmallow. A
# change to any of it renders every pre-plan again on its next read (and changes every
# pre-plan's ETag), without anyone having to remember which files matter.
_RENDERING_CODE = sorted(
    path
    for path in _PACKAGE.rglob("*")
    if path.suffix in {".py", ".html", ".css"} and "__pycache__" not in path.parts
)
RENDERING = hashlib.sha256(
    b"".join(
        [version("marshmallow").encode()]
        + [bytes(path.relative_to(_PACKAGE)) + path.read_bytes() for path in _RENDERING_CODE]
    )
).hexdigest()[:16]


@dataclass
class RenderedPreplan:
    """A pre-plan as every reader with the same stamp sees it; cached, so never changed."""

    etag: str
    document: dict  # PreplanSchema, already serialized
    geojson: dict

    @cached_property
    def json(self) -> str:
        """The document as JSON text, encoded once for every reader of this rendering."""
        return json.dumps(self.document)


class _Cache:
    """A small LRU map; per process, so it holds nothing that the database does not decide."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


cache = _Cache(CACHE_SIZE)


def _mous_shown(role: Role, agency_id: int | None) -> list:
    """MOUs of the facility's organization that cover it (only the caller's, for agencies)."""
    conditions = [
        Mou.organization_id == Facility.organization_id,
        covers_facility(Facility.id),
    ]
    if role in AGENCY_ROLES:
        conditions.append(Mou.agency_id == agency_id)
    return conditions


def render_key(preplan_version: int) -> str:
    """What a stored pre-plan was rendered from: this rendering code and the facility's
    `preplan_version`."""
    return f"{RENDERING}:{preplan_version}"


# render_key in SQL, for the facility row of a query.
_CURRENT_RENDER_KEY = literal(f"{RENDERING}:", String) + cast(Facility.preplan_version, String)


_MOU_ID_VERSION = cast(Mou.id, String) + literal(":") + cast(Mou.version, String)


def _shown(mous_shown: str | None) -> tuple[tuple[int, int], ...]:
    """(id, version) of each MOU shown, in id order, from the stamp's `mous_shown`."""
    if not mous_shown:
        return ()
    pairs = (pair.split(":") for pair in mous_shown.split(","))
    return tuple(sorted((int(mou_id), int(version)) for mou_id, version in pairs))


@lru_cache(maxsize=256)
def _stamp_statement(scope: tuple):
    """The pre-plan's query for one visibility scope (access.visibility.scope_of), built once:
    the facility's stamp, then the facts of whether the caller may read it."""
    role, _, agency_id, _ = scope
    mous = _mous_shown(role, agency_id)
    return (
        select(
            Facility.id,
            Facility.created_at,
            Facility.version,
            Facility.preplan_version,
            # "id:version" of each MOU shown, in no particular order (see `_shown`): versions
            # only grow, so any insert, delete or update of the MOUs shown changes it.
            # The separator as SQL text: as a plain string it is a parameter SQLAlchemy
            # renders into the statement again on every execution.
            select(func.aggregate_strings(_MOU_ID_VERSION, literal_column("','")))
            .where(*mous)
            .scalar_subquery()
            .label("mous_shown"),
            StoredPreplan.document.label("stored_document"),
            StoredPreplan.geojson.label("stored_geojson"),
            *break_glass.read_facts(scope),  # `visible` and `grant_id`
        )
        .outerjoin(
            StoredPreplan,
            and_(
                StoredPreplan.facility_id == Facility.id,
                StoredPreplan.render_key == _CURRENT_RENDER_KEY,
            ),
        )
        .where(Facility.id == bindparam("facility_id"), Facility.deleted_at.is_(None))
    )


def preplan(
    session: Session, principal: Principal, facility_id: int
) -> tuple[RenderedPreplan, break_glass.Decision]:
    """The pre-plan of a facility, with why the caller may read it (access.break_glass: by role
    or MOU, or through its agency's live break-glass grant there); NotFound when it may not."""
    scope, row = scope_of(principal), None
    if 0 < facility_id <= MAX_ID:  # a larger id names nothing, and would overflow the driver
        values = {"facility_id": facility_id, "now": utcnow()}
        # On the session's connection (its driver's, db.first_row): the row is columns, the
        # ORM has nothing to add. That does not flush, so changes the request made (an
        # incident's break-glass) are flushed first, as the ORM's execute would: the facts
        # must see them.
        session.flush()
        row = db.first_row(session.connection(), _stamp_statement(scope), values)
    decision = break_glass.decide(session, principal, row)
    if not decision.allowed:
        raise errors.NotFound(f"No facility with id {facility_id} is visible to you.")
    agency_scope = principal.agency_id if principal.role in AGENCY_ROLES else None
    today, max_ages = scope[-1], confirmation.max_ages(current_app.config)
    shown = _shown(row.mous_shown)
    # The facility's columns and the MOUs', whose MOUs, and the day and ages parts are aged by.
    stamp = (*row[:4], shown, agency_scope, today, tuple(max_ages.values()))
    rendered = cache.get(stamp)
    if rendered is None:
        # The rendering code too: after a deploy that renders differently, a client holding
        # the old rendering must not be told 304.
        tagged = repr((RENDERING, *stamp)).encode()
        etag = "preplan-" + hashlib.sha256(tagged).hexdigest()[:32]
        if row.stored_document is not None:
            parts, geojson = json.loads(row.stored_document), json.loads(row.stored_geojson)
        else:
            rendered_version, parts, geojson = render_shared_parts(session, [facility_id])[
                facility_id
            ]
            store(session, facility_id, rendered_version, parts, geojson)
        document = {**parts, "mous": _mous_document(session, shown, today)}
        document = freshness.annotate(document, today, max_ages)
        rendered = RenderedPreplan(etag, document, geojson)
        cache.put(stamp, rendered)
    return rendered, decision


def store(session: Session, facility_id: int, preplan_version: int, parts, geojson) -> None:
    """Keep a facility's rendered parts for every reader (one row per facility, replaced)."""
    values = {
        "facility_id": facility_id,
        "render_key": render_key(preplan_version),
        "document": json.dumps(parts, separators=(",", ":")),
        "geojson": json.dumps(geojson, separators=(",", ":")),
        "rendered_at": utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(StoredPreplan).values(values)
    # Two readers rendering at once both store; each row they store names what it was rendered
    # from, so the later write, whichever it is, is never served for another version.
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[StoredPreplan.facility_id],
            set_={k: statement.excluded[k] for k in values if k != "facility_id"},
        )
    )


def shared_parts(session: Session, facility_ids: list[int]) -> dict[int, dict]:
    """The parts every reader sees alike of each facility, by id: stored where current,
    rendered (and stored) otherwise. For readers of many pre-plans at once (the change feed)."""
    stored = session.execute(
        select(StoredPreplan.facility_id, StoredPreplan.document)
        .join(Facility, Facility.id == StoredPreplan.facility_id)
        .where(
            StoredPreplan.facility_id.in_(facility_ids),
            StoredPreplan.render_key == _CURRENT_RENDER_KEY,
        )
    )
    parts = {facility_id: json.loads(text) for facility_id, text in stored}
    missing = [facility_id for facility_id in facility_ids if facility_id not in parts]
    for facility_id, rendered in render_shared_parts(session, missing).items():
        store(session, facility_id, *rendered)
        parts[facility_id] = rendered[1]
    return parts


def unrendered(session: Session, limit: int) -> list[tuple[int, int]]:
    """Up to `limit` live facilities (id, preplan_version) whose stored pre-plan is missing or
    was rendered from an older version or other rendering code."""
    stored = select(StoredPreplan.facility_id).where(
        StoredPreplan.facility_id == Facility.id,
        StoredPreplan.render_key == _CURRENT_RENDER_KEY,
    )
    return session.execute(
        select(Facility.id, Facility.preplan_version)
        .where(Facility.deleted_at.is_(None), ~stored.exists())
        .order_by(Facility.id)
        .limit(limit)
    ).all()


def render_unrendered(session: Session, limit: int) -> int:
    """Render and store up to `limit` pre-plans that `unrendered` finds; how many it stored."""
    due = [facility_id for facility_id, _ in unrendered(session, limit)]
    for facility_id, rendered in render_shared_parts(session, due).items():
        store(session, facility_id, *rendered)
    return len(due)


def _mous_document(session: Session, shown: tuple, today) -> list[dict]:
    """The MOUs shown, serialized, in id order. Each version of an MOU is serialized once per
    worker and day (it says whether it is in force today) and shared by every pre-plan that
    shows it: an agency's MOU with a retailer covers hundreds of its stores."""
    serialized = {pair: cache.get(("mou", *pair, today)) for pair in shown}
    missing = [mou_id for (mou_id, _), value in serialized.items() if value is None]
    if missing:
        loaded = session.scalars(
            select(Mou)
            .where(Mou.id.in_(missing))
            .execution_options(populate_existing=True)
            # The pre-plan leaves out each MOU's facility list, so it is not loaded.
            .options(lazyload(Mou.facilities))
        ).all()
        for mou in loaded:
            value = _mous_schema.dump([mou])[0]
            if (mou.id, mou.version) in serialized:
                cache.put(("mou", mou.id, mou.version, today), value)
            # A change committed between the two queries: this request shows the newer MOU,
            # and the next reads a new stamp.
            serialized[next(pair for pair in serialized if pair[0] == mou.id)] = value
    # An MOU deleted between the two queries is left out.
    return [value for value in serialized.values() if value is not None]


def render_shared_parts(session: Session, facility_ids: list[int]) -> dict[int, tuple]:
    """(preplan_version, parts, GeoJSON) of each facility, by id: the parts of its pre-plan
    every reader sees alike, and the version they were rendered from, to store them under. A
    batch costs the same few queries as one facility (the render command).

    Rows are read afresh (`populate_existing`): an object the request already holds (an
    incident's facility) may predate a change committed since, and storing it under the newer
    version would serve it to every worker."""
    facilities = session.scalars(
        select(Facility)
        .where(Facility.id.in_(facility_ids))
        .execution_options(populate_existing=True)
        .options(
            selectinload(Facility.live_access_points),
            selectinload(Facility.live_tactical_points),
            selectinload(Facility.alias_rows),
            selectinload(Facility.external_ids),
        )
    ).all()
    # Only live rows, like the points (live_* relationships) and floor plans (`current`): a
    # deleted contact answers no phone, and listed first it would cost the first minutes.
    contacts_of, plans_of = defaultdict(list), defaultdict(list)
    for facility_id, contact, call_order in session.execute(
        _contacts_listed_at(facility_ids).execution_options(populate_existing=True)
    ):
        shared = contact.facility_id is None
        contacts_of[facility_id].append(ListedContact(contact, call_order) if shared else contact)
    for plan in floor_plans.current_of_facilities(session, facility_ids):
        plans_of[plan.facility_id].append(plan)
    reported = _open_corrections(session, facility_ids)
    rendered = {}
    for facility in facilities:
        parts = _shared_parts.dump(
            {
                "facility": facility,
                "contacts": contacts_of[facility.id],
                "access_points": facility.live_access_points,
                "tactical_points": facility.live_tactical_points,
                "floor_plans": plans_of[facility.id],
            }
        )
        _mark_reported(parts, reported[facility.id])
        rendered[facility.id] = (facility.preplan_version, parts, as_geojson(facility))
    return rendered


def _contacts_listed_at(facility_ids: list[int]):
    """(facility id, live contact, its place in that facility's call order) for each contact
    the facilities list, each facility's in call order: the facility's own contacts, and the
    organization's contacts assigned to it (ContactAssignment), at their place there."""
    listed = contact_listings()
    return (
        select(listed.c.facility_id, Contact, listed.c.call_order)
        .join(listed, listed.c.id == Contact.id)
        .where(listed.c.facility_id.in_(facility_ids), Contact.deleted_at.is_(None))
        .order_by(listed.c.facility_id, *in_call_order(listed.c.call_order))
    )


class ListedContact:
    """An organization's contact as one facility lists it: the person, at the place the
    facility gave them in its call order."""

    def __init__(self, contact: Contact, call_order: int):
        self.contact, self.call_order = contact, call_order

    def __getattr__(self, name):
        return getattr(self.contact, name)


def _open_corrections(session: Session, facility_ids: list[int]) -> dict:
    """{facility id: {(item kind, item id): [serialized report, ...]}}: the unresolved
    correction reports on the facilities' items, oldest first."""
    reported = defaultdict(lambda: defaultdict(list))
    rows = session.scalars(
        select(Correction)
        .where(Correction.facility_id.in_(facility_ids), Correction.status.in_(UNRESOLVED))
        .execution_options(populate_existing=True)
        .order_by(Correction.id)
    ).all()
    for row, dumped in zip(rows, _open_corrections_schema.dump(rows), strict=True):
        reported[row.facility_id][(row.item_kind, row.item_id)].append(dumped)
    return reported


def _mark_reported(parts: dict, reported: dict) -> None:
    """Put each item's unresolved reports on it (`open_corrections`, empty when none)."""
    facility = parts["facility"]
    facility["open_corrections"] = reported.get(("facility", facility["id"]), [])
    for kind, name in items.PREPLAN_LISTS.items():
        for part in parts[name]:
            part["open_corrections"] = reported.get((kind, part["id"]), [])


def _feature(lon, lat, properties):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def as_geojson(facility: Facility) -> dict:
    """Facility, access points and tactical points as GeoJSON (RFC 7946) point features.
    Points without coordinates are left out: a map layer cannot place them."""
    features = []
    if facility.lat is not None:
        properties = {
            "feature_type": "facility",
            "id": facility.id,
            "name": facility.name,
            "facility_type": facility.facility_type,
            "address": facility.normalized_address,
        }
        features.append(_feature(facility.lon, facility.lat, properties))
    for feature_type, points in (
        ("access_point", facility.live_access_points),
        ("tactical_point", facility.live_tactical_points),
    ):
        for point in points:
            if point.lat is None:
                continue
            properties = {
                "feature_type": feature_type,
                "id": point.id,
                "kind": point.kind,
                "name": point.name,
                "level": point.level,
                "facility_id": facility.id,
            }
            features.append(_feature(point.lon, point.lat, properties))
    return {"type": "FeatureCollection", "features": features}
