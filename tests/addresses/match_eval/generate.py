"""Write the CAD lookup's match evaluation set: facilities.json and queries.json.

    .venv/bin/python tests/addresses/match_eval/generate.py

Reads facilities.txt (the facilities, by hand) and handwritten.json (queries written by hand),
checks every facility's city, state and ZIP against the `zipcodes` package, places each facility
near its ZIP's centre (at least 80 m from every other), and derives messy positives and near-miss
negatives from each facility with a seeded random generator, so the output is the same on every
run. Both JSON files are committed: the test and the bench read them and never run this.

Every generated query is checked against a small reference model of the registered facilities
(house number, directional, street name with its declared other names, street type; city, state
and ZIP as typed, the caller's state when neither state nor ZIP is typed): a positive must fit
its facility and no other, a negative must fit none. Queries that fail the check are dropped.
"""

import json
import math
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import us
import zipcodes
from scourgify.address_constants import STREET_TYPE_ABBREVIATIONS

HERE = Path(__file__).resolve().parent
SEED = 20261129
FACILITY_TYPES = {
    "retail_store", "shopping_mall", "theater", "airport", "stadium", "hotel", "office",
    "transit_station", "house_of_worship", "school", "hospital", "other",
}  # fmt: skip
MIN_SPACING_M = 80

# The county (FIPS) of each facility's ZIP, by the county name the zipcodes package gives.
COUNTY_FIPS = {
    "AK|Anchorage Municipality": "02020", "AL|Baldwin County": "01003",
    "AL|Jefferson County": "01073", "AR|Pulaski County": "05119", "AZ|Maricopa County": "04013",
    "CA|Los Angeles County": "06037", "CA|Nevada County": "06057",
    "CA|Sacramento County": "06067", "CA|San Francisco County": "06075",
    "CA|Santa Clara County": "06085", "CO|Boulder County": "08013", "CO|Denver County": "08031",
    "CO|Weld County": "08123", "CT|Hartford County": "09003",
    "DC|District of Columbia": "11001", "DE|New Castle County": "10003",
    "DE|Sussex County": "10005", "FL|Broward County": "12011", "FL|Duval County": "12031",
    "FL|Hillsborough County": "12057", "FL|Miami-Dade County": "12086",
    "FL|Orange County": "12095", "FL|Pinellas County": "12103", "GA|Clayton County": "13063",
    "GA|Fulton County": "13121", "HI|Honolulu County": "15003", "IA|Dallas County": "19049",
    "IA|Washington County": "19183", "ID|Ada County": "16001", "IL|Cook County": "17031",
    "IL|DuPage County": "17043", "IL|Kane County": "17089", "IL|Peoria County": "17143",
    "IL|Sangamon County": "17167", "IN|Marion County": "18097", "KS|Sedgwick County": "20173",
    "KS|Smith County": "20183", "KS|Wyandotte County": "20209",
    "KY|Jefferson County": "21111", "KY|Perry County": "21193",
    "LA|East Baton Rouge Parish": "22033", "LA|Jefferson Parish": "22051",
    "LA|Orleans Parish": "22071", "MA|Hampden County": "25013", "MA|Middlesex County": "25017",
    "MA|Norfolk County": "25021", "MA|Suffolk County": "25025",
    "MD|Anne Arundel County": "24003", "MD|Baltimore city": "24510",
    "MD|Howard County": "24027", "ME|Cumberland County": "23005",
    "MI|Washtenaw County": "26161", "MI|Wayne County": "26163", "MN|Dakota County": "27037",
    "MN|Hennepin County": "27053", "MN|Ramsey County": "27123", "MO|Greene County": "29077",
    "MO|Jackson County": "29095", "MO|St. Louis County": "29189",
    "MO|St. Louis city": "29510", "MS|Hinds County": "28049", "MT|Ravalli County": "30081",
    "NC|Cumberland County": "37051", "NC|Durham County": "37063",
    "NC|Mecklenburg County": "37119", "NC|Orange County": "37135", "NC|Wake County": "37183",
    "ND|Bowman County": "38011", "NE|Lancaster County": "31109",
    "NH|Hillsborough County": "33011", "NJ|Bergen County": "34003",
    "NJ|Essex County": "34013", "NJ|Hudson County": "34017", "NJ|Middlesex County": "34023",
    "NM|Bernalillo County": "35001", "NV|Clark County": "32003", "NY|Albany County": "36001",
    "NY|New York County": "36061", "NY|Queens County": "36081",
    "OH|Clermont County": "39025", "OH|Delaware County": "39041",
    "OH|Franklin County": "39049", "OH|Hamilton County": "39061",
    "OH|Montgomery County": "39113", "OH|Summit County": "39153",
    "OH|Washington County": "39167", "OK|Oklahoma County": "40109",
    "OR|Multnomah County": "41051", "PA|Allegheny County": "42003",
    "PA|Dauphin County": "42043", "PA|Montgomery County": "42091",
    "PA|Philadelphia County": "42101", "PA|Wyoming County": "42131",
    "RI|Providence County": "44007", "SC|Charleston County": "45019",
    "SC|Richland County": "45079", "SD|Pennington County": "46103",
    "TN|Davidson County": "47037", "TN|Shelby County": "47157",
    "TN|Williamson County": "47187", "TX|Bexar County": "48029", "TX|Dallas County": "48113",
    "TX|Fort Bend County": "48157", "TX|Harris County": "48201", "TX|Hunt County": "48231",
    "TX|Tarrant County": "48439", "UT|Salt Lake County": "49035",
    "VA|Arlington County": "51013", "VA|Loudoun County": "51107",
    "VT|Chittenden County": "50007", "WA|King County": "53033",
    "WA|Snohomish County": "53061", "WI|Dane County": "55025",
    "WI|Milwaukee County": "55079", "WI|Washington County": "55131",
    "WI|Waukesha County": "55133", "WV|Kanawha County": "54039", "WV|Putnam County": "54079",
}  # fmt: skip

