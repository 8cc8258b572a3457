"""The CAD lookup (GET /preplans/lookup) and the pre-plan document (GET /preplans/{id}).

The rule under test everywhere: never a wrong facility. A lookup answers "matched" (with the
pre-plan) only when one facility is certain; near misses are "no_match" or "ambiguous" (candidates,
no pre-plan), and facilities the caller may not read are never revealed, nor allowed to make
another facility look unambiguous.
"""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from registry import transaction
from registry.contacts.models import Contact
from registry.facilities.models import AccessPoint, Facility, FacilityExternalId, TacticalPoint
from registry.mous.models import Mou
from registry.preplans.lookup import haversine_m
from tests.conftest import assert_problem

API = "/api/v1"
LOOKUP = f"{API}/preplans/lookup"
GEOJSON = "application/geo+json"
METRES_PER_DEGREE_LAT = 111_195.08  # on the lookup's sphere (R = 6,371,008.8 m)


# --- helpers --------------------------------------------------------------------------------


def lookup(client, headers, **params) -> dict:
    response = client.get(LOOKUP, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def assert_matched(body, facility_id):
    assert body["status"] == "matched", body
    assert body["facility_id"] == facility_id
    assert body["preplan"] is not None
    assert body["preplan"]["facility"]["id"] == facility_id
    assert body["candidates"][0]["facility_id"] == facility_id


def assert_not_matched(body, status):
    """Not certain: no facility chosen and no pre-plan, whatever the candidates."""
    assert body["status"] == status, body
    assert body["facility_id"] is None
    assert body["preplan"] is None


def candidate_ids(body) -> set[int]:
    return {c["facility_id"] for c in body["candidates"]}


def add(app, *records):
    with app.app_context(), transaction.session_scope() as session:
        session.add_all(records)


def change(app, model, record_id, **values):
    """Update one row through the ORM (bumps its version, as any write path does)."""
    with app.app_context(), transaction.session_scope() as session:
        record = session.get(model, record_id)
        for name, value in values.items():
            setattr(record, name, value)


def north_of(facility, metres: float) -> tuple[float, float]:
    """A point `metres` due north of `facility`."""
    return facility.lat + metres / METRES_PER_DEGREE_LAT, facility.lon


def cad_with_mou(make, org):
    """Headers of a CAD client whose agency has an active data-sharing MOU with all of `org`."""
    agency = make.agency()
    make.mou(org, agency)
    return make.headers(make.cad_client(agency)), agency


# --- 1. matching quality: messy addresses against a seeded town ----------------------------

SEEDED = {
    # label: (address_line1, address_line2, city, state, postal_code)
    "main": ("123 N Main St", "Ste 4", "Springfield", "IL", "62701"),
    "chicago": ("123 N Main St", None, "Chicago", "IL", "60601"),
    "fifth": ("500 W 5th Ave", None, "Springfield", "IL", "62704"),
    "21st": ("2100 21st St", None, "Springfield", "IL", "62702"),
    "lakeshore": ("900 Lakeshore Blvd", None, "Springfield", "IL", "62703"),
    "veterans": ("77 Veterans Pkwy", None, "Springfield", "IL", "62711"),
    "kellogg": ("15 Kellogg Blvd", None, "Saint Paul", "MN", "55102"),
}


@pytest.fixture
def town(make):
    org = make.organization()
    facilities = {}
    for i, (label, (line1, line2, city, state, postal_code)) in enumerate(SEEDED.items()):
        facilities[label] = make.facility(
            org,
            name=f"Facility {label}",
            address_line1=line1,
            address_line2=line2,
            city=city,
            state=state,
            postal_code=postal_code,
            # Far apart, so no test here can succeed by position by accident.
            lat=30.0 + i,
            lon=-90.0,
        )
    headers, _ = cad_with_mou(make, org)
    return SimpleNamespace(facilities=facilities, headers=headers)


def matched(label):
    return ("matched", label, {label})


def ambiguous(*labels):
    return ("ambiguous", None, set(labels))


NO_MATCH = ("no_match", None, set())

V = pytest.param
ADDRESS_VARIANTS = [
    # The same suite, written the ways call-takers write it.
    V("123 n. main street suite 4, springfield il", matched("main"), id="issue-lowercase"),
    V("123 North Main St Ste 4, Springfield, IL 62701", matched("main"), id="issue-north"),
    V("123 N Main St, Ste 4, Springfield, IL 62701", matched("main"), id="as-stored"),
    V("123 NORTH MAIN STREET, SUITE 4, SPRINGFIELD, ILLINOIS 62701", matched("main"), id="caps"),
    V("123 N Main St, Springfield IL", matched("main"), id="missing-unit"),
    V("123 N Main St Ste 4, Springfield IL", matched("main"), id="missing-zip"),
    V("123 N Main St Ste 4, IL 62701", matched("main"), id="missing-city-zip-given"),
    V("123 N Main St, 62701", matched("main"), id="zip-only-locality"),
    V("123 N Main St #4, Springfield, IL 62701-1234", matched("main"), id="zip+4-hash-unit"),
    V("123 n main st apt 4 springfield il", matched("main"), id="no-punctuation-apt"),
    V("123 N. Main St., Suite #4, Springfield, Ill.", matched("main"), id="dots-everywhere"),
    V("  123   n   main   st  ,  ste 4 ,  springfield ,  il  ", matched("main"), id="spaces"),
    V("123 N MAIN ST STE 4 SPRINGFIELD IL 62701", matched("main"), id="cad-caps-no-commas"),
    V("123 n main st., ste. 4; springfield, il.", matched("main"), id="semicolon"),
    V("123 N Main St Unit 4, Springfield IL", matched("main"), id="unit-for-suite"),
    V(
        {"address": "123 N Main St Ste 4", "city": "springfield", "state": "il"},
        matched("main"),
        id="city-state-params",
    ),
    V({"address": "123 n main st", "postal_code": "62701-0004"}, matched("main"), id="zip-param"),
    # Same street, other city: the locality decides.
    V("123 N Main St, Chicago IL 60601", matched("chicago"), id="chicago"),
    V("123 North Main Street, chicago, il", matched("chicago"), id="chicago-no-zip"),
    # Avenue / West / ordinals.
    V("500 W 5th Ave, Springfield IL 62704", matched("fifth"), id="5th-ave"),
    V("500 West Fifth Avenue, Springfield, IL", matched("fifth"), id="west-fifth-avenue"),
    V("500 w. fifth ave., springfield il 62704", matched("fifth"), id="w-dot-fifth"),
    V("500 WEST 5TH AVENUE SPRINGFIELD IL 62704", matched("fifth"), id="west-5th-caps"),
    V("500 W. Fifth Av, Springfield IL", matched("fifth"), id="av"),
    V("2100 21st Street, Springfield, IL 62702", matched("21st"), id="21st-street"),
    V("2100 Twenty First St, Springfield IL", matched("21st"), id="twenty-first"),
    V("2100 Twenty-First Street, Springfield IL", matched("21st"), id="twenty-hyphen-first"),
    V("2100 twenty first st springfield il 62702-9999", matched("21st"), id="21st-zip+4"),
    # Boulevard / Parkway.
    V("900 Lakeshore Boulevard, Springfield IL", matched("lakeshore"), id="boulevard"),
    V("900 LAKESHORE BLVD., SPRINGFIELD, IL", matched("lakeshore"), id="blvd-dot"),
    V("77 Veterans Parkway, Springfield IL", matched("veterans"), id="parkway"),
    V("77 veterans pkwy springfield il 62711-4321", matched("veterans"), id="pkwy-zip+4"),
    V("77 Veterans Pky, Springfield IL", matched("veterans"), id="pky"),
    # City name spellings.
    V("15 Kellogg Blvd, St. Paul, MN", matched("kellogg"), id="st-paul"),
    V("15 Kellogg Boulevard, SAINT PAUL MN 55102", matched("kellogg"), id="saint-paul"),
    # Near misses: nothing registered is at this address.
    V("123 N Oak St, Springfield IL", NO_MATCH, id="same-number-other-street"),
    V("500 W 6th Ave, Springfield IL", NO_MATCH, id="same-number-other-ordinal"),
    V("124 N Main St Ste 4, Springfield IL 62701", NO_MATCH, id="other-house-number"),
    V("501 W 5th Ave, Springfield IL", NO_MATCH, id="next-door"),
    V("1 N Main St, Springfield IL", NO_MATCH, id="other-house-number-short"),
    V("123 N Main St Ste 4, Springfield MO", NO_MATCH, id="wrong-state"),
    V("15 Kellogg Blvd, St. Paul, WI", NO_MATCH, id="wrong-state-st-paul"),
    V("123 N Main St, Peoria IL", NO_MATCH, id="same-street-third-city"),
    V("2100 21st St, Chicago IL", NO_MATCH, id="same-street-other-city"),
    V("500 W 5th Ave, Springfield IL 60601", ambiguous("fifth"), id="right-city-wrong-zip"),
    # Near misses that are candidates, never certain.
    V("123 N Main St, Springfield IL 60601", ambiguous("main", "chicago"), id="city-vs-zip"),
    V("123 N Main St", ambiguous("main", "chicago"), id="no-locality"),
    V("123 N Main St Ste 9, Springfield IL", ambiguous("main"), id="wrong-suite"),
    V("123 S Main St, Springfield IL", ambiguous("main"), id="other-directional"),
    # One tolerated relaxation, unique in its town (Chicago's 123 N Main is another town).
    V("123 Main St, Springfield IL", matched("main"), id="directional-omitted"),
    V("123 Main, Springfield IL", ambiguous("main"), id="type-and-directional-omitted"),
    V("500 W 5th St, Springfield IL", ambiguous("fifth"), id="other-street-type"),
    V("500 E 5th Ave, Springfield IL", ambiguous("fifth"), id="east-for-west"),
]


def test_the_table_is_big_enough():
    assert len(ADDRESS_VARIANTS) >= 40
    assert {v.values[1][0] for v in ADDRESS_VARIANTS} == {"matched", "ambiguous", "no_match"}


@pytest.mark.parametrize(("query", "expected"), ADDRESS_VARIANTS)
def test_address_variants(client, town, query, expected):
    status, label, candidate_labels = expected
    params = {"address": query} if isinstance(query, str) else query
    body = lookup(client, town.headers, **params)
    ids = {label: f.id for label, f in town.facilities.items()}
    assert body["status"] == status, body
    assert candidate_ids(body) == {ids[c] for c in candidate_labels}, body["candidates"]
    assert body["hidden_matches"] == 0
    if status == "matched":
        assert_matched(body, ids[label])
        best = body["candidates"][0]
        assert best["confident"] is True
        assert best["score"] >= 0.9
        assert body["normalized_address"]
        assert body["preplan"]["facility"]["name"] == f"Facility {label}"
    else:
        assert_not_matched(body, status)


def test_the_two_issue_spellings_normalise_alike(client, town):
    a = lookup(client, town.headers, address="123 n. main street suite 4, springfield il")
    b = lookup(client, town.headers, address="123 North Main St Ste 4, Springfield, IL 62701")
    assert a["facility_id"] == b["facility_id"] == town.facilities["main"].id
    assert a["normalized_address"] == "123 N MAIN ST #4, SPRINGFIELD, IL"
    assert b["normalized_address"] == "123 N MAIN ST #4, SPRINGFIELD, IL 62701"


def test_an_edited_address_is_found_at_once_and_the_old_one_no_longer(client, make):
    """The keys the lookup searches are derived where the address is set (the facility
    service), so no stale key keeps answering for the old address."""
    org = make.organization()
    facility = make.facility(org, name="Mover", address_line1="10 S Oak St", postal_code="62704")
    headers, _ = cad_with_mou(make, org)
    old, new = "10 S Oak St, Springfield IL 62704", "250 N Elm St, Springfield IL 62704"
    assert_matched(lookup(client, headers, address=old), facility.id)
    manager, url = make.manager(org), f"{API}/facilities/{facility.id}"
    etag = client.get(url, headers=manager).headers["ETag"]

    edited = client.patch(
        url, json={"address_line1": "250 N Elm St"}, headers={**manager, "If-Match": etag}
    )

    assert edited.status_code == 200, edited.get_json()
    assert_matched(lookup(client, headers, address=new), facility.id)
    assert_not_matched(lookup(client, headers, address=old), "no_match")


# --- 2. ambiguity ---------------------------------------------------------------------------


@pytest.fixture
def building(make):
    """Two tenants of one building: same street address, different suites."""
    org = make.organization()
    common = {"address_line1": "200 E Adams St", "city": "Springfield", "postal_code": "62701"}
    first = make.facility(org, name="Bank", address_line2="Suite 100", **common)
    second = make.facility(org, name="Clinic", address_line2="Suite 200", **common)
    headers, _ = cad_with_mou(make, org)
    return SimpleNamespace(first=first, second=second, headers=headers)


def test_same_building_without_a_suite_is_ambiguous(client, building):
    body = lookup(client, building.headers, address="200 E Adams St, Springfield IL 62701")
    assert_not_matched(body, "ambiguous")
    assert candidate_ids(body) == {building.first.id, building.second.id}
    assert {c["name"] for c in body["candidates"]} == {"Bank", "Clinic"}
    for candidate in body["candidates"]:
        assert candidate["reasons"]


@pytest.mark.parametrize(
    ("address", "which"),
    [
        ("200 E Adams St Suite 200, Springfield IL 62701", "second"),
        ("200 east adams street ste 200 springfield il", "second"),
        ("200 E Adams St #100, Springfield, IL", "first"),
    ],
)
def test_same_building_with_the_suite_is_matched(client, building, address, which):
    body = lookup(client, building.headers, address=address)
    wanted = getattr(building, which)
    assert_matched(body, wanted.id)
    # The neighbour stays visible as a weaker candidate, never chosen.
    other = building.second if which == "first" else building.first
    scores = {c["facility_id"]: c["score"] for c in body["candidates"]}
    assert scores[wanted.id] - scores[other.id] >= 0.2


@pytest.fixture
def airports(client, make):
    """Two airports with a "Terminal 2" each, in different cities, made through the API."""
    org = make.organization(kind="airport_authority")
    admin = make.admin()
    made = {}
    for city, postal_code, street, lat in (
        ("Springfield", "62707", "1200 Capital Airport Dr", 39.84),
        ("Chicago", "60666", "10000 W O'Hare Ave", 41.97),
    ):
        response = client.post(
            f"{API}/facilities",
            json={
                "organization_id": org.id,
                "name": f"{city} Airport",
                "facility_type": "airport",
                "address_line1": street,
                "city": city,
                "state": "IL",
                "postal_code": postal_code,
                "lat": lat,
                "lon": -88.0,
                "aliases": ["Terminal 2", f"{city} Intl"],
                "external_ids": [{"system": f"{city}-CAD", "external_id": "T2"}],
            },
            headers=admin,
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.json["aliases"] == ["Terminal 2", f"{city} Intl"]
        made[city] = response.json["id"]
    headers, _ = cad_with_mou(make, org)
    return SimpleNamespace(ids=made, headers=headers)


def test_a_shared_alias_alone_is_ambiguous(client, airports):
    body = lookup(client, airports.headers, name="Terminal 2")
    assert_not_matched(body, "ambiguous")
    assert candidate_ids(body) == set(airports.ids.values())


@pytest.mark.parametrize(
    ("params", "city"),
    [
        ({"name": "Terminal 2", "city": "Chicago"}, "Chicago"),
        ({"name": "terminal-2", "city": "springfield"}, "Springfield"),
        ({"name": "TERMINAL 2", "postal_code": "60666"}, "Chicago"),
    ],
)
def test_a_shared_alias_with_the_city_is_matched(client, airports, params, city):
    body = lookup(client, airports.headers, **params)
    assert_matched(body, airports.ids[city])
    assert "Terminal 2" in body["preplan"]["facility"]["aliases"]


def test_a_shared_alias_in_a_third_city_is_no_match(client, airports):
    body = lookup(client, airports.headers, name="Terminal 2", city="Peoria")
    assert_not_matched(body, "no_match")
    assert body["candidates"] == []


@pytest.mark.parametrize(
    "address",
    [
        "123 Main, Springfield IL",  # two relaxations: type and directional
        "123 N Main, Springfield",  # no state typed, none implied
        "123 S Main St, Springfield IL 62701",  # a conflicting directional
        "123 N Main Ave, Springfield IL 62701",  # a conflicting type
    ],
)
def test_a_partial_or_conflicting_street_is_never_certain(client, make, address):
    # Even when only one facility could be meant, these are candidates, not a match.
    org = make.organization()
    facility = make.facility(org, address_line1="123 N Main St", postal_code="62701")
    headers, _ = cad_with_mou(make, org)
    body = lookup(client, headers, address=address)
    assert_not_matched(body, "ambiguous")
    assert [c["facility_id"] for c in body["candidates"]] == [facility.id]
    assert body["candidates"][0]["confident"] is False


def test_an_omitted_directional_is_certain_only_when_no_other_street_shares_the_root(client, make):
    org = make.organization()
    north = make.facility(org, address_line1="123 N Main St", postal_code="62701")
    headers, _ = cad_with_mou(make, org)
    body = lookup(client, headers, address="123 Main St, Springfield IL 62701")
    assert_matched(body, north.id)
    assert body["match"]["kind"] == "relaxed"
    assert body["match"]["relaxations"] == ["directional N (before) not typed"]
    # A South Main at the same number in the same town: the dropped "N" now matters.
    south = make.facility(org, address_line1="123 S Main St", postal_code="62701")
    body = lookup(client, headers, address="123 Main St, Springfield IL 62701")
    assert_not_matched(body, "ambiguous")
    assert candidate_ids(body) == {north.id, south.id}


def test_address_and_position_of_different_facilities_is_not_a_match(client, make):
    org = make.organization()
    at_address = make.facility(org, address_line1="10 S Walnut St", lat=39.70, lon=-89.60)
    elsewhere = make.facility(org, address_line1="99 Elm St", lat=39.80, lon=-89.60)
    headers, _ = cad_with_mou(make, org)
    lat, lon = north_of(elsewhere, 5)
    body = lookup(client, headers, address="10 S Walnut St, Springfield IL", lat=lat, lon=lon)
    assert_not_matched(body, "ambiguous")
    assert candidate_ids(body) == {at_address.id, elsewhere.id}


def test_address_and_position_agreeing_are_stronger(client, make):
    org = make.organization()
    facility = make.facility(org, address_line1="10 S Walnut St", lat=39.70, lon=-89.60)
    headers, _ = cad_with_mou(make, org)
    lat, lon = north_of(facility, 20)
    body = lookup(client, headers, address="10 S Walnut St", lat=lat, lon=lon)
    # The address alone has no locality (never certain); the position confirms it.
    assert_matched(body, facility.id)
    assert body["candidates"][0]["distance_m"] == pytest.approx(20, abs=0.5)
    assert len(body["candidates"][0]["reasons"]) == 2


# --- 3. radius search -----------------------------------------------------------------------


@pytest.fixture
def site(make):
    org = make.organization()
    facility = make.facility(org, name="Depot", address_line1="1 Depot Rd", lat=39.80, lon=-89.60)
    headers, _ = cad_with_mou(make, org)
    return SimpleNamespace(org=org, facility=facility, headers=headers)


def test_north_of_is_the_distance_the_lookup_measures(site):
    lat, lon = north_of(site.facility, 149)
    assert haversine_m(lat, lon, site.facility.lat, site.facility.lon) == pytest.approx(
        149, abs=0.1
    )


def test_just_inside_the_default_radius_is_a_candidate(client, site):
    lat, lon = north_of(site.facility, 149)
    body = lookup(client, site.headers, lat=lat, lon=lon)
    # Found, but 149 m away the caller may be in an unregistered building next door.
    assert_not_matched(body, "ambiguous")
    assert [c["facility_id"] for c in body["candidates"]] == [site.facility.id]
    assert body["candidates"][0]["distance_m"] == pytest.approx(149, abs=0.5)
    assert body["candidates"][0]["confident"] is False
    assert body["normalized_address"] is None


@pytest.mark.parametrize(("metres", "status"), [(49, "matched"), (51, "ambiguous")])
def test_a_position_alone_is_certain_only_within_50_m(client, site, metres, status):
    lat, lon = north_of(site.facility, metres)
    body = lookup(client, site.headers, lat=lat, lon=lon)
    assert body["status"] == status
    assert [c["facility_id"] for c in body["candidates"]] == [site.facility.id]


def test_just_outside_the_default_radius_is_no_match(client, site):
    lat, lon = north_of(site.facility, 151)
    body = lookup(client, site.headers, lat=lat, lon=lon)
    assert_not_matched(body, "no_match")
    assert body["candidates"] == []


def test_a_wider_radius_reaches_further(client, site):
    lat, lon = north_of(site.facility, 151)
    body = lookup(client, site.headers, lat=lat, lon=lon, radius_m=160)
    assert [c["facility_id"] for c in body["candidates"]] == [site.facility.id]
    lat, lon = north_of(site.facility, 4990)
    body = lookup(client, site.headers, lat=lat, lon=lon, radius_m=5000)
    assert body["candidates"][0]["distance_m"] == pytest.approx(4990, abs=1)
    # Listed, never matched: a wide radius is a search, not an identification.
    assert_not_matched(body, "ambiguous")
    lat, lon = north_of(site.facility, 5010)
    assert lookup(client, site.headers, lat=lat, lon=lon, radius_m=5000)["status"] == "no_match"


def test_just_outside_a_narrow_radius(client, site):
    lat, lon = north_of(site.facility, 51)
    body = lookup(client, site.headers, lat=lat, lon=lon, radius_m=50)
    assert_not_matched(body, "no_match")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": 39.8, "lon": -89.6, "radius_m": 5001}, "radius_m"),
        ({"lat": 39.8, "lon": -89.6, "radius_m": 0}, "radius_m"),
        ({"lat": 39.8, "lon": -89.6, "radius_m": "far"}, "radius_m"),
        ({"lat": 39.8}, "lat"),
        ({"lat": 39.8, "radius_m": 100}, "lat"),
        ({"lon": -89.6}, "lat"),
        ({"lat": 91, "lon": -89.6}, "lat"),
        ({"lat": 39.8, "lon": 181}, "lon"),
        ({"lat": "north", "lon": -89.6}, "lat"),
        ({"lat": "nan", "lon": -89.6}, "lat"),
    ],
)
def test_bad_positions_are_422(client, site, params, field):
    response = client.get(LOOKUP, query_string=params, headers=site.headers)
    assert_problem(response, 422, field)


