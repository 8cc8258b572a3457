"""What the printed pre-plan says, decided once for both the HTML page and the PDF.

A `Sheet` is the pre-plan document (preplans.document, already serialized) arranged for a
responder's first five minutes: the essentials first (address and position, contacts in call
order, entrances, key box and fire alarm panel, staging, command post, casualty collection,
reunification and family assistance with their address, capacity, who opens them and whom to
call, hazards, the ground-level plan, who shared it under which MOU), every row with the date
it was last changed and last verified (confirmed), marked STALE past its kind's maximum age,
then the other points. The renderers (html.py, pdf.py) only lay it out.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime

from ...api.router import API_PREFIX
from ..lookup import haversine_m

# The first five minutes, in the order a responder needs them; every other kind follows on
# the sheet under "Other access points" / "Other tactical points".
FIRST_ACCESS_KINDS = ("entrance", "key_box", "fire_alarm_panel")
FIRST_TACTICAL_KINDS = (
    "staging_area",
    "command_post",
    "casualty_collection_point",
    "reunification_site",
    "family_assistance_center",
)
KIND_LABELS = {
    "entrance": "Entrance",
    "emergency_exit": "Emergency exit",
    "loading_dock": "Loading dock",
    "gate": "Gate",
    "roof_access": "Roof access",
    "stairwell": "Stairwell",
    "elevator_bank": "Elevator bank",
    "key_box": "Key box",
    "fire_alarm_panel": "Fire alarm panel",
    "security_office": "Security office / CCTV",
    "utility_shutoff": "Utility shut-off",
    "staging_area": "Staging",
    "rally_point": "Rally point",
    "casualty_collection_point": "Casualty collection",
    "triage_area": "Triage area",
    "landing_zone": "Landing zone",
    "command_post": "Command post",
    "reunification_site": "Reunification site",
    "family_assistance_center": "Family assistance center",
    "media_area": "Media area",
}
_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
CODES_NOTE = (
    "Door, gate and key box codes and key locations are never printed: reveal them in the "
    f"registry (POST {API_PREFIX}/access-points/{{id}}/reveal, audited)."
)


@dataclass
class Table:
    """One section of the sheet: rows of cells under headings, or `empty` when it has none."""

    title: str
    headings: tuple[str, ...]
    widths: tuple[int, ...]  # relative column widths (the PDF's; the page shares them)
    rows: list[tuple[str, ...]] = field(default_factory=list)
    marked: set[int] = field(default_factory=set)  # rows to stand out (24/7 contacts)
    empty: str = "None recorded."


@dataclass
class GroundPlan:
    """The current plan of the ground level: its preview image (PNG), or why it is not shown."""

    caption: str
    png: bytes | None
    note: str | None = None  # shown instead of (or beside) the image
    other_levels: str | None = None


@dataclass
class Sheet:
    facility_id: int
    name: str
    kind: str
    address: list[str]
    position: str
    facts: list[tuple[str, str]]
    first: list[Table]  # contacts, first access points, first tactical points
    hazards: list[tuple[str, str]]
    plan: GroundPlan
    sharing: list[str]
    more: list[Table]  # the other points: on the first page if there is room
    facility_freshness: str
    printed: str
    break_glass: str | None = None
    codes_note: str = CODES_NOTE

    def texts(self):
        """Every string the sheet prints (the PDF picks its fonts by them)."""
        yield from (self.name, self.kind, self.position, self.facility_freshness, self.printed)
        yield from self.address
        yield from self.sharing
        for pair in (*self.facts, *self.hazards):
            yield from pair
        for table in (*self.first, *self.more):
            yield table.title
            yield from table.headings
            for row in table.rows:
                yield from row
        yield from filter(None, (self.plan.caption, self.plan.note, self.plan.other_levels))
        if self.break_glass:
            yield self.break_glass


def day(value: str | None) -> str:
    """The date part of a serialized timestamp or date ("2026-11-30T…" -> "2026-11-30")."""
    return value[:10] if value else "—"


def freshness(record: dict) -> str:
    """When a part was last changed, and, for the parts that are confirmed, when and by whom
    (confirmation.py), and whether that is too long ago to trust without checking."""
    text = f"updated {day(record.get('updated_at') or record.get('created_at'))}"
    if "confirmed_at" in record:
        confirmed = record.get("confirmed_at")
        if confirmed:
            text += f"\nverified {day(confirmed)}"
            if record.get("confirmed_by"):
                text += f"\nby {record['confirmed_by']}"
        else:
            text += "\nnever verified"
        if record.get("stale"):
            age = record.get("age_days")
            text += f"\nSTALE ({age} days): check it" if age is not None else "\nSTALE: check it"
    reported = record.get("open_corrections")
    if reported:
        # Responders said it is wrong and nobody resolved it yet (corrections/).
        kinds = ", ".join(dict.fromkeys(c["discrepancy"] for c in reported))
        text += f"\nREPORTED {kinds.upper()} by responders: check it"
    return text


def _coordinates(lat, lon) -> str:
    return f"{lat:.5f}, {lon:.5f}"


def _from_facility(facility: dict, point: dict) -> str | None:
    """ "45 m NE" of the facility's own position, when both are known."""
    if None in (facility.get("lat"), point.get("lat")):
        return None
    metres = haversine_m(facility["lat"], facility["lon"], point["lat"], point["lon"])
    if metres < 5:
        return "at the facility's position"
    dy = point["lat"] - facility["lat"]
    dx = (point["lon"] - facility["lon"]) * math.cos(math.radians(facility["lat"]))
    bearing = (math.degrees(math.atan2(dx, dy)) + 360) % 360
    return f"{round(metres):,} m {_COMPASS[round(bearing / 45) % 8]} of the facility"