# City nicknames and short forms, each tied to its state: the matcher may use one only when
# that state is typed, implied by the ZIP, or the calling agency's own.
NICKNAMES = {
    ("PHILADELPHIA", "PA"): ["Philly"],
    ("KANSAS CITY", "MO"): ["KC"],
    ("KANSAS CITY", "KS"): ["KC"],
    ("LOS ANGELES", "CA"): ["LA"],
    ("ST PETERSBURG", "FL"): ["St. Pete", "St Pete"],
    ("NEW ORLEANS", "LA"): ["Nola", "NOLA"],
    ("NEW YORK", "NY"): ["NYC"],
    ("SAN FRANCISCO", "CA"): ["SF"],
    ("LAS VEGAS", "NV"): ["Vegas"],
    ("INDIANAPOLIS", "IN"): ["Indy"],
    ("CINCINNATI", "OH"): ["Cincy"],
    ("JACKSONVILLE", "FL"): ["Jax"],
    ("OKLAHOMA CITY", "OK"): ["OKC"],
    ("SALT LAKE CITY", "UT"): ["SLC"],
}
# A bordering state per state, for callers from across the line (who type the state).
NEIGHBOUR = {
    "AK": "WA", "AL": "GA", "AR": "TN", "AZ": "NM", "CA": "NV", "CO": "WY", "CT": "NY",
    "DC": "MD", "DE": "MD", "FL": "GA", "GA": "FL", "HI": "CA", "IA": "NE", "ID": "OR",
    "IL": "IN", "IN": "IL", "KS": "MO", "KY": "OH", "LA": "MS", "MA": "RI", "MD": "VA",
    "ME": "NH", "MI": "OH", "MN": "WI", "MO": "KS", "MS": "AL", "MT": "ID", "NC": "SC",
    "ND": "MN", "NE": "IA", "NH": "VT", "NJ": "NY", "NM": "TX", "NV": "AZ", "NY": "NJ",
    "OH": "PA", "OK": "TX", "OR": "WA", "PA": "NJ", "RI": "CT", "SC": "NC", "SD": "ND",
    "TN": "KY", "TX": "LA", "UT": "ID", "VA": "MD", "VT": "NH", "WA": "OR", "WI": "IL",
    "WV": "OH",
}  # fmt: skip

DIRECTIONS = {
    "N": "North", "S": "South", "E": "East", "W": "West",
    "NE": "Northeast", "NW": "Northwest", "SE": "Southeast", "SW": "Southwest",
}  # fmt: skip
OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E", "NE": "SW", "SW": "NE", "NW": "SE", "SE": "NW"}
DIRECTION_OF = {**{d: d for d in DIRECTIONS}, **{w: d for d, w in DIRECTIONS.items()}}
STREET_TYPES = {
    "St": "Street", "Ave": "Avenue", "Blvd": "Boulevard", "Dr": "Drive", "Rd": "Road",
    "Pkwy": "Parkway", "Hwy": "Highway", "Plz": "Plaza", "Cir": "Circle", "Way": "Way",
    "Ct": "Court", "Sq": "Square", "Mall": "Mall", "Ln": "Lane", "Pl": "Place",
}  # fmt: skip
TYPE_OF = {**{t: t for t in STREET_TYPES}, **{w: t for t, w in STREET_TYPES.items()}}
# A street of another type, for "other type" negatives.
OTHER_TYPE = {
    "St": "Ave", "Ave": "St", "Blvd": "Dr", "Dr": "Ct", "Rd": "Ln", "Pkwy": "Dr", "Hwy": "Rd",
    "Plz": "St", "Cir": "Ct", "Way": "St", "Ct": "Dr", "Sq": "St", "Mall": "Dr",
}  # fmt: skip
ROUTE = re.compile(
    r"^(State Route|State Road|State Highway|Highway|US Highway|US Route|County Road|"
    r"Interstate|FM|NC Highway) \d+$"
)
GRID = re.compile(r"^([NSEW])(\d+)([NSEW])(\d+)$|^(\d+)([NSEW])(\d+)$")
HYPHEN = re.compile(r"^(\d+)-(\d+)$")

