"""A facility's contacts, for its managers: listed in call order as the pre-plan lists them (24/7
first; the organization's contacts listed there too, marked shared), added, edited with their
phones (a row per number) and deleted, through the contact service as the API's routes call it.
Every edit or delete carries the record's version (the API's If-Match rule)."""

from flask import abort, redirect, request, url_for
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from .. import db, errors
from ..contacts.models import PHONE_KINDS
from ..contacts.schemas import ContactSchema
from ..contacts.service import contacts
from . import forms
from .manager import (
    MANAGERS,
    managed_facility,
    notice,
    page_args,
)
from .web import bp, page, render, signed_in

CONTACT_FIELDS = ("name", "role", "email", "call_order", "available_24_7", "notes")
contact_schema = ContactSchema()
# Phone rows on a contact's form: at least this many, one empty beyond those it has, and no
# more than the API takes.
PHONE_ROWS = 3
MAX_PHONES = 10


@bp.route("/facilities/<int:facility_id>/contacts", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_contacts(facility_id: int):
    """The contacts the facility lists, in call order (24/7 first), and a form to add one."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = forms.checkboxes(request.form, ("available_24_7",))

        def change():
            contacts.authorize_create(principal)
            forms.sent_once(session, principal, sent)
            data = _contact_data(sent, partial=False)
            contacts.create(session, principal, {**data, "facility_id": facility.id})

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_contacts", facility_id=facility_id, notice="added")
            )
    listed = contacts.listed_at(session, principal, facility.id, page_args())
    values = forms.form_values(contact_schema, CONTACT_FIELDS, None, sent, outcome)
    values.setdefault("call_order", min(listed.total + 1, 100))
    return render(
        "console/facility_contacts.html",
        outcome.status,
        facility=facility,
        listed=listed,
        contact=None,
        values=values,
        phones=_phone_rows(None, sent),
        phone_kinds=PHONE_KINDS,
        outcome=outcome,
        notice=notice(),
    )


@bp.route("/facilities/<int:facility_id>/contacts/<int:contact_id>", methods=["GET", "POST"])
@page(*MANAGERS)
def facility_contact(facility_id: int, contact_id: int):
    """One contact the facility lists. A facility's own contact is edited here whole; an
    organization's contact (shared by several facilities) here too, its call order being its
    place at this facility."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    contact = _listed_contact(facility, contact_id)
    outcome, sent = forms.Outcome(), None
    if request.method == "POST":
        sent = forms.checkboxes(request.form, ("available_24_7",))

        def change():
            forms.require_version(contact, sent.get("version"))
            data = _contact_data(sent, partial=True)
            if contact.facility_id is None and "call_order" in data:
                # Shared: the person's place here is this facility's entry in its list.
                here = data.pop("call_order")
                data["facilities"] = [
                    {**place, "call_order": here} if place["facility_id"] == facility.id else place
                    for place in contact.facilities
                ]
            contacts.update(session, principal, contact, data)

        outcome = forms.submit(change)
        if outcome.saved:
            return redirect(
                url_for("console.facility_contacts", facility_id=facility_id, notice="saved")
            )
        session.refresh(contact)
    return _contact_page(facility, contact, outcome, sent)


@bp.post("/facilities/<int:facility_id>/contacts/<int:contact_id>/delete")
@page(*MANAGERS)
def facility_contact_delete(facility_id: int, contact_id: int):
    """Delete a facility's own contact (softly, restorable, as the API deletes)."""
    session, principal = db.session(), signed_in().principal
    facility = managed_facility(facility_id)
    contact = _listed_contact(facility, contact_id)
    if contact.facility_id != facility.id:
        raise errors.Forbidden(
            "This contact is your organization's, listed at several facilities: deleting it "
            "here would remove it from all of them."
        )

    def change():
        forms.require_version(contact, request.form.get("version"))
        contacts.delete(session, principal, contact)

    outcome = forms.submit(change)
    if outcome.saved:
        return redirect(
            url_for("console.facility_contacts", facility_id=facility_id, notice="deleted")
        )
    session.refresh(contact)
    return _contact_page(facility, contact, outcome, None)


def _listed_contact(facility, contact_id: int):
    """A contact the facility lists (its own, or its organization's assigned to it) that the
    signed-in person may change; any other is not found here."""
    principal = signed_in().principal
    contact = contacts.get(db.session(), principal, contact_id)
    places = {place["facility_id"] for place in contact.facilities}
    if contact.facility_id != facility.id and facility.id not in places:
        abort(404)
    contacts.authorize_write(principal, contact)
    return contact


def _place_here(contact, facility) -> int:
    """The contact's place in the facility's call order."""
    if contact.facility_id == facility.id:
        return contact.call_order
    return next(p["call_order"] for p in contact.facilities if p["facility_id"] == facility.id)


def _contact_page(facility, contact, outcome: forms.Outcome, sent):
    stored = {**contact_schema.dump(contact), "call_order": _place_here(contact, facility)}
    values = stored if sent is None or outcome.conflict else {**stored, **_sent(sent)}
    unsaved = {}
    if outcome.conflict and sent is not None:
        unsaved = {
            name: typed
            for name, typed in _sent(sent).items()
            if typed.strip() != _shown(stored.get(name))
        }
        typed_phones = _phones_text(_phones_sent(sent)[0])
        if typed_phones != _phones_text(contact.phones):
            unsaved["phones"] = typed_phones
    return render(
        "console/facility_contacts.html",
        outcome.status,
        facility=facility,
        listed=None,
        contact=contact,
        shared=contact.facility_id is None,
        values=values,
        phones=_phone_rows(contact, None if outcome.conflict else sent),
        phone_kinds=PHONE_KINDS,
        outcome=outcome,
        unsaved=unsaved,
        notice=notice(),
    )


def _sent(sent) -> dict:
    return {name: sent.get(name) for name in CONTACT_FIELDS if name in sent}


def _shown(value) -> str:
    """A stored value as its box shows it."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _contact_data(form: MultiDict, partial: bool) -> dict:
    """A contact's fields and its phones from the form, validated by the API's schema; every
    problem at once, each under the box it concerns (a phone's under its row)."""
    problems, data = {}, {}
    try:
        data = forms.load(contact_schema, form, CONTACT_FIELDS, partial=partial)
    except errors.InvalidInput as refused:
        problems.update(refused.errors)
    phones, rows = _phones_sent(form)
    try:
        data["phones"] = contact_schema.load({"phones": phones}, partial=True)["phones"]
    except ValidationError as refused:
        for index, messages in refused.messages.get("phones", {}).items():
            if isinstance(index, int):
                for name, said in messages.items():
                    problems[f"phones-{rows[index]}-{name}"] = said
            else:
                problems.setdefault("phones", []).extend(messages)
    if problems:
        raise errors.InvalidInput(problems)
    return data


def _phones_sent(form: MultiDict) -> tuple[list[dict], list[int]]:
    """The phone rows filled in (an empty row is none), and which row each one came from."""
    phones, rows = [], []
    for row in range(MAX_PHONES):
        number = form.get(f"phones-{row}-number")
        if number is None:
            continue
        extension = form.get(f"phones-{row}-extension", "").strip()
        if not number.strip() and not extension:
            continue
        phones.append(
            {
                "kind": form.get(f"phones-{row}-kind", ""),
                "number": number,
                "extension": extension or None,
            }
        )
        rows.append(row)
    return phones, rows


def _phone_rows(contact, sent) -> list[dict]:
    """The phone rows a form shows: what was sent, else the contact's numbers; then empty
    rows up to PHONE_ROWS, or one beyond the last."""
    if sent is not None:
        filled = [
            {
                "kind": sent.get(f"phones-{row}-kind", ""),
                "number": sent.get(f"phones-{row}-number", ""),
                "extension": sent.get(f"phones-{row}-extension", ""),
            }
            for row in range(MAX_PHONES)
            if f"phones-{row}-number" in sent
        ]
    else:
        filled = list(contact.phones) if contact is not None else []
    wanted = min(MAX_PHONES, max(PHONE_ROWS, len(filled) + 1))
    return filled + [{"kind": "mobile", "number": "", "extension": ""}] * (wanted - len(filled))


def _phones_text(phones: list[dict]) -> str:
    return "; ".join(
        f"{p['kind']} {p['number']}" + (f" x{p['extension']}" if p.get("extension") else "")
        for p in phones
    )