def test_two_facilities_at_similar_distances_are_ambiguous(client, site, make):
    # A second facility ~45 m south of the point, the first ~40 m north of it.
    lat, lon = north_of(site.facility, 85)
    neighbour = make.facility(site.org, name="Annex", address_line1="3 Depot Rd", lat=lat, lon=lon)
    lat, lon = north_of(site.facility, 40)
    body = lookup(client, site.headers, lat=lat, lon=lon)
    assert_not_matched(body, "ambiguous")
    distances = {c["facility_id"]: c["distance_m"] for c in body["candidates"]}
    assert distances[site.facility.id] == pytest.approx(40, abs=0.5)
    assert distances[neighbour.id] == pytest.approx(45, abs=0.5)
    # Nearest first.
    assert body["candidates"][0]["facility_id"] == site.facility.id


def test_one_much_nearer_facility_is_matched(client, site, make):
    lat, lon = north_of(site.facility, 150)
    far = make.facility(site.org, name="Annex", address_line1="3 Depot Rd", lat=lat, lon=lon)
    lat, lon = north_of(site.facility, 10)
    body = lookup(client, site.headers, lat=lat, lon=lon)
    assert_matched(body, site.facility.id)
    distances = {c["facility_id"]: c["distance_m"] for c in body["candidates"]}
    assert distances == {
        site.facility.id: pytest.approx(10, abs=0.5),
        far.id: pytest.approx(140, abs=0.5),
    }


