"""US street addresses reduced to a match key.

usaddress (a CRF tagger) classifies the text first; only street addresses are normalised, with
usaddress-scourgify, to USPS Publication 28 form ("123 n. main street" -> "123 N MAIN ST").
scourgify raises on PO boxes and mangles intersections, so those are recognised and refused here
before it runs. Word ordinals become numbers ("Fifth" -> "5TH") because call-takers type both.
The raw text is always kept by the caller; this module only derives keys from it.
"""

import re
from dataclasses import dataclass

import usaddress
from scourgify import normalize_address_record
from scourgify.address_constants import STREET_TYPE_ABBREVIATIONS
from scourgify.exceptions import AddressNormalizationError

MAX_LENGTH = 300
MAX_UNIT_LENGTH = 20  # facilities.unit_key

_ORDINAL_WORDS = {
    "FIRST": "1ST", "SECOND": "2ND", "THIRD": "3RD", "FOURTH": "4TH", "FIFTH": "5TH",
    "SIXTH": "6TH", "SEVENTH": "7TH", "EIGHTH": "8TH", "NINTH": "9TH", "TENTH": "10TH",
    "ELEVENTH": "11TH", "TWELFTH": "12TH", "THIRTEENTH": "13TH", "FOURTEENTH": "14TH",
    "FIFTEENTH": "15TH", "SIXTEENTH": "16TH", "SEVENTEENTH": "17TH", "EIGHTEENTH": "18TH",
    "NINETEENTH": "19TH", "TWENTIETH": "20TH",
}  # fmt: skip
_TENS = {"TWENTY": 20, "THIRTY": 30, "FORTY": 40, "FIFTY": 50, "SIXTY": 60, "SEVENTY": 70,
         "EIGHTY": 80, "NINETY": 90}  # fmt: skip
_CITY_WORDS = {"SAINT": "ST", "FORT": "FT", "MOUNT": "MT"}
_STREET_TYPE_ABBREVIATIONS = frozenset(STREET_TYPE_ABBREVIATIONS.values())
_DIRECTIONALS = frozenset({"N", "S", "E", "W", "NE", "NW", "SE", "SW"})


class AddressError(ValueError):
    """The text is not a street address this registry can match; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class NormalizedAddress:
    street: str  # "123 N MAIN ST": house number and street, the exact match key
    # "123 MAIN": number and street name without directionals or street type. Call-takers drop
    # both ("123 Main"); matches on this key alone are candidates, never certain.
    street_core: str
    unit: str | None  # "4": the identifier only, so "Suite 4" and "Unit 4" agree
    city: str | None
    state: str | None
    zip5: str | None

    @property
    def display(self) -> str:
        line = self.street + (f" #{self.unit}" if self.unit else "")
        locality = " ".join(p for p in (self.state, self.zip5) if p)
        return ", ".join(p for p in (line, self.city, locality) if p)


def _ordinals(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in _split_compound_ordinals(words):
        if word in _ORDINAL_WORDS and out and out[-1] in _TENS:
            # "TWENTY FIRST" -> "21ST"
            tens = _TENS[out.pop()]
            unit = _ORDINAL_WORDS[word]
            out.append(f"{tens + int(unit[:-2])}{unit[-2:]}")
        else:
            out.append(_ORDINAL_WORDS.get(word, word))
    return out


def _split_compound_ordinals(words: list[str]) -> list[str]:
    """ "TWENTY-FIRST" -> "TWENTY", "FIRST": the hyphenated spelling of "Twenty First"."""
    out: list[str] = []
    for word in words:
        tens, hyphen, unit = word.partition("-")
        out += [tens, unit] if hyphen and tens in _TENS and unit in _ORDINAL_WORDS else [word]
    return out


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("\x00", " ")).strip()
    if not text:
        raise AddressError("The address is empty.")
    if len(text) > MAX_LENGTH:
        raise AddressError(f"The address is longer than {MAX_LENGTH} characters.")
    return text


def _core(words: list[str]) -> str:
    """ "123 N MAIN ST" / "123 MAIN ST N" / "123 MAIN" -> "123 MAIN". Always keeps one word after
    the number, so "100 N ST" (a street named N) becomes "100 ST", never just "100"."""
    number, rest = words[0], words[1:]
    if len(rest) > 1 and rest[0] in _DIRECTIONALS:
        rest = rest[1:]
    if len(rest) > 1 and rest[-1] in _DIRECTIONALS:
        rest = rest[:-1]
    if len(rest) > 1 and rest[-1] in _STREET_TYPE_ABBREVIATIONS:
        rest = rest[:-1]
    return " ".join([number, *rest])


def city_key(city: str | None) -> str | None:
    if not city:
        return None
    words = re.sub(r"[^A-Z0-9 ]", " ", city.upper()).split()
    return " ".join(_CITY_WORDS.get(w, w) for w in words) or None


def name_key(name: str | None) -> str | None:
    """ "Mall of America" / "MALL-OF-AMERICA" -> "MALL OF AMERICA"."""
    if not name:
        return None
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", name.upper()).split()) or None


def normalize(text: str) -> NormalizedAddress:
    """Parse free text such as "123 n. main street suite 4, springfield il" or raise AddressError."""
    text = _clean(text)
    try:
        tags, kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        raise AddressError("The text reads as more than one address.") from None
    if kind == "Intersection" or "IntersectionSeparator" in tags:
        raise AddressError(
            "An intersection names no single building; send coordinates or a street address."
        )
    if kind == "PO Box" or "USPSBoxID" in tags:
        raise AddressError("A PO box is not a location; send a street address.")
    if "AddressNumber" not in tags or "StreetName" not in tags:
        raise AddressError("No house number and street name were found.")
    if not re.fullmatch(r"\d+[A-Z]?(-\d+)?", tags["AddressNumber"].upper()):
        raise AddressError("The house number is not a number.")
    try:
        record = normalize_address_record(text)
    except AddressNormalizationError as exc:
        raise AddressError(
            f"The street address could not be read ({type(exc).__name__})."
        ) from None

    words = _ordinals(record["address_line_1"].replace("#", " ").split())
    street = " ".join(words)
    # "STE 4" / "APT # 4B" -> "4" / "4B"; a bare "#" names no unit.
    unit_words = (record.get("address_line_2") or "").replace("#", " ").split()
    unit = unit_words[-1] if unit_words else None
    if unit and len(unit) > MAX_UNIT_LENGTH:
        raise AddressError(f"The unit is longer than {MAX_UNIT_LENGTH} characters.")
    zip5 = (record.get("postal_code") or "")[:5] or None
    return NormalizedAddress(
        street=street,
        street_core=_core(words),
        unit=unit,
        city=city_key(record.get("city")),
        state=record.get("state"),
        zip5=zip5,
    )


def normalize_parts(line1: str, line2: str | None, city: str, state: str, postal_code: str):
    """Normalise a facility's stored address fields (the write path)."""
    text = ", ".join(p for p in (line1, line2, city, f"{state} {postal_code}") if p)
    return normalize(text)
