"""An item of a pre-plan: what a responder's correction report and an after-action follow-up
point at. One definition for both (corrections/, exercises/).

An item is named by its kind (`ITEM_KINDS`: the facility itself, a contact, an access point, a
tactical point, a floor plan: the parts freshness confirms, confirmation.KINDS) and its id. It
belongs to a facility: the facility's own id for `facility`, else a part of that facility that
its pre-plan shows now (not deleted; a floor plan's current revision; an organization's contact the facility lists). `find` answers whether
an id names such an item; `require` turns "no" into a 422 that says the same whatever the id
names (another facility's contact, a deleted point, nothing), so a report never tells which
ids exist elsewhere.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import errors
from ..confirmation import KINDS
from ..contacts.models import Contact, contact_listings
from ..facilities.models import AccessPoint, Facility, TacticalPoint
from ..fields import MAX_ID
from ..floorplans.models import FloorPlan

ITEM_KINDS = KINDS
# Kind -> (model, what makes a row of it part of the pre-plan shown now).
_PARTS = {
    "contact": (Contact, Contact.deleted_at.is_(None)),
    "access_point": (AccessPoint, AccessPoint.deleted_at.is_(None)),
    "tactical_point": (TacticalPoint, TacticalPoint.deleted_at.is_(None)),
    "floor_plan": (FloorPlan, FloorPlan.current),
}
# The pre-plan's lists of parts (preplans/freshness.py LISTS), by kind.
PREPLAN_LISTS = {
    "contact": "contacts",
    "access_point": "access_points",
    "tactical_point": "tactical_points",
    "floor_plan": "floor_plans",
}


def find(session: Session, facility_id: int, kind: str, item_id: int | None):
    """The item of this kind and id in the facility's pre-plan now, or None."""
    if kind == "facility":
        if item_id not in (None, facility_id):
            return None
        facility = session.get(Facility, facility_id)
        return facility if facility is not None and facility.deleted_at is None else None
    if item_id is None or not 0 < item_id <= MAX_ID or kind not in _PARTS:
        return None
    model, shown = _PARTS[kind]
    if kind == "contact":
        # Its own contacts, and its organization's contacts it lists (contact assignments).
        listed = contact_listings()
        here = Contact.id.in_(select(listed.c.id).where(listed.c.facility_id == facility_id))
    else:
        here = model.facility_id == facility_id
    return session.scalar(select(model).where(model.id == item_id, here, shown))


def require(session: Session, facility_id: int | None, kind: str, item_id: int | None):
    """`find`, or a 422 on `item_id` (`item_kind` for a facility's own record) saying the item
    is not in this facility's pre-plan. Returns the item (the facility for `facility`)."""
    item = find(session, facility_id, kind, item_id) if facility_id is not None else None
    if item is None:
        field = "item_id" if item_id is not None or kind != "facility" else "item_kind"
        raise errors.InvalidInput(
            {field: [f"No {kind.replace('_', ' ')} with this id in this facility's pre-plan."]}
        )
    return item


def name_of(item) -> str:
    """What a reader calls the item: its name, a floor plan's title."""
    return getattr(item, "title", None) or getattr(item, "name", None) or f"#{item.id}"