def test_facilities_without_coordinates_are_not_found_by_position(client, site, make):
    make.facility(site.org, name="Unmapped", address_line1="5 Depot Rd", lat=None, lon=None)
    body = lookup(client, site.headers, lat=site.facility.lat, lon=site.facility.lon)
    assert_matched(body, site.facility.id)
    assert len(body["candidates"]) == 1


# --- 4. phone, external id, name ------------------------------------------------------------


@pytest.fixture
def phonebook(app, make):
    org = make.organization()
    store = make.facility(
        org, name="Springfield Mall", address_line1="1 Mall Dr", main_phone="+12175551432"
    )
    office = make.facility(org, name="Tower", address_line1="2 Tower Pl")
    make.contact(
        facility_id=office.id,
        name="Night guard",
        phones=[
            {"kind": "office", "number": "+12175550100"},
            {"kind": "mobile", "number": "+12175550199"},
        ],
    )
    add(
        app,
        FacilityExternalId(facility_id=office.id, system="SPD-CAD", external_id="P-1001"),
        FacilityExternalId(facility_id=store.id, system="SFD-CAD", external_id="P-1001"),
    )
    headers, _ = cad_with_mou(make, org)
    return SimpleNamespace(store=store, office=office, headers=headers)


@pytest.mark.parametrize("phone", ["(217) 555-1432", "217.555.1432", "+1 217-555-1432"])
def test_facility_main_phone_in_loose_form(client, phonebook, phone):
    body = lookup(client, phonebook.headers, phone=phone)
    assert_matched(body, phonebook.store.id)
    assert body["candidates"][0]["reasons"] == ["facility main phone"]


