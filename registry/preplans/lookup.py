"""The CAD lookup: an address, a position, a phone number, a CAD premise id or a place name in;
ranked candidate facilities out, with the best one chosen only when it is unambiguous.

Never a wrong facility: every method scores its candidates in [0, 1] and says whether the match
is *confident* (e.g. an address match whose city or ZIP agrees). The best candidate is chosen
only when it is confident and leads the runner-up by `MARGIN`; otherwise every close candidate
is returned and no pre-plan. Ambiguity is judged over all registered facilities, including those
the caller may not read, so hiding one can never make another look unambiguous.
"""

import math
from dataclasses import dataclass, field
from functools import lru_cache

from marshmallow import ValidationError
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from .. import access, addresses, errors
from ..auth.principal import Principal
from ..contacts.models import Contact, ContactPhone
from ..facilities.models import Facility, FacilityAlias, FacilityExternalId
from ..fields import normalize_phone

MARGIN = 0.2
MAX_CANDIDATES = 10
# A position alone names a building only this close: a phone's fix is rarely better, and a
# caller 140 m away may well be in an unregistered building next door. Farther candidates
# within `radius_m` are listed for the call-taker, never matched by position alone.
CERTAIN_DISTANCE_M = 50
EARTH_RADIUS_M = 6_371_008.8

# Columns the scoring reads; loading these instead of whole rows keeps the hot path light.
_COLUMNS = (
    Facility.id,
    Facility.name,
    Facility.normalized_address,
    Facility.unit_key,
    Facility.city_key,
    Facility.state,
    Facility.postal_code,
    Facility.lat,
    Facility.lon,
)


@lru_cache(maxsize=256)
def _statements(scope: tuple) -> dict:
    """The lookup's queries for one visibility scope, built once and reused with new parameters.

    Building a SQL expression and its cache key costs more than running the indexed query, so
    the hot path only binds values. `scope` is (role, organization, agency, today): whether the
    caller may read each candidate comes back with it, in the same query.
    """
    columns = (*_COLUMNS, access.visibility(*scope).label("visible"))
    live = Facility.deleted_at.is_(None)  # a deleted facility is matched by nothing
    aliased = select(FacilityAlias.facility_id).where(FacilityAlias.alias_key == bindparam("key"))
    return {
        "address": select(*columns, Facility.address_key).where(
            Facility.address_key_core == bindparam("core"), live
        ),
        # A bounding box on the indexed (lat, lon) pair; the exact distance is computed after.
        "position": select(*columns).where(
            Facility.lat.between(bindparam("south"), bindparam("north")),
            Facility.lon.between(bindparam("west"), bindparam("east")),
            live,
        ),
        "contact_phone": select(*columns)
        .join(Contact, Contact.facility_id == Facility.id)
        .join(ContactPhone, ContactPhone.contact_id == Contact.id)
        .where(ContactPhone.number == bindparam("number"), Contact.deleted_at.is_(None), live)
        .distinct(),
        "main_phone": select(*columns).where(Facility.main_phone == bindparam("number"), live),
        "external_id": select(*columns)
        .join(FacilityExternalId, FacilityExternalId.facility_id == Facility.id)
        .where(
            FacilityExternalId.system == bindparam("system"),
            FacilityExternalId.external_id == bindparam("external_id"),
            live,
        ),
        "name": select(*columns).where(
            or_(Facility.name_key == bindparam("key"), Facility.id.in_(aliased)), live
        ),
    }


@dataclass
class LookupQuery:
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: int = 150
    phone: str | None = None
    external_id: str | None = None
    system: str | None = None
    name: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None


@dataclass
class Candidate:
    facility_id: int
    name: str
    normalized_address: str | None
    score: float
    confident: bool
    reasons: list[str] = field(default_factory=list)
    distance_m: float | None = None
    methods: int = 1
    visible: bool = False  # may the caller read this facility?


