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
from types import SimpleNamespace

from marshmallow import ValidationError
from sqlalchemy import JSON, Boolean, String, bindparam, cast, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from .. import addresses, db, errors
from ..access.visibility import facilities_in_scope, scope_of
from ..addresses import gazetteer
from ..agencies.models import Agency
from ..aliases.models import AddressAlias, StreetAlias
from ..auth.principal import Principal
from ..contacts.models import Contact, ContactPhone
from ..facilities.models import Facility, FacilityAlias, FacilityExternalId
from ..fields import normalize_phone
from . import address_match
from .address_match import Comparison, Reading

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
    Facility.city,
    Facility.county_fips,
    Facility.address_number,
    Facility.address_key,
)


@lru_cache(maxsize=256)
def _statements(scope: tuple) -> dict:
    """The lookup's queries for one visibility scope, built once and reused with new parameters.

    Building a SQL expression and its cache key costs more than running the indexed query, so
    the hot path only binds values. `scope` is (role, organization, agency, today): whether the
    caller may read each candidate comes back with it, in the same query.
    """
    columns = (*_COLUMNS, facilities_in_scope(*scope).label("visible"))
    # A deleted facility is matched by nothing, nor is one waiting for an administrator's review
    # (it must not change how an established facility is matched until it is approved).
    live = Facility.deleted_at.is_(None) & (Facility.review_status == "approved")
    aliased = select(FacilityAlias.facility_id).where(FacilityAlias.alias_key == bindparam("key"))
    return {
        "address": _address_statement(columns, live),
        "visibility": select(Facility.id, columns[-1]).where(
            Facility.id.in_(bindparam("ids", expanding=True))
        ),
        # A misspelt street: the same number, then compared by similarity (never certain).
        "same_number": select(*columns).where(Facility.address_number == bindparam("number"), live),
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


def _address_statement(columns, live):
    """One indexed round trip for an address: the facilities at the typed number and street
    root, the facilities whose address aliases have it, and the facilities on the street that an
    agency's street alias names. Each row says which (`via`); the certainty rule
    (address_match) then reads every row."""
    text = String()
    nothing = cast(null(), text)
    # The caller's jurisdiction comes along, so that saying whether a match lies outside it
    # costs no second query.
    agency = Agency.id == bindparam("agency_id")
    columns = (
        *columns,
        select(Agency.state).where(agency).scalar_subquery().label("caller_state"),
        select(Agency.county_fips).where(agency).scalar_subquery().label("caller_counties"),
    )
    # The alias searches find something rarely, and a branch that carries the visibility check
    # costs PostgreSQL about as much to start as to run: theirs is asked afterwards, only for
    # what they found (_with_visibility).
    unchecked = (
        *_COLUMNS,
        cast(null(), Boolean).label("visible"),
        nothing.label("caller_state"),
        cast(null(), JSON).label("caller_counties"),
    )
    registered = select(
        *columns,
        Facility.address_key.label("key"),
        literal("facility", text).label("via"),
        nothing.label("via_text"),
        nothing.label("alias_full"),
        nothing.label("alias_county"),
        nothing.label("street_full"),
    ).where(Facility.address_key_core == bindparam("core"), live)
    by_address_alias = (
        select(
            *unchecked,
            AddressAlias.address_key,
            literal("address_alias", text),
            AddressAlias.address,
            nothing,
            nothing,
            nothing,
        )
        .join(AddressAlias, AddressAlias.facility_id == Facility.id)
        .where(AddressAlias.address_key_core == bindparam("core"), live)
    )
    by_street_alias = (
        select(
            *unchecked,
            Facility.address_key,
            literal("street_alias", text),
            StreetAlias.alias,
            StreetAlias.alias_full,
            StreetAlias.county_fips,
            StreetAlias.street_full,
        )
        .join(
            StreetAlias,
            (StreetAlias.state == Facility.state)
            & (
                Facility.address_key_core
                == bindparam("number_", type_=text) + StreetAlias.street_root
            ),
        )
        # Only the caller's own agency's aliases: they describe its streets, for its people.
        .where(
            StreetAlias.alias_root == bindparam("root"),
            StreetAlias.agency_id == bindparam("agency_id"),
            live,
        )
    )
    return union_all(registered, by_address_alias, by_street_alias)


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
    # The address rule's reading of this facility: how it fits and how it differs.
    match_kind: str | None = None  # exact | alias | relaxed
    relaxations: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    # A near miss (a similar street or city): shown so the call-taker can check a typo.
    near: bool = False
    state: str | None = None
    county_fips: str | None = None
    lat: float | None = None
    lon: float | None = None


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
    parsed: dict | None = None  # how the address was read
    match: dict | None = None  # matched: its kind, relaxations and evidence
    outside_jurisdiction: bool = False  # matched outside the calling agency's area

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
        row.id,
        row.name,
        row.normalized_address,
        score,
        confident,
        [reason],
        visible=row.visible,
        state=row.state,
        county_fips=row.county_fips,
        lat=row.lat,
        lon=row.lon,
    )