def test_a_facility_contacts_second_number(client, phonebook):
    body = lookup(client, phonebook.headers, phone="(217) 555-0199")
    assert_matched(body, phonebook.office.id)
    assert body["candidates"][0]["reasons"] == ["a facility contact's phone"]
    assert [c["name"] for c in body["preplan"]["contacts"]] == ["Night guard"]


def test_an_unknown_phone_is_no_match(client, phonebook):
    assert_not_matched(lookup(client, phonebook.headers, phone="217-555-0177"), "no_match")


def test_a_number_shared_by_two_facilities_is_ambiguous(client, phonebook, make):
    make.contact(
        facility_id=phonebook.office.id,
        name="Mall desk",
        phones=[{"kind": "desk", "number": "+12175551432"}],
    )
    body = lookup(client, phonebook.headers, phone="2175551432")
    assert_not_matched(body, "ambiguous")
    assert candidate_ids(body) == {phonebook.store.id, phonebook.office.id}


@pytest.mark.parametrize("phone", ["not a phone", "555", "+1 000 000 0000"])
def test_an_invalid_phone_is_422(client, phonebook, phone):
    response = client.get(LOOKUP, query_string={"phone": phone}, headers=phonebook.headers)
    assert_problem(response, 422, "phone")


def test_external_id_with_its_system(client, phonebook):
    body = lookup(client, phonebook.headers, external_id="P-1001", system="SPD-CAD")
    assert_matched(body, phonebook.office.id)
    body = lookup(client, phonebook.headers, external_id="P-1001", system="SFD-CAD")
    assert_matched(body, phonebook.store.id)
    body = lookup(client, phonebook.headers, external_id="P-1001", system="OTHER-CAD")
    assert_not_matched(body, "no_match")
    body = lookup(client, phonebook.headers, external_id="P-1002", system="SPD-CAD")
    assert_not_matched(body, "no_match")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"external_id": "P-1001"}, "external_id"), ({"system": "SPD-CAD"}, "external_id")],
)
def test_external_id_without_system_is_422(client, phonebook, params, field):
    assert_problem(client.get(LOOKUP, query_string=params, headers=phonebook.headers), 422, field)


