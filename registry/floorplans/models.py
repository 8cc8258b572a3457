from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    and_,
    exists,
)
from sqlalchemy.orm import (
    Mapped,
    aliased,
    column_property,
    declared_attr,
    mapped_column,
    relationship,
)

from ..confirmation import Confirmed
from ..db import Base, SoftDeleted, UTCDateTime, Versioned, utcnow
from ..facilities.models import Facility
from ..mous.models import Mou


class FileBlob(Base):
    """One stored content, named by its SHA-256 and shared by every record that uploaded it.

    The row is also the content's lock: an upload holds it (shared) from before the bytes are
    written until its transaction ends, and the collector holds it (exclusive) while it decides
    to delete the bytes, so the two never interleave (see blobs.py).
    """

    __tablename__ = "file_blobs"
    __table_args__ = (CheckConstraint("size >= 0", name="size_not_negative"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(40))
    preview_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredFile(SoftDeleted, Versioned):
    """An uploaded file of a record: one row per upload, numbered per series (`revision`).

    The newest revision of a series is current; older ones stay retrievable. Deleting is soft
    (like facilities and their parts): a deleted revision is hidden, the one before it is current
    again, its file stays in the store, and the owner can restore it.
    """

    # Columns that name the series (e.g. one building level of one facility).
    series: tuple[str, ...] = ()

    revision: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(120))
    uploaded_by: Mapped[str] = mapped_column(String(40))  # "user:12", as incidents record it

    @declared_attr
    def sha256(cls) -> Mapped[str]:  # noqa: N805 - a declared_attr receives the class
        return mapped_column(ForeignKey("file_blobs.sha256", ondelete="RESTRICT"), index=True)

    @declared_attr
    def blob(cls) -> Mapped[FileBlob]:  # noqa: N805
        return relationship(FileBlob, lazy="joined", innerjoin=True)


class FloorPlan(Confirmed, StoredFile, Base):
    """A plan (PDF or image) of one level of one building of a facility."""

    __tablename__ = "floor_plans"
    __table_args__ = (
        UniqueConstraint("facility_id", "building", "level_number", "revision"),
        CheckConstraint("revision >= 1", name="revision_positive"),
    )
    series = ("facility_id", "building", "level_number")

    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id", ondelete="CASCADE"), index=True
    )
    building: Mapped[str] = mapped_column(String(100))
    level_number: Mapped[int] = mapped_column(Integer)
    level_label: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))

    facility: Mapped[Facility] = relationship()


class MouDocument(StoredFile, Base):
    """The signed document of an MOU; each upload is a new revision of it."""

    __tablename__ = "mou_documents"
    __table_args__ = (
        UniqueConstraint("mou_id", "revision"),
        CheckConstraint("revision >= 1", name="revision_positive"),
    )
    series = ("mou_id",)

    mou_id: Mapped[int] = mapped_column(ForeignKey("mous.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))

    mou: Mapped[Mou] = relationship()


# Every table whose rows hold a blob: a blob is deleted only when none of them refers to it.
STORED_FILE_MODELS = (FloorPlan, MouDocument)


def _current(model) -> None:
    """`model.current`: not deleted, and no newer live revision of the series (in SQL)."""
    newer = aliased(model)
    model.current = column_property(
        and_(
            model.deleted_at.is_(None),
            ~exists().where(
                *(getattr(newer, name) == getattr(model, name) for name in model.series),
                newer.revision > model.revision,
                newer.deleted_at.is_(None),
            ),
        )
    )


for _model in STORED_FILE_MODELS:
    _current(_model)
