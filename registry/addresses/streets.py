"""Street names in one canonical form, so that the ways people write one street compare equal.

Only rewrites that cannot join two different streets are built in:
- USPS Publication 28 street types and directionals ("Avenue" -> "AVE", "North" -> "N"),
  word ordinals ("Fifth" -> "5TH") and "Saint/Fort/Mount" -> "ST/FT/MT" inside a name;
- person-name forms (`PEOPLE`): "JFK" is "John F Kennedy" wherever a street is named after him;
- route classes (`ROUTE_CLASSES`): "State Rte 1", "SR-1" and "State Highway 1" are one route.
  A generic "Route 1" / "Highway 1" names no class: it is kept apart ("RTE 1") and may meet a
  classed route only as a tolerated relaxation (see preplans/lookup.py), never as equal.
Everything else (an honorary name, "Ave of the Americas" for "6th Ave", "Penn Ave" for
"Pennsylvania Ave") is an alias a person registers and reviews: see facilities and agencies.
"""

import re
from dataclasses import dataclass

import us
from scourgify.address_constants import STREET_TYPE_ABBREVIATIONS

DIRECTIONALS = {
    "N": "N", "S": "S", "E": "E", "W": "W", "NE": "NE", "NW": "NW", "SE": "SE", "SW": "SW",
    "NORTH": "N", "SOUTH": "S", "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW",
    "SOUTHEAST": "SE", "SOUTHWEST": "SW",
}  # fmt: skip
STREET_TYPES = {**STREET_TYPE_ABBREVIATIONS, "PKY": "PKWY", "PKWAY": "PKWY", "BL": "BLVD"}

_ORDINAL_WORDS = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
    "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
    "ELEVENTH": "11TH", "TWELFTH": "12TH", "THIRTEENTH": "13TH", "FOURTEENTH": "14TH",
    "FIFTEENTH": "15TH", "SIXTEENTH": "16TH", "SEVENTEENTH": "17TH", "EIGHTEENTH": "18TH",
    "NINETEENTH": "19TH", "TWENTIETH": "20TH",
}  # fmt: skip
_TENS = {"TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FIFTY": 50, "SIXTY": 60, "SEVENTY": 70,
         "EIGHTY": 80, "NINETY": 90}  # fmt: skip
_NAME_WORDS = {"SAINT": "ST", "FORT": "FT", "MOUNT": "MT"}
_AVENUE = {"AVENUE", "AVE", "AV", "AVEN", "AVENU", "AVN", "AVNUE"}

# People streets are named after, in the forms call-takers type: each maps to one canonical
# word sequence. Titles and "Jr" around them are dropped (see `_people`).
PEOPLE: dict[tuple[str, ...], tuple[str, ...]] = {
    ("JFK",): ("JOHN", "F", "KENNEDY"),
    ("J", "F", "K"): ("JOHN", "F", "KENNEDY"),
    ("JOHN", "FITZGERALD", "KENNEDY"): ("JOHN", "F", "KENNEDY"),
    ("JOHN", "F", "KENNEDY"): ("JOHN", "F", "KENNEDY"),
    ("MLK",): ("MARTIN", "LUTHER", "KING"),
    ("M", "L", "K"): ("MARTIN", "LUTHER", "KING"),
    ("M", "L", "KING"): ("MARTIN", "LUTHER", "KING"),
    ("MARTIN", "L", "KING"): ("MARTIN", "LUTHER", "KING"),
    ("MARTIN", "LUTHER", "KING"): ("MARTIN", "LUTHER", "KING"),
    ("FDR",): ("FRANKLIN", "D", "ROOSEVELT"),
    ("FRANKLIN", "DELANO", "ROOSEVELT"): ("FRANKLIN", "D", "ROOSEVELT"),
    ("FRANKLIN", "D", "ROOSEVELT"): ("FRANKLIN", "D", "ROOSEVELT"),
    ("LBJ",): ("LYNDON", "B", "JOHNSON"),
    ("LYNDON", "BAINES", "JOHNSON"): ("LYNDON", "B", "JOHNSON"),
    ("LYNDON", "B", "JOHNSON"): ("LYNDON", "B", "JOHNSON"),
    ("RFK",): ("ROBERT", "F", "KENNEDY"),
    ("ROBERT", "F", "KENNEDY"): ("ROBERT", "F", "KENNEDY"),
    ("CESAR", "E", "CHAVEZ"): ("CESAR", "CHAVEZ"),
    ("CESAR", "CHAVEZ"): ("CESAR", "CHAVEZ"),
}
_TITLES = {"DR", "DOCTOR", "REV", "REVEREND", "PRES", "PRESIDENT"}
_SUFFIXES = {"JR", "JUNIOR", "SR"}