@pytest.mark.parametrize("name", ["Springfield Mall", "springfield mall", "SPRINGFIELD-MALL"])
def test_facility_name(client, phonebook, name):
    body = lookup(client, phonebook.headers, name=name, city="Springfield")
    assert_matched(body, phonebook.store.id)


def test_a_name_alone_is_a_candidate_never_a_match(client, phonebook):
    # The only registered "Springfield Mall" may not be the one the caller is at.
    body = lookup(client, phonebook.headers, name="Springfield Mall")
    assert_not_matched(body, "ambiguous")
    assert [c["facility_id"] for c in body["candidates"]] == [phonebook.store.id]


def test_alias_and_external_id_made_through_the_api(client, airports):
    body = lookup(client, airports.headers, name="springfield intl", city="Springfield")
    assert_matched(body, airports.ids["Springfield"])
    body = lookup(client, airports.headers, external_id="T2", system="Chicago-CAD")
    assert_matched(body, airports.ids["Chicago"])


def test_an_unknown_name_is_no_match(client, phonebook):
    assert_not_matched(lookup(client, phonebook.headers, name="Springfield Mall 2"), "no_match")
    assert_problem(
        client.get(LOOKUP, query_string={"name": "!!!"}, headers=phonebook.headers), 422, "name"
    )


# --- 5. input that cannot be looked up ------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("PO Box 123, Springfield IL 62701", "PO box"),
        ("P.O. Box 55, Springfield, IL", "PO box"),
        ("123 Main St PO Box 9, Springfield IL", "PO box"),
        ("Main St & 5th Ave, Springfield IL", "intersection"),
        ("N Main St and W 5th Ave", "intersection"),
        ("asdfgh qwerty", "house number"),
        ("!!!", "house number"),
        ("xyzzy 42", "house number"),
        ("Main Street, Springfield IL", "house number"),
        ("N Main St", "house number"),
        ("123 N Main St, Springfield IL 62701, 456 Oak St, Chicago IL", "more than one address"),
    ],
)
def test_unmatchable_addresses_are_422_naming_address(client, site, address, reason):
    response = client.get(LOOKUP, query_string={"address": address}, headers=site.headers)
    body = assert_problem(response, 422, "address")
    assert reason.lower() in " ".join(body["errors"]["address"]).lower(), body


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "address"),
        ({"city": "Springfield", "state": "IL"}, "address"),
        ({"radius_m": 100}, "address"),
        ({"address": ""}, "address"),
        ({"address": "   "}, "address"),
        ({"address": "1" * 301}, "address"),
        ({"address": "123 Main\x00 St"}, "address"),
        ({"address": "123 N Main St", "state": "Illinois"}, "state"),
        ({"address": "123 N Main St", "postal_code": "6270"}, "postal_code"),
        ({"address": "123 N Main St", "color": "red"}, "color"),
    ],
)
def test_empty_or_malformed_queries_are_422(client, site, params, field):
    response = client.get(LOOKUP, query_string=params, headers=site.headers)
    assert_problem(response, 422, field)


def test_lookup_needs_a_token(client, site):
    response = client.get(LOOKUP, query_string={"address": "1 Depot Rd"})
    assert_problem(response, 401)


# --- 6. visibility --------------------------------------------------------------------------


