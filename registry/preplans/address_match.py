"""The certainty rule for an address, as a 9-1-1 addressing coordinator would sign it.

A registered facility is a *certain* match for a typed address only when all of these hold:
- the house number is equal as a whole (suffix, hyphen, fraction, grid letters);
- the street is equal exactly, or through a registered alias (the facility's own address
  aliases, or a street alias of an agency for that state/county), or through ONE tolerated
  relaxation: the same directional written on the other side ("S State St" / "State St S"), a
  directional or a street type left out by the caller (never one that conflicts), a generic
  route word ("Highway 1" for "State Route 1"). A relaxed match also needs that no other
  registered facility in the same place shares the number and street root with another street;
- the state agrees (typed, implied by the ZIP, or the calling agency's own), and the ZIP is
  equal or the typed city is one of the facility's names (its city, every postal name of its
  ZIP, a nickname of those in its state);
- nothing typed contradicts it (another ZIP, a city that is none of its names, another
  directional, type, route class or unit);
and exactly one registered facility passes. Anything else is a candidate with its differences
spelled out, never a pre-plan.
"""

from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..addresses import ParsedAddress, gazetteer, streets

EXACT, ALIAS, RELAXED = "exact", "alias", "relaxed"
# Near candidates for a misspelt street or city (never a match): RapidFuzz's ratio, 0..100.
SIMILAR = 80


@dataclass
class Reading:
    """How the lookup read the typed address: shown to the dispatcher as `parsed`."""

    address: ParsedAddress
    city: str | None
    state: str | None
    zip5: str | None
    state_source: str | None  # "typed" | "zip" | "agency" | None
    # What the text leaves open (a separate field that disagrees with the text, a town that a
    # directional may begin): every candidate stays uncertain while one stands.
    doubts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        a = self.address
        return {
            "number": a.number,
            "street": a.street.full,
            "unit": a.unit,
            "city": self.city,
            "state": self.state,
            "postal_code": self.zip5,
            "state_source": self.state_source,
            "landmark": a.landmark,
        }


@dataclass
class Comparison:
    """One registered facility against the reading."""

    kind: str | None  # EXACT / ALIAS / RELAXED when the street fits, else None
    relaxations: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)  # what typed contradicts it
    missing: list[str] = field(default_factory=list)  # what would be needed to be sure
    near: bool = False  # only a misspelt city ties it to the typed address
    locality_agrees: bool = False
    street_fits: bool = True  # nothing typed contradicts the street (relaxations allowed)

    @property
    def certain(self) -> bool:
        return (
            self.kind is not None
            and self.locality_agrees
            and not self.differences
            and not self.missing
        )


def registered_street(address_key: str, number: str) -> streets.Street:
    """The canonical street of a stored key ("123 N MAIN ST" with number "123")."""
    return streets.street(address_key[len(number) + 1 :].split())


def compare_street(typed: streets.Street, registered: streets.Street) -> Comparison:
    """How two streets with the same root compare: the kind (None when they do not fit), the
    relaxations used, and what the typed street contradicts. `street_fits` says the text could
    mean this street (no contradiction), even when it takes more than one relaxation."""
    comparison = Comparison(EXACT)
    if typed.full == registered.full:
        return comparison
    relaxations, differences = comparison.relaxations, comparison.differences
    typed_dirs = (typed.predir, typed.postdir)
    reg_dirs = (registered.predir, registered.postdir)
    if typed_dirs != reg_dirs:
        if typed_dirs == (None, None):
            relaxations.append(f"directional {_dirs(registered)} not typed")
        elif None in reg_dirs and typed_dirs == reg_dirs[::-1]:
            # Exactly one directional on each side, the same letter, on the other side.
            relaxations.append(
                f"directional on the other side: typed {_dirs(typed)}, registered {_dirs(registered)}"
            )
        else:
            differences.append(
                f"directional: typed {_dirs(typed)}, registered {_dirs(registered) or 'none'}"
            )
    if typed.street_type != registered.street_type:
        if typed.street_type is None:
            relaxations.append(f"street type {registered.street_type} not typed")
        else:
            differences.append(
                f"street type: typed {typed.street_type}, "
                f"registered {registered.street_type or 'none'}"
            )
    if typed.name != registered.name:
        classes = {typed.route_class, registered.route_class}
        if streets.GENERIC_ROUTE in classes and classes <= _GENERIC_MEETS:
            # "Highway 1" may be a state or a US route; never an interstate or a county road.
            relaxations.append(f"route: typed {typed.name}, registered {registered.name}")
        else:
            differences.append(f"street: typed {typed.name}, registered {registered.name}")
    comparison.street_fits = not differences
    if differences:
        comparison.kind = None
    elif len(relaxations) > 1:
        comparison.kind = None
        comparison.missing.append("more than one part of the street left out or moved")
    else:
        comparison.kind = RELAXED
    return comparison


