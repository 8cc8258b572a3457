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


def compare_street(
    typed: streets.Street, registered: streets.Street
) -> tuple[str | None, list, list]:
    """(kind, relaxations, differences) for two streets with the same root."""
    if typed.full == registered.full:
        return EXACT, [], []
    relaxations, differences = [], []
    typed_dirs, reg_dirs = (typed.predir, typed.postdir), (registered.predir, registered.postdir)
    if typed_dirs != reg_dirs:
        typed_one = {d for d in typed_dirs if d}
        reg_one = {d for d in reg_dirs if d}
        if typed_one == reg_one and len(typed_one) == 1:
            relaxations.append(
                f"directional on the other side: typed {_dirs(typed)}, registered {_dirs(registered)}"
            )
        elif not typed_one:
            relaxations.append(f"directional {'/'.join(sorted(reg_one))} not typed")
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
        generic = streets.GENERIC_ROUTE
        if (
            typed.route_class
            and registered.route_class
            and generic
            in (
                typed.route_class,
                registered.route_class,
            )
        ):
            relaxations.append(f"route: typed {typed.name}, registered {registered.name}")
        else:
            differences.append(f"street: typed {typed.name}, registered {registered.name}")
    if len(relaxations) > 1:
        differences.append("more than one part of the street differs: " + "; ".join(relaxations))
    return (RELAXED if not differences else None), relaxations, differences


def _dirs(street: streets.Street) -> str:
    return " ".join(
        f"{d} ({'before' if d == street.predir else 'after'})"
        for d in (street.predir, street.postdir)
        if d
    )


def compare_locality(reading: Reading, row, comparison: Comparison) -> bool:
    """Add locality evidence and differences; False when the facility is in another state
    that the caller typed (or that the ZIP implies): not even a candidate."""
    row_zip = (row.postal_code or "")[:5]
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
