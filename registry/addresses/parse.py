"""Free text as a dispatcher types it -> the parts of one US street address.

The tail is peeled before anything is tagged, because a tagger reading "1200 market street
philadelphia pennsylvania" folds the city into the street: first a ZIP (5 or 9 digits), then a
state (USPS code, full name or AP abbreviation; multi-word names first), then the city: the words
after the street's last comma, or else the longest run of words that is a known place name for
that state. What is left is the street: an optional landmark before it ("Eastgate Mall, 4601
Eastgate Blvd") and a cross-street note after it ("near 5th Ave") are set aside, the unit taken
out, and the house number kept whole as NENA's Address Number Complete ("W204N11509", "123-45",
"1212 1/2", "12B"). Nothing is guessed: text that is not one street address raises AddressError.
"""

import re
import unicodedata
from dataclasses import dataclass, field

import usaddress

from . import gazetteer
from .streets import DIRECTIONALS, STREET_TYPES, Street, split_words, street

MAX_LENGTH = 300
MAX_UNIT_LENGTH = 20  # facilities.unit_key
MAX_KEY_LENGTH = 200  # facilities.address_key

# NENA Address Number Complete: a Wisconsin grid number ("N6W23001"), a northern Illinois one
# ("39W040", "0S560"), digits with a hyphenated part
# ("123-45", "94-1040") and a letter suffix ("12B"); a fraction follows as its own word.
NUMBER = re.compile(
    r"^(?:[NSEW][0-9]{1,6}[NSEW][0-9]{1,6}|[0-9]{1,3}[NSEW][0-9]{1,4}|[0-9]{1,8}(?:-[0-9]{1,6})?[A-Z]?)$"
)
FRACTION = re.compile(r"^(?:1/2|1/4|3/4|1/3|2/3)$")
_UNIT_WORDS = {"APT", "APARTMENT", "STE", "SUITE", "UNIT", "RM", "ROOM", "FL", "FLOOR", "FLR",
               "BLDG", "BUILDING", "DEPT", "LOT", "SPC", "SPACE", "TRLR", "HNGR", "HANGAR"}  # fmt: skip
_COUNTRY = [("UNITED", "STATES", "OF", "AMERICA"), ("UNITED", "STATES"), ("USA",), ("US",),
            ("U", "S", "A"), ("U", "S")]  # fmt: skip
# Words that start a note about the surroundings, not part of the address: the first set
# anywhere after the street's first word, the second only after a whole street ("Old Corner Rd").
_CLEAR_NOTE_WORDS = {"NEAR", "NR", "XST", "CROSSST", "BTWN", "BETWEEN", "OPP", "OPPOSITE"}
_NOTE_WORDS = _CLEAR_NOTE_WORDS | {"CROSS", "X", "BEHIND", "ACROSS", "NEXT", "CORNER", "CNR",
                                   "INSIDE", "BY"}  # fmt: skip
_NOT_A_CITY = _UNIT_WORDS | _NOTE_WORDS | {"#"}
# Two-letter codes that are also street words ("100 Oak Ct", "100 Elm Ave NE"): read as a state
# only when a ZIP follows, a comma precedes, or a place of that state precedes.
_STREET_WORD_STATES = {"CT", "NE", "AL", "DE", "PA", "ME", "IN", "OR"}
_RURAL_ROUTE = re.compile(
    r"\b(?:RR|RURAL ROUTE|RURAL RTE|R R|HC|HCR|HIGHWAY CONTRACT) ?([0-9]{1,4}) (?:BOX|BX) ([A-Z0-9]{1,8})\b"
)


