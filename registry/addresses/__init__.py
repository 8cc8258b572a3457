"""US street addresses, read the way 9-1-1 addressing reads them.

- `parse`: a dispatcher's free text -> number, street, unit, city, state, ZIP (parse.py);
- `streets`: canonical street names (types, directionals, ordinals, person names, route classes);
- `gazetteer`: states, ZIPs and their postal names, counties, city nicknames (offline data).
The raw text is always kept by the caller; this package only derives keys from it.
"""

import re

from .gazetteer import place_key
from .parse import MAX_LENGTH, MAX_UNIT_LENGTH, AddressError, ParsedAddress, parse, parse_parts

__all__ = [
    "MAX_LENGTH",
    "MAX_UNIT_LENGTH",
    "AddressError",
    "ParsedAddress",
    "city_key",
    "name_key",
    "parse",
    "parse_parts",
]


def city_key(city: str | None) -> str | None:
    """ "St. Louis" -> "ST LOUIS": how city names compare."""
    return place_key(city)


def name_key(name: str | None) -> str | None:
    """ "Mall of America" / "MALL-OF-AMERICA" -> "MALL OF AMERICA"."""
    if not name:
        return None
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", name.upper()).split()) or None