# Kinds of positives (the share resolved right is counted over these) and of negatives.
POSITIVE_KINDS = (
    "standard", "postal_city", "nickname", "plain_text", "ap_state", "directional_side",
    "type_omitted", "honorary_name", "route_name", "grid_number", "hyphen_number",
    "fraction_number", "rural_route", "highway_address", "extra_words", "city_no_state",
    "street_alias",
)  # fmt: skip
TYPO_KIND = "typo"
NEGATIVE_KINDS = (
    "neg_number", "neg_directional", "neg_type", "neg_other_city", "neg_other_state",
    "neg_city_other_state", "neg_zip",
)  # fmt: skip


_ZIPS_BY_STATE: dict[str, list[dict]] = defaultdict(list)
_ZIPS_BY_CITY: dict[str, list[dict]] = defaultdict(list)
for _z in zipcodes.list_all():
    if _z["zip_code_type"] == "STANDARD" and _z["active"]:
        _ZIPS_BY_STATE[_z["state"]].append(_z)
        _ZIPS_BY_CITY[_z["city"]].append(_z)


def key_of(text: str | None) -> str:
    """Upper case, punctuation as spaces, Saint/Fort/Mount shortened: how the model compares."""
    words = re.sub(r"[^A-Z0-9 ]", " ", (text or "").upper().replace("&", " AND ")).split()
    short = {"SAINT": "ST", "FORT": "FT", "MOUNT": "MT"}
    return " ".join(short.get(w, w) for w in words)


# --- facilities ------------------------------------------------------------------------------


@dataclass
class Street:
    number: str  # as registered: "1200", "W204N11509", "123-45", "1212 1/2"; "" for a rural route
    pre: str
    name: str
    type: str
    post: str
    rural_route: tuple[str, str] | None = None  # (route, box)

    @property
    def is_route(self) -> bool:
        return bool(ROUTE.match(self.name))

    @property
    def direction(self) -> str:
        return self.pre or self.post


def parse_street(line: str, with_number: bool = True) -> Street:
    """Split one of *our own* registered lines; never used on query text."""
    words = line.split()
    if words[0] == "RR":
        return Street("", "", "", "", "", (words[1], words[3]))
    number = ""
    if with_number:
        number, words = words[0], words[1:]
        if words and re.fullmatch(r"\d+/\d+", words[0]):
            number, words = f"{number} {words[0]}", words[1:]
    pre = post = kind = ""
    if len(words) > 1 and words[0] in DIRECTION_OF:
        pre, words = DIRECTION_OF[words[0]], words[1:]
    if len(words) > 1 and words[-1] in DIRECTION_OF:
        post, words = DIRECTION_OF[words[-1]], words[:-1]
    name = " ".join(words)
    if not ROUTE.match(name) and len(words) > 1 and words[-1].rstrip(".") in TYPE_OF:
        kind, name = TYPE_OF[words[-1].rstrip(".")], " ".join(words[:-1])
    return Street(number, pre, name, kind, post)


@dataclass
class Site:
    key: str
    facility_type: str
    name: str
    line1: str
    line2: str | None
    city: str
    state: str
    zip: str
    postal: list[str]
    alternates: list[str]
    cross: str | None
    street: Street = None
    county: str = ""
    county_fips: str = ""
    lat: float = 0.0
    lon: float = 0.0
    # what the reference model compares
    name_keys: set = field(default_factory=set)
    city_keys: set = field(default_factory=set)
    forms: set = field(default_factory=set)  # (direction, street type) pairs registered

    @property
    def number_key(self) -> str:
        if self.street.rural_route:
            route, box = self.street.rural_route
            return f"RR {route} BOX {box}"
        return self.street.number.upper()

    def to_json(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "facility_type": self.facility_type,
            "address_line1": self.line1,
            "address_line2": self.line2,
            "city": self.city,
            "state": self.state,
            "postal_code": self.zip,
            "lat": round(self.lat, 6),
            "lon": round(self.lon, 6),
            "county_fips": self.county_fips,
            "postal_names": self.postal,
            "street_names": self.alternates,
        }


def read_sites() -> list[Site]:
    sites = []
    for raw in (HERE / "facilities.txt").read_text().splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        cells = [c.strip() for c in raw.split("|")]
        cells += [""] * (11 - len(cells))
        key, ftype, name, line1, line2, city, state, zip5, postal, alts, cross = cells[:11]
        site = Site(
            key, ftype, name, line1, line2 or None, city, state, zip5,
            [p.strip() for p in postal.split(";") if p.strip()],
            [a.strip() for a in alts.split(";") if a.strip()],
            cross or None,
        )  # fmt: skip
        site.street = parse_street(line1)
        sites.append(site)
    return sites


