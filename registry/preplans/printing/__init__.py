"""The printable pre-plan: one page of "first five minutes" for a responder, as HTML or PDF.

`printable(session, principal, document)` arranges a pre-plan document (preplans.document,
flagged with `break_glass` when read that way) into a `Sheet` (sheet.py); `render(sheet,
"html" | "pdf")` lays it out (html.py, pdf.py). Nothing here decides who may read the pre-plan:
the caller has asked preplans.document.preplan already, and only the names of the MOUs'
parties the caller may see are looked up (access.visibility), so a break-glass reader learns
no organization name it could not read otherwise.
"""

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...access import visibility
from ...agencies.models import Agency
from ...auth.principal import Principal
from ...floorplans.storage import StorageError, read_preview
from ...organizations.models import Organization
from . import html, pdf
from .sheet import Sheet, build

MEDIA_TYPES = {"html": "text/html", "pdf": "application/pdf"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
log = logging.getLogger(__name__)


def parties(session: Session, principal: Principal, mous: list[dict]) -> dict:
    """("organization" | "agency", id) -> name, for the MOUs' parties the caller may read."""
    organization_ids = {mou["organization_id"] for mou in mous}
    agency_ids = {mou["agency_id"] for mou in mous}
    names = {}
    for kind, model, ids, visible in (
        ("organization", Organization, organization_ids, visibility.organizations(principal)),
        ("agency", Agency, agency_ids, visibility.agencies(principal)),
    ):
        if ids:
            rows = session.execute(select(model.id, model.name).where(model.id.in_(ids), visible))
            names.update({(kind, row.id): row.name for row in rows})
    return names


def _preview(plan: dict) -> bytes | None:
    """The plan's PNG preview (every accepted upload has one), or None when the store fails:
    the sheet then names the plan and points to the registry instead of failing."""
    try:
        png = read_preview(plan["sha256"])
    except StorageError as exc:
        log.error("file store: %s (floor plan %s, for a print)", exc, plan["id"])
        return None
    if not png.startswith(PNG_SIGNATURE):
        log.error("file store: the preview of floor plan %s is not a PNG", plan["id"])
        return None
    return png


def printable(principal: Principal, document: dict, names: dict, printed_at: datetime) -> Sheet:
    """The sheet of a pre-plan document, as `principal` prints it at `printed_at`."""
    return build(document, names, _preview, printed_at, principal.subject)


def render(sheet: Sheet, format: str) -> bytes:
    """The sheet as `format` ("html" or "pdf")."""
    if format == "html":
        return html.render(sheet).encode("utf-8")
    return pdf.render(sheet)