@dataclass(frozen=True)
class Jurisdiction:
    """Where the calling agency serves: a state, and counties (none listed: the whole state)."""

    state: str | None
    counties: tuple[str, ...]

    def covers(self, state: str | None, county_fips: str | None) -> bool:
        if self.state is None or state != self.state:
            return False
        return not self.counties or county_fips in self.counties


_JURISDICTION = select(Agency.state, Agency.county_fips).where(Agency.id == bindparam("id"))


def jurisdiction_of(session: Session, principal: Principal) -> Jurisdiction | None:
    if principal.agency_id is None:
        return None
    row = session.connection().execute(_JURISDICTION, {"id": principal.agency_id}).first()
    return _jurisdiction(row.state, row.county_fips) if row is not None else None


def _jurisdiction(state: str | None, counties) -> Jurisdiction | None:
    return Jurisdiction(state, tuple(counties or ())) if state else None


class CallerArea:
    """The calling agency's jurisdiction, read at most once per lookup and only when needed:
    a typed state or ZIP makes it unnecessary for reading the address, and the address query
    brings it along with its rows (`learn`)."""

    def __init__(self, session: Session, principal: Principal):
        self.session, self.principal = session, principal
        self.known, self.value = principal.agency_id is None, None

    def learn(self, state: str | None, counties) -> None:
        if not self.known:
            self.known, self.value = True, _jurisdiction(state, counties)

    def __call__(self) -> Jurisdiction | None:
        if not self.known:
            self.known, self.value = True, jurisdiction_of(self.session, self.principal)
        return self.value