@dataclass
class LookupResult:
    status: str  # matched | ambiguous | no_match | not_shared
    candidates: list[Candidate]  # the ones the caller may read, best first
    hidden_matches: int  # close candidates the caller may not read
    facility_id: int | None  # the unambiguous match, when there is one
    normalized_address: str | None = None
    notes: list[str] = field(default_factory=list)  # what was not used, and why
    preplan: dict | None = None  # the serialized pre-plan, attached by service.find_preplan
    # not_shared: the registered facility that matches (id and name only), so that the agency
    # knows a pre-plan exists and can open an incident there (break-glass).
    registered_match: dict | None = None
    break_glass: dict | None = None  # set when the pre-plan is shown through break-glass

    @property
    def matched_facility_id(self) -> int | None:
        """The facility to show the caller: never the one behind a not_shared answer."""
        return self.facility_id if self.status == "matched" else None


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _candidate(row, score: float, confident: bool, reason: str) -> Candidate:
    return Candidate(
        row.id, row.name, row.normalized_address, score, confident, [reason], visible=row.visible
    )


def _locality(row, city: str | None, state: str | None, zip5: str | None):
    """(factor, confident, reason) for how well the caller's city/state/ZIP fit `row`, or None
    when they contradict it (same street, other town: a near miss, not a candidate)."""
    if state and row.state != state:
        return None
    checks = [
        ok
        for ok in (
            None if not zip5 else row.postal_code[:5] == zip5,
            None if not city else row.city_key == city,
        )
        if ok is not None
    ]
    if not checks:
        return 0.6, False, "no city or ZIP given"
    if not any(checks):
        # Every locality given names another town (a city alone counts as much as both).
        return None
    if not all(checks):
        return 0.8, False, "city and ZIP disagree"
    return 1.0, True, "city/ZIP agree"


def _by_address(session: Session, query: LookupQuery, statements) -> tuple[list[Candidate], str]:
    try:
        wanted = addresses.normalize(query.address)
    except addresses.AddressError as exc:
        raise errors.InvalidInput(
            {"address": [exc.reason]}, "The address cannot be matched."
        ) from None
    city = addresses.city_key(query.city) or wanted.city
    state = (query.state or wanted.state or "").upper() or None
    zip5 = (query.postal_code or "")[:5] or wanted.zip5
    found = []
    # The core key ("123 MAIN") finds the exact address and its near relatives in one indexed
    # query; only the exact street ("123 N MAIN ST") can be certain.
    rows = session.execute(statements["address"], {"core": wanted.street_core})
    for row in rows:
        locality = _locality(row, city, state, zip5)
        if locality is None:
            continue
        factor, confident, locality_reason = locality
        if row.address_key == wanted.street:
            score, reasons = factor, [f"address ({locality_reason})"]
        else:
            score, confident = 0.7 * factor, False
            reasons = [f"same number and street name, but {row.address_key} ({locality_reason})"]
        if wanted.unit and row.unit_key and wanted.unit != row.unit_key:
            score, confident = score * 0.6, False
            reasons.append(f"unit {wanted.unit} differs from {row.unit_key}")
        elif bool(wanted.unit) != bool(row.unit_key):
            score *= 0.95
        candidate = _candidate(row, score, confident, reasons[0])
        candidate.reasons = reasons
        found.append(candidate)
    return found, wanted.display


def _by_position(session: Session, query: LookupQuery, statements) -> list[Candidate]:
    radius = query.radius_m
    dlat = math.degrees(radius / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(query.lat)), 1e-6)
    box = {
        "south": query.lat - dlat,
        "north": query.lat + dlat,
        "west": query.lon - dlon,
        "east": query.lon + dlon,
    }
    found = []
    for row in session.execute(statements["position"], box):
        distance = haversine_m(query.lat, query.lon, row.lat, row.lon)
        if distance <= radius:
            score = 0.95 * (1 - distance / (2 * radius))
            certain = distance <= CERTAIN_DISTANCE_M
            candidate = _candidate(row, score, certain, f"within {round(distance)} m")
            candidate.distance_m = distance
            found.append(candidate)
    return found


def _by_phone(session: Session, query: LookupQuery, statements) -> list[Candidate]:
    try:
        number = normalize_phone(query.phone)
    except ValidationError as exc:
        raise errors.InvalidInput({"phone": exc.messages}) from None
    contact_rows = session.execute(statements["contact_phone"], {"number": number})
    # One method, one candidate per facility: a number that is both the main line and a
    # contact's is not two independent confirmations.
    found = {
        row.id: _candidate(row, 0.9, True, "a facility contact's phone") for row in contact_rows
    }
    for row in session.execute(statements["main_phone"], {"number": number}):
        found[row.id] = _candidate(row, 0.95, True, "facility main phone")
    return list(found.values())


