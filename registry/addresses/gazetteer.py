"""Place names, offline: states, ZIP codes and their postal cities, counties, city nicknames.

- States: the `us` package's exact maps (USPS code, full name, AP abbreviation). Never its
  `lookup()`, which falls back to a sound-alike match: "Iowa" must never be read from "Ohio".
- ZIP codes: the `zipcodes` package (MIT) ships every ZIP with its preferred postal city, the
  acceptable and the unacceptable names, its state and county inside the wheel; nothing is
  downloaded at run time. A facility's municipality ("Maryland Heights") and its ZIP's postal city
  ("St Louis") are both its names.
- Counties: the US Census Bureau's 2020 county list (public domain, `counties.csv`), to turn a
  ZIP's county name into the FIPS code agencies state their jurisdiction in.
- Nicknames: a small reviewed table of our own, each tied to one state (`NICKNAMES`).

Everything is loaded once per process on first use (about 0.4 s), then read from dictionaries.
"""

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import us
import zipcodes

_PLACE_WORDS = {"SAINT": "ST", "FORT": "FT", "MOUNT": "MT", "MOUNTAIN": "MTN"}

# City nicknames and short forms call-takers type, each applied only when its state is known
# (typed, implied by the ZIP, or the calling agency's own): "LA" is Louisiana unless the state
# is California. Keys and values are place keys (see `place_key`).
NICKNAMES: dict[str, dict[str, str]] = {
    "AZ": {"PHX": "PHOENIX"},
    "CA": {"LA": "LOS ANGELES", "SF": "SAN FRANCISCO", "SD": "SAN DIEGO", "SJ": "SAN JOSE",
           "SAC": "SACRAMENTO", "SAC TOWN": "SACRAMENTO", "FRISCO": "SAN FRANCISCO"},
    "CO": {"DENVER CITY": "DENVER"},
    "DC": {"DC": "WASHINGTON", "WASH DC": "WASHINGTON", "WASHINGTON DC": "WASHINGTON"},
    "FL": {"ST PETE": "ST PETERSBURG", "JAX": "JACKSONVILLE", "FT LAUDY": "FT LAUDERDALE"},
    "GA": {"ATL": "ATLANTA", "HOTLANTA": "ATLANTA"},
    "IL": {"CHI": "CHICAGO", "CHI TOWN": "CHICAGO", "CHITOWN": "CHICAGO"},
    "IN": {"INDY": "INDIANAPOLIS"},
    "KS": {"KC": "KANSAS CITY", "KCK": "KANSAS CITY"},
    "LA": {"NOLA": "NEW ORLEANS", "BR": "BATON ROUGE"},
    "MA": {"BEANTOWN": "BOSTON"},
    "MN": {"MPLS": "MINNEAPOLIS"},
    "MO": {"KC": "KANSAS CITY", "KCMO": "KANSAS CITY", "STL": "ST LOUIS"},
    "NM": {"ABQ": "ALBUQUERQUE"},
    "NV": {"VEGAS": "LAS VEGAS", "LV": "LAS VEGAS"},
    "NY": {"NYC": "NEW YORK", "NY CITY": "NEW YORK", "NEW YORK CITY": "NEW YORK"},
    "OH": {"CINCY": "CINCINNATI", "CLE": "CLEVELAND", "CBUS": "COLUMBUS"},
    "OK": {"OKC": "OKLAHOMA CITY"},
    "PA": {"PHILLY": "PHILADELPHIA", "PHILA": "PHILADELPHIA", "PGH": "PITTSBURGH"},
    "TX": {"SA": "SAN ANTONIO", "SATX": "SAN ANTONIO", "DFW": "DALLAS", "HTOWN": "HOUSTON"},
    "UT": {"SLC": "SALT LAKE CITY"},
    "WA": {"SEA": "SEATTLE"},
}  # fmt: skip


def place_key(name: str | None) -> str | None:
    """ "St. Louis" / "SAINT LOUIS" / "Saint-Louis" -> "ST LOUIS": how place names compare."""
    if not name:
        return None
    words = re.sub(r"[^A-Z0-9 ]", " ", name.upper().replace("'", "")).split()
    return " ".join(_PLACE_WORDS.get(w, w) for w in words) or None


@dataclass(frozen=True)
class Zip:
    state: str
    names: frozenset[str]  # every place key the ZIP answers to (preferred, acceptable, not)
    # The names USPS accepts for it (preferred and acceptable): only these confirm a place.
    # "Not acceptable" names are often whole neighbouring towns (a Boston ZIP lists a dozen).
    mail_names: frozenset[str]
    county_fips: str | None
    county: str | None  # "ST LOUIS" for St. Louis County: a name people use, never certain


_ALL_STATES = [*us.states.STATES_AND_TERRITORIES, us.states.DC]