class AddressError(ValueError):
    """The text is not a street address this registry can match; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class ParsedAddress:
    number: str  # Address Number Complete: "1212 1/2", "W204N11509", "123-45"
    street: Street
    unit: str | None = None
    city: str | None = None  # a place key ("ST LOUIS"); a nickname is kept as typed
    state: str | None = None
    zip5: str | None = None
    state_source: str | None = None  # "typed" | "zip" | "agency"
    landmark: str | None = None  # words before the address ("EASTGATE MALL")
    notes: list[str] = field(default_factory=list)  # what was set aside, and why
    # Readings the text allows besides this one ("W Chicago": West Chicago, or W + Chicago):
    # while any stands, nothing read from this text is certain.
    doubts: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """ "123 N MAIN ST": the number and the full canonical street."""
        return f"{self.number} {self.street.full}"

    @property
    def root_key(self) -> str:
        """ "123 MAIN": what the indexed lookup searches on (see Street.root)."""
        return f"{self.number} {self.street.root}"

    @property
    def display(self) -> str:
        line = self.key + (f" #{self.unit}" if self.unit else "")
        locality = " ".join(p for p in (self.state, self.zip5) if p)
        return ", ".join(p for p in (line, self.city, locality) if p)


def _clean(text: str) -> str:
    # NFKC: fullwidth and mathematical letters and digits become plain ones (mathematical bold digits read as 0-9).
    text = text.replace("½", " 1/2").replace("¼", " 1/4").replace("¾", " 3/4")  # before NFKC
    text = unicodedata.normalize("NFKC", text).replace("\u2044", "/")
    text = re.sub(r"\s+", " ", text.replace("\x00", " ")).strip()
    if not text:
        raise AddressError("The address is empty.")
    if len(text) > MAX_LENGTH:
        raise AddressError(f"The address is longer than {MAX_LENGTH} characters.")
    text = text.upper().replace("½", " 1/2").replace("¼", " 1/4").replace("¾", " 3/4")
    text = re.sub(r"([0-9])-([0-9]/[0-9])\b", r"\1 \2", text)  # "1212-1/2" is "1212 1/2"
    text = re.sub(r"\b([NSEW][0-9]{1,6}) ([NSEW][0-9]{1,6})\b", r"\1\2", text)  # "W204 N11509"
    # Parenthesised remarks are notes ("(back entrance)"); "#4" is a unit; commas are kept as
    # words so that the tail can be peeled by them.
    text = re.sub(r"\([^)]*\)?", " ", text)
    text = text.replace("#", " # ").replace(",", " , ").replace(";", " , ")
    return text


def _tokens(text: str) -> list[str]:
    words: list[str] = []
    for chunk in text.split():
        words += [","] if chunk == "," else split_words(chunk)
    return words


def _strip_commas(words: list[str]) -> list[str]:
    while words and words[-1] == ",":
        words = words[:-1]
    while words and words[0] == ",":
        words = words[1:]
    return words


def _peel_country(words: list[str]) -> list[str]:
    words = _strip_commas(words)
    for form in _COUNTRY:
        n = len(form)
        # Only after a comma, a ZIP or a state: "100 US 1" is a route, not a country.
        if len(words) > n + 1 and tuple(words[-n:]) == form:
            before = words[-n - 1]
            after_state = before in gazetteer.state_forms()
            if before == "," or after_state or re.fullmatch(r"[0-9]{5}(-[0-9]{4})?", before):
                return _strip_commas(words[:-n])
    return words


def _peel_zip(words: list[str]) -> tuple[list[str], str | None]:
    if len(words) > 2:
        match = re.fullmatch(r"([0-9]{5})(?:-?[0-9]{4})?", words[-1])
        if match:
            return _strip_commas(words[:-1]), match.group(1)
    return words, None


def _peel_state(words: list[str], zip5: str | None) -> tuple[list[str], str | None, str | None]:
    """(rest, state code, the words read as the state)."""
    forms = gazetteer.state_forms()
    for n in (4, 3, 2, 1):
        if len(words) <= n + 1 or "," in words[-n:]:
            continue
        code = forms.get(" ".join(words[-n:]))
        if code is None:
            continue
        rest = words[:-n]
        info = gazetteer.zip_info(zip5)
        name = gazetteer.place_key(" ".join(words[-n:]))
        if info is not None and info.state != code and name in info.names:
            continue  # "..., Washington 20500": the ZIP's town, not Washington State
        if n == 1 and code in _STREET_WORD_STATES and words[-1] == code:
            place_before = any(
                gazetteer.is_place(" ".join(rest[-k:]), code) for k in (1, 2, 3) if len(rest) > k
            )
            if not (zip5 or rest[-1] == "," or place_before):
                continue
        return _strip_commas(rest), code, " ".join(words[-n:])
    return words, None, None


def _is_complete_street(words: list[str]) -> bool:
    """Does the street end the way streets end (a type, a directional or a route number)?"""
    last = words[-1]
    return last in STREET_TYPES or last in DIRECTIONALS or bool(re.fullmatch(r"[0-9]+[A-Z]?", last))


def _peel_city(
    words: list[str], state: str | None, agency_state: str | None, zip5: str | None = None
) -> tuple[list[str], str | None]:
    if "," in words:
        # "street, city": the words after the street's comma are the city, known or not (a
        # misspelt city must still reach the comparison, to become a candidate there).
        cut = len(words) - 1 - words[::-1].index(",")
        head, tail = words[:cut], words[cut + 1 :]
        is_city = tail and head and any(NUMBER.match(w) for w in head)
        if is_city and not (NUMBER.match(tail[0]) or tail[0] in _NOT_A_CITY):
            # The trailing comma tells parse() that the town was set apart by it.
            return [*_strip_commas(head), ","], " ".join(tail)
    plain = [w for w in words if w != ","]
    for n in (5, 4, 3, 2, 1):
        if len(plain) < n + 2:
            continue
        key = gazetteer.place_key(" ".join(plain[-n:]))
        rest = plain[:-n]
        in_agency_state = bool(agency_state) and gazetteer.is_place(key, agency_state)
        known = gazetteer.is_place(key, state) if state else gazetteer.is_place(key, None)
        # With no state typed, a place name of another state is only peeled when what is left
        # is a whole street: "100 Lake Park" is a street, not "100 Lake" in Park, Kansas.
        whole_street = len(rest) > 2 and _is_complete_street(rest)
        if (known and (state or whole_street)) or (not state and in_agency_state):
            if _directional_belongs_to_street(plain[-n:], state, zip5):
                continue  # "las vegas blvd n las vegas 89101": N ends the street
            return rest, key
    if state:
        # An unknown word after the street's type: a misspelt city ("main st springfeld il").
        types = [i for i, w in enumerate(plain) if w in STREET_TYPES and i > 1]
        if types:
            tail = [w for w in plain[types[-1] + 1 :] if w not in DIRECTIONALS]
            is_tail = tail and tail == plain[len(plain) - len(tail) :]
            if is_tail and not NUMBER.match(tail[0]) and not set(tail) & _NOT_A_CITY:
                return plain[: len(plain) - len(tail)], " ".join(tail)
    return plain, None


def _directional_belongs_to_street(city_words: list[str], state, zip5) -> bool:
    """A city run starting with a directional ("N LAS VEGAS") whose rest is the ZIP's own place
    ("LAS VEGAS" for 89101): the directional ends the street instead."""
    info = gazetteer.zip_info(zip5)
    if len(city_words) < 2 or city_words[0] not in DIRECTIONALS or info is None:
        return False
    whole, rest = (
        gazetteer.place_key(" ".join(city_words)),
        gazetteer.place_key(" ".join(city_words[1:])),
    )
    return rest in info.names and whole not in info.names


def _set_aside_notes(words: list[str], notes: list[str]) -> list[str]:
    for i, word in enumerate(words):
        # Only after a whole street: "100 Old Corner Rd" keeps its "Corner".
        clear = word in _CLEAR_NOTE_WORDS and i + 1 < len(words)
        if i > 0 and word in _NOTE_WORDS and (clear or _is_complete_street(words[:i])):
            notes.append("set aside: " + " ".join(words[i:]).lower())
            return words[:i]
    return words


def _take_unit(words: list[str]) -> tuple[list[str], str | None]:
    for i, word in enumerate(words):
        # A unit word counts only after a whole street: "100 Parking Lot Rd" has no unit.
        unit_word = word == "#" or (word in _UNIT_WORDS and _is_complete_street(words[:i]))
        if i > 1 and unit_word and i + 1 < len(words):
            rest = [w for w in words[i + 1 :] if w != "#" and w not in _UNIT_WORDS]
            if not rest:
                return words[:i], None
            unit = rest[0]
            if len(unit) > MAX_UNIT_LENGTH:
                raise AddressError(f"The unit is longer than {MAX_UNIT_LENGTH} characters.")
            return words[:i], unit
        if i > 1 and word == "#":
            return words[:i], None
    return words, None


def _second_address(words: list[str]) -> bool:
    forms = gazetteer.state_forms()
    seen_place = False
    for i, word in enumerate(words[1:], 1):
        if word in forms or re.fullmatch(r"[0-9]{5}(-[0-9]{4})?", word):
            seen_place = True
        elif seen_place and NUMBER.match(word) and i + 1 < len(words) and words[i + 1] != ",":
            return True
    return False


def _refuse_non_addresses(text: str, words: list[str]) -> None:
    """PO boxes, intersections and two addresses in one text name no single building. The
    tagger (usaddress) classifies the text; a few unmistakable signs are checked directly."""
    intersection = AddressError(
        "An intersection names no single building; send coordinates or a street address."
    )
    if "&" in words or "@" in words or any("/" in w and not FRACTION.match(w) for w in words):
        raise intersection
    joined = " ".join(w for w in words if w != ",")
    if _RURAL_ROUTE.search(joined):
        return  # "RR 2 Box 45" is a rural-route address, not a PO box
    if re.search(r"\bP ?O ?BOX\b|\bPOST OFFICE BOX\b|^(BOX|POB|CALLER BOX|DRAWER) ", joined):
        raise AddressError("A PO box is not a location; send a street address.")
    # The tagger costs as much as the rest of the lookup: asked only when the text could be an
    # intersection ("AND", "AT"), a box, or a second address (a house number after a ZIP, a
    # state or a comma that follows a street).
    if not ({"AND", "AT", "BOX", "BX"} & set(words) or _second_address(words)):
        return
    try:
        tags, kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError as exc:
        labels = [label for _token, label in exc.parsed_string]
        numbers = [i for i, label in enumerate(labels) if label == "AddressNumber"]
        # Two addresses only when a place (town, state, ZIP) stands between two house numbers;
        # "8000 FM 1960 W" has a route number, not a second address.
        between = labels[numbers[0] : numbers[-1]] if len(numbers) > 1 else []
        if {"PlaceName", "StateName", "ZipCode"} & set(between):
            raise AddressError("The text reads as more than one address.") from None
        tags, kind = {}, None
    if kind == "Intersection":
        raise intersection
    if kind == "PO Box" or "USPSBoxID" in tags:
        raise AddressError("A PO box is not a location; send a street address.")


def _address_start(words: list[str]) -> int | None:
    """Where the house number is, in words without their commas. A landmark before it is its
    own comma-separated part ("Terminal 2, 1 Airport Blvd") or words with no digit at all."""
    plain = [w for w in words if w != ","]
    if plain and NUMBER.match(plain[0]) and len(plain) > 1:
        return 0
    position = 0
    segments: list[list[str]] = [[]]
    for word in words:
        if word == ",":
            segments.append([])
        else:
            segments[-1].append(word)
    for segment in segments:
        if len(segment) > 1 and NUMBER.match(segment[0]):
            return position
        position += len(segment)
    return next((i for i, w in enumerate(plain) if NUMBER.match(w) and i + 1 < len(plain)), None)


def street_address(
    words: list[str], notes: list[str]
) -> tuple[str, Street, str | None, str | None]:
    """(number, street, unit, landmark) from the street words (no city, state or ZIP)."""
    start = _address_start(words)
    words = [w for w in words if w != ","]
    landmark = None
    rural = re.fullmatch(_RURAL_ROUTE.pattern, " ".join(_set_aside_notes(words, notes)))
    if rural:
        return rural.group(2), Street(None, f"RR {rural.group(1)}", None, None), None, None
    if start is None:
        raise AddressError("No house number and street name were found.")
    if start > 0:
        landmark = " ".join(words[:start])
        if not any(c.isalpha() for c in landmark):
            raise AddressError("No house number and street name were found.")
        notes.append(f"set aside: {landmark.lower()} (a place name before the address)")
        words = words[start:]
    number, words = words[0], words[1:]
    if words and FRACTION.match(words[0]):
        number, words = f"{number} {words[0]}", words[1:]
    words = _set_aside_notes(words, notes)
    words, unit = _take_unit([number, *words])
    words = words[1:]
    if not words or not any(c.isalpha() for c in " ".join(words)):
        raise AddressError("No house number and street name were found.")
    return number, street(words), unit, landmark


def parse(text: str, agency_state: str | None = None) -> ParsedAddress:
    """Read a dispatcher's free text. `agency_state` (the caller's jurisdiction) only helps find
    where the city starts; it becomes the address's state only in the matcher."""
    cleaned = _clean(text)
    words = _tokens(cleaned)
    _refuse_non_addresses(cleaned, words)
    notes: list[str] = []
    words = _peel_country(words)
    words, zip5 = _peel_zip(words)
    before_state = words
    words, state, state_words = _peel_state(words, zip5)
    source = "typed" if state else None
    info = gazetteer.zip_info(zip5)
    if state is None and info is not None:
        state, source = info.state, "zip"
    words, city = _peel_city(words, state, agency_state, zip5)
    by_comma = bool(words) and words[-1] == ","
    words = _strip_commas(words)
    # "123 Main St, Washington": a state's name with no city of that state before it is the
    # city ("Washington", "Nevada", "Wyoming" are towns too), and no state was typed.
    state_is_city = city is None and source == "typed" and zip5 is None and len(state_words) > 2
    if state_is_city and gazetteer.is_place(gazetteer.place_key(state_words), None):
        words, city, state, source = (
            _strip_commas(before_state[: -len(state_words.split())]),
            state_words,
            None,
            None,
        )
    city, doubts = gazetteer.place_key(city), []
    if not by_comma:  # a comma says where the street ends; without one, a directional may not
        doubts = _town_or_directional(city, state, zip5)
        words, city, more = _directional_town(words, city, state, zip5)
        doubts += more
    number, parsed_street, unit, landmark = street_address(words, notes)
    return ParsedAddress(
        number=number,
        street=parsed_street,
        unit=unit,
        city=city,
        state=state,
        zip5=zip5,
        state_source=source,
        landmark=landmark,
        notes=notes,
        doubts=doubts,
    )