def _by_external_id(session: Session, query: LookupQuery, statements) -> list[Candidate]:
    rows = session.execute(
        statements["external_id"], {"system": query.system, "external_id": query.external_id}
    )
    return [_candidate(row, 1.0, True, f"{query.system} premise id") for row in rows]


def _by_name(session: Session, query: LookupQuery, statements) -> list[Candidate]:
    key = addresses.name_key(query.name)
    if key is None:
        raise errors.InvalidInput({"name": ["No letters or digits to match."]})
    rows = session.execute(statements["name"], {"key": key})
    city = addresses.city_key(query.city)
    state = query.state.upper() if query.state else None
    zip5 = (query.postal_code or "")[:5] or None
    found = []
    for row in rows:
        locality = _locality(row, city, state, zip5)
        if locality is None:
            continue
        factor, locality_agrees, locality_reason = locality
        # A place name is certain only with an agreeing city or ZIP (or a position that agrees,
        # see _merge): "Walmart" alone may be a branch that is not registered at all, and every
        # airport has a "Terminal 2". Without one it is a candidate for the call-taker to confirm.
        if locality_agrees:
            score, confident = 1.0, True
        else:
            score, confident = (0.9 if factor == 0.6 else 0.7), False
        found.append(_candidate(row, score, confident, f"place name ({locality_reason})"))
    return found


def _merge(groups: list[list[Candidate]]) -> list[Candidate]:
    merged: dict[int, Candidate] = {}
    for group in groups:
        for candidate in group:
            known = merged.get(candidate.facility_id)
            if known is None:
                merged[candidate.facility_id] = candidate
                continue
            # Independent methods agreeing make a match stronger.
            known.methods += 1
            known.score = max(known.score, candidate.score)
            known.confident = known.confident or candidate.confident
            known.reasons += candidate.reasons
            if candidate.distance_m is not None:
                known.distance_m = candidate.distance_m
    for candidate in merged.values():
        candidate.score = round(min(1.0, candidate.score + 0.05 * (candidate.methods - 1)), 3)
    return sorted(
        merged.values(),
        key=lambda c: (-c.score, c.distance_m if c.distance_m is not None else 0, c.facility_id),
    )


def lookup(
    session: Session, principal: Principal, query: LookupQuery, lenient: bool = False
) -> LookupResult:
    """Rank the facilities that fit `query`; choose one only when nothing argues against it.

    An address that cannot be read is a 422 (InvalidInput) when it is all there is to go on;
    beside other ways in, or when `lenient` (an incident must be recorded whatever the CAD
    sent), it becomes a note and the other ways are still tried.
    """
    statements = _statements(access.scope_of(principal))
    groups, normalized, notes = [], None, []
    if query.address:
        other_ways = query.lat is not None or query.phone or query.external_id or query.name
        try:
            found, normalized = _by_address(session, query, statements)
            groups.append(found)
        except errors.InvalidInput as exc:
            if not (lenient or other_ways):
                raise
            notes.append(f"address not used: {exc.errors['address'][0]}")
    if query.lat is not None and query.lon is not None:
        groups.append(_by_position(session, query, statements))
    if query.phone:
        groups.append(_by_phone(session, query, statements))
    if query.external_id and query.system:
        groups.append(_by_external_id(session, query, statements))
    if query.name:
        groups.append(_by_name(session, query, statements))
    ranked = _merge(groups)
    if not ranked:
        return LookupResult("no_match", [], 0, None, normalized, notes)

    best = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    # Every way in that found anything must have found the best candidate too: an address
    # naming one building and a position beside another is a question, not an answer.
    disagree = any(g and best.facility_id not in {c.facility_id for c in g} for g in groups)
    if disagree:
        notes.append("the ways in point at different facilities")
    unambiguous = best.confident and best.score - runner_up >= MARGIN and not disagree
    visible = [c for c in ranked if c.visible]
    hidden = len(ranked) - len(visible)
    shown = visible[:MAX_CANDIDATES]
    if not unambiguous:
        return LookupResult("ambiguous", shown, hidden, None, normalized, notes)
    if not best.visible:
        result = LookupResult("not_shared", shown, hidden, best.facility_id, normalized, notes)
        result.registered_match = {"id": best.facility_id, "name": best.name}
        return result
    return LookupResult("matched", shown, hidden, best.facility_id, normalized, notes)