@cache
def _states() -> dict[str, str]:
    """Every written form of a state that is safe to read exactly -> its USPS code."""
    forms: dict[str, str] = {}
    for state in _ALL_STATES:
        code = state.abbr
        forms[code] = code
        forms[place_key(state.name)] = code
        if state.ap_abbr:
            # "W.Va." reads as "W VA" or, with its dots dropped as the parser drops them, "WVA".
            forms[place_key(state.ap_abbr)] = code
            forms[state.ap_abbr.replace(".", "").upper()] = code
    return forms


def state_code(text: str | None) -> str | None:
    """ "pa" / "Pennsylvania" / "Pa." -> "PA"; None when the text is no state's exact form."""
    key = place_key(text)
    return _states().get(key) if key else None


def state_forms() -> dict[str, str]:
    return _states()


@cache
def _counties() -> dict[tuple[str, str], str]:
    """(state code, county place key) -> 5-digit FIPS code."""
    state_fips = {s.fips: s.abbr for s in _ALL_STATES}
    table: dict[tuple[str, str], str] = {}
    with open(Path(__file__).with_name("counties.csv"), newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            state = state_fips.get(row["statefp"])
            if state:
                table[(state, place_key(row["name"]))] = row["statefp"] + row["countyfp"]
    return table


def county_fips(state: str, county: str | None) -> str | None:
    """The FIPS code of a county named as the ZIP data names it ("St Louis County")."""
    if not county:
        return None
    table, key = _counties(), place_key(county)
    return table.get((state, key)) or table.get((state, f"{key} COUNTY"))


@cache
def _county_states() -> dict[str, str]:
    return {fips: state for (state, _name), fips in _counties().items()}


def county_state(fips: str) -> str | None:
    """The state a county FIPS code belongs to, or None when it names no county."""
    return _county_states().get(fips)


@cache
def _zips() -> dict[str, Zip]:
    # The same few thousand names recur across 42,000 ZIPs: key each once (a cache local to
    # this build, so that no caller's text ever fills it).
    key = cache(place_key)
    counties = cache(lambda state, county: (county_fips(state, county), _county_place(county)))
    table: dict[str, Zip] = {}
    for row in zipcodes.list_all():
        accepted = [row["city"], *row.get("acceptable_cities", ())]
        names = [*accepted, *row.get("unacceptable_cities", ())]
        fips, county = counties(row["state"], row.get("county"))
        table[row["zip_code"]] = Zip(
            state=row["state"],
            names=frozenset(k for k in map(key, names) if k),
            mail_names=frozenset(k for k in map(key, accepted) if k),
            county_fips=fips,
            county=county,
        )
    return table


def _county_place(county: str | None) -> str | None:
    key = place_key(county)
    if not key:
        return None
    for suffix in (" COUNTY", " PARISH", " BOROUGH", " CITY AND BOROUGH", " CENSUS AREA"):
        key = key.removesuffix(suffix)
    return key


def zip_info(zip5: str | None) -> Zip | None:
    return _zips().get(zip5) if zip5 else None


@cache
def _places() -> dict[str, frozenset[str]]:
    """State code -> every place key the ZIP data knows there, nicknames included."""
    places: dict[str, set[str]] = {}
    for info in _zips().values():
        places.setdefault(info.state, set()).update(info.names)
    for state, nicknames in NICKNAMES.items():
        places.setdefault(state, set()).update(nicknames)
    return {state: frozenset(keys) for state, keys in places.items()}


@cache
def _all_places() -> frozenset[str]:
    return frozenset().union(*_places().values())


def is_place(key: str, state: str | None) -> bool:
    """Is `key` a place name in `state` (any state when None; nicknames need their state)?"""
    if state:
        return key in _places().get(state, ())
    return key in _all_places() and not any(key in n for n in NICKNAMES.values())


def nickname_of(key: str | None, state: str | None) -> str | None:
    """The place a nickname stands for in `state`: ("PHILLY", "PA") -> "PHILADELPHIA"."""
    if not key or not state:
        return None
    return NICKNAMES.get(state, {}).get(key)


def locality_names(city: str | None, state: str, zip5: str | None) -> frozenset[str]:
    """The names that confirm a facility's place: its registered city, the postal names USPS
    accepts for its ZIP (when the ZIP is in its state), and the nicknames of those in its
    state."""
    names = {k for k in (place_key(city),) if k}
    info = zip_info(zip5)
    if info is not None and info.state == state:
        names |= info.mail_names
    names |= {nick for nick, place in NICKNAMES.get(state, {}).items() if place in names}
    return frozenset(names)


def unaccepted_names(zip5: str | None) -> frozenset[str]:
    """Names tied to a ZIP that USPS does not accept for it: a hint, never a confirmation."""
    info = zip_info(zip5)
    return info.names - info.mail_names if info is not None else frozenset()


def warm() -> None:
    """Load the tables now (at app start) rather than in the first dispatcher's lookup."""
    _states(), _places(), _all_places()