# Route classes: the words before a route number -> the class's canonical prefix. Longest first.
ROUTE_CLASSES: list[tuple[tuple[str, ...], str]] = sorted(
    [
        (("INTERSTATE", "HIGHWAY"), "I"), (("INTERSTATE",), "I"), (("I",), "I"), (("IH",), "I"),
        (("UNITED", "STATES", "HIGHWAY"), "US"), (("US", "HIGHWAY"), "US"), (("US", "HWY"), "US"),
        (("US", "ROUTE"), "US"), (("US", "RTE"), "US"), (("US", "RT"), "US"), (("US",), "US"),
        (("U", "S", "HIGHWAY"), "US"), (("U", "S", "HWY"), "US"), (("U", "S", "ROUTE"), "US"),
        (("U", "S", "RTE"), "US"), (("U", "S"), "US"), (("USHWY",), "US"), (("USH",), "US"),
        (("STATE", "ROUTE"), "SR"), (("STATE", "RTE"), "SR"), (("STATE", "RT"), "SR"),
        (("STATE", "HIGHWAY"), "SR"), (("STATE", "HWY"), "SR"), (("STATE", "ROAD"), "SR"),
        (("STATE", "RD"), "SR"), (("SR",), "SR"), (("ST", "RT"), "SR"), (("ST", "RTE"), "SR"),
        (("STHWY",), "SR"), (("STH",), "SR"), (("SH",), "SR"), (("STATE", "HWY", "NO"), "SR"),
        (("COUNTY", "ROAD"), "CR"), (("COUNTY", "RD"), "CR"), (("CO", "RD"), "CR"),
        (("CO", "ROAD"), "CR"), (("CR",), "CR"), (("COUNTY", "HIGHWAY"), "CR"),
        (("COUNTY", "HWY"), "CR"), (("CO", "HWY"), "CR"), (("CTH",), "CR"),
        (("COUNTY", "ROUTE"), "CR"), (("COUNTY", "RTE"), "CR"), (("COUNTY", "RT"), "CR"),
        (("CO", "ROUTE"), "CR"), (("CO", "RTE"), "CR"), (("CO", "RT"), "CR"),
        (("FARM", "TO", "MARKET", "ROAD"), "FM"), (("FARM", "TO", "MARKET", "RD"), "FM"),
        (("FARM", "TO", "MARKET"), "FM"), (("FM",), "FM"), (("FM", "RD"), "FM"),
        (("RANCH", "TO", "MARKET", "ROAD"), "RM"), (("RANCH", "TO", "MARKET"), "RM"),
        (("RM",), "RM"),
        (("ROUTE",), "RTE"), (("RTE",), "RTE"), (("RT",), "RTE"), (("HIGHWAY",), "RTE"),
        (("HWY",), "RTE"), (("ROUTE", "NO"), "RTE"), (("HIGHWAY", "NO"), "RTE"),
    ],
    key=lambda item: -len(item[0]),
)  # fmt: skip
GENERIC_ROUTE = "RTE"
_ROUTE_WORDS = {"HWY", "HIGHWAY", "RTE", "ROUTE", "RT", "RD", "ROAD"}
# "CO 12" is a county road as often as a Colorado route: never read as a state's code.
_STATE_CODES = frozenset(s.abbr for s in us.states.STATES_AND_TERRITORIES) - {"US", "CO"}
# "West Virginia Ave", "North Carolina St": a directional word that begins a state's name is
# part of the street's name.
_DIRECTIONAL_STATES = frozenset(
    tuple(s.name.upper().split()[:2])
    for s in us.states.STATES_AND_TERRITORIES
    if s.name.split()[0] in ("North", "South", "East", "West")
)
_ROUTE_NUMBER = re.compile(r"^([0-9]{1,4}[A-Z]?|[A-Z]{1,2})$")


@dataclass(frozen=True)
class Street:
    """One street in canonical words. `name` excludes directionals and the type."""

    predir: str | None
    name: str
    street_type: str | None
    postdir: str | None
    route_class: str | None = None  # "I", "US", "SR", "CR", "FM", "RM" or "RTE" (generic)
    # "TX" for "TX-6": a state route written with its state's code, true only in that state.
    route_state: str | None = None

    @property
    def full(self) -> str:
        return " ".join(p for p in (self.predir, self.name, self.street_type, self.postdir) if p)

    @property
    def root(self) -> str:
        """What the indexed lookup searches on: the name, with any route class made generic,
        so that "SR 1" and "Highway 1" meet and are then told apart by the rule."""
        if self.route_class:
            return f"{GENERIC_ROUTE} {self.name.split(' ', 1)[1]}"
        return self.name


