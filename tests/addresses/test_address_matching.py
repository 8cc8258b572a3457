"""The address matcher (issue 10): reading messy text, the gazetteer, the certainty rule, the
caller's jurisdiction, and registration that cannot take over another partner's match.

Never a wrong facility: every test that expects a match also shows what turns it into
candidates. The evaluation set (tests/addresses/test_match_eval.py) measures the same rule at
scale.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from registry import addresses, transaction
from registry.addresses import gazetteer, streets
from registry.aliases.models import AddressAlias, StreetAlias
from registry.audit.models import AuditEvent
from registry.auth.principal import Principal
from registry.facilities.models import Facility
from registry.notifications.models import Notification
from registry.preplans.lookup import LookupQuery, lookup
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"
LOOKUP = f"{API}/preplans/lookup"


def find(client, headers, address, **params):
    response = client.get(LOOKUP, query_string={"address": address, **params}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- reading the text ----------------------------------------------------------------------

READINGS = [
    # text, (number, street, city, state, zip)
    ("1200 market street philadelphia pennsylvania", ("1200", "MARKET ST", "PHILADELPHIA", "PA", None)),
    ("1700 S State St, Chicago IL 60616", ("1700", "S STATE ST", "CHICAGO", "IL", "60616")),
    ("500 Colfax E Denver CO", ("500", "COLFAX E", "DENVER", "CO", None)),
    ("W204N11509 Goldendale Rd, Germantown WI 53022", ("W204N11509", "GOLDENDALE RD", "GERMANTOWN", "WI", "53022")),
    ("n6w23001 bluemound rd waukesha wi", ("N6W23001", "BLUEMOUND RD", "WAUKESHA", "WI", None)),
    ("123-45 Queens Blvd, Forest Hills, NY 11375", ("123-45", "QUEENS BLVD", "FOREST HILLS", "NY", "11375")),
    ("94-1040 Waipio Uka St, Waipahu HI", ("94-1040", "WAIPIO UKA ST", "WAIPAHU", "HI", None)),
    ("1212 1/2 Main St, Springfield IL", ("1212 1/2", "MAIN ST", "SPRINGFIELD", "IL", None)),
    ("1212½ Main St, Springfield IL", ("1212 1/2", "MAIN ST", "SPRINGFIELD", "IL", None)),
    ("Eastgate Mall, 4601 Eastgate Blvd, Cincinnati OH 45245, USA", ("4601", "EASTGATE BLVD", "CINCINNATI", "OH", "45245")),
    ("123 Main St near 5th Ave, Springfield, IL", ("123", "MAIN ST", "SPRINGFIELD", "IL", None)),
    ("200 Washington St, Franklin", ("200", "WASHINGTON ST", "FRANKLIN", None, None)),
    ("123 Main St, Washington", ("123", "MAIN ST", "WASHINGTON", None, None)),
    ("1600 Pennsylvania Ave NW Washington DC 20500", ("1600", "PENNSYLVANIA AVE NW", "WASHINGTON", "DC", "20500")),
    ("100 Oak Ct", ("100", "OAK CT", None, None, None)),
    ("100 Oak Ct, Hartford CT", ("100", "OAK CT", "HARTFORD", "CT", None)),
    ("2000 JFK Blvd Philly PA", ("2000", "JOHN F KENNEDY BLVD", "PHILLY", "PA", None)),
    ("2000 John Fitzgerald Kennedy Boulevard, Philadelphia, Pa.", ("2000", "JOHN F KENNEDY BLVD", "PHILADELPHIA", "PA", None)),
    ("4000 MLK Jr Dr, Atlanta GA", ("4000", "MARTIN LUTHER KING DR", "ATLANTA", "GA", None)),
    ("4000 Dr. Martin Luther King Jr. Drive, Atlanta GA", ("4000", "MARTIN LUTHER KING DR", "ATLANTA", "GA", None)),
    ("1 State Rte 1, Kittery ME", ("1", "SR 1", "KITTERY", "ME", None)),
    ("1 SR-1, Kittery ME", ("1", "SR 1", "KITTERY", "ME", None)),
    ("55 Co Rd 12 Hudson WI", ("55", "CR 12", "HUDSON", "WI", None)),
    ("55 County Road 12, Hudson, Wisconsin", ("55", "CR 12", "HUDSON", "WI", None)),
    ("9 I-95, Newark DE", ("9", "I 95", "NEWARK", "DE", None)),
    ("7 Farm-to-Market Road 1960, Houston TX", ("7", "FM 1960", "HOUSTON", "TX", None)),
    ("RR 2 Box 45, Hillsboro OH", ("45", "RR 2", "HILLSBORO", "OH", None)),
    ("Terminal 2, 1 Airport Blvd, Orlando FL", ("1", "AIRPORT BLVD", "ORLANDO", "FL", None)),
    ("123 main st springfeld il", ("123", "MAIN ST", "SPRINGFELD", "IL", None)),
    ("1211 Ave of the Americas, New York NY", ("1211", "AVE OF THE AMERICAS", "NEW YORK", "NY", None)),
    ("123 Main St LA CA", ("123", "MAIN ST", "LA", "CA", None)),
    ("123 Main St, LA", ("123", "MAIN ST", None, "LA", None)),
    ("100 Golden Gate Ave San Francisco CA", ("100", "GOLDEN GATE AVE", "SAN FRANCISCO", "CA", None)),
    ("100 Old Corner Rd, Springfield IL", ("100", "OLD CORNER RD", "SPRINGFIELD", "IL", None)),
    ("W204 N11509 Goldendale Rd, Germantown WI", ("W204N11509", "GOLDENDALE RD", "GERMANTOWN", "WI", None)),
    ("39W040 Keslinger Rd, Geneva, IL 60134", ("39W040", "KESLINGER RD", "GENEVA", "IL", "60134")),
    ("0S560 Winfield Rd, Winfield, Ill.", ("0S560", "WINFIELD RD", "WINFIELD", "IL", None)),
    ("RR2 Bx 45, Tunkhannock, PA", ("45", "RR 2", "TUNKHANNOCK", "PA", None)),
    ("RR 1 Box 30 by Oak St, Kensington, KS", ("30", "RR 1", "KENSINGTON", "KS", None)),
    ("1212-1/2 W Main St, Peoria, IL", ("1212 1/2", "W MAIN ST", "PEORIA", "IL", None)),
    ("3400 TX-6, Sugar Land, TX 77478", ("3400", "SR 6", "SUGAR LAND", "TX", "77478")),
    ("1000 NC Highway 54, Durham, NC", ("1000", "SR 54", "DURHAM", "NC", None)),
    ("8000 fm 1960 west houston texas", ("8000", "FM 1960 W", "HOUSTON", "TX", None)),
    ("1900 Kanawha Blvd E, Charleston, W.Va. 25305", ("1900", "KANAWHA BLVD E", "CHARLESTON", "WV", "25305")),
    ("1500 John F Kennedy Blvd, Philadelphia, PA USA", ("1500", "JOHN F KENNEDY BLVD", "PHILADELPHIA", "PA", None)),
    ("100 W Broadway nr Central Ave, Glendale, CA", ("100", "W BROADWAY", "GLENDALE", "CA", None)),
    ("1000 las vegas blvd n las vegas nevada 89101", ("1000", "LAS VEGAS BLVD N", "LAS VEGAS", "NV", "89101")),
    ("75 Rev Dr Martin Luther King Jr Blvd, St Paul, Minn.", ("75", "MARTIN LUTHER KING BLVD", "ST PAUL", "MN", None)),
    ("4300 S Dr Martin Luther King Jr Dr, Chicago IL", ("4300", "S MARTIN LUTHER KING DR", "CHICAGO", "IL", None)),
    ("4201 Dale Mabry Highway North, Tampa, FL", ("4201", "DALE MABRY HWY N", "TAMPA", "FL", None)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), READINGS, ids=[r[0] for r in READINGS])
def test_the_parser_reads_what_dispatchers_type(text, expected):
    parsed = addresses.parse(text)
    got = (parsed.number, parsed.street.full, parsed.city, parsed.state, parsed.zip5)
    assert got == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("PO Box 12, Springfield IL", "PO box"),
        ("123 Main St PO Box 9, Springfield IL", "PO box"),
        ("Main St & 5th Ave, Springfield IL", "intersection"),
        ("Main St @ 5th Ave", "intersection"),
        ("Main Street, Springfield IL", "house number"),
        ("123 N Main St, Springfield IL 62701, 456 Oak St, Chicago IL", "more than one"),
    ],
)
def test_what_names_no_single_building_is_refused_with_a_reason(text, why):
    with pytest.raises(addresses.AddressError) as raised:
        addresses.parse(text)
    assert why in raised.value.reason


def test_an_address_that_reads_longer_than_its_key_is_refused():
    with pytest.raises(addresses.AddressError):
        addresses.parse_parts("1 A" + "½" * 60, None, "Springfield", "IL", "62701")


def test_a_hyphenated_number_is_not_the_same_number_without_its_hyphen():
    assert addresses.parse("123-45 Queens Blvd, NY 11375").number == "123-45"
    assert addresses.parse("12345 Queens Blvd, NY 11375").number == "12345"


def test_route_classes_and_person_names_meet_but_never_join_two_streets():
    same = [
        ("State Rte 1", "SR-1"),
        ("State Highway 1", "SR 1"),
        ("Co Rd 12", "County Road 12"),
        ("US Hwy 1", "U.S. Route 1"),
        ("I-95", "Interstate 95"),
        ("FM 1960", "Farm to Market Road 1960"),
        ("JFK Blvd", "John F Kennedy Boulevard"),
        ("MLK Jr Dr", "Martin Luther King Drive"),
        ("FDR Dr", "Franklin D Roosevelt Drive"),
        ("Saint Charles Ave", "St Charles Avenue"),
        ("Fifth Ave", "5th Avenue"),
    ]
    for a, b in same:
        assert streets.parse_street(a).full == streets.parse_street(b).full, (a, b)
    different = [
        ("Penn Ave", "Pennsylvania Ave"),  # an alias a person registers, never built in
        ("US 1", "SR 1"),
        ("I 95", "US 95"),
        ("Highway 1", "SR 1"),  # a generic route word: only a tolerated relaxation
        ("Kennedy Blvd", "John F Kennedy Blvd"),
    ]
    for a, b in different:
        assert streets.parse_street(a).full != streets.parse_street(b).full, (a, b)


def test_the_gazetteer_knows_postal_names_counties_and_state_forms_offline():
    names = gazetteer.locality_names("Maryland Heights", "MO", "63043")
    assert {"MARYLAND HEIGHTS", "MARYLAND HTS"} <= names
    assert "ORLANDO" in gazetteer.locality_names("Lake Buena Vista", "FL", "32830")
    assert gazetteer.zip_info("63043").county_fips == "29189"  # St. Louis County, MO
    assert gazetteer.state_code("Pennsylvania") == "PA"
    assert gazetteer.state_code("Pa.") == "PA"
    assert gazetteer.state_code("Calif") == "CA"
    # Exact forms only: no sound-alike guess ever makes a state.
    assert gazetteer.state_code("Pensylvania") is None
    assert gazetteer.state_code("Iwoa") is None
    # Nicknames are tied to their state.
    assert gazetteer.nickname_of("LA", "CA") == "LOS ANGELES"
    assert gazetteer.nickname_of("LA", "LA") is None
    assert "PHILLY" in gazetteer.locality_names("Philadelphia", "PA", "19107")


# --- registration ---------------------------------------------------------------------------


def facility_body(**fields):
    return {
        "name": "Store",
        "facility_type": "retail_store",
        "address_line1": "100 Main St",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62701",
        **fields,
    }


@pytest.mark.parametrize(
    ("line1", "city", "state", "zip5", "number"),
    [
        ("W204N11509 Goldendale Rd", "Germantown", "WI", "53022", "W204N11509"),
        ("N6W23001 Bluemound Rd", "Waukesha", "WI", "53186", "N6W23001"),
        ("123-45 Queens Blvd", "Forest Hills", "NY", "11375", "123-45"),
        ("94-1040 Waipio Uka St", "Waipahu", "HI", "96797", "94-1040"),
        ("1212 1/2 Main St", "Springfield", "IL", "62701", "1212 1/2"),
        ("12B Elm St", "Springfield", "IL", "62701", "12B"),
    ],
)
def test_real_house_numbers_register_and_match_whole(
    client, make, line1, city, state, zip5, number
):
    org = make.organization()
    body = facility_body(address_line1=line1, city=city, state=state, postal_code=zip5)
    created = client.post(f"{API}/facilities", json=body, headers=make.manager(org))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["normalized_address"].startswith(number + " ")
    agency = make.agency(state=state)
    make.mou(org, agency)
    cad = make.headers(make.cad_client(agency))
    found = find(client, cad, f"{line1}, {city} {state} {zip5}")
    assert found["status"] == "matched"
    assert found["facility_id"] == created.get_json()["id"]
    assert found["parsed"]["number"] == number


def test_123_45_is_not_12345(client, make):
    org = make.organization()
    make.facility(
        org,
        address_line1="123-45 Queens Blvd",
        city="Forest Hills",
        state="NY",
        postal_code="11375",
    )
    agency = make.agency(state="NY")
    make.mou(org, agency)
    body = find(
        client, make.headers(make.cad_client(agency)), "12345 Queens Blvd, Forest Hills NY 11375"
    )
    assert body["status"] == "no_match"
    assert body["facility_id"] is None


# --- the certainty rule over the API --------------------------------------------------------


@pytest.fixture
def springfield(make):
    """A shared store at 1700 State St S, Springfield IL, and a CAD client that may read it."""
    org = make.organization()
    store = make.facility(org, address_line1="1700 State St S", postal_code="62704")
    agency = make.agency(state="IL", county_fips=["17167"])  # Sangamon County
    make.mou(org, agency)
    return org, store, agency, make.headers(make.cad_client(agency))


def test_a_directional_on_the_other_side_is_a_relaxed_match_with_its_reasoning(client, springfield):
    _org, store, _agency, cad = springfield
    body = find(client, cad, "1700 S State St, Springfield IL")
    assert body["status"] == "matched" and body["facility_id"] == store.id
    assert body["match"]["kind"] == "relaxed"
    assert body["match"]["relaxations"] == [
        "directional on the other side: typed S (before), registered S (after)"
    ]
    assert "city SPRINGFIELD" in body["match"]["evidence"]
    assert body["parsed"]["street"] == "S STATE ST"
    assert body["parsed"]["state_source"] == "typed"


@pytest.mark.parametrize(
    ("address", "difference"),
    [
        ("1700 N State St, Springfield IL", "directional: typed N (before), registered S (after)"),
        ("1700 State Ave S, Springfield IL", "street type: typed AVE, registered ST"),
        ("1700 State St S, Springfield IL 62703", "ZIP 62703, registered 62704"),
    ],
)
def test_a_contradiction_is_a_candidate_that_says_how_it_differs(
    client, springfield, address, difference
):
    _org, store, _agency, cad = springfield
    body = find(client, cad, address)
    assert body["status"] == "ambiguous" and body["facility_id"] is None and body["preplan"] is None
    assert [c["facility_id"] for c in body["candidates"]] == [store.id]
    assert difference in body["candidates"][0]["differences"]


def test_a_misspelt_street_or_city_is_no_match_with_the_near_candidate(client, springfield):
    _org, store, _agency, cad = springfield
    for typo in ("1700 Stat St S, Springfield IL 62704", "1700 State St S, Springfeld IL"):
        body = find(client, cad, typo)
        assert body["status"] == "no_match", typo
        assert body["preplan"] is None
        assert [c["facility_id"] for c in body["candidates"]] == [store.id], typo


def test_the_agencys_state_reads_a_city_without_a_state_and_a_typed_state_wins(client, make):
    org = make.organization()
    tennessee = make.facility(
        org, address_line1="200 Washington St", city="Franklin", state="TN", postal_code="37064"
    )
    massachusetts = make.facility(
        org, address_line1="200 Washington St", city="Franklin", state="MA", postal_code="02038"
    )
    in_tn, in_ma, nowhere = make.agency(state="TN"), make.agency(state="MA"), make.agency()
    for agency in (in_tn, in_ma, nowhere):
        make.mou(org, agency)
    text = "200 Washington St, Franklin"
    body = find(client, make.headers(make.cad_client(in_tn)), text)
    assert body["status"] == "matched" and body["facility_id"] == tennessee.id
    assert body["parsed"]["state_source"] == "agency"
    body = find(client, make.headers(make.cad_client(in_ma)), text)
    assert body["facility_id"] == massachusetts.id
    # No state, no ZIP, no jurisdiction: a city alone is never certain.
    body = find(client, make.headers(make.cad_client(nowhere)), text)
    assert body["status"] == "ambiguous" and body["facility_id"] is None
    assert {c["facility_id"] for c in body["candidates"]} == {tennessee.id, massachusetts.id}
    # A typed state wins over the agency's, and the match is flagged, never dropped.
    body = find(client, make.headers(make.cad_client(in_tn)), "200 Washington St, Franklin MA")
    assert body["facility_id"] == massachusetts.id
    assert body["outside_jurisdiction"] is True


def test_the_agencys_counties_tell_two_same_named_towns_of_its_state_apart(client, make):
    org = make.organization()
    # One town across two counties (Bethlehem PA: Lehigh and Northampton), the same address
    # registered in each part: only the agency's counties tell them apart.
    pitt = make.facility(
        org, address_line1="10 Main St", city="Bethlehem", state="PA", postal_code="18016"
    )
    other = make.facility(
        org, address_line1="10 Main St", city="Bethlehem", state="PA", postal_code="18015"
    )
    assert fetch_county(make, pitt) != fetch_county(make, other)
    agency = make.agency(state="PA", county_fips=[fetch_county(make, pitt)])
    make.mou(org, agency)
    body = find(client, make.headers(make.cad_client(agency)), "10 Main St, Bethlehem")
    assert body["status"] == "matched" and body["facility_id"] == pitt.id
    assert "in your agency's counties" in body["match"]["evidence"]
    # Typed ZIP: the other one, outside the agency's counties, flagged.
    body = find(client, make.headers(make.cad_client(agency)), "10 Main St, Bethlehem PA 18015")
    assert body["facility_id"] == other.id and body["outside_jurisdiction"] is True


def fetch_county(make, facility) -> str:
    return fetch(make.app, Facility, facility.id).county_fips


def test_postal_names_of_the_zip_match_the_municipality_and_back(client, make):
    org = make.organization()
    resort = make.facility(
        org,
        address_line1="1375 E Buena Vista Dr",
        city="Lake Buena Vista",
        state="FL",
        postal_code="32830",
    )
    suburb = make.facility(
        org,
        address_line1="2345 Millpark Dr",
        city="Maryland Heights",
        state="MO",
        postal_code="63043",
    )
    fl, mo = make.agency(state="FL"), make.agency(state="MO")
    make.mou(org, fl)
    make.mou(org, mo)
    cad_fl, cad_mo = make.headers(make.cad_client(fl)), make.headers(make.cad_client(mo))
    for text in (
        "1375 E Buena Vista Dr, Orlando FL",
        "1375 East Buena Vista Drive, Lake Buena Vista, Florida",
        "1375 e buena vista dr lk buena vis fl",
    ):
        assert find(client, cad_fl, text)["facility_id"] == resort.id, text
    assert find(client, cad_mo, "2345 Millpark Drive, Maryland Hts, MO")["facility_id"] == suburb.id
    # "St Louis" is the county's name, not a postal name of 63043: a candidate, never certain.
    body = find(client, cad_mo, "2345 Millpark Dr, St Louis MO")
    assert body["status"] == "ambiguous"
    assert [c["facility_id"] for c in body["candidates"]] == [suburb.id]
    assert "city ST LOUIS, registered MARYLAND HEIGHTS" in body["candidates"][0]["differences"]


def test_a_nickname_needs_its_state(client, make):
    org = make.organization()
    store = make.facility(
        org, address_line1="1200 Market St", city="Philadelphia", state="PA", postal_code="19107"
    )
    pa, elsewhere = make.agency(state="PA"), make.agency()
    make.mou(org, pa)
    make.mou(org, elsewhere)
    assert (
        find(client, make.headers(make.cad_client(pa)), "1200 Market St, Philly")["facility_id"]
        == store.id
    )
    assert (
        find(client, make.headers(make.cad_client(elsewhere)), "1200 market st philly pa")[
            "facility_id"
        ]
        == store.id
    )
    body = find(client, make.headers(make.cad_client(elsewhere)), "1200 Market St, Philly")
    assert body["facility_id"] is None


def test_a_position_beside_an_address_that_is_far_away_is_said_with_its_distance(
    client, springfield
):
    _org, store, _agency, cad = springfield
    body = find(client, cad, "1700 State St S, Springfield IL", lat=store.lat + 0.01, lon=store.lon)
    assert body["facility_id"] == store.id
    assert any("m from this facility, outside radius_m 150" in note for note in body["notes"])


# --- aliases --------------------------------------------------------------------------------


def test_an_address_alias_matches_and_is_managed_with_roles_etags_and_audit(client, make, app):
    org, rival_org = make.organization(), make.organization()
    store = make.facility(
        org, address_line1="1211 6th Ave", city="New York", state="NY", postal_code="10036"
    )
    make.facility(
        rival_org, address_line1="1 Times Sq", city="New York", state="NY", postal_code="10036"
    )
    agency = make.agency(state="NY")
    make.mou(org, agency)
    cad = make.headers(make.cad_client(agency))
    text = "1211 Avenue of the Americas, New York NY 10036"
    assert find(client, cad, text)["facility_id"] is None
    path = f"{API}/facilities/{store.id}/address-aliases"
    manager = make.manager(org)
    # Others may not add one; nor may a manager claim another organization's address.
    assert_problem(client.post(path, json={"address": "x 1"}, headers=make.officer(agency)), 403)
    assert_problem(client.post(path, json={"address": "1 Times Square"}, headers=manager), 409)
    assert_problem(client.post(path, json={"address": "PO Box 4"}, headers=manager), 422, "address")
    created = client.post(path, json={"address": "1211 Avenue of the Americas"}, headers=manager)
    assert created.status_code == 201, created.get_json()
    alias = created.get_json()
    assert alias["created_by"].startswith("user:")
    body = find(client, cad, text)
    assert body["status"] == "matched" and body["facility_id"] == store.id
    assert body["match"]["kind"] == "alias"
    item = f"{API}/address-aliases/{alias['id']}"
    assert_problem(client.delete(item, headers=manager), 428)
    assert (
        client.delete(item, headers={**manager, "If-Match": created.headers["ETag"]}).status_code
        == 204
    )
    assert find(client, cad, text)["facility_id"] is None
    actions = {e.action for e in _all(app, AuditEvent)}
    assert {"address_alias.create", "address_alias.delete"} <= actions


def test_an_agencys_street_alias_applies_in_its_state_only(client, make):
    org = make.organization()
    store = make.facility(
        org, address_line1="1211 6th Ave", city="New York", state="NY", postal_code="10036"
    )
    elsewhere = make.facility(
        org, address_line1="1211 6th Ave", city="Seattle", state="WA", postal_code="98101"
    )
    ny, wa = make.agency(state="NY"), make.agency(state="WA")
    make.mou(org, ny)
    make.mou(org, wa)
    officer = make.officer(ny)
    path = f"{API}/agencies/{ny.id}/street-aliases"
    assert_problem(
        client.post(
            path,
            json={"alias": "Ave of the Americas", "street": "6th Ave"},
            headers=make.officer(wa),
        ),
        403,
    )
    assert_problem(
        client.post(path, json={"alias": "6th Ave", "street": "Sixth Avenue"}, headers=officer),
        422,
        "alias",
    )
    assert_problem(
        client.post(path, json={"alias": "A", "street": "B", "state": "NJ"}, headers=officer),
        422,
        "state",
    )
    created = client.post(
        path, json={"alias": "Ave of the Americas", "street": "6th Ave"}, headers=officer
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["state"] == "NY"
    body = find(client, make.headers(make.cad_client(ny)), "1211 Ave of the Americas, New York NY")
    assert body["facility_id"] == store.id
    assert "street alias: Ave of the Americas" in body["match"]["evidence"]
    body = find(client, make.headers(make.cad_client(wa)), "1211 Ave of the Americas, Seattle WA")
    assert body["facility_id"] is None
    assert elsewhere.id  # the Seattle store exists and is not matched through New York's alias


def _all(app, model):
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(select(model)).all()
        for r in rows:
            session.expunge(r)
        return rows


# --- registration cannot hijack a match -----------------------------------------------------


def test_a_registration_at_another_organizations_address_waits_for_an_admin(client, make, app):
    established_org, newcomer_org = make.organization(), make.organization()
    established = make.facility(
        established_org, address_line1="10 S Walnut St", postal_code="62701", lat=39.70, lon=-89.60
    )
    agency = make.agency(state="IL")
    make.mou(established_org, agency)
    make.mou(newcomer_org, agency)
    cad = make.headers(make.cad_client(agency))
    text = "10 S Walnut St, Springfield IL 62701"
    created = client.post(
        f"{API}/facilities",
        json=facility_body(name="Hijack", address_line1="10 S Walnut St", lat=39.75, lon=-89.60),
        headers=make.manager(newcomer_org),
    )
    assert created.status_code == 201
    newcomer = created.get_json()
    assert newcomer["review_status"] == "pending"
    # The established facility is matched as before, and both organizations are told.
    assert find(client, cad, text)["facility_id"] == established.id
    told = {n.organization_id for n in _all(app, Notification) if n.kind == "facility_review"}
    assert told == {established_org.id, newcomer_org.id}
    # Only an administrator approves; then both are candidates (a real question).
    approval = f"{API}/facilities/{newcomer['id']}/approval"
    assert_problem(client.post(approval, headers=make.manager(newcomer_org)), 403)
    assert client.post(approval, headers=make.admin()).status_code == 200
    assert_problem(client.post(approval, headers=make.admin()), 409)
    body = find(client, cad, text)
    assert body["status"] == "ambiguous"


def test_a_registration_beside_another_organizations_position_waits_too(client, make):
    established_org, newcomer_org = make.organization(), make.organization()
    established = make.facility(
        established_org, address_line1="10 S Walnut St", lat=39.70, lon=-89.60
    )
    agency = make.agency(state="IL")
    make.mou(established_org, agency)
    make.mou(newcomer_org, agency)
    created = client.post(
        f"{API}/facilities",
        json=facility_body(address_line1="12 S Walnut St", lat=39.7002, lon=-89.60),  # ~22 m
        headers=make.manager(newcomer_org),
    )
    assert created.get_json()["review_status"] == "pending"
    response = client.get(
        LOOKUP,
        query_string={"lat": 39.7001, "lon": -89.60},
        headers=make.headers(make.cad_client(agency)),
    )
    assert response.get_json()["facility_id"] == established.id
    # The same organization's own second site is not held, nor is what an admin registers.
    own = client.post(
        f"{API}/facilities",
        json=facility_body(address_line1="14 S Walnut St", lat=39.7003, lon=-89.60),
        headers=make.manager(established_org),
    )
    assert own.get_json()["review_status"] == "approved"
    by_admin = client.post(
        f"{API}/facilities",
        json=facility_body(
            organization_id=newcomer_org.id,
            address_line1="16 S Walnut St",
            lat=39.7001,
            lon=-89.6001,
        ),
        headers=make.admin(),
    )
    assert by_admin.get_json()["review_status"] == "approved"
    assert count(make.app, Facility, Facility.review_status == "pending") == 1


# --- the rule as a property -----------------------------------------------------------------

# Each spelling of the street with its contradicted forms: (as registered, other directional,
# other type). Numbers, units and localities are contradicted separately.
STREETS = [
    ("State St S", "State St N", "State Ave S"),
    ("S State St", "N State St", "S State Ave"),
    ("State Street South", "State Street North", "State Avenue South"),
    ("state st. s.", "state st. n.", "state ave. s."),
]
LOCALITIES = [", Springfield", " springfield", ", Springfield IL", " Springfield Illinois",
              ", IL 62704", " 62704"]  # fmt: skip
UNITS = ["", " Ste 4", " Suite 4", " #4"]
CONTRADICTIONS = ["number", "directional", "type", "unit", "zip", "other-town-zip", "city", "state"]


def contradict(kind: str, street: tuple, unit: str, locality: str) -> dict:
    number, good, wrong_dir, wrong_type = "1700", *street
    parts = {"number": number, "street": good, "unit": unit}
    params = {}
    if kind == "number":
        parts["number"] = "1702"
    elif kind == "directional":
        parts["street"] = wrong_dir
    elif kind == "type":
        parts["street"] = wrong_type
    elif kind == "unit":
        parts["unit"] = " Ste 9"
    else:
        params = {
            "zip": {"postal_code": "62703"},
            "other-town-zip": {"postal_code": "60601"},
            "city": {"city": "Peoria"},
            "state": {"state": "MO"},
        }[kind]
    return {"address": f"{parts['number']} {parts['street']}{parts['unit']}{locality}", **params}


def test_no_contradicting_part_ever_makes_an_answer_certain(app, make):
    """Property (Hypothesis): for any of many spellings of a registered address that match, adding
    any part that contradicts the facility never leaves the answer certain."""
    org = make.organization()
    store = make.facility(
        org, address_line1="1700 State St S", address_line2="Ste 4", postal_code="62704"
    )
    agency = make.agency(state="IL")
    make.mou(org, agency)
    principal = Principal("cad", 1, "cad", agency_id=agency.id)
    matched = set()

    @settings(
        max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        street=st.sampled_from(STREETS),
        unit=st.sampled_from(UNITS),
        locality=st.sampled_from(LOCALITIES),
        kind=st.sampled_from(CONTRADICTIONS),
    )
    def check(street, unit, locality, kind):
        text = f"1700 {street[0]}{unit}{locality}"
        with app.app_context(), transaction.session_scope() as session:
            base = lookup(session, principal, LookupQuery(address=text))
            assert base.status == "matched" and base.facility_id == store.id, text
            matched.add(text)
            query = contradict(kind, street, unit, locality)
            result = lookup(session, principal, LookupQuery(**query))
            assert result.status != "matched", (text, kind, query)

    check()
    assert len(matched) > 10  # the property was tried on many matching spellings


# --- what a fresh-eyes review found (each was a wrong pre-plan or a leak before) -------------


def _cad(make, org, **agency):
    agency = make.agency(**agency)
    make.mou(org, agency)
    return make.headers(make.cad_client(agency)), agency


def test_an_address_alias_cannot_take_over_another_organizations_address(client, make):
    a_org, b_org = make.organization(), make.organization()
    make.facility(a_org, address_line1="1700 State St S", postal_code="62704")
    b_store = make.facility(b_org, address_line1="9 Elm St", postal_code="62704")
    response = client.post(
        f"{API}/facilities/{b_store.id}/address-aliases",
        json={"address": "1700 S State St"},
        headers=make.manager(b_org),
    )
    assert_problem(response, 409)


def test_a_field_that_disagrees_with_the_text_is_a_question(client, make):
    org = make.organization()
    make.facility(org, address_line1="100 Main St", postal_code="62701")
    cad, _ = _cad(make, org, state="IL")
    for params in ({"state": "IL"}, {"city": "Springfield"}):
        text = "100 Main St, Springfield MO" if "state" in params else "100 Main St, Peoria IL"
        body = find(client, cad, text, **params)
        assert body["facility_id"] is None, (text, params, body)


@pytest.mark.parametrize(
    ("registered", "typed"),
    [
        ("100 State Route 12", "100 Co Rte 12, Norwich NY"),
        ("100 State Route 12", "100 CO 12, Norwich NY"),
        ("100 County Road 12", "100 State Route 12, Norwich NY"),
        ("100 Interstate 12", "100 Highway 12, Norwich NY"),
    ],
)
def test_route_classes_never_join_two_roads(client, make, registered, typed):
    org = make.organization()
    make.facility(org, address_line1=registered, city="Norwich", state="NY", postal_code="13815")
    cad, _ = _cad(make, org, state="NY")
    assert find(client, cad, typed)["facility_id"] is None


def test_a_state_coded_route_is_that_states_route(client, make):
    org = make.organization()
    store = make.facility(
        org,
        address_line1="3400 State Highway 6",
        city="Sugar Land",
        state="TX",
        postal_code="77478",
    )
    cad, _ = _cad(make, org, state="TX")
    assert find(client, cad, "3400 TX-6, Sugar Land TX 77478")["facility_id"] == store.id
    assert find(client, cad, "3400 CA-6, Sugar Land TX 77478")["facility_id"] is None


def test_two_omissions_make_a_rival_too(client, make):
    org = make.organization()
    make.facility(org, address_line1="100 State St", postal_code="62704")
    make.facility(org, address_line1="100 N State St", postal_code="62704")
    cad, _ = _cad(make, org, state="IL")
    assert find(client, cad, "100 State, Springfield IL 62704")["facility_id"] is None


def test_a_directional_before_a_town_that_it_could_begin_is_a_question(client, make):
    org = make.organization()
    make.facility(
        org, address_line1="100 W Washington St", city="Chicago", state="IL", postal_code="60602"
    )
    west = make.facility(
        org, address_line1="100 Washington St", city="West Chicago", state="IL", postal_code="60185"
    )
    cad, _ = _cad(make, org, state="IL")
    body = find(client, cad, "100 Washington St W Chicago IL")
    assert body["facility_id"] is None
    assert find(client, cad, "100 W Washington St W Chicago IL")["facility_id"] is None
    # The ZIP settles it.
    assert find(client, cad, "100 Washington St W Chicago IL 60185")["facility_id"] == west.id


def test_west_virginia_avenue_is_not_virginia_avenue(client, make):
    org = make.organization()
    make.facility(
        org,
        address_line1="1500 West Virginia Ave",
        city="Washington",
        state="DC",
        postal_code="20002",
    )
    cad, _ = _cad(make, org, state="DC")
    assert find(client, cad, "1500 Virginia Ave, Washington DC")["facility_id"] is None


def test_a_street_alias_serves_only_its_agency_and_its_counties(client, make):
    org = make.organization()
    make.facility(
        org, address_line1="1700 State St", city="Chicago", state="IL", postal_code="60616"
    )
    sangamon_cad, sangamon = _cad(make, org, state="IL", county_fips=["17167"])
    cook_cad, _cook = _cad(make, org, state="IL", county_fips=["17031"])
    created = client.post(
        f"{API}/agencies/{sangamon.id}/street-aliases",
        json={"alias": "Elm St", "street": "State St"},
        headers=make.officer(sangamon),
    )
    assert created.status_code == 201
    text = "1700 Elm St, Chicago IL 60616"
    assert find(client, cook_cad, text)["facility_id"] is None  # another agency's alias
    assert find(client, sangamon_cad, text)["facility_id"] is None  # outside its counties


def test_a_not_shared_answer_tells_nothing_about_where_the_facility_is(client, make):
    org = make.organization()
    make.facility(org, address_line1="10 S Walnut St", postal_code="62701", lat=39.70, lon=-89.60)
    stranger = make.headers(make.cad_client(make.agency(state="MO")))
    body = find(
        client, stranger, "10 S Walnut St, Springfield IL", lat=39.80, lon=-89.60, radius_m=1
    )
    assert body["status"] == "not_shared"
    assert body["match"] is None and not body["outside_jurisdiction"]
    assert not any("m from this facility" in note for note in body["notes"])


def test_a_dc_address_with_its_zip_and_no_state(client, make):
    org = make.organization()
    store = make.facility(
        org,
        address_line1="1600 Pennsylvania Ave NW",
        city="Washington",
        state="DC",
        postal_code="20500",
    )
    cad, _ = _cad(make, org)
    assert (
        find(client, cad, "1600 Pennsylvania Ave NW, Washington 20500")["facility_id"] == store.id
    )


def test_restoring_or_registering_under_a_postal_name_is_reviewed_too(client, make):
    a_org, b_org = make.organization(), make.organization()
    make.facility(
        a_org,
        address_line1="1375 E Buena Vista Dr",
        city="Lake Buena Vista",
        state="FL",
        postal_code="32830",
        lat=28.37,
        lon=-81.51,
    )
    body = facility_body(
        address_line1="1375 E Buena Vista Dr",
        city="Orlando",
        state="FL",
        postal_code="32801",
        lat=28.54,
        lon=-81.38,
    )
    created = client.post(f"{API}/facilities", json=body, headers=make.manager(b_org))
    assert created.get_json()["review_status"] == "pending"
    # A deleted facility restored where another organization registered since is held too.
    old = make.facility(
        b_org, address_line1="10 S Walnut St", postal_code="62701", lat=39.0, lon=-89.0
    )
    manager = make.manager(b_org)
    path = f"{API}/facilities/{old.id}"
    etag = client.get(path, headers=manager).headers["ETag"]
    assert client.delete(path, headers={**manager, "If-Match": etag}).status_code == 204
    make.facility(a_org, address_line1="10 S Walnut St", postal_code="62701", lat=39.5, lon=-89.5)
    restored = client.post(f"{path}/restore", headers=manager)
    assert restored.status_code == 200, restored.get_json()
    assert restored.get_json()["review_status"] == "pending"


def test_a_name_usps_does_not_accept_for_the_zip_never_confirms_it(client, make):
    org = make.organization()
    make.facility(
        org, address_line1="100 Washington St", city="Brighton", state="MA", postal_code="02135"
    )
    cad, _ = _cad(make, org, state="MA")
    names = gazetteer.unaccepted_names("02135")
    assert names, "the ZIP data lists names USPS does not accept for 02135"
    town = sorted(names)[0]
    body = find(client, cad, f"100 Washington St, {town} MA")
    assert body["facility_id"] is None


def test_a_facility_found_through_an_alias_keeps_its_visibility(client, make):
    org = make.organization()
    store = make.facility(
        org, address_line1="1211 6th Ave", city="New York", state="NY", postal_code="10036"
    )
    created = client.post(
        f"{API}/facilities/{store.id}/address-aliases",
        json={"address": "1211 Avenue of the Americas"},
        headers=make.manager(org),
    )
    assert created.status_code == 201
    text = "1211 Avenue of the Americas, New York NY 10036"
    stranger = make.headers(make.cad_client(make.agency(state="NY")))  # no MOU
    body = find(client, stranger, text)
    assert body["status"] == "not_shared" and body["preplan"] is None
    assert body["registered_match"]["id"] == store.id
    shared, _ = _cad(make, org, state="NY")
    assert find(client, shared, text)["facility_id"] == store.id


def test_alias_writes_by_role(client, make, app):
    """The role table for alias writes (mirrored by the OWASP matrix's covered areas): an
    address alias is written by the facility's managers and admins; a street alias by its
    agency's users and admins; every other caller is refused and nothing changes."""
    org, other_org = make.organization(), make.organization()
    store = make.facility(
        org, address_line1="1211 6th Ave", city="New York", state="NY", postal_code="10036"
    )
    agency, other_agency = make.agency(state="NY"), make.agency(state="NY")
    manager, officer = make.manager(org), make.officer(agency)
    address = client.post(
        f"{API}/facilities/{store.id}/address-aliases",
        json={"address": "1211 Avenue of the Americas"},
        headers=manager,
    )
    street = client.post(
        f"{API}/agencies/{agency.id}/street-aliases",
        json={"alias": "Ave of the Americas", "street": "6th Ave"},
        headers=officer,
    )
    assert address.status_code == street.status_code == 201
    outsiders = {
        "other manager": make.manager(other_org),
        "other officer": make.officer(other_agency),
        "cad": make.headers(make.cad_client(agency)),
        "auditor": make.headers(make.user("auditor")),
    }
    items = (
        (
            f"{API}/address-aliases/{address.get_json()['id']}",
            address.headers["ETag"],
            {"address": "1 Other Pl"},
        ),
        (
            f"{API}/street-aliases/{street.get_json()['id']}",
            street.headers["ETag"],
            {"street": "7th Ave"},
        ),
    )
    for name, headers in outsiders.items():
        for path, etag, change in items:
            for method, body in (("PATCH", change), ("DELETE", None)):
                response = client.open(
                    path, method=method, json=body, headers={**headers, "If-Match": etag}
                )
                assert response.status_code in (403, 404), (name, method, path, response.get_json())
    before = (
        {(a.id, a.address_key) for a in _all(app, AddressAlias)},
        {(s.id, s.street_full) for s in _all(app, StreetAlias)},
    )
    assert before == (
        {(address.get_json()["id"], "1211 AVE OF THE AMERICAS")},
        {(street.get_json()["id"], "6TH AVE")},
    )
    # The owners may change them.
    for path, etag, change in items:
        owner = manager if "address" in path else officer
        changed = client.patch(path, json=change, headers={**owner, "If-Match": etag})
        assert changed.status_code == 200, changed.get_json()