def address_lines(record: dict) -> list[str]:
    """A facility's or a point's postal address as printed (a point may have none)."""
    if not record.get("address_line1"):
        return []
    lines = [record["address_line1"]]
    if record.get("address_line2"):
        lines.append(record["address_line2"])
    lines.append(f"{record['city']}, {record['state']} {record['postal_code']}")
    return lines


def _where(facility: dict, point: dict) -> str:
    # A point's own address first: a reunification site is often a school down the road.
    parts = address_lines(point)
    if point.get("level"):
        parts.append(f"Level: {point['level']}")
    offset = _from_facility(facility, point)
    if offset:
        parts.append(f"{offset} ({_coordinates(point['lat'], point['lon'])})")
    if point.get("description"):
        parts.append(point["description"])
    return "\n".join(parts) or "—"


def _recovery(point: dict) -> list[str]:
    """What a recovery site needs on paper (any point may carry it): how many it holds, who
    opens it, and whom to call to have it opened, and how."""
    lines = []
    if point.get("capacity") is not None:
        lines.append(f"Capacity: {point['capacity']:,} people")
    if point.get("opened_by"):
        lines.append(f"Opened by: {point['opened_by']}")
    call = ", ".join(filter(None, (point.get("activation_contact"), point.get("activation_phone"))))
    if call:
        lines.append(f"To open it, call: {call}")
    if point.get("activation_notes"):
        lines.append(point["activation_notes"])
    return lines


def _point_notes(point: dict) -> str:
    parts = _recovery(point)
    if point.get("notes"):
        parts.append(point["notes"])
    held = [
        what
        for what, flag in (("code", "has_code"), ("key location", "has_key_location"))
        if point.get(flag)
    ]
    if held:
        parts.append(f"{' and '.join(held).capitalize()} on file: reveal in the registry.")
    return "\n".join(parts) or "—"


POINT_HEADINGS = ("What", "Name", "Where", "Notes", "Changed")
POINT_WIDTHS = (13, 19, 29, 23, 16)


def _points(title: str, facility: dict, points: list[dict], order: tuple[str, ...]) -> Table:
    rank = {kind: n for n, kind in enumerate(order)}
    ranked = sorted(points, key=lambda p: rank.get(p["kind"], len(rank)))  # stable: by id
    rows = [
        (
            KIND_LABELS.get(p["kind"], p["kind"].replace("_", " ")),
            p["name"],
            _where(facility, p),
            _point_notes(p),
            freshness(p),
        )
        for p in ranked
    ]
    return Table(title, POINT_HEADINGS, POINT_WIDTHS, rows)


