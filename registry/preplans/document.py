"""The pre-plan: everything responders need about one facility, in one document.

Rendering a pre-plan takes about ten queries; dispatch asks for the same few pre-plans again and
again during an incident. Each worker therefore keeps rendered pre-plans keyed by a *stamp* that
one indexed query reads from the database on every request: the facility's row version and
`preplan_version` (bumped by database triggers on every change to the facility and the rows in
its pre-plan), the count, id sum and version sum of the MOUs shown, the caller's agency and
today's date (MOUs start and expire by date). A change anywhere gives a new stamp, so a stale
pre-plan is never served. The same query reads whether the caller may read the pre-plan at all
(access.break_glass.decide), on every request, cached or not.
"""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, lazyload, selectinload

from .. import errors
from ..access import break_glass
from ..access.roles import AGENCY_ROLES, Role
from ..access.sharing import covers_facility
from ..access.visibility import scope_of
from ..auth.principal import Principal
from ..contacts.models import Contact, in_call_order
from ..db import utcnow
from ..facilities.models import Facility
from ..fields import MAX_ID
from ..floorplans.service import floor_plans
from ..mous.models import Mou
from .schemas import PreplanSchema

CACHE_SIZE = 2048
_schema = PreplanSchema()


@dataclass
class RenderedPreplan:
    etag: str
    document: dict  # PreplanSchema, already serialized
    geojson: dict


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


@lru_cache(maxsize=256)
def _stamp_statement(scope: tuple):
    """The pre-plan's query for one visibility scope (access.visibility.scope_of), built once:
    the facility's stamp, then the facts of whether the caller may read it."""
    role, _, agency_id, _ = scope
    mous = _mous_shown(role, agency_id)
    return select(
        Facility.id,
        Facility.created_at,
        Facility.version,
        Facility.preplan_version,
        # Ids are never reused and versions only grow, so any insert, delete or update of the
        # MOUs shown changes this triple (same count means as many new ids as deleted, each
        # larger than every old one).
        select(func.count(Mou.id)).where(*mous).scalar_subquery(),
        select(func.coalesce(func.sum(Mou.id), 0)).where(*mous).scalar_subquery(),
        select(func.coalesce(func.sum(Mou.version), 0)).where(*mous).scalar_subquery(),
        *break_glass.read_facts(scope),  # the last two columns
    ).where(Facility.id == bindparam("facility_id"), Facility.deleted_at.is_(None))


def preplan(
    session: Session, principal: Principal, facility_id: int
) -> tuple[RenderedPreplan, break_glass.Decision]:
    """The pre-plan of a facility, with why the caller may read it (access.break_glass: by role
    or MOU, or through its agency's live break-glass grant there); NotFound when it may not."""
    scope, row = scope_of(principal), None
    if 0 < facility_id <= MAX_ID:  # a larger id names nothing, and would overflow the driver
        values = {"facility_id": facility_id, "now": utcnow()}
        row = session.execute(_stamp_statement(scope), values).first()
    decision = break_glass.decide(session, principal, row)
    if not decision.allowed:
        raise errors.NotFound(f"No facility with id {facility_id} is visible to you.")
    agency_scope = principal.agency_id if principal.role in AGENCY_ROLES else None
    stamp = (*row[:-2], agency_scope, scope[-1])
    rendered = cache.get(stamp)
    if rendered is None:
        etag = "preplan-" + hashlib.sha256(repr(stamp).encode()).hexdigest()[:32]
        rendered = _render(session, principal, facility_id, etag)
        cache.put(stamp, rendered)
    return rendered, decision


def _render(session: Session, principal: Principal, facility_id: int, etag: str):
    facility = session.scalar(
        select(Facility)
        .where(Facility.id == facility_id)
        .options(
            selectinload(Facility.live_access_points),
            selectinload(Facility.live_tactical_points),
            selectinload(Facility.alias_rows),
            selectinload(Facility.external_ids),
        )
    )
    # Only live rows, like the points (live_* relationships) and floor plans (`current`): a
    # deleted contact answers no phone, and listed first it would cost the first minutes.
    contacts = session.scalars(
        select(Contact)
        .where(Contact.facility_id == facility.id, Contact.deleted_at.is_(None))
        .order_by(*in_call_order())
    ).all()
    mous = session.scalars(
        select(Mou)
        .join(Facility, Facility.id == facility.id)
        .where(*_mous_shown(principal.role, principal.agency_id))
        .order_by(Mou.id)
        # The pre-plan leaves out each MOU's facility list, so it is not loaded.
        .options(lazyload(Mou.facilities))
    ).all()
    document = _schema.dump(
        {
            "facility": facility,
            "contacts": contacts,
            "access_points": facility.live_access_points,
            "tactical_points": facility.live_tactical_points,
            "floor_plans": floor_plans.current_of_facility(session, facility.id),
            "mous": mous,
        }
    )
    return RenderedPreplan(etag, document, as_geojson(facility))


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