def check_and_place(sites: list[Site]) -> None:
    """Validate every row (fail loudly: the set must stay real) and give it a position."""
    problems = []
    keys = Counter(s.key for s in sites)
    problems += [f"duplicate key {k}" for k, n in keys.items() if n > 1]
    per_zip: dict[str, int] = defaultdict(int)
    for site in sites:
        if site.facility_type not in FACILITY_TYPES:
            problems.append(f"{site.key}: facility type {site.facility_type}")
        found = zipcodes.matching(site.zip)
        if not found or found[0]["state"] != site.state:
            problems.append(f"{site.key}: ZIP {site.zip} is not in {site.state}")
            continue
        record = found[0]
        zip_names = {key_of(record["city"])} | {key_of(c) for c in record["acceptable_cities"]}
        for typed in site.postal:
            if key_of(typed) not in zip_names:
                problems.append(f"{site.key}: {typed} is not a postal name of {site.zip}")
        if key_of(site.city) not in zip_names and key_of(record["city"]) not in {
            key_of(p) for p in site.postal
        }:
            problems.append(f"{site.key}: {site.city} is not tied to {site.zip}")
        site.county = record["county"]
        fips = COUNTY_FIPS.get(f"{site.state}|{record['county']}")
        if fips is None:
            problems.append(f"{site.key}: no FIPS for {record['county']}")
        site.county_fips = fips or ""
        # A ring around the ZIP's centre: 250 m out, then 140 m further for each neighbour.
        k = per_zip[site.zip]
        per_zip[site.zip] += 1
        radius, angle = 250 + 140 * k, 2.39996 * k + (sum(map(ord, site.zip)) % 628) / 100
        lat0, lon0 = float(record["lat"]), float(record["long"])
        site.lat = lat0 + radius * math.cos(angle) / 111_195
        site.lon = lon0 + radius * math.sin(angle) / (111_195 * math.cos(math.radians(lat0)))
        site.name_keys = {key_of(site.street.name)} | {
            key_of(parse_street(alt, with_number=False).name) for alt in site.alternates
        }
        site.forms = {(site.street.direction, site.street.type)} | {
            (p.direction, p.type) for p in (parse_street(a, False) for a in site.alternates)
        }
        nicknames = NICKNAMES.get((key_of(site.city), site.state), [])
        site.city_keys = (
            {key_of(site.city)} | {key_of(p) for p in site.postal} | {key_of(n) for n in nicknames}
        )
    for i, a in enumerate(sites):
        for b in sites[i + 1 :]:
            if distance_m(a.lat, a.lon, b.lat, b.lon) < MIN_SPACING_M:
                problems.append(f"{a.key} and {b.key} are closer than {MIN_SPACING_M} m")
    if len({s.state for s in sites}) < 25:
        problems.append("fewer than 25 states")
    if problems:
        sys.exit("facilities.txt:\n  " + "\n  ".join(problems))