def _phones(contact: dict) -> str:
    lines = []
    for phone in contact.get("phones") or []:
        number = phone["number"] + (f" ext. {phone['extension']}" if phone.get("extension") else "")
        lines.append(f"{number} ({phone['kind']})")
    if contact.get("email"):
        lines.append(contact["email"])
    return "\n".join(lines) or "—"


def _contacts(contacts: list[dict]) -> Table:
    table = Table(
        "Contacts, in call order",
        ("Order", "Name", "Phones", "24/7", "Changed"),
        (6, 32, 34, 8, 20),
        empty="No contacts recorded: call the facility's main number.",
    )
    for n, contact in enumerate(contacts):  # the document's order is the call order
        name = contact["name"] + (f"\n{contact['role']}" if contact.get("role") else "")
        if contact.get("notes"):
            name += f"\n{contact['notes']}"
        around_the_clock = bool(contact.get("available_24_7"))
        table.rows.append(
            (
                str(contact.get("call_order", n + 1)),
                name,
                _phones(contact),
                "24/7" if around_the_clock else "—",
                freshness(contact),
            )
        )
        if around_the_clock:
            table.marked.add(n)
    return table


def _yes_no(value) -> str | None:
    return None if value is None else ("yes" if value else "no")


def _facts(facility: dict) -> list[tuple[str, str]]:
    stories = None
    if facility.get("stories_above_grade") is not None:
        stories = f"{facility['stories_above_grade']} above grade"
        if facility.get("stories_below_grade"):
            stories += f", {facility['stories_below_grade']} below"
    candidates = [
        ("Main phone", facility.get("main_phone")),
        ("Opening hours", facility.get("opening_hours")),
        ("Occupancy", _number(facility.get("occupancy"))),
        ("Stories", stories),
        ("Floor area", _number(facility.get("floor_area_sq_ft"), " sq ft")),
        ("Construction", facility.get("construction_type")),
        ("Also called", ", ".join(facility.get("aliases") or []) or None),
    ]
    return [(label, value) for label, value in candidates if value]


def _number(value, unit: str = "") -> str | None:
    return None if value is None else f"{value:,}{unit}"


def _hazards(facility: dict) -> list[tuple[str, str]]:
    candidates = [
        ("Hazards", facility.get("hazards") or "None recorded."),
        ("Sprinklers", _yes_no(facility.get("has_sprinklers"))),
        ("Fire alarm", _yes_no(facility.get("has_fire_alarm"))),
        ("Bleeding control kits", facility.get("bleeding_control_kit_locations")),
        ("AEDs", facility.get("aed_locations")),
        ("Security office", facility.get("security_office_notes")),
        ("CCTV", facility.get("cctv_notes")),
        ("Notes", facility.get("notes")),
    ]
    return [(label, value) for label, value in candidates if value]


def ground_level(plans: list[dict]) -> tuple[dict | None, list[dict]]:
    """The plan to print (level 0, else the lowest level above grade, else the lowest) and
    the others. Several buildings: the first one's, as the pre-plan orders them."""
    if not plans:
        return None, []

    def rank(plan):
        number = plan.get("level_number", 0)
        return (number != 0, number < 0, abs(number))

    chosen = min(plans, key=rank)  # min keeps the first of equals: the document's order
    return chosen, [p for p in plans if p is not chosen]


def plan_caption(plan: dict) -> str:
    building = f"{plan['building']}, " if plan.get("building") else ""
    return (
        f"Floor plan: {building}{plan.get('level') or 'level ' + str(plan.get('level_number'))}"
        f" — {plan.get('title', '')} (revision {plan.get('revision')}, "
        f"uploaded {day(plan.get('uploaded_at'))})"
    )


