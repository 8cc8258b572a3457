"""The shared shape of a resource area's domain service: visibility, write rules, CRUD.

A resource area subclasses `RecordService` and names its record type's rules in two hooks:
`read_filter(principal)` (a SQL clause from `access.visibility`) and `may_write(principal,
record)` (from `access.writes`); the rules themselves, and the table of them, live in
`registry.access`. Services flush and never commit (transaction.transactional commits once per
request).
"""

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from . import audit, confirmation, errors, history
from .access import writes
from .access.roles import Role
from .api.pagination import Page
from .auth.principal import Principal
from .db import utcnow
from .fields import MAX_ID


class RecordService:
    model: type
    noun: str = "record"

    # Roles that may create records of this kind at all (checked before the body is judged);
    # `may_write` then decides for the record itself.
    creator_roles: tuple[Role, ...] = (Role.ADMIN,)

    # --- policy hooks ---------------------------------------------------------------------
    def read_filter(self, principal: Principal):
        raise NotImplementedError(f"Who reads a {self.noun}? Say it in access.visibility.")

    def may_write(self, principal: Principal, record) -> bool:
        return writes.admin_only(principal, record)

    def restorable_filter(self, principal: Principal):
        """`may_write` as a SQL clause, where readers may see more than they may change (deleted
        records are listed to those who may restore them, nobody else)."""
        return true()

    def validate(self, session: Session, record) -> None:
        """Cross-field and cross-record checks on the new state (raise InvalidInput)."""

    def judge_write(self, session: Session, principal: Principal, record) -> None:
        """Decisions on the new state that depend on who writes (after `validate`, before the
        flush), e.g. holding a contested facility for review."""

    def after_insert(self, session: Session, record, data: dict) -> None:
        """What a new record needs its id for, right after its INSERT and before the write is
        recorded: an access point's secrets are sealed here, bound to the id."""

    def after_write(self, session: Session, principal: Principal, record) -> None:
        """What follows a write once the record has its id (after the flush)."""

    def history_facility_id(self, record) -> int | None:
        """The facility whose history records changes to `record` (None: no history kept)."""
        return None

    # --- soft deletion --------------------------------------------------------------------
    @property
    def soft_deletes(self) -> bool:
        return hasattr(self.model, "deleted_at")

    def _deleted(self, deleted: bool | None):
        """Live records normally; only the deleted ones when listing what can be restored;
        either when `deleted` is None (a deleted facility's history stays readable)."""
        if not self.soft_deletes or deleted is None:
            return true()
        column = self.model.deleted_at
        return column.is_not(None) if deleted else column.is_(None)

    # --- operations -----------------------------------------------------------------------
    def get(self, session: Session, principal: Principal, record_id: int, deleted=False):
        record = None
        if 0 < record_id <= MAX_ID:  # a larger id names nothing, and would overflow the driver
            record = session.scalar(
                select(self.model).where(
                    self.model.id == record_id, self.read_filter(principal), self._deleted(deleted)
                )
            )
        if record is None:
            raise errors.NotFound(f"No {self.noun} with id {record_id} is visible to you.")
        return record

    def list(self, session: Session, principal: Principal, args: dict, *conditions) -> Page:
        deleted = bool(args.get("deleted"))
        if deleted:
            # What was deleted is shown to those who may restore it, nobody else.
            if principal.role not in self.creator_roles:
                raise errors.Forbidden(
                    f"Only those who may restore a deleted {self.noun} may list the deleted ones."
                )
            conditions = (*conditions, self.restorable_filter(principal))
        stmt = select(self.model).where(
            self.read_filter(principal), self._deleted(deleted), *conditions
        )
        return paginate(session, stmt.order_by(*self.order_by()), args)

    def filters(self, args: dict) -> list:
        """SQL conditions from a list's query parameters."""
        return []

    def order_by(self):
        return (self.model.id,)

    def authorize_create(self, principal: Principal) -> None:
        if principal.role not in self.creator_roles:
            raise errors.Forbidden(f"Your role may not create a {self.noun}.")

    def authorize_write(self, principal: Principal, record) -> None:
        if not self.may_write(principal, record):
            raise errors.Forbidden(f"You may not change this {self.noun}.")

    def create(self, session: Session, principal: Principal, data: dict):
        record = self.model()
        data, stated = _stated_confirmation(data)
        with session.no_autoflush:
            self.assign(session, record, data)
            self.authorize_write(principal, record)
            self.validate(session, record)
            self.judge_write(session, principal, record)
            confirmation.confirm_write(session, principal, record, stated)
        session.add(record)
        session.flush()
        self.after_insert(session, record, data)
        self.after_write(session, principal, record)
        self._changed(
            session, principal, record, "create", history.diff({}, history.snapshot(record))
        )
        return record

    def update(self, session: Session, principal: Principal, record, data: dict):
        # Checked before (may I touch it?) and after (may I put it where it now points?), so a
        # facility manager cannot move a record into another organization. No autoflush: the
        # change reaches the database in one UPDATE, after every check, with one version bump.
        self.authorize_write(principal, record)
        before = history.snapshot(record)
        data, stated = _stated_confirmation(data)
        with session.no_autoflush:
            self.assign(session, record, data)
            self.authorize_write(principal, record)
            self.validate(session, record)
            self.judge_write(session, principal, record)
            # Touching the row guarantees an UPDATE, hence a version check and a new ETag, even
            # when only related rows (scopes, facility lists) changed.
            record.updated_at = utcnow()
            confirmation.confirm_write(session, principal, record, stated)
        session.flush()
        self.after_write(session, principal, record)
        self._changed(
            session, principal, record, "update", history.diff(before, history.snapshot(record))
        )
        return record

    def delete(self, session: Session, principal: Principal, record) -> None:
        self.authorize_write(principal, record)
        if not self.soft_deletes:
            before = history.snapshot(record)
            session.delete(record)
            session.flush()
            self._changed(session, principal, record, "delete", history.diff(before, {}))
            return
        record.deleted_at = record.updated_at = utcnow()
        session.flush()
        self._changed(session, principal, record, "delete", {})

    def restore(self, session: Session, principal: Principal, record):
        self.authorize_write(principal, record)
        record.deleted_at, record.updated_at = None, utcnow()
        # Brought back by its manager: vouched for as it stands.
        confirmation.confirm_write(session, principal, record)
        session.flush()
        self._changed(session, principal, record, "restore", {})
        return record

    def _changed(self, session: Session, principal: Principal, record, action, changes) -> None:
        """Every write lands in the audit trail; a facility's parts also in its history."""
        facility_id = self.history_facility_id(record)
        audit.record(
            session,
            principal,
            f"{audit.record_type_of(record)}.{action}",
            record=record,
            facility_id=facility_id,
            changes=changes,
        )
        if facility_id is not None:
            history.record_change(session, principal, facility_id, record, action, changes)
            session.flush()

    def assign(self, session: Session, record, data: dict) -> None:
        for name, value in data.items():
            setattr(record, name, value)

    def require(self, session: Session, model, record_id, field: str):
        """Load a referenced record or report the field as invalid (not a 500 from the FK)."""
        if record_id is None:
            return None
        found = session.get(model, record_id)
        if found is None:
            raise errors.InvalidInput({field: [f"No record with id {record_id}."]})
        return found


def _stated_confirmation(data: dict) -> tuple[dict, object]:
    """The body without the confirmation time it states (`last_verified_at`, loaded as
    `confirmed_at`), and that time (None when none was sent)."""
    if "confirmed_at" not in data:
        return data, None
    data = dict(data)
    return data, data.pop("confirmed_at")


def paginate(session: Session, stmt, args: dict) -> Page:
    """One page of an ordered query, and the total it was cut from."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page, per_page = args["page"], args["per_page"]
    items = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items, total, page, per_page)


def contains(column, text: str):
    """Case-insensitive substring match with LIKE wildcards in `text` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