_GENERIC_MEETS = {streets.GENERIC_ROUTE, "SR", "US"}


def _dirs(street: streets.Street) -> str:
    before = f"{street.predir} (before)" if street.predir else None
    after = f"{street.postdir} (after)" if street.postdir else None
    return " ".join(p for p in (before, after) if p)


def compare_locality(reading: Reading, row, comparison: Comparison) -> bool:
    """Add locality evidence and differences; False when the facility is in another state
    that the caller typed (or that the ZIP implies): not even a candidate."""
    row_zip = (row.postal_code or "")[:5]
    comparison.missing += reading.doubts
    if reading.state and row.state != reading.state:
        if reading.state_source in ("typed", "zip"):
            return False
        comparison.differences.append(
            f"state: registered {row.state}; no state or ZIP was typed and yours is {reading.state}"
        )
    names = gazetteer.locality_names(row.city, row.state, row_zip)
    agrees = []
    if reading.zip5:
        if reading.zip5 == row_zip:
            agrees.append(f"ZIP {row_zip}")
        else:
            typed_zip = gazetteer.zip_info(reading.zip5)
            other_town = typed_zip is not None and not typed_zip.names & names
            if other_town and not (reading.city and reading.city in names):
                # A ZIP of another town, and no typed city for this one: a near miss.
                return False
            comparison.differences.append(f"ZIP {reading.zip5}, registered {row_zip}")
    if reading.city:
        nickname = gazetteer.nickname_of(reading.city, reading.state)
        if reading.city in names or (nickname and nickname in names):
            agrees.append(f"city {reading.city}")
        elif reading.city in gazetteer.unaccepted_names(row_zip):
            comparison.missing.append(
                f"{reading.city} is tied to ZIP {row_zip} but not accepted for it by USPS"
            )
        elif not agrees and not _county_or_similar(reading.city, names, row_zip):
            # The same street in another town: a near miss, not a candidate.
            return False
        else:
            # Only a misspelling ties it to the text: a near candidate (status no_match).
            comparison.near = not agrees and not _is_county(reading.city, row_zip)
            comparison.differences.append(
                f"city {reading.city}, registered {gazetteer.place_key(row.city)}"
            )
    if reading.state is None:
        comparison.missing.append("no state typed, and none implied by a ZIP or your agency")
    elif not agrees:
        comparison.missing.append("no city or ZIP to confirm the place")
    else:
        comparison.evidence.append(f"state {reading.state} ({reading.state_source})")
        comparison.evidence += agrees
    comparison.locality_agrees = bool(agrees) and reading.state == row.state
    return True


def _is_county(city: str, zip5: str) -> bool:
    info = gazetteer.zip_info(zip5)
    return info is not None and info.county == city


def _county_or_similar(city: str, names: frozenset[str], zip5: str) -> bool:
    """A misspelt name of the place, or its county's name ("St Louis" for Maryland Heights, in
    St. Louis County): worth showing as a candidate, never enough to be certain."""
    return _is_county(city, zip5) or any(similar(city, n) for n in names)


def similar(a: str | None, b: str | None) -> bool:
    return bool(a and b) and fuzz.ratio(a, b) >= SIMILAR