@pytest.fixture
def partner(make):
    org = make.organization()
    facility = make.facility(
        org,
        name="Secret Vault",
        address_line1="10 S Walnut St",
        postal_code="62701",
        lat=39.70,
        lon=-89.70,
        main_phone="+12175550142",
    )
    agency = make.agency()
    return SimpleNamespace(org=org, facility=facility, agency=agency)


def _no_sharing(make, p):
    pass


def _draft(make, p):
    make.mou(p.org, p.agency, status="draft")


def _proposed(make, p):
    make.mou(p.org, p.agency, status="proposed")


def _superseded(make, p):
    # Its renewal took over today: from today on it grants nothing.
    make.mou(p.org, p.agency, status="superseded", superseded_on=date.today())


def _training_only(make, p):
    make.mou(p.org, p.agency, scopes=("training", "key_holding"))


def _expired(make, p):
    make.mou(
        p.org,
        p.agency,
        effective_date=date.today() - timedelta(days=400),
        expiry_date=date.today() - timedelta(days=2),
    )


def _not_yet(make, p):
    make.mou(p.org, p.agency, effective_date=date.today() + timedelta(days=7))


def _other_facility_only(make, p):
    other = make.facility(p.org, address_line1="11 S Walnut St")
    make.mou(p.org, p.agency, facilities=[other])


def _other_agency(make, p):
    make.mou(p.org, make.agency())


NOT_SHARING = [
    _no_sharing,
    _draft,
    _proposed,
    _superseded,
    _training_only,
    _expired,
    _not_yet,
    _other_facility_only,
    _other_agency,
]


