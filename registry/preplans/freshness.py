"""Stale parts of a pre-plan, marked for the day it is read.

The stored rendering (document.py) keeps each part's `confirmed_at` and `confirmed_by`, which
change only when the part does. Whether a part is stale depends on the day as well, so
`stale` and `age_days` are added here, to the document a worker caches under a stamp that
holds the date and the maximum ages: a rendering stored yesterday still says today's ages.
"""

from datetime import date, datetime

from .. import confirmation

# The pre-plan's lists of parts, and the kind of part each holds.
LISTS = {
    "contacts": "contact",
    "access_points": "access_point",
    "tactical_points": "tactical_point",
    "floor_plans": "floor_plan",
}


def annotate(document: dict, today: date, max_ages: dict[str, int]) -> dict:
    """A copy of the pre-plan with `stale` and `age_days` on the facility and on each part
    (a part never confirmed: stale, age null). The document given is left as it was."""
    marked = {**document, "facility": _mark(document["facility"], today, max_ages["facility"])}
    for name, kind in LISTS.items():
        marked[name] = [_mark(part, today, max_ages[kind]) for part in document[name]]
    return marked


def _mark(part: dict, today: date, max_age: int) -> dict:
    confirmed = part.get("confirmed_at")
    age = confirmation.age_days(datetime.fromisoformat(confirmed) if confirmed else None, today)
    return {**part, "stale": confirmation.is_stale(age, max_age), "age_days": age}