def distance_m(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


# --- queries ---------------------------------------------------------------------------------


@dataclass
class Query:
    """One query as structured parts (what the model checks) and how to write them."""

    site: Site
    kind: str
    expect: str | None
    caller: dict
    number: str  # as typed
    street: str  # as typed, without the number
    # the model's reading
    number_key: str
    name_key: str
    direction: str
    street_type: str
    unit: str | None = None
    city: str | None = None  # as typed
    state: str | None = None  # as typed: "PA", "Pennsylvania" or "Pa."
    state_code: str | None = None
    zip: str | None = None
    before: str | None = None  # a place name before the address
    after_street: str | None = None  # a note after the street ("near 5th Ave")
    trailer: str | None = None  # ", USA"
    commas: bool = True
    case: str = "as is"  # as is | upper | lower

    def text(self) -> str:
        line = f"{self.number} {self.street}".strip()
        if self.unit:
            line += f" {self.unit}" if not self.commas else f", {self.unit}"
        if self.after_street:
            line += f" {self.after_street}"
        locality = " ".join(p for p in (self.state, self.zip) if p)
        if self.commas:
            text = ", ".join(p for p in (self.before, line, self.city, locality) if p)
        else:
            text = " ".join(p for p in (self.before, line, self.city, locality) if p)
        if self.trailer:
            text += self.trailer
        if self.case == "upper":
            text = text.upper()
        elif self.case == "lower":
            text = text.lower()
        return re.sub(r"\s+", " ", text).strip()

    def to_json(self) -> dict:
        return {
            "text": self.text(),
            "caller": self.caller,
            "expect": self.expect,
            "kind": self.kind,
            "source": "generated",
        }


class Model:
    """The reference reading: which registered facilities does a query fit?"""

    def __init__(self, sites: list[Site]):
        self.sites = sites
        self.by_number: dict[str, list[Site]] = defaultdict(list)
        for site in sites:
            self.by_number[site.number_key].append(site)

    def fits(self, q: Query) -> list[Site]:
        state = q.state_code
        if state is None and q.zip:
            state = zipcodes.matching(q.zip[:5])[0]["state"]
        if state is None:
            state = q.caller["state"]
        found = []
        for site in self.by_number.get(q.number_key, []):
            if q.name_key not in site.name_keys or site.state != state:
                continue
            # The other side of the street name is the same directional; a type left out
            # counts only while the directional stays.
            if not any(
                q.direction == d and (q.street_type == t or (not q.street_type and d))
                for d, t in site.forms
            ):
                continue
            if q.city and key_of(q.city) not in site.city_keys:
                continue
            if q.zip and q.zip[:5] != site.zip:
                continue
            found.append(site)
        return found


class Builder:
    def __init__(self, sites: list[Site]):
        self.sites = sites
        self.model = Model(sites)
        self.rng = random.Random(SEED)
        self.queries: list[Query] = []
        self.dropped: Counter = Counter()
        self.counties_by_state: dict[str, list[str]] = defaultdict(list)
        for site in sites:
            if site.county_fips not in self.counties_by_state[site.state]:
                self.counties_by_state[site.state].append(site.county_fips)
        self.all_name_keys = {k for s in sites for k in s.name_keys} | {
            k for s in sites for k in s.city_keys
        }

    # callers ---------------------------------------------------------------------------------
    def home(self, site: Site) -> dict:
        return {"state": site.state, "county_fips": [site.county_fips]}

    def caller(self, site: Site, state_typed: bool) -> dict:
        """Mostly the facility's own county; some a statewide or other-county agency in its
        state; with the state typed, some an agency across the state line."""
        roll = self.rng.random()
        others = [c for c in self.counties_by_state[site.state] if c != site.county_fips]
        if state_typed and roll < 0.12:
            return {"state": NEIGHBOUR[site.state], "county_fips": []}
        if roll < 0.22 and others and state_typed:
            return {"state": site.state, "county_fips": [self.rng.choice(others)]}
        if roll < 0.32:
            return {"state": site.state, "county_fips": []}
        return self.home(site)

    # parts -------------------------------------------------------------------------------------
    def base(self, site: Site, kind: str, expect: str | None = "self", **parts) -> Query:
        s = site.street
        if s.rural_route:
            route, box = s.rural_route
            number, street = "", f"RR {route} Box {box}"
        else:
            number, street = s.number, " ".join(p for p in (s.pre, s.name, s.type, s.post) if p)
        q = Query(
            site=site,
            kind=kind,
            expect=site.key if expect == "self" else expect,
            caller=self.home(site),
            number=number,
            street=street,
            number_key=site.number_key,
            name_key=key_of(s.name),
            direction=s.direction,
            street_type=s.type,
            city=site.city,
            state=site.state,
            state_code=site.state,
            zip=site.zip,
        )
        return replace(q, **parts)

    def spelled(self, s: Street, pre=None, post=None, kind=None) -> str:
        if s.rural_route:
            return f"RR {s.rural_route[0]} Box {s.rural_route[1]}"
        pre = s.pre if pre is None else pre
        post = s.post if post is None else post
        kind = s.type if kind is None else kind
        return " ".join(
            p
            for p in (
                DIRECTIONS.get(pre, pre),
                s.name,
                STREET_TYPES.get(kind, kind),
                DIRECTIONS.get(post, post),
            )
            if p
        )

    def locality(self, q: Query, style: str) -> Query:
        """city, state and ZIP written one of the ways dispatchers write them."""
        site = q.site
        zip5 = site.zip
        if style == "full":
            return replace(
                q,
                zip=zip5 + (f"-{self.rng.randint(1000, 9999)}" if self.rng.random() < 0.2 else ""),
            )
        if style == "city_state":
            return replace(q, zip=None)
        if style == "zip_only":
            return replace(q, city=None, state=None, state_code=None, zip=zip5)
        if style == "state_zip":
            return replace(q, city=None, zip=zip5)
        raise ValueError(style)

    def add(self, q: Query, state_typed: bool | None = None) -> None:
        """Keep `q` if the model agrees with its expectation; pick its caller."""
        if state_typed is None:
            state_typed = q.state_code is not None
        if q.caller == self.home(q.site) and q.kind not in ("city_no_state",):
            q = replace(q, caller=self.caller(q.site, state_typed))
        fits = {s.key for s in self.model.fits(q)}
        wanted = {q.expect} if q.expect else set()
        if fits != wanted:
            self.dropped[q.kind] += 1
            return
        self.queries.append(q)

    # positives ----------------------------------------------------------------------------------
    def positives(self, site: Site) -> None:
        # A generator per facility: editing one row of facilities.txt leaves the others' queries.
        self.rng = random.Random(f"{SEED}:positives:{site.key}")
        rng, s = self.rng, site.street
        number_kind = (
            "rural_route" if s.rural_route
            else "grid_number" if GRID.match(s.number)
            else "hyphen_number" if HYPHEN.match(s.number)
            else "fraction_number" if "/" in s.number
            else "highway_address" if s.is_route
            else None
        )  # fmt: skip
        standard = number_kind or "standard"
        unit = site.line2

        # As registered, with commas; some as a CAD sends them (capitals, no commas) or with
        # every word spelled out.
        if number_kind or rng.random() < 0.6:
            self.add(self.base(site, standard, unit=unit))
        roll = rng.random()
        if roll < 0.25:
            caps = self.base(site, standard, commas=False, case="upper")
            self.add(self.locality(caps, rng.choice(["full", "city_state"])))
        elif roll < 0.5 and (s.pre or s.post or s.type):
            q = self.base(site, standard, street=self.spelled(s))
            self.add(self.locality(q, rng.choice(["full", "city_state", "state_zip"])))

        # Lower case, no commas, the state's full name.
        state_name = us.states.lookup(site.state).name
        if rng.random() < 0.6:
            q = self.base(site, "plain_text", commas=False, case="lower", state=state_name)
            if rng.random() < 0.5:
                q = replace(q, street=self.spelled(s))
            self.add(self.locality(q, rng.choice(["full", "city_state"])))

        # AP abbreviations ("Pa.", "Calif.") where AP has one.
        ap = us.states.lookup(site.state).ap_abbr
        if ap and ap != state_name and rng.random() < 0.5:
            q = self.base(site, "ap_state", state=ap)
            self.add(self.locality(q, rng.choice(["full", "city_state"])))

        # Extra words around the address.
        if rng.random() < 0.7:
            extra = rng.choice(["usa", "place", "near"])
            q = self.base(site, "extra_words")
            if extra == "usa":
                q = replace(q, trailer=rng.choice([", USA", ", United States", " USA", ", US"]))
            elif extra == "place":
                q = replace(q, before=site.name)
            else:
                cross = site.cross or "Oak St"
                q = replace(q, after_street=f"{rng.choice(['near', 'by', 'nr'])} {cross}")
            self.add(self.locality(q, rng.choice(["full", "city_state"])))

        # The directional on the other side of the name; the street type left out while the
        # directional stays.
        if (
            s.direction
            and not (s.pre and s.post)
            and not re.match(r"\d", s.name)  # Utah grid: "842 E 1700 S"
            and not set(s.name.split()) & set(DIRECTIONS.values())  # "W North Temple"
        ):
            pre, post = ("", s.pre) if s.pre else (s.post, "")
            if rng.random() < 0.5:
                moved = " ".join(p for p in (pre, s.name, s.type, post) if p)
                self.add(self.locality(self.base(site, "directional_side", street=moved), "full"))
            else:
                q = self.base(site, "directional_side", street=self.spelled(s, pre, post))
                self.add(self.locality(q, rng.choice(["city_state", "zip_only"])))
            # One change at a time: the directional stays put. Not where the name then ends in
            # a word that is itself a street type ("N Center Ct St" -> "N Center Ct", "S Forest
            # Ave" -> "S Forest"): that reads as another street.
            last = s.name.split()[-1].upper().rstrip(".")
            if s.type and not s.is_route and last not in STREET_TYPE_ABBREVIATIONS:
                kept = " ".join(p for p in (s.pre, s.name, s.post) if p)
                q = self.base(site, "type_omitted", street=kept, street_type="")
                self.add(self.locality(q, rng.choice(["full", "city_state"])))

        # The same street under its other names.
        for alt in site.alternates:
            parsed = parse_street(alt, with_number=False)
            kind = "route_name" if s.is_route else "honorary_name"
            q = self.base(site, kind, street=alt, name_key=key_of(parsed.name),
                          direction=parsed.direction, street_type=parsed.type)  # fmt: skip
            self.add(self.locality(q, rng.choice(["full", "city_state", "city_state", "zip_only"])))

        # House numbers that are not plain digits.
        self.number_variants(site, number_kind)

        # The ZIP's other names for the place, or the municipality for the postal city.
        for typed in site.postal:
            q = self.base(site, "postal_city", city=typed)
            self.add(self.locality(q, "full"))
            self.add(self.locality(replace(q, case=rng.choice(["as is", "upper"])), "city_state"))

        # Nicknames: with the state typed, with the ZIP, with only the caller's state.
        for nickname in NICKNAMES.get((key_of(site.city), site.state), []):
            q = self.base(site, "nickname", city=nickname)
            self.add(self.locality(q, "city_state"))
            if nickname != "LA":  # "LA 90012" reads as Louisiana
                self.add(replace(q, state=None, state_code=None, zip=site.zip))
                self.add(replace(q, state=None, state_code=None, zip=None), state_typed=False)

        # A city without a state, from an agency of the facility's state (its county's or a
        # statewide one).
        if rng.random() >= 0.5:
            q = self.base(site, "city_no_state", state=None, state_code=None, zip=None)
            statewide = {"state": site.state, "county_fips": []}
            caller = self.home(site) if rng.random() < 0.7 else statewide
            self.add(replace(q, caller=caller, case=rng.choice(["as is", "lower"])))

        # A typo in the street name or the city (a separate category: candidates at most).
        if rng.random() < 0.55:
            self.typo(site)

    def number_variants(self, site: Site, number_kind: str | None) -> None:
        rng, s = self.rng, site.street
        if number_kind == "rural_route":
            route, box = s.rural_route
            forms = [f"Rural Route {route} Box {box}", f"RR{route} Box {box}",
                     f"R.R. {route}, Box {box}", f"Rural Rte {route} Box {box}",
                     f"RR {route} Bx {box}"]  # fmt: skip
            for form in rng.sample(forms, 3):
                q = self.base(site, "rural_route", street=form)
                self.add(self.locality(q, rng.choice(["full", "city_state"])))
        elif number_kind == "grid_number":
            m = GRID.match(s.number)
            forms = [s.number.lower()]
            if m.group(1):
                forms.append(f"{m.group(1)}{m.group(2)} {m.group(3)}{m.group(4)}")
            for form in forms:
                q = self.base(site, "grid_number", number=form)
                self.add(self.locality(q, rng.choice(["full", "city_state"])))
        elif number_kind == "hyphen_number":
            for style in ("full", "city_state"):
                q = self.base(
                    site,
                    "hyphen_number",
                    street=self.spelled(s),
                    case=rng.choice(["as is", "lower"]),
                )
                self.add(self.locality(q, style))
        elif number_kind == "fraction_number":
            whole = s.number.split()[0]
            for form in (f"{whole}½", f"{whole} ½", f"{whole}-1/2"):
                q = self.base(site, "fraction_number", number=form)
                self.add(self.locality(q, rng.choice(["full", "city_state"])))
        elif number_kind == "highway_address":
            q = self.base(site, "highway_address", commas=False, case="lower")
            self.add(self.locality(q, "full"))

    def typo(self, site: Site) -> None:
        rng, s = self.rng, site.street
        in_city = rng.random() < 0.35 or bool(s.rural_route) or s.is_route
        target = site.city if in_city else s.name
        words = [w for w in target.split() if len(w) >= (6 if in_city else 5) and w.isalpha()]
        if not words:
            return
        word = rng.choice(words)
        i = rng.randrange(1, len(word) - 2)
        if rng.random() < 0.5:
            wrong = word[:i] + word[i + 1 :]  # a letter left out
        else:
            wrong = word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped
        if wrong.lower() == word.lower() or key_of(wrong) in self.all_name_keys:
            return
        misspelt = target.replace(word, wrong, 1)
        if in_city:
            q = self.base(site, TYPO_KIND, city=misspelt)
        else:
            street = " ".join(p for p in (s.pre, misspelt, s.type, s.post) if p)
            q = self.base(site, TYPO_KIND, street=street)
        q = self.locality(q, rng.choice(["full", "city_state"]))
        # The model cannot read a typo: keep it when the right spelling fits this one only.
        if self.model.fits(replace(q, city=site.city if in_city else q.city)) == [site]:
            self.queries.append(replace(q, caller=self.caller(site, True)))

    # negatives ----------------------------------------------------------------------------------
    def negatives(self, site: Site, per_site: tuple[int, ...] = (1, 2, 2)) -> None:
        """One or two (`per_site`) near misses of `site`, drawn from every kind that applies;
        and always the ones only a few facilities have (123-45 read as 12345, 1212 1/2 as 1212,
        no directional where both N and S are registered)."""
        self.rng = random.Random(f"{SEED}:negatives:{site.key}")
        rng, s = self.rng, site.street
        always, options = [], []

        def style():
            return rng.choice(["full", "city_state", "city_state"])

        # The house number two off, where nothing is registered.
        shifted = shift_number(site, rng.choice([-2, 2]))
        if shifted:
            number, street, key = shifted
            q = self.base(site, "neg_number", None, number=number, street=street, number_key=key)
            options.append(self.locality(q, style()))
        if HYPHEN.match(s.number):  # 123-45 is not 12345
            joined = s.number.replace("-", "")
            q = self.base(site, "neg_number", None, number=joined, number_key=joined)
            always.append(self.locality(q, style()))
        if "/" in s.number:  # 1212 1/2 is not 1212
            whole = s.number.split()[0]
            q = self.base(site, "neg_number", None, number=whole, number_key=whole)
            always.append(self.locality(q, style()))

        # The other directional, or one where none is registered; none where both exist.
        if not s.rural_route:
            if s.direction in OPPOSITE:
                other = OPPOSITE[s.direction]
                pre, post = (other, "") if s.pre else ("", other)
                street = " ".join(p for p in (pre, s.name, s.type, post) if p)
                q = self.base(site, "neg_directional", None, street=street, direction=other)
                options.append(self.locality(q, style()))
            elif not s.direction and not s.is_route:
                added = rng.choice(["N", "S", "E", "W"])
                street = f"{added} {s.name} {s.type}".strip()
                q = self.base(site, "neg_directional", None, street=street, direction=added)
                options.append(self.locality(q, style()))
            if s.direction and any(
                o is not site and o.number_key == site.number_key and key_of(s.name) in o.name_keys
                and o.city == site.city and o.street.direction != s.direction
                for o in self.sites
            ):  # fmt: skip
                street = f"{s.name} {s.type}".strip()
                q = self.base(site, "neg_directional", None, street=street, direction="")
                always.append(self.locality(q, "city_state"))

        # Another street type.
        if s.type in OTHER_TYPE:
            other = OTHER_TYPE[s.type]
            street = " ".join(p for p in (s.pre, s.name, other, s.post) if p)
            q = self.base(site, "neg_type", None, street=street, street_type=other)
            options.append(self.locality(q, style()))

        # The same street in another town of the state, or in another state (a town there, or
        # the right town with the wrong state code).
        other_city = self.other_city(site.state, exclude=site.city_keys)
        if other_city:
            city, zip5 = other_city
            q = self.base(site, "neg_other_city", None, city=city, zip=zip5)
            options.append(q if rng.random() < 0.5 else replace(q, zip=None))
        far_state = rng.choice(sorted({x.state for x in self.sites} - {site.state}))
        far = self.other_city(far_state, exclude=set())
        if rng.random() < 0.5 and far:
            city, zip5 = far
            q = self.base(site, "neg_other_state", None, city=city, state=far_state,
                          state_code=far_state, zip=zip5 if rng.random() < 0.5 else None)  # fmt: skip
        else:
            neighbour = NEIGHBOUR[site.state]
            q = self.base(site, "neg_other_state", None, state=neighbour, state_code=neighbour,
                          zip=None)  # fmt: skip
        options.append(q)

        # A town of the same name in another state: typed, or the caller's own.
        namesake = self.namesake(site)
        if namesake:
            state, zip5 = namesake
            if rng.random() < 0.5:
                q = self.base(site, "neg_city_other_state", None, state=state, state_code=state,
                              zip=zip5 if rng.random() < 0.4 else None)  # fmt: skip
            else:
                q = self.base(site, "neg_city_other_state", None, state=None, state_code=None,
                              zip=None, caller={"state": state, "county_fips": []})  # fmt: skip
            options.append(q)

        # A ZIP that is not the facility's.
        other_zip = self.other_zip(site)
        if other_zip:
            q = self.base(site, "neg_zip", None, zip=other_zip)
            options.append(q if rng.random() < 0.6 else replace(q, city=None))

        for q in always + rng.sample(options, min(rng.choice(per_site), len(options))):
            self.add(q)

    def other_city(self, state: str, exclude: set) -> tuple[str, str] | None:
        candidates = [z for z in _ZIPS_BY_STATE[state] if key_of(z["city"]) not in exclude]
        if not candidates:
            return None
        z = self.rng.choice(candidates)
        return z["city"], z["zip_code"]

    def namesake(self, site: Site) -> tuple[str, str] | None:
        """A town of the same name in another state (its state and a ZIP), if there is one."""
        same = [z for z in _ZIPS_BY_CITY[site.city] if z["state"] != site.state]
        if not same:
            return None
        z = self.rng.choice(same)
        return z["state"], z["zip_code"]

    def other_zip(self, site: Site) -> str | None:
        """Another ZIP of the same city if it has one, else another ZIP of the state."""
        same_city = [
            z["zip_code"] for z in _ZIPS_BY_CITY[site.city]
            if z["state"] == site.state and z["zip_code"] != site.zip
        ]  # fmt: skip
        if same_city:
            return self.rng.choice(same_city)
        other = self.other_city(site.state, exclude=site.city_keys)
        return other[1] if other else None


def shift_number(site: Site, delta: int) -> tuple[str, str, str] | None:
    """(number as typed, street as typed, model key) for the address `delta` doors away."""
    s = site.street
    if s.rural_route:
        route, box = s.rural_route
        new = int(box) + delta
        return ("", f"RR {route} Box {new}", f"RR {route} BOX {new}") if new > 0 else None
    number = s.number.split()[0]
    m = re.match(r"^(.*?)(\d+)$", number)
    if not m or int(m.group(2)) + delta <= 0:
        return None
    digits = str(int(m.group(2)) + delta).zfill(len(m.group(2)))
    new = m.group(1) + digits
    street = " ".join(p for p in (s.pre, s.name, s.type, s.post) if p)
    return new, street, new.upper()


def main() -> None:
    sites = read_sites()
    check_and_place(sites)
    builder = Builder(sites)
    for site in sites:
        builder.positives(site)
    for site in sites:
        builder.negatives(site)
    generated = [q.to_json() for q in builder.queries]
    seen = set()
    unique = []
    for q in generated:  # one copy of each (text, caller)
        marker = (q["text"], json.dumps(q["caller"], sort_keys=True))
        if marker not in seen:
            seen.add(marker)
            unique.append(q)
    handwritten = json.loads((HERE / "handwritten.json").read_text())
    keys = {s.key for s in sites}
    for q in handwritten:
        assert q["expect"] is None or q["expect"] in keys, q
        assert q["kind"] in (*POSITIVE_KINDS, TYPO_KIND, *NEGATIVE_KINDS), q
        q["source"] = "hand"
    queries = unique + handwritten
    (HERE / "facilities.json").write_text(
        json.dumps([s.to_json() for s in sites], indent=1, ensure_ascii=False) + "\n"
    )
    (HERE / "queries.json").write_text(
        "[\n" + ",\n".join(json.dumps(q, ensure_ascii=False) for q in queries) + "\n]\n"
    )
    kinds = Counter(q["kind"] for q in queries)
    positives = sum(n for k, n in kinds.items() if k in POSITIVE_KINDS)
    negatives = sum(n for k, n in kinds.items() if k in NEGATIVE_KINDS)
    print(f"{len(sites)} facilities in {len({s.state for s in sites})} states")
    print(f"{positives} positives, {kinds[TYPO_KIND]} typos, {negatives} negatives "
          f"({sum(q['source'] == 'hand' for q in queries)} by hand)")  # fmt: skip
    for kind, n in sorted(kinds.items()):
        print(f"  {kind:22} {n:5}")
    if builder.dropped:
        print("dropped by the model check:", dict(builder.dropped))


if __name__ == "__main__":
    main()
