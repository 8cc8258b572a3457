"""What the administration pages share: each write as the API's route makes it (the
administrator's password for the fresh-login rule, who may write, the form's version, the
service), the values a form shows, records to pick from, names for ids."""

import re

from flask import request
from marshmallow import fields
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ... import db
from ...access.roles import USER_ROLES, Role
from ...fields import MAX_ID
from .. import forms, sessions
from ..web import signed_in

ADMINS = (Role.ADMIN,)
# Where a form's own "password" is another person's (a user's), the administrator's goes here.
YOUR_PASSWORD = "password"
USER_YOUR_PASSWORD = "current_password"
# An organization or agency is picked from a list of at most this many; beyond, by its id.
MOST_CHOICES = 1000
# Lists typed into one box (codes, ids), separated by commas, spaces or lines.
TYPED_LISTS = ("county_fips", "facility_ids")
# Saved-page notices, by key: a redirect names one, the page shows its words (never the URL's).
NOTICES = {
    "saved": "Saved.",
    "created": "Created.",
    "password": "Password set. Every session of this person has ended: they sign in with the "
    "new password.",
    "propose": "Proposed: the other party is told, and it takes effect once it accepts.",
    "accept": "Accepted.",
    "terminate": "Terminated: it grants nothing from now on. The other party is told.",
    "renew": "The renewal is drafted below; it follows the same steps.",
}


def search_text() -> str:
    return request.args.get("q", "").strip()[:200]


def confirm_password(form, box: str = YOUR_PASSWORD) -> None:
    """The API's fresh-login rule for the form's write (see the package's docstring): the
    administrator's password from the form's `box`, when their sign-in is not recent."""
    sessions.confirm_password(db.session(), signed_in(), form.get(box), box)


def typed_lists(form) -> MultiDict:
    """The form with each box of TYPED_LISTS split into the list the API takes."""
    sent = MultiDict(form)
    for name in TYPED_LISTS:
        if name in form:
            sent.setlist(name, [v for v in re.split(r"[\s,;]+", form[name]) if v])
    return sent


def create_record(service, schema, names, form, password_box=YOUR_PASSWORD):
    """Create a record as the API's POST does: (the outcome, the record when saved)."""
    session, principal = db.session(), signed_in().principal
    created = []

    def change():
        confirm_password(form, password_box)
        service.authorize_create(principal)
        forms.sent_once(session, principal, form)
        created.append(service.create(session, principal, forms.load(schema, form, names)))

    outcome = forms.submit(change)
    return outcome, created[0] if outcome.saved else None


def update_record(
    service, schema, names, record, form, password_box=YOUR_PASSWORD
) -> forms.Outcome:
    """Change a record as the API's PATCH does, on the version the form was opened at."""
    session, principal = db.session(), signed_in().principal

    def change():
        confirm_password(form, password_box)
        service.authorize_write(principal, record)
        forms.require_version(record, form.get("version"))
        data = forms.load(schema, form, names, partial=True)
        service.update(session, principal, record, data)

    outcome = forms.submit(change)
    if not outcome.saved:
        session.refresh(record)
    return outcome


def form_values(schema, record, shown, names, outcome) -> dict:
    """What a form's boxes show: the stored record (or nothing, for a new one), or what was
    sent (`shown`: the form as typed, its checkboxes completed) when it was refused for its
    input, so nothing typed is lost. After a conflict, the version now saved."""
    stored = schema.dump(record) if record is not None else {}
    for name in TYPED_LISTS:
        if isinstance(stored.get(name), list):
            stored[name] = ", ".join(map(str, stored[name]))
    if shown is None or outcome.conflict:
        return stored
    typed = {}
    for name in names:
        schema_field = schema.fields[name]
        if isinstance(schema_field, fields.List) and name not in TYPED_LISTS:
            typed[name] = shown.getlist(name)
        elif isinstance(schema_field, fields.Boolean) and name in shown:
            typed[name] = shown.get(name) == "true"
        elif name in shown:
            typed[name] = shown.get(name)
    return {**stored, **typed}


def choices(service) -> dict:
    """Records to pick from in a select, as the service lists them to this administrator; when
    there are too many for a list, the form asks for an id instead (`complete` is false)."""
    found = service.list(db.session(), signed_in().principal, {"page": 1, "per_page": MOST_CHOICES})
    return {
        "options": [(record.id, record.name) for record in found.items],
        "complete": found.total <= MOST_CHOICES,
    }


def names_of(service, model, ids) -> dict[int, str]:
    """id -> name of the records of `model` among `ids` this administrator reads."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = db.session().execute(
        select(model.id, model.name).where(
            model.id.in_(ids), service.read_filter(signed_in().principal)
        )
    )
    return {record_id: name for record_id, name in rows}


def id_arg(name: str) -> int | None:
    """A record id from the query string (a link's), or None."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and 0 < int(value) <= MAX_ID else None


def prefilled(names) -> dict:
    """A new record's form opened from another record's page: the ids its link names (an
    organization's "new facility manager" link names the role and the organization)."""
    values = {name: id_arg(name) for name in ("organization_id", "agency_id") if name in names}
    if request.args.get("role") in USER_ROLES:
        values["role"] = request.args["role"]
    return {name: value for name, value in values.items() if value is not None}


def get_record(service, record_id: int):
    return service.get(db.session(), signed_in().principal, record_id)
