"""The access tables of `registry.access` as the tests hold them (READS, WRITES), a parser for
the tables in its docstring and a comparison of the two, and what each condition means in a
test world (which records a caller reads or writes, and the status a request then gets).
Shared by tests/access/test_access.py (which checks every cell against the API) and
tests/security/test_owasp.py (whose function-level matrix must agree with them)."""

import re
from dataclasses import dataclass, field

COLUMNS = ("admin", "facility_manager", "agency_user", "cad", "auditor")
# Conditions a role may have on a record type; each is defined in the docstring's legend.
CONDITIONS = {
    "all",
    "own org",
    "own agency",
    "shared",
    "with facility",
    "with MOU",
    "sharing partner",
    "MOU partner",
    "at own facilities",
    "shared or break-glass",
    "key holder or break-glass",
    "—",
    "refused",
}


# The tables as the tests hold them, a copy of those in registry/access/__init__.py (kept equal
# by tests/access/test_access.py).
# Record type: (admin, facility_manager, agency_user, cad, auditor).
READS = {
    "facility": ("all", "own org", "shared", "shared", "—"),
    "access point": ("with facility", "with facility", "with facility", "with facility", "—"),
    "tactical point": ("with facility", "with facility", "with facility", "with facility", "—"),
    "address alias": ("with facility", "with facility", "with facility", "with facility", "—"),
    "floor plan": ("with facility", "with facility", "with facility", "with facility", "—"),
    "facility contact": ("all", "with facility", "with facility", "with facility", "—"),
    "organization contact": ("all", "own org", "sharing partner", "sharing partner", "—"),
    "agency contact": ("all", "MOU partner", "own agency", "own agency", "—"),
    "MOU": ("all", "own org", "own agency", "own agency", "—"),
    "MOU document": ("with MOU", "with MOU", "with MOU", "with MOU", "—"),
    "organization": ("all", "own org", "MOU partner", "MOU partner", "—"),
    "agency": ("all", "all", "all", "all", "all"),
    "street alias": ("all", "all", "all", "all", "all"),
    "incident": ("all", "at own facilities", "own agency", "own agency", "—"),
    "notification": ("all", "own org", "own agency", "own agency", "refused"),
    "correction report": ("all", "at own facilities", "own agency", "own agency", "—"),
    "exercise": ("all", "own org", "own agency", "own agency", "—"),
    "after-action finding": ("all", "at own facilities", "own agency", "own agency", "—"),
    "subscription": ("all", "own org", "own agency", "own agency", "refused"),
    "delivery": ("all", "own org", "own agency", "own agency", "refused"),
    "user": ("all", "refused", "refused", "refused", "refused"),
    "CAD client": ("all", "refused", "refused", "refused", "refused"),
    "audit event": ("all", "at own facilities", "refused", "refused", "all"),
    "pre-plan": ("all", "own org", "shared or break-glass", "shared or break-glass", "—"),
    "door code": (
        "with facility",
        "own org",
        "key holder or break-glass",
        "key holder or break-glass",
        "—",
    ),
}
WRITES = {
    "facility": ("all", "own org", "—", "—", "—"),
    "access point": ("all", "own org", "—", "—", "—"),
    "tactical point": ("all", "own org", "—", "—", "—"),
    "address alias": ("all", "own org", "—", "—", "—"),
    "floor plan": ("all", "own org", "—", "—", "—"),
    "facility contact": ("all", "own org", "—", "—", "—"),
    "organization contact": ("all", "own org", "—", "—", "—"),
    "agency contact": ("all", "—", "own agency", "—", "—"),
    "MOU": ("all", "own org", "own agency", "—", "—"),
    "MOU document": ("all", "own org", "—", "—", "—"),
    "organization": ("all", "—", "—", "—", "—"),
    "agency": ("all", "—", "—", "—", "—"),
    "street alias": ("all", "—", "own agency", "—", "—"),
    "incident": ("all", "—", "own agency", "own agency", "—"),
    "notification": ("—", "—", "—", "—", "—"),
    "correction report": ("all", "own org", "—", "—", "—"),
    "exercise": ("all", "own org", "own agency", "—", "—"),
    "after-action finding": ("all", "at own facilities", "own agency", "—", "—"),
    "subscription": ("all", "own org", "own agency", "—", "refused"),
    "delivery": ("all", "refused", "refused", "refused", "refused"),
    "user": ("all", "refused", "refused", "refused", "refused"),
    "CAD client": ("all", "refused", "refused", "refused", "refused"),
    "audit event": ("—", "—", "—", "—", "—"),
}
TABLES = {"reads": READS, "writes": WRITES}