def _locality(row, city: str | None, state: str | None, zip5: str | None):
    """(factor, confident, reason) for how well the caller's city/state/ZIP fit `row`, or None
    when they contradict it (same street, other town: a near miss, not a candidate)."""
    if state and row.state != state:
        return None
    names = gazetteer.locality_names(row.city, row.state, row.postal_code[:5])
    checks = [
        ok
        for ok in (
            None if not zip5 else row.postal_code[:5] == zip5,
            None if not city else city in names,
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


def _read_address(query: LookupQuery, jurisdiction) -> Reading:
    """Parse the typed address; separate city/state/postal_code fields win over the text, and a
    state comes from the ZIP or, when neither is typed, from the caller's jurisdiction (read
    only then: `jurisdiction` is called on demand)."""
    try:
        parsed = addresses.parse(query.address)
        unplaced = not (parsed.state or parsed.zip5 or query.state or query.postal_code)
        agency = jurisdiction() if unplaced else None
        if agency is not None and agency.state:
            # The agency's state also tells where the town's name starts ("... Franklin").
            parsed = addresses.parse(query.address, agency_state=agency.state)
    except addresses.AddressError as exc:
        raise errors.InvalidInput(
            {"address": [exc.reason]}, "The address cannot be matched."
        ) from None
    city = addresses.city_key(query.city) or parsed.city
    zip5 = (query.postal_code or "")[:5] or parsed.zip5
    state, source = parsed.state, parsed.state_source
    if query.state:
        state, source = query.state.upper(), "typed"
    elif state is None and zip5 and gazetteer.zip_info(zip5):
        state, source = gazetteer.zip_info(zip5).state, "zip"
    if state is None and zip5 is None and agency is not None and agency.state:
        state, source = agency.state, "agency"
    # A separate field that disagrees with the text is a question, never a silent override.
    doubts = list(parsed.doubts) + [
        f"{name}: the address says {in_text}, the {name} field {in_field}"
        for name, in_text, in_field in (
            ("city", parsed.city, addresses.city_key(query.city)),
            ("state", parsed.state, (query.state or "").upper() or None),
            ("postal_code", parsed.zip5, (query.postal_code or "")[:5] or None),
        )
        if in_text and in_field and in_text != in_field
    ]
    return Reading(parsed, city, state, zip5, source, doubts)


def _compare(reading: Reading, row, registered_key: str, via: str | None) -> Comparison | None:
    typed = reading.address
    registered = address_match.registered_street(registered_key, typed.number)
    comparison = address_match.compare_street(typed.street, registered)
    if via is not None:
        comparison.evidence.append(via)
        if comparison.kind == address_match.EXACT:
            comparison.kind = address_match.ALIAS
    if typed.street.route_state and typed.street.route_state != row.state:
        comparison.differences.append(
            f"route: typed {typed.street.route_state} {typed.street.name}, the facility is in "
            f"{row.state}"
        )
    if typed.unit and row.unit_key and typed.unit != row.unit_key:
        comparison.differences.append(f"unit {typed.unit}, registered {row.unit_key}")
    if not address_match.compare_locality(reading, row, comparison):
        return None
    return comparison


_SCORES = {address_match.EXACT: 1.0, address_match.ALIAS: 0.98, address_match.RELAXED: 0.95}


def _address_candidate(row, comparison: Comparison) -> Candidate:
    if comparison.certain:
        score = _SCORES[comparison.kind]
        reason = f"address ({comparison.kind})"
    else:
        # Never within MARGIN of a certain match: a contradicted address is a question.
        score = 0.7 if comparison.kind is not None else 0.5
        score *= 0.9 ** len(comparison.differences)
        reason = "address, not certain: " + "; ".join(comparison.differences + comparison.missing)
    candidate = _candidate(row, round(score, 3), comparison.certain, reason)
    candidate.match_kind = comparison.kind
    candidate.relaxations = comparison.relaxations
    candidate.evidence = comparison.evidence
    candidate.differences = comparison.differences
    candidate.near = comparison.near
    return candidate


def _by_address(
    session: Session, principal: Principal, query: LookupQuery, statements, jurisdiction
) -> tuple[list[Candidate], Reading]:
    reading = _read_address(query, jurisdiction)
    typed = reading.address
    # facility id -> (row, comparison, the key it was read by): the best reading of each
    found: dict[int, tuple] = {}

    def consider(row, key: str, via: str | None) -> None:
        comparison = _compare(reading, row, key, via)
        if comparison is None:
            return
        known = found.get(row.id)
        if known is None or (comparison.certain and not known[1].certain):
            found[row.id] = (row, comparison, key)

    params = {
        "core": typed.root_key,
        "number_": f"{typed.number} ",
        "root": typed.street.root,
        "agency_id": principal.agency_id,
    }
    rows = _with_visibility(
        session, statements, db.all_rows(session.connection(), statements["address"], params)
    )
    for row in rows:
        if row.via == "facility":
            jurisdiction.learn(row.caller_state, row.caller_counties)
            if row.address_number == typed.number:
                consider(row, row.key, None)
        elif row.via == "address_alias":
            if row.key.startswith(f"{typed.number} "):
                consider(row, row.key, f"address alias: {row.via_text}")
        elif (
            row.alias_full == typed.street.full
            and _in_alias_area(row, jurisdiction())
            and address_match.registered_street(row.key, typed.number).full == row.street_full
        ):
            # The caller's own agency says this typed street is the registered one here.
            consider(row, f"{typed.number} {row.alias_full}", f"street alias: {row.via_text}")

    _require_unique_street(found, typed.number)
    if reading.state_source == "agency":
        _prefer_own_counties(found, jurisdiction())
    candidates = [_address_candidate(row, c) for row, c, _key in found.values()]
    if not any(c.confident for c in candidates):
        candidates += _near_candidates(session, statements, reading, set(found))
    return candidates, reading


def _in_alias_area(row, area: Jurisdiction | None) -> bool:
    """A street alias applies in its county, or (none given) in its agency's counties."""
    if row.alias_county is not None:
        return row.alias_county == row.county_fips
    return area is None or not area.counties or row.county_fips in area.counties


def _with_visibility(session: Session, statements, rows: list) -> list:
    """Rows found through an alias come without the visibility check: ask it for them (rare)."""
    unchecked = [row for row in rows if row.visible is None]
    if not unchecked:
        return rows
    ids = sorted({row.id for row in unchecked})
    visible = dict(session.connection().execute(statements["visibility"], {"ids": ids}).all())
    return [
        row
        if row.visible is not None
        else SimpleNamespace(**{**row._asdict(), "visible": bool(visible.get(row.id))})
        for row in rows
    ]


def _require_unique_street(found: dict, number: str) -> None:
    """A relaxed match stands only when no other registered facility in the same place shares
    the number and street root with a different street that the text could also mean: "123 Main
    St" is a question when "123 N Main" and "123 S Main" are both registered. A street the text
    contradicts ("1700 State St S" against "1700 N State St") cannot be meant, so it is no rival."""
    for row, comparison, key in found.values():
        if comparison.kind != address_match.RELAXED or not comparison.certain:
            continue
        rivals = sorted(
            other_key
            for other, other_comparison, other_key in found.values()
            if other.id != row.id
            and other_comparison.street_fits
            and other.state == row.state
            and (other.postal_code[:5] == row.postal_code[:5] or other.city_key == row.city_key)
            and other_key != key
        )
        if rivals:
            comparison.missing.append(
                "another registered facility here has the same number on " + ", ".join(rivals)
            )


def _prefer_own_counties(found: dict, jurisdiction: Jurisdiction) -> None:
    """With the state taken from the caller's jurisdiction, two certain facilities ("Franklin"
    twice in one state) are told apart by the agency's counties, when exactly one is in them."""
    if not jurisdiction.counties:
        return
    certain = [(row, c) for row, c, _key in found.values() if c.certain]
    inside = [(row, c) for row, c in certain if row.county_fips in jurisdiction.counties]
    if len(certain) > 1 and len(inside) == 1:
        inside[0][1].evidence.append("in your agency's counties")
        for row, comparison in certain:
            if row.county_fips not in jurisdiction.counties:
                comparison.missing.append("outside your agency's counties")


def _near_candidates(
    session: Session, statements, reading: Reading, seen: set[int]
) -> list[Candidate]:
    """A misspelt street ("Wabsh") or city ("Springfeld"): the same number on a similar street
    in the same ZIP, city or state. Listed for the call-taker; never a match."""
    typed = reading.address
    found = []
    for row in session.connection().execute(statements["same_number"], {"number": typed.number}):
        if row.id in seen or (reading.state and row.state != reading.state):
            continue
        registered = address_match.registered_street(row.address_key, typed.number)
        same_place = (reading.zip5 and row.postal_code[:5] == reading.zip5) or (
            reading.city
            and reading.city in gazetteer.locality_names(row.city, row.state, row.postal_code[:5])
        )
        if not (same_place and address_match.similar(typed.street.root, registered.root)):
            continue
        candidate = _candidate(row, 0.4, False, "same number on a similar street")
        candidate.differences = [f"street: typed {typed.street.full}, registered {registered.full}"]
        candidate.near = True
        found.append(candidate)
    return found


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
    for row in db.all_rows(session.connection(), statements["position"], box):
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
    contact_rows = session.connection().execute(statements["contact_phone"], {"number": number})
    # One method, one candidate per facility: a number that is both the main line and a
    # contact's is not two independent confirmations.
    found = {
        row.id: _candidate(row, 0.9, True, "a facility contact's phone") for row in contact_rows
    }
    for row in session.connection().execute(statements["main_phone"], {"number": number}):
        found[row.id] = _candidate(row, 0.95, True, "facility main phone")
    return list(found.values())


def _by_external_id(session: Session, query: LookupQuery, statements) -> list[Candidate]:
    rows = session.connection().execute(
        statements["external_id"], {"system": query.system, "external_id": query.external_id}
    )
    return [_candidate(row, 1.0, True, f"{query.system} premise id") for row in rows]


def _by_name(session: Session, query: LookupQuery, statements) -> list[Candidate]:
    key = addresses.name_key(query.name)
    if key is None:
        raise errors.InvalidInput({"name": ["No letters or digits to match."]})
    rows = session.connection().execute(statements["name"], {"key": key})
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
            known.differences += candidate.differences
            known.near = known.near and candidate.near
            if candidate.distance_m is not None:
                known.distance_m = candidate.distance_m
    for candidate in merged.values():
        candidate.score = round(min(1.0, candidate.score + 0.05 * (candidate.methods - 1)), 3)
        # Whatever else agrees, a typed part that contradicts the facility keeps it uncertain.
        candidate.confident = candidate.confident and not candidate.differences
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
    statements = _statements(scope_of(principal))
    # Read from the database only when needed: a typed state or ZIP makes it unnecessary
    # unless a facility is matched (then the answer says whether it is in the caller's area).
    jurisdiction = CallerArea(session, principal)
    groups, normalized, notes, reading = [], None, [], None
    if query.address:
        other_ways = query.lat is not None or query.phone or query.external_id or query.name
        try:
            found, reading = _by_address(session, principal, query, statements, jurisdiction)
            normalized = reading.address.display
            notes += reading.address.notes
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
    result = _decide(ranked, groups, normalized, notes)
    result.parsed = reading.as_dict() if reading else None
    if result.status != "matched":
        # The reasoning below describes the facility (its street, county, distance): only for
        # a facility the caller may read, never behind a not_shared answer.
        return result
    best = next(c for c in ranked if c.facility_id == result.facility_id)
    if best.match_kind:
        result.match = {
            "kind": best.match_kind,
            "relaxations": best.relaxations,
            "evidence": best.evidence,
        }
    area = jurisdiction()
    if area is not None and not area.covers(best.state, best.county_fips):
        # Never dropped: a mutual-aid call or a border address is real. Said, not hidden.
        result.outside_jurisdiction = True
        notes.append("the facility is outside your agency's jurisdiction")
    if query.address and query.lat is not None and best.lat is not None:
        distance = haversine_m(query.lat, query.lon, best.lat, best.lon)
        if distance > query.radius_m:
            best.distance_m = distance
            notes.append(
                f"the position given is {round(distance)} m from this facility, "
                f"outside radius_m {query.radius_m}"
            )
    return result


def _decide(ranked: list[Candidate], groups, normalized, notes) -> LookupResult:
    """The status: one certain candidate well ahead of the rest, and every way in agreeing."""
    if not ranked or all(c.near for c in ranked):
        # Only near misses (a misspelt street, another ZIP): listed, never matched.
        visible = [c for c in ranked if c.visible]
        return LookupResult(
            "no_match",
            visible[:MAX_CANDIDATES],
            len(ranked) - len(visible),
            None,
            normalized,
            notes,
        )

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