@pytest.mark.parametrize("arrangement", NOT_SHARING, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("caller", ["cad", "officer"])
def test_without_an_active_data_sharing_mou_it_is_not_shared(
    client, make, partner, arrangement, caller
):
    arrangement(make, partner)
    if caller == "cad":
        headers = make.headers(make.cad_client(partner.agency))
    else:
        headers = make.officer(partner.agency)
    for params in (
        {"address": "10 S Walnut St, Springfield IL 62701"},
        {"phone": "(217) 555-0142"},
        {"name": "secret vault", "city": "Springfield"},
    ):
        response = client.get(LOOKUP, query_string=params, headers=headers)
        assert response.status_code == 200
        body = response.get_json()
        assert_not_matched(body, "not_shared")
        assert body["candidates"] == []
        assert body["hidden_matches"] == 1
        # That a registered facility matches (id and name only, so the agency can open an
        # incident there), and nothing else about it.
        assert body["registered_match"] == {"id": partner.facility.id, "name": "Secret Vault"}
        assert body["preplan"] is None and body["break_glass"] is None
        # Not its street, nor its phone (the id may itself contain "555": look for the number).
        assert "Walnut" not in str(body) and "5550142" not in str(body)
        assert str(partner.facility.id) not in str(body["candidates"])


@pytest.mark.parametrize("caller", ["cad", "officer"])
def test_with_an_active_data_sharing_mou_it_is_matched(client, make, partner, caller):
    mou = make.mou(partner.org, partner.agency, facilities=[partner.facility])
    if caller == "cad":
        headers = make.headers(make.cad_client(partner.agency))
    else:
        headers = make.officer(partner.agency)
    body = lookup(client, headers, address="10 S Walnut St, Springfield IL 62701")
    assert_matched(body, partner.facility.id)
    assert body["hidden_matches"] == 0
    assert [m["id"] for m in body["preplan"]["mous"]] == [mou.id]


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_those_who_dispatch_or_plan_may_look_up(client, make, partner, method):
    # For anyone else the lookup is an oracle: another tenant's manager would learn facility
    # names, an auditor whether a phone number is a liaison's (issue 15, item 9).
    query = {"address": "10 S Walnut St, Springfield IL", "phone": "+12175550100"}
    for headers in (
        make.manager(partner.org),
        make.manager(make.organization()),
        make.headers(make.user("auditor")),
    ):
        if method == "get":
            response = client.get(LOOKUP, query_string=query, headers=headers)
        else:
            response = client.post(LOOKUP, json=query, headers=headers)
        assert_problem(response, 403)
        assert "Walnut" not in response.get_data(as_text=True)
    for headers in (make.admin(), make.headers(make.cad_client(partner.agency))):
        response = getattr(client, method)(
            LOOKUP,
            **({"query_string": query} if method == "get" else {"json": query}),
            headers=headers,
        )
        assert response.status_code == 200
        found = response.get_json()
        registered = (found["registered_match"] or {}).get("id")
        assert partner.facility.id in (found["facility_id"], registered)


def test_the_lookup_as_a_post_keeps_the_query_out_of_the_url(client, make, partner):
    headers = make.headers(make.cad_client(partner.agency))
    body = {"address": "10 S Walnut St, Springfield IL", "lat": 39.8, "lon": -89.6}
    response = client.post(LOOKUP, json=body, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == lookup(client, headers, **body)
    # The body is validated like the query string: bad input is a problem, nothing guessed.
    assert_problem(client.post(LOOKUP, json={"lat": 39.8}, headers=headers), 422, "lat")
    assert_problem(client.post(LOOKUP, json={"radius_m": "x"}, headers=headers), 422)


def test_a_hidden_facility_keeps_a_shared_one_ambiguous(client, make, partner):
    # Another organization's facility at the very same address, shared with the agency.
    shared_org = make.organization()
    shared = make.facility(
        shared_org, name="Open Cafe", address_line1="10 S Walnut St", postal_code="62701"
    )
    make.mou(shared_org, partner.agency)
    headers = make.headers(make.cad_client(partner.agency))
    body = lookup(client, headers, address="10 S Walnut St, Springfield IL 62701")
    assert_not_matched(body, "ambiguous")
    assert [c["facility_id"] for c in body["candidates"]] == [shared.id]
    assert body["hidden_matches"] == 1
    assert "Secret Vault" not in str(body)
    # Once the partner shares too, both are visible and it is still ambiguous.
    make.mou(partner.org, partner.agency)
    body = lookup(client, headers, address="10 S Walnut St, Springfield IL 62701")
    assert_not_matched(body, "ambiguous")
    assert candidate_ids(body) == {shared.id, partner.facility.id}
    assert body["hidden_matches"] == 0


def test_a_hidden_nearby_facility_keeps_a_position_lookup_ambiguous(client, make, partner):
    shared_org = make.organization()
    lat, lon = north_of(partner.facility, 30)
    shared = make.facility(shared_org, address_line1="12 S Walnut St", lat=lat, lon=lon)
    make.mou(shared_org, partner.agency)
    headers = make.headers(make.cad_client(partner.agency))
    lat, lon = north_of(partner.facility, 16)
    body = lookup(client, headers, lat=lat, lon=lon)
    assert_not_matched(body, "ambiguous")
    assert candidate_ids(body) == {shared.id}
    assert body["hidden_matches"] == 1


# --- 7. the pre-plan document ---------------------------------------------------------------


@pytest.fixture
def preplan(app, make):
    """A facility with everything a pre-plan shows, and an agency that may read it."""
    org = make.organization()
    facility = make.facility(
        org,
        name="Grand Theater",
        facility_type="theater",
        address_line1="400 E Jefferson St",
        lat=39.80,
        lon=-89.65,
        hazards="Pyrotechnics stored backstage",
        confirmed_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
    )
    # Call order: 1 (24/7), 1, 2, 3 — created out of order, names against the order.
    third = make.contact(facility_id=facility.id, name="Alice", call_order=3)
    first_plain = make.contact(facility_id=facility.id, name="Bob", call_order=1)
    second = make.contact(facility_id=facility.id, name="Aaron", call_order=2, available_24_7=True)
    first_24_7 = make.contact(
        facility_id=facility.id, name="Zed", call_order=1, available_24_7=True
    )
    door = make.access_point(facility, name="Stage door", kind="entrance", lat=39.8001, lon=-89.65)
    knox = make.access_point(facility, name="Knox box", kind="key_box")  # no coordinates
    staging = make.tactical_point(
        facility, name="North lot", kind="staging_area", lat=39.802, lon=-89.651
    )
    ccp = make.tactical_point(facility, name="Lobby", kind="casualty_collection_point")
    agency, other_agency = make.agency(), make.agency()
    mou = make.mou(org, agency, scopes=("data_sharing", "key_holding"))
    other_mou = make.mou(org, other_agency)
    # The agency's MOU with another organization is not about this facility.
    make.mou(make.organization(), agency)
    # An MOU of this organization and agency that lists only another facility.
    elsewhere = make.facility(org, address_line1="1 Elsewhere Rd", lat=40.5, lon=-89.0)
    narrow = make.mou(org, agency, facilities=[elsewhere], scopes=("training",))
    return SimpleNamespace(
        org=org,
        facility=facility,
        contacts=[first_24_7, second, first_plain, third],  # 24/7 first, then call order
        door=door,
        knox=knox,
        staging=staging,
        ccp=ccp,
        agency=agency,
        mou=mou,
        other_mou=other_mou,
        narrow=narrow,
        headers=make.headers(make.cad_client(agency)),
        url=f"{API}/preplans/{facility.id}",
    )


def test_preplan_document(client, preplan):
    response = client.get(preplan.url, headers=preplan.headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert body["facility"]["id"] == preplan.facility.id
    assert body["facility"]["name"] == "Grand Theater"
    assert body["facility"]["hazards"] == "Pyrotechnics stored backstage"
    assert body["facility"]["last_verified_at"].startswith("2026-01-15T12:00:00")
    assert body["facility"]["normalized_address"] == "400 E JEFFERSON ST, SPRINGFIELD, IL 62701"
    # 24/7 first (they answer at 3 a.m.), then call order.
    assert [c["name"] for c in body["contacts"]] == ["Zed", "Aaron", "Bob", "Alice"]
    assert [c["id"] for c in body["contacts"]] == [c.id for c in preplan.contacts]
    assert body["contacts"][0]["phones"] == [
        {"kind": "mobile", "number": "+12175550123", "extension": None}
    ]
    assert {(p["id"], p["kind"]) for p in body["access_points"]} == {
        (preplan.door.id, "entrance"),
        (preplan.knox.id, "key_box"),
    }
    assert {(p["id"], p["kind"]) for p in body["tactical_points"]} == {
        (preplan.staging.id, "staging_area"),
        (preplan.ccp.id, "casualty_collection_point"),
    }
    assert body["floor_plans"] == []
    # Only MOUs with the caller's agency that cover this facility.
    assert [m["id"] for m in body["mous"]] == [preplan.mou.id]
    assert body["mous"][0]["scopes"] == ["data_sharing", "key_holding"]


def test_preplan_for_an_admin_shows_every_mou_of_the_facility(client, make, preplan):
    body = client.get(preplan.url, headers=make.admin()).json
    assert [m["id"] for m in body["mous"]] == [preplan.mou.id, preplan.other_mou.id]


def test_the_other_agency_sees_only_its_own_mou(client, make, preplan):
    other = make.agency()
    own = make.mou(preplan.org, other)
    body = client.get(preplan.url, headers=make.officer(other)).json
    assert [m["id"] for m in body["mous"]] == [own.id]


def test_preplan_etag_and_304(client, preplan):
    first = client.get(preplan.url, headers=preplan.headers)
    etag = first.headers["ETag"]
    assert etag.startswith('"preplan-')
    again = client.get(preplan.url, headers={**preplan.headers, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    # A stale tag gets the document.
    stale = client.get(preplan.url, headers={**preplan.headers, "If-None-Match": '"preplan-x"'})
    assert stale.status_code == 200
    assert stale.json == first.json


@pytest.mark.parametrize(
    "edit",
    ["contact", "access_point", "tactical_point", "facility", "new_contact", "mou_terminated"],
)
def test_preplan_etag_changes_with_any_part(app, client, make, preplan, edit):
    extra = (
        make.mou(preplan.org, preplan.agency, title="Second") if edit == "mou_terminated" else None
    )
    before = client.get(preplan.url, headers=preplan.headers)
    if edit == "contact":
        change(app, Contact, preplan.contacts[2].id, role="Night manager")
    elif edit == "access_point":
        change(app, AccessPoint, preplan.door.id, notes="Propped open during shows")
    elif edit == "tactical_point":
        change(app, TacticalPoint, preplan.staging.id, name="North lot (east half)")
    elif edit == "facility":
        change(app, Facility, preplan.facility.id, hazards="None")
    elif edit == "new_contact":
        make.contact(facility_id=preplan.facility.id, name="Backup", call_order=9)
    elif edit == "mou_terminated":
        change(app, Mou, extra.id, status="terminated")
    after = client.get(
        preplan.url, headers={**preplan.headers, "If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200, "the old ETag must no longer match"
    assert after.headers["ETag"] != before.headers["ETag"]
    assert after.json != before.json


def test_preplan_etag_changes_after_an_api_edit(client, make, preplan):
    manager = make.manager(preplan.org)
    before = client.get(preplan.url, headers=preplan.headers).headers["ETag"]
    door_url = f"{API}/access-points/{preplan.door.id}"
    door_etag = client.get(door_url, headers=manager).headers["ETag"]
    response = client.patch(
        door_url, json={"notes": "Code changed"}, headers={**manager, "If-Match": door_etag}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    after = client.get(preplan.url, headers={**preplan.headers, "If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["ETag"] != before
    door = next(p for p in after.json["access_points"] if p["id"] == preplan.door.id)
    assert door["notes"] == "Code changed"


def test_preplan_of_an_unshared_facility_is_404(client, make, preplan):
    outsider = make.agency()
    for headers in (make.officer(outsider), make.headers(make.cad_client(outsider))):
        body = assert_problem(client.get(preplan.url, headers=headers), 404)
        assert "Grand Theater" not in str(body)
    # Another organization's manager, too; and a facility that does not exist.
    assert_problem(client.get(preplan.url, headers=make.manager(make.organization())), 404)
    assert_problem(client.get(f"{API}/preplans/999999", headers=preplan.headers), 404)


def test_preplan_of_a_facility_outside_a_narrow_mou_is_404(client, make, preplan):
    agency = make.agency()
    make.mou(preplan.org, agency, facilities=[preplan.facility])
    elsewhere = make.facility(preplan.org, address_line1="2 Elsewhere Rd")
    headers = make.officer(agency)
    assert client.get(preplan.url, headers=headers).status_code == 200
    assert_problem(client.get(f"{API}/preplans/{elsewhere.id}", headers=headers), 404)


def test_the_lookup_preplan_is_the_document(client, preplan):
    body = lookup(client, preplan.headers, address="400 east jefferson street, springfield il")
    assert_matched(body, preplan.facility.id)
    document = client.get(preplan.url, headers=preplan.headers).json
    assert body["preplan"] == document


# --- 8. GeoJSON -----------------------------------------------------------------------------


def _geojson(client, preplan, how, **headers):
    if how == "accept":
        return client.get(preplan.url, headers={**preplan.headers, "Accept": GEOJSON, **headers})
    return client.get(
        preplan.url, query_string={"format": "geojson"}, headers={**preplan.headers, **headers}
    )


@pytest.mark.parametrize("how", ["accept", "format"])
def test_geojson(client, preplan, how):
    response = _geojson(client, preplan, how)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == GEOJSON
    body = response.get_json(force=True)
    assert body["type"] == "FeatureCollection"
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"]["type"] == "Point"
    by_kind = {
        (f["properties"]["feature_type"], f["properties"]["id"]): f for f in body["features"]
    }
    # The Knox box and the lobby have no coordinates: left out.
    assert set(by_kind) == {
        ("facility", preplan.facility.id),
        ("access_point", preplan.door.id),
        ("tactical_point", preplan.staging.id),
    }
    facility = by_kind[("facility", preplan.facility.id)]
    assert facility["geometry"]["coordinates"] == [-89.65, 39.80]  # [lon, lat]
    assert facility["properties"]["name"] == "Grand Theater"
    door = by_kind[("access_point", preplan.door.id)]
    assert door["geometry"]["coordinates"] == [-89.65, 39.8001]
    assert door["properties"]["name"] == "Stage door"
    assert door["properties"]["kind"] == "entrance"
    staging = by_kind[("tactical_point", preplan.staging.id)]
    assert staging["geometry"]["coordinates"] == [-89.651, 39.802]
    assert staging["properties"]["kind"] == "staging_area"
    assert staging["properties"]["name"] == "North lot"


def test_geojson_etag_differs_and_304_works(client, preplan):
    json_etag = client.get(preplan.url, headers=preplan.headers).headers["ETag"]
    geo = _geojson(client, preplan, "accept")
    geo_etag = geo.headers["ETag"]
    assert geo_etag and geo_etag != json_etag
    assert _geojson(client, preplan, "format").headers["ETag"] == geo_etag
    for how in ("accept", "format"):
        cached = _geojson(client, preplan, how, **{"If-None-Match": geo_etag})
        assert cached.status_code == 304
        assert cached.get_data() == b""
        # Holding the JSON representation is no reason to skip sending the GeoJSON one.
        other = _geojson(client, preplan, how, **{"If-None-Match": json_etag})
        assert other.status_code == 200
        assert other.mimetype == GEOJSON
    # And the JSON representation is not 304 for the GeoJSON tag.
    plain = client.get(preplan.url, headers={**preplan.headers, "If-None-Match": geo_etag})
    assert plain.status_code == 200
    assert plain.mimetype == "application/json"


def test_geojson_etag_changes_when_a_point_moves(app, client, preplan):
    before = _geojson(client, preplan, "format")
    change(app, AccessPoint, preplan.door.id, lat=39.8005, lon=-89.6502)
    after = _geojson(client, preplan, "format", **{"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    door = next(
        f
        for f in after.get_json(force=True)["features"]
        if f["properties"]["id"] == preplan.door.id
        and f["properties"]["feature_type"] == "access_point"
    )
    assert door["geometry"]["coordinates"] == [-89.6502, 39.8005]


def test_format_json_wins_over_accept(client, preplan):
    response = client.get(
        preplan.url, query_string={"format": "json"}, headers={**preplan.headers, "Accept": GEOJSON}
    )
    assert response.mimetype == "application/json"
    assert response.json["facility"]["id"] == preplan.facility.id
    bad = client.get(preplan.url, query_string={"format": "kml"}, headers=preplan.headers)
    assert_problem(bad, 422, "format")


def test_geojson_of_an_unshared_facility_is_404(client, make, preplan):
    headers = make.officer(make.agency())
    assert_problem(
        client.get(preplan.url, query_string={"format": "geojson"}, headers=headers), 404
    )