def parse(doc: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """{"reads": {record type: conditions in COLUMNS order}, "writes": ...} from the tables in
    `doc`, each the first table after a paragraph that starts with "Reads:" or "Writes:". A
    column may stand for several roles ("agency_user, cad"): its cells hold for each of them."""
    tables: dict[str, dict[str, tuple[str, ...]]] = {}
    current = None
    header: list[list[str]] | None = None
    for line in doc.splitlines():
        line = line.strip()
        heading = re.match(r"^(Reads|Writes):", line)
        if heading:
            current, header = heading.group(1).lower(), None
            tables[current] = {}
            continue
        if not line.startswith("|"):
            if header is not None:  # the table has ended
                current = header = None
            continue
        if current is None:
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if header is None:
            header = [[role.strip() for role in cell.split(",")] for cell in cells[1:]]
            roles = [role for column in header for role in column]
            if sorted(roles) != sorted(COLUMNS) or len(roles) != len(set(roles)):
                raise ValueError(f"{current}: the columns are {roles}, not {list(COLUMNS)}")
            continue
        if set("".join(cells)) <= {"-", " "}:
            continue
        if len(cells) != len(header) + 1:
            raise ValueError(f"{current}: the row {line!r} has {len(cells)} cells")
        if cells[0] in tables[current]:
            raise ValueError(f"{current}: {cells[0]} has two rows")
        by_role = {
            role: cell for column, cell in zip(header, cells[1:], strict=True) for role in column
        }
        tables[current][cells[0]] = tuple(by_role[role] for role in COLUMNS)
    return tables


def differences(doc: str, expected: dict[str, dict[str, tuple[str, ...]]]) -> list[str]:
    """Every way the tables in `doc` differ from `expected` (empty when they agree)."""
    try:
        found = parse(doc)
    except ValueError as problem:
        return [str(problem)]
    problems = []
    for table, want in expected.items():
        have = found.get(table)
        if have is None:
            problems.append(f"no {table} table")
            continue
        for record in sorted(set(want) - set(have)):
            problems.append(f"{table}: no row for {record}")
        for record in sorted(set(have) - set(want)):
            problems.append(f"{table}: a row for {record} that the tests do not know")
        for record in sorted(set(have) & set(want)):
            for role, doc_cell, test_cell in zip(COLUMNS, have[record], want[record], strict=True):
                if doc_cell != test_cell:
                    problems.append(
                        f"{table}: {record} for {role}: {doc_cell!r} in the docstring, "
                        f"{test_cell!r} in the tests"
                    )
    return problems


# --- what a condition means in a test world ---------------------------------------------------


@dataclass(frozen=True)
class Caller:
    role: str  # a column of the tables
    organization: str | None = None
    agency: str | None = None


@dataclass(frozen=True)
class Record:
    kind: str  # a row of the tables
    organization: str | None = None  # the owner (a facility's parts: the facility's)
    agency: str | None = None
    facility: str | None = None
    mou: str | None = None


@dataclass
class Relations:
    """Who is bound to whom in a test world, by the world's own names."""

    facilities: dict[str, str]  # facility -> its organization
    mous: dict[str, tuple[str, str]]  # MOU -> (organization, agency)
    sharing: set[tuple[str, str]] = field(default_factory=set)  # (agency, organization)
    key_holding: set[tuple[str, str]] = field(default_factory=set)  # (agency, organization)
    break_glass: set[tuple[str, str]] = field(default_factory=set)  # (agency, facility)

    @property
    def any_mou(self) -> set[tuple[str, str]]:
        return {(agency, organization) for organization, agency in self.mous.values()}


def holds(condition: str, caller: Caller, record: Record, world: Relations, reads: dict) -> bool:
    """Whether `condition` (a cell of the tables) lets `caller` at `record`."""
    column = COLUMNS.index(caller.role)
    if condition == "all":
        return True
    if condition in ("—", "refused"):
        return False
    if condition == "own org":
        return caller.organization is not None and record.organization == caller.organization
    if condition == "own agency":
        return caller.agency is not None and record.agency == caller.agency
    if condition in ("shared", "sharing partner"):
        return (caller.agency, record.organization) in world.sharing
    if condition == "with facility":
        facility = Record("facility", world.facilities[record.facility], facility=record.facility)
        return holds(reads["facility"][column], caller, facility, world, reads)
    if condition == "with MOU":
        organization, agency = world.mous[record.mou]
        mou = Record("MOU", organization, agency, mou=record.mou)
        return holds(reads["MOU"][column], caller, mou, world, reads)
    if condition == "MOU partner":
        if caller.agency is not None:
            return (caller.agency, record.organization) in world.any_mou
        return (record.agency, caller.organization) in world.any_mou
    if condition == "at own facilities":
        return world.facilities[record.facility] == caller.organization
    if condition == "shared or break-glass":
        return (caller.agency, record.organization) in world.sharing or (
            caller.agency,
            record.facility,
        ) in world.break_glass
    if condition == "key holder or break-glass":
        return (caller.agency, record.organization) in world.key_holding or (
            caller.agency,
            record.facility,
        ) in world.break_glass
    raise ValueError(f"no meaning for the condition {condition!r}")


def read_status(caller: Caller, record: Record, world: Relations, reads: dict) -> int:
    """200 when the caller reads the record; 403 when its role may not use the area; else 404."""
    condition = reads[record.kind][COLUMNS.index(caller.role)]
    if condition == "refused":
        return 403
    return 200 if holds(condition, caller, record, world, reads) else 404


def write_status(
    caller: Caller, record: Record, world: Relations, reads: dict, writes: dict, success=200
) -> int:
    """`success` when the caller may change the record; else 403 when it reads it (or may not
    use the area at all), 404 when it does not."""
    condition = writes[record.kind][COLUMNS.index(caller.role)]
    readable = read_status(caller, record, world, reads)
    if condition == "refused" or readable == 403:
        return 403
    if readable == 404:
        return 404
    return success if holds(condition, caller, record, world, reads) else 403
