"""Floor plans and MOU documents: uploads checked, stored and numbered; visibility and write
rules borrowed from their facility or MOU. Services flush, never commit (see blobs.py for when
bytes are written and deleted relative to the commit)."""

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from .. import confirmation, errors, history
from ..access import break_glass, visibility, writes
from ..access.roles import Role
from ..auth.principal import Principal
from ..crud import RecordService
from ..facilities.models import Facility
from ..fields import MAX_ID
from ..mous.models import Mou
from . import blobs, inspection
from .models import FloorPlan, MouDocument, StoredFile


class StoredFileService(RecordService):
    """Uploads of one kind, in series (one level of one building; one MOU)."""

    creator_roles = (Role.ADMIN, Role.FACILITY_MANAGER)
    parent_model: type
    parent_relation: str  # the relationship to the parent record
    default_name: str  # the download name when the client's is unusable

    def prepare(self, principal: Principal, parent) -> StoredFile:
        """A new upload for `parent`, once the caller may add one (403 otherwise)."""
        self.authorize_create(principal)
        record = self.model(
            **{self.parent_relation: parent, f"{self.parent_relation}_id": parent.id}
        )
        self.authorize_write(principal, record)
        return record

    def upload(
        self,
        session: Session,
        principal: Principal,
        record: StoredFile,
        data: dict,
        file: FileStorage,
    ) -> StoredFile:
        """Check the file, store its bytes, then add it as the newest revision of its series."""
        inspected = inspection.inspect(file.stream, file.filename, current_app.config)
        with session.no_autoflush:
            self.assign(session, record, data)
            # Uploads to one parent take turns, so two never get the same revision number.
            session.execute(
                select(self.parent_model.id)
                .where(self.parent_model.id == getattr(record, self.parent_relation).id)
                .with_for_update()
            )
            record.revision = 1 + (
                session.scalar(
                    select(func.coalesce(func.max(self.model.revision), 0)).where(
                        *self.same_series(record)
                    )
                )
            )
        record.file_name = inspection.download_name(
            file.filename, inspected.file_type, self.default_name
        )
        record.uploaded_by = principal.subject
        confirmation.confirm_write(session, principal, record)
        # The bytes are stored before the row is written; the row commits only after both.
        record.blob = blobs.claim(session, inspected, file.stream)
        session.add(record)
        session.flush()
        self._changed(
            session, principal, record, "create", history.diff({}, history.snapshot(record))
        )
        return record

    def same_series(self, record) -> list:
        return [getattr(self.model, name) == getattr(record, name) for name in self.model.series]

    def readable_file(self, session: Session, principal: Principal, record_id: int, version):
        """The record (or its `version`) whose file the caller may download, and the break-glass
        incident it is read through (None: read as any record). NotFound otherwise."""
        record = self.get(session, principal, record_id)
        if version is not None:
            record = self.version(session, principal, record, version)
        return record, None

    def versions(self, session: Session, principal: Principal, record, args: dict):
        """Every revision of the record's series, newest first."""
        return self.list(session, principal, args, *self.same_series(record))

    def version(self, session: Session, principal: Principal, record, number: int):
        found = session.scalar(
            select(self.model).where(
                self.read_filter(principal),
                *self.same_series(record),
                self.model.revision == number,
                self.model.deleted_at.is_(None),
            )
        )
        if found is None:
            raise errors.NotFound(f"This {self.noun} has no version {number}.")
        return found

    def of_parent(self, session: Session, principal: Principal, parent, args: dict):
        parent_key = getattr(self.model, f"{self.parent_relation}_id")
        conditions = [parent_key == parent.id, *self.filters(args)]
        if not args.get("include_superseded"):
            conditions.append(self.model.current)
        return self.list(session, principal, args, *conditions)


class FloorPlanService(StoredFileService):
    model = FloorPlan
    noun = "floor plan"
    parent_model = Facility
    parent_relation = "facility"
    default_name = "floor-plan"

    def read_filter(self, principal: Principal):
        return visibility.floor_plans(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.facility_part(principal, record)

    def history_facility_id(self, record) -> int | None:
        return record.facility_id  # a floor plan is part of its facility's history

    def assign(self, session, record, data):
        data = dict(data)
        if "building" in data and record.facility is not None:
            # "Main building" and "main building" are one building: keep the first spelling.
            known = session.scalar(
                select(FloorPlan.building)
                .where(
                    FloorPlan.facility_id == record.facility.id,
                    func.lower(FloorPlan.building) == data["building"].lower(),
                )
                .order_by(FloorPlan.id)
                .limit(1)
            )
            data["building"] = known or data["building"]
        super().assign(session, record, data)

    def filters(self, args):
        if args.get("building"):
            return [func.lower(FloorPlan.building) == args["building"].lower()]
        return []

    def order_by(self):
        return (
            FloorPlan.building,
            FloorPlan.level_number,
            FloorPlan.revision.desc(),
            FloorPlan.id,
        )

    def readable_file(self, session: Session, principal: Principal, record_id: int, version):
        """A plan is part of its facility's pre-plan, so its file goes to whoever may read that
        pre-plan (access.break_glass.may_read), through break-glass too (the incident returned):
        the pre-plan such an agency reads lists these plans."""
        plan = None
        if 0 < record_id <= MAX_ID:
            plan = session.scalar(
                select(FloorPlan)
                .join(Facility)
                .where(
                    FloorPlan.id == record_id,
                    FloorPlan.deleted_at.is_(None),
                    Facility.deleted_at.is_(None),
                )
            )
        decision = break_glass.may_read(session, principal, plan.facility_id) if plan else None
        if decision is None or not decision.allowed:
            raise errors.NotFound(f"No {self.noun} with id {record_id} is visible to you.")
        if version is not None:
            plan = session.scalar(
                select(FloorPlan).where(
                    *self.same_series(plan),
                    FloorPlan.revision == version,
                    FloorPlan.deleted_at.is_(None),
                )
            )
            if plan is None:
                raise errors.NotFound(f"This {self.noun} has no version {version}.")
        return plan, decision.incident

    def current_of_facilities(self, session: Session, facility_ids: list[int]) -> list[FloorPlan]:
        """The current plan of each level of these facilities, in each facility's order (for
        pre-plans; visibility is the caller's job)."""
        return session.scalars(
            select(FloorPlan)
            .where(FloorPlan.facility_id.in_(facility_ids), FloorPlan.current)
            .order_by(FloorPlan.facility_id, *self.order_by())
            .execution_options(populate_existing=True)  # see preplans.document
        ).all()


class MouDocumentService(StoredFileService):
    """The signed MOU: readable by whoever may read the MOU, written by whoever may write it."""

    model = MouDocument
    noun = "MOU document"
    parent_model = Mou
    parent_relation = "mou"
    default_name = "mou"

    def read_filter(self, principal: Principal):
        return visibility.mou_documents(principal)

    def may_write(self, principal: Principal, record) -> bool:
        return writes.mou_document(principal, record)

    def order_by(self):
        return (MouDocument.revision.desc(), MouDocument.id)


floor_plans = FloorPlanService()
mou_documents = MouDocumentService()
