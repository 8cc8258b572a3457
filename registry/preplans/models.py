from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class StoredPreplan(Base):
    """A facility's rendered pre-plan, kept in the database for every worker and instance.

    Holds the parts every reader sees alike (the facility, contacts, access and tactical points,
    floor plans, as JSON text, and the GeoJSON); the MOUs shown depend on the reader and are
    added per request (preplans/document.py). `render_key` names the facility's
    `preplan_version` (bumped by triggers on every change of those parts) and the renderer's
    code, so a stored document the database has moved past is never served: it is rendered
    again on its next read.
    """

    __tablename__ = "preplan_documents"

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), primary_key=True
    )
    render_key: Mapped[str] = mapped_column(String(100))
    document: Mapped[str] = mapped_column(Text)
    geojson: Mapped[str] = mapped_column(Text)
    rendered_at: Mapped[datetime] = mapped_column(UTCDateTime)