def split_words(text: str) -> list[str]:
    """Upper-case words; "SR-1" / "I-95" split at the hyphen between letters and digits, but a
    hyphen between digits ("123-45") and a fraction ("1/2") stay."""
    text = re.sub(r"(?<=[A-Z])-(?=[0-9])|(?<=[0-9])-(?=[A-Z])", " ", text.upper())
    text = re.sub(r"(?<=[A-Z])-(?=[A-Z])", " ", text)
    return [w for w in re.split(r"[\s,]+", re.sub(r"[.']", "", text)) if w]


def _ordinals(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        tens, hyphen, unit = word.partition("-")
        parts = [tens, unit] if hyphen and tens in _TENS and unit in _ORDINAL_WORDS else [word]
        for part in parts:
            if part in _ORDINAL_WORDS and out and out[-1] in _TENS:
                # "TWENTY FIRST" -> "21ST"
                ordinal = _ORDINAL_WORDS[part]
                out.append(f"{_TENS[out.pop()] + int(ordinal[:-2])}{ordinal[-2:]}")
            else:
                out.append(_ORDINAL_WORDS.get(part, part))
    return out


def _people(words: list[str]) -> list[str]:
    for start in range(len(words)):
        for form, canonical in PEOPLE.items():
            if tuple(words[start : start + len(form)]) == form:
                before = words[:start]
                after = words[start + len(form) :]
                while before and before[-1] in _TITLES:  # "Rev Dr Martin Luther King Jr"
                    before = before[:-1]
                if after and after[0] in _SUFFIXES:
                    after = after[1:]
                return [*before, *canonical, *after]
    return words


def _route(words: list[str]) -> tuple[str, str] | None:
    """("STATE", "RTE", "1") -> ("SR", "SR 1"): a route class and number, else None."""
    for prefix, route_class in ROUTE_CLASSES:
        n = len(prefix)
        if tuple(words[:n]) == prefix and len(words) == n + 1 and _ROUTE_NUMBER.match(words[n]):
            return route_class, f"{route_class} {words[n]}"
    return None


def _state_route(words: list[str]) -> str | None:
    """ "TX-6", "CA 49", "NC Highway 54": a state's own route written with its code -> "TX"."""
    state_route = len(words) == 2 or (len(words) == 3 and words[1] in _ROUTE_WORDS)
    if state_route and words[0] in _STATE_CODES and re.match(r"^[0-9]{1,4}[A-Z]?$", words[-1]):
        return words[0]
    return None


def street(words: list[str]) -> Street:
    """Canonical parts of the street words that follow the house number (unit removed)."""
    words = [w for w in words if w not in ("#", "&")]
    predir = postdir = street_type = None
    # "N St" is a street named N; "S Dr Martin Luther King Jr Dr" has a directional; "West
    # Virginia Ave" has none.
    if (
        len(words) > 1
        and words[0] in DIRECTIONALS
        and (len(words) > 2 or words[1] not in STREET_TYPES)
        and tuple(words[:2]) not in _DIRECTIONAL_STATES
    ):
        predir, words = DIRECTIONALS[words[0]], words[1:]
    if len(words) > 1 and words[-1] in DIRECTIONALS:
        postdir, words = DIRECTIONALS[words[-1]], words[:-1]
    route, route_state = _route(words), _state_route(words)
    if route is None and route_state is None and len(words) > 1 and words[-1] in STREET_TYPES:
        street_type, words = STREET_TYPES[words[-1]], words[:-1]
        route, route_state = _route(words), _state_route(words)
    if route_state is not None:
        return Street(predir, f"SR {words[-1]}", None, postdir, "SR", route_state)
    if route is not None:
        # "State Hwy 1", "Highway 1 N": the type word belongs to the route's name.
        route_class, name = route
        return Street(predir, name, None, postdir, route_class)
    words = _ordinals(words)
    words = [_NAME_WORDS.get(w, w) for w in words]
    # "Avenue of the Americas" / "Ave of the Americas": a name that starts with "Avenue".
    if len(words) > 1 and words[0] in _AVENUE:
        words = ["AVE", *words[1:]]
    words = _people(words)
    return Street(predir, " ".join(words), street_type, postdir)


def parse_street(text: str) -> Street:
    """A street written alone ("S State St", "Ave of the Americas"), as aliases are."""
    return street(split_words(text))