def _plan(plans: list[dict], read_preview) -> GroundPlan:
    chosen, others = ground_level(plans)
    if chosen is None:
        return GroundPlan("Floor plan: none uploaded.", None)
    png = read_preview(chosen)
    note = None if png else f"Not shown here: see the registry ({chosen['url']})."
    other_levels = None
    if others:
        names = ", ".join(
            f"{p['building']} {p.get('level') or p.get('level_number')}".strip() for p in others
        )
        other_levels = f"Other levels in the registry: {names}."
    return GroundPlan(plan_caption(chosen), png, note, other_levels)


def _sharing(mous: list[dict], names: dict, incident: dict | None) -> list[str]:
    lines = []
    for mou in mous:
        organization = names.get(("organization", mou["organization_id"]), "The organization")
        agency = names.get(("agency", mou["agency_id"]), f"agency #{mou['agency_id']}")
        until = f"until {mou['expiry_date']}" if mou.get("expiry_date") else "open-ended"
        scopes = ", ".join(s.replace("_", " ") for s in mou.get("scopes") or []) or "none"
        lines.append(
            f"{organization} shares with {agency} under MOU #{mou['id']} “{mou['title']}” "
            f"({mou['status']}{', in force' if mou.get('in_force') else ', not in force'}; "
            f"from {mou['effective_date']} {until}; scopes: {scopes}; {freshness(mou)})."
        )
    if incident is not None:
        lines.insert(0, "Not shared with your agency: read through break-glass (see the banner).")
    elif not lines:
        lines.append("No MOU covers this facility.")
    return lines


def _banner(incident: dict) -> str:
    expires = datetime.fromisoformat(incident["expires_at"]).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"BREAK-GLASS ACCESS — incident #{incident['incident_id']}. This facility does not "
        "share its pre-plan with your agency: this copy was read through your agency's open "
        f"incident there, valid until {expires} or until the incident closes. Read-only; "
        "every read is audited and the facility's organization has been told."
    )


def _split(points: list[dict], first: tuple[str, ...]) -> tuple[list[dict], list[dict]]:
    return [p for p in points if p["kind"] in first], [p for p in points if p["kind"] not in first]


def build(
    document: dict, names: dict, read_preview, printed_at: datetime, printed_by: str
) -> Sheet:
    """The sheet of a pre-plan document (with `break_glass` when read that way). `names`:
    ("organization" | "agency", id) -> name of the MOUs' parties the caller may see;
    `read_preview(plan)`: the PNG preview of a floor plan, or None when it cannot be had."""
    facility = document["facility"]
    first_access, other_access = _split(document["access_points"], FIRST_ACCESS_KINDS)
    first_tactical, other_tactical = _split(document["tactical_points"], FIRST_TACTICAL_KINDS)
    position = (
        f"{_coordinates(facility['lat'], facility['lon'])} (WGS 84 lat, lon)"
        if facility.get("lat") is not None
        else "No position recorded."
    )
    first_tables = [
        _contacts(document["contacts"]),
        _points("Entrances, key box, fire alarm panel", facility, first_access, FIRST_ACCESS_KINDS),
        _points(
            "Staging, command post, casualty collection, reunification, family assistance",
            facility,
            first_tactical,
            FIRST_TACTICAL_KINDS,
        ),
    ]
    more = [
        _points("Other access points", facility, other_access, tuple(KIND_LABELS)),
        _points("Other tactical points", facility, other_tactical, tuple(KIND_LABELS)),
    ]
    incident = document.get("break_glass")
    return Sheet(
        facility_id=facility["id"],
        name=facility["name"],
        kind=facility["facility_type"].replace("_", " "),
        address=address_lines(facility),
        position=position,
        facts=_facts(facility),
        first=first_tables,
        hazards=_hazards(facility),
        plan=_plan(document["floor_plans"], read_preview),
        sharing=_sharing(document["mous"], names, incident),
        more=[table for table in more if table.rows],
        facility_freshness=f"Facility record {freshness(facility).replace(chr(10), ', ')}",
        printed=f"Printed {printed_at.strftime('%Y-%m-%d %H:%M UTC')} by {printed_by}",
        break_glass=_banner(incident) if incident else None,
    )