_SPELLED = {"N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST"}


def _directional_town(words: list[str], city: str | None, state: str | None, zip5: str | None):
    """ "100 Washington St W Chicago IL": the W ends the street in Chicago, or begins West
    Chicago. The ZIP decides when it names one of them; otherwise the doubt is kept."""
    if not city or not state or len(words) < 3 or words[-1] not in DIRECTIONALS:
        return words, city, []
    direction = words[-1]
    towns = {
        gazetteer.place_key(f"{w} {city}") for w in (direction, _SPELLED.get(direction, direction))
    }
    town = next((t for t in sorted(towns) if gazetteer.is_place(t, state)), None)
    if town is None:
        return words, city, []
    info = gazetteer.zip_info(zip5)
    if info is not None and town in info.names and city not in info.names:
        return words[:-1], town, []
    if info is not None and city in info.names:
        return words, city, []
    return words, city, [f"{direction} {city} may be {town}"]


def _town_or_directional(city: str | None, state: str | None, zip5: str | None) -> list[str]:
    """ "1000 Main St N Las Vegas NV": North Las Vegas, or Main St N in Las Vegas."""
    first, _, rest = (city or "").partition(" ")
    if not state or first not in DIRECTIONALS or not rest or not gazetteer.is_place(rest, state):
        return []
    info = gazetteer.zip_info(zip5)
    if info is not None and (city in info.names) != (rest in info.names):
        return []  # the ZIP names one of them
    return [f"{city} may be {first} + {rest}"]


