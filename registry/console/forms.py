"""From an HTML form to the services, and back to the form with its errors.

A form's fields carry the API's own field names, and `load` reads them through the API's own
marshmallow schema: one set of rules for both ways in. `submit` runs a change in its own
transaction (the same commit and rollback the API's requests end with) and, when the input is
refused, hands back the messages per field, for the page to show next to each field.
"""

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from .. import errors, transaction
from ..db import utcnow
from ..idempotency import KEY_LIFETIME, IdempotencyKey

# Shown when a form that creates something comes back a second time (Back, then Send again).
ALREADY_SENT = (
    "This form was already sent and saved; nothing was added a second time. Open the list to "
    "see what was saved."
)
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")
# Shown when the record changed between opening the form and sending it.
CHANGED_MEANWHILE = (
    "Someone else saved a change to this record while you were editing it. Their version is "
    "shown below; your changes were not saved. Check them against it and save again."
)


@dataclass
class Outcome:
    """What became of a form: saved, or refused with messages (per field, or for the form)."""

    errors: dict = field(default_factory=dict)
    message: str | None = None
    conflict: bool = False
    # The page's status: 200 for a form not sent or saved, else the API's for the refusal
    # (422 for its input, 409 for a stale version or a clash with other records).
    status: int = 200

    @property
    def saved(self) -> bool:
        return not self.errors and self.message is None


def load(schema: Schema, form: MultiDict, names=None, partial: bool = False) -> dict:
    """The form's values for `schema`'s fields (those in `names`, when given), validated as the
    API validates a JSON body. A blank box means "none" for a field that may be empty; a
    checkbox sends "on" when ticked (its form must say which boxes it shows, see `checkboxes`).
    """
    raw = {}
    for name, schema_field in schema.fields.items():
        key = schema_field.data_key or name
        if schema_field.dump_only or (names is not None and key not in names):
            continue
        if isinstance(schema_field, fields.List):
            values = [_whole_number(schema_field.inner, v) for v in form.getlist(key) if v.strip()]
            if key in form or names is not None:
                raw[key] = values
            continue
        if key not in form:
            continue
        value = form.get(key, "")
        if isinstance(value, str) and "\x00" in value:
            raise errors.InvalidInput({key: ["NUL characters are not allowed."]})
        if value.strip() == "" and schema_field.allow_none:
            value = None
        else:
            value = _whole_number(schema_field, value)
        raw[key] = value
    try:
        return schema.load(raw, partial=partial)
    except ValidationError as error:
        raise errors.InvalidInput(error.messages) from None


def _whole_number(schema_field, value: str):
    """A box holds text; the API's whole numbers (and lists of ids) are strict JSON integers."""
    if isinstance(schema_field, fields.Integer) and re.fullmatch(r"\s*-?\d{1,15}\s*", value):
        return int(value)
    return value


def checkboxes(form: MultiDict, names) -> MultiDict:
    """The form with each checkbox of `names` given a value: an unticked box sends nothing, and
    "nothing" must mean "no", not "unchanged"."""
    completed = MultiDict(form)
    for name in names:
        completed[name] = "true" if form.get(name) in ("on", "true") else "false"
    return completed


def submit(change: Callable[[], object]) -> Outcome:
    """Run `change` (service calls) as one transaction: committed when it returns, rolled back
    when it raises. Bad input, a stale version and a refused write come back as an Outcome for
    the page to show; anything else is an error page."""
    try:
        transaction.transactional(change)()
    except errors.InvalidInput as error:
        return Outcome(errors=error.errors or {}, message=error.detail, status=422)
    except (errors.PreconditionFailed, StaleDataError):
        return Outcome(message=CHANGED_MEANWHILE, conflict=True, status=409)
    except (errors.Conflict, IntegrityError) as error:
        # The API's own words for it (a taken site code names its field).
        problem = errors.problem_response(error).get_json()
        return Outcome(
            errors=problem.get("errors") or {}, message=problem["detail"], status=problem["status"]
        )
    return Outcome()


def require_version(record, sent: str | None) -> None:
    """The If-Match rule for forms: a form carries the version it was opened at, and a write is
    refused when the record has moved on since (PreconditionFailed)."""
    if sent is None or not sent.isdigit() or int(sent) != record.version:
        raise errors.PreconditionFailed(CHANGED_MEANWHILE)


def new_form_key() -> str:
    """A one-time key for a form that creates something (the `form_key` hidden field)."""
    return secrets.token_urlsafe(24)


def sent_once(session: Session, principal, form: MultiDict) -> None:
    """A form that creates something saves once: its `form_key` is stored with what it created
    (in the same transaction, as the API stores an Idempotency-Key), and the same form sent
    again (Back, then Send) is refused (Conflict) instead of adding a duplicate. A form whose
    first sending failed was rolled back with its key, so it can be sent again."""
    key = form.get("form_key", "")
    if not _FORM_KEY.fullmatch(key):
        return  # a page from before the keys, or a hand-made request: nothing to compare
    stored = f"console-form:{key}"
    if session.get(IdempotencyKey, (principal.subject, stored)) is not None:
        raise errors.Conflict(ALREADY_SENT)
    session.add(
        IdempotencyKey(
            subject=principal.subject,
            key=stored,
            fingerprint="console form",
            expires_at=utcnow() + KEY_LIFETIME,
        )
    )


def form_values(schema, names, record, sent, outcome) -> dict:
    """What a form's boxes show: the stored record (or nothing, for a new one), or what was
    sent when it was refused for its input (so nothing typed is lost). After a conflict: the
    other person's saved version."""
    stored = schema.dump(record) if record is not None else {}
    if sent is None or outcome.conflict:
        return stored
    return {**stored, **{name: sent.get(name) for name in names if name in sent}}


def as_typed(value) -> str:
    """A stored value as a form's box holds it (None is an empty box, booleans are words)."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def opened_values(schema, names, record, sent, outcome) -> dict:
    """The record's values as this form was opened, which the form carries along
    (`opened.<name>`, hidden) through refusals for its input, so that after a conflict the
    person's own changes can be told from the other person's. After a conflict the form
    starts again from the version now saved."""
    if sent is not None and not outcome.conflict and any(k.startswith("opened.") for k in sent):
        return {name: sent.get(f"opened.{name}", "") for name in names}
    stored = schema.dump(record)
    return {name: as_typed(stored.get(name)) for name in names if name in stored}


def unsaved_values(schema, names, record, sent) -> dict:
    """After a conflict: what this person changed in the form (against the values it was opened
    with) that the version now saved does not have, so they can apply it again by hand. A box
    they did not touch is not listed, even where the other person changed it."""
    stored = schema.dump(record)
    unsaved = {}
    for name in names:
        if name not in sent:
            continue
        typed, saved = sent.get(name, "").strip(), as_typed(stored.get(name))
        opened = sent.get(f"opened.{name}")
        changed_here = typed != (opened.strip() if opened is not None else saved)
        if changed_here and typed != saved:
            unsaved[name] = typed
    return unsaved