def parse_parts(
    line1: str, line2: str | None, city: str | None, state: str | None, postal_code: str | None
) -> ParsedAddress:
    """A facility's address as stored in separate fields (the write path): no peeling needed."""
    unit_words = _tokens(_clean(line2)) if line2 and line2.strip() else []
    if unit_words and unit_words[0] not in _UNIT_WORDS and unit_words[0] != "#":
        unit_words = ["#", *unit_words]  # "4" alone is a unit too
    words = _tokens(_clean(line1)) + unit_words
    _refuse_non_addresses(line1, words)
    notes: list[str] = []
    number, parsed_street, unit, _landmark = street_address(words, notes)
    if _landmark:
        raise AddressError("Address line 1 starts with words before the house number.")
    zip5 = (postal_code or "")[:5] or None
    if len(number) + 1 + len(parsed_street.full) > MAX_KEY_LENGTH:
        # "½" reads as " 1/2": a line within its 200 characters can outgrow the key column.
        raise AddressError(f"The address reads longer than {MAX_KEY_LENGTH} characters.")
    return ParsedAddress(
        number=number,
        street=parsed_street,
        unit=unit,
        city=gazetteer.place_key(city),
        state=(state or "").upper() or None,
        zip5=zip5,
        state_source="typed" if state else None,
    )
