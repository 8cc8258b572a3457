"""The facility manager's pages, through the test client: a new facility, a facility's contacts,
access points (codes in, never out, except through the audited reveal), tactical points, floor
plans and "confirm all". Each form's success is checked in the database, each refusal beside
its field with nothing changed, each stale form as a 409 that shows the saved version, and
another organization's pages and forged forms as 404s that change nothing."""

import io
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from registry import transaction
from registry.console.models import ConsoleSession
from registry.contacts.models import Contact, ContactAssignment
from registry.db import utcnow
from registry.facilities import sealing
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.floorplans.models import FloorPlan
from tests import sample_files
from tests.conftest import audit_events, count, fetch
from tests.console.conftest import form_fields

CODE = "7391#Q"
KEY_LOCATION = "Knox box left of door 3"


@dataclass
class Site:
    org: object
    facility: object
    manager: object

    @property
    def base(self) -> str:
        return f"/console/facilities/{self.facility.id}"


@pytest.fixture
def site(make):
    org = make.organization(name="Harbor Partners")
    facility = make.facility(org, name="Harbor Mall", lat=39.8, lon=-89.6)
    return Site(org, facility, make.user("facility_manager", organization=org))


@pytest.fixture
def manager(console, site):
    """The site's manager, signed in."""
    console.sign_in(site.manager)
    return console


@pytest.fixture
def other_site(make):
    """Another organization's facility, with one of each part."""
    org = make.organization(name="Other Partners")
    facility = make.facility(org, name="Other Mall")
    site = Site(org, facility, make.user("facility_manager", organization=org))
    site.contact = make.contact(facility_id=facility.id, name="Other Person")
    site.access_point = make.access_point(facility, name="Other door", code="9999#X")
    site.tactical_point = make.tactical_point(facility, name="Other lot")
    return site


def send(console, path: str, data: dict, page: str | None = None, **kwargs):
    """Open the form's page (for its token), then send the form."""
    console.get(page or path)
    return console.post(path, data, **kwargs)


def upload(console, path: str, content: bytes, name: str = "plan.png", **fields):
    console.get(path)
    form = {
        "csrf_token": console.csrf(),
        "title": "Ground floor",
        "building": "Main building",
        "level_number": "0",
        "level_label": "G",
        "file": (io.BytesIO(content), name, "application/octet-stream"),
        **fields,
    }
    console.page = console.client.post(path, data=form, content_type="multipart/form-data")
    return console.page


def stored_secrets(app, point_id: int) -> tuple:
    with app.app_context(), transaction.session_scope() as session:
        point = session.get(AccessPoint, point_id)
        return sealing.open_secret(point, "code"), sealing.open_secret(point, "key_location")


def age_sign_in(app, minutes: int = 60) -> None:
    """Make every console session's password older than the fresh-login window."""
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            update(ConsoleSession).values(password_at=utcnow() - timedelta(minutes=minutes))
        )


def box_value(html: str, name: str) -> str | None:
    """The value an input box shows (None: none)."""
    tag = re.search(rf'<input id="{re.escape(name)}"[^>]*>', html).group(0)
    value = re.search(r' value="([^"]*)"', tag)
    return value.group(1) if value else None


# --- the facility page ----------------------------------------------------------------------


def test_the_facility_page_shows_its_pre_plan_at_a_glance(manager, make, site):
    for n in range(7):
        make.tactical_point(site.facility, name=f"Lot {n}", lat=39.8 + n / 1000, lon=-89.6)
    make.access_point(site.facility, name="Door A", code=CODE)

    manager.get(site.base)

    assert "Tactical points (7)" in manager.html
    listed = manager.html[manager.html.index("Tactical points (7)") :]
    listed = listed[: listed.index("</ul>")]
    assert listed.count("<li>") == 5  # the first five; the part's page lists them all
    assert manager.html.count("&#34;label&#34;: &#34;Lot") == 7  # every one on the map
    assert "code on file" in manager.html and CODE not in manager.html
    for part in ("contacts", "access-points", "tactical-points", "floor-plans"):
        assert f'href="{site.base}/{part}"' in manager.html


# --- a new facility --------------------------------------------------------------------------

FACILITY_FORM = {
    "name": "Lakeside Store",
    "facility_type": "retail_store",
    "address_line1": "2501 Wabash Ave",
    "city": "Springfield",
    "state": "IL",
    "postal_code": "62704",
    "lat": "39.7817",
    "lon": "-89.6501",
}


def test_a_manager_creates_a_facility_of_their_own_organization(app, manager, site, other_site):
    manager.get("/console/facilities")
    assert 'href="/console/facilities/new"' in manager.html

    # A forged organization is not the manager's to choose: the form has no such field.
    answer = send(
        manager, "/console/facilities/new", {**FACILITY_FORM, "organization_id": other_site.org.id}
    )

    assert answer.status_code == 302
    facility_id = int(re.search(r"/console/facilities/(\d+)\?notice=created", answer.location)[1])
    created = fetch(app, Facility, facility_id)
    assert (created.name, created.organization_id, created.lat) == (
        "Lakeside Store",
        site.org.id,
        39.7817,
    )
    manager.get(answer.location)
    assert "Facility created." in manager.html


def test_an_administrator_picks_the_organization(app, console, make, site):
    console.sign_in(make.user("admin"))
    console.get("/console/facilities/new")
    assert f'<option value="{site.org.id}">Harbor Partners</option>' in console.html

    answer = send(console, "/console/facilities/new", {**FACILITY_FORM, "organization_id": ""})
    assert answer.status_code == 422
    assert "organization_id" in console.errors()

    answer = console.post(
        "/console/facilities/new", {**FACILITY_FORM, "organization_id": str(site.org.id)}
    )
    assert answer.status_code == 302
    assert count(app, Facility, Facility.organization_id == site.org.id) == 2


def test_a_new_facility_with_bad_input_is_refused_beside_the_field(app, manager):
    answer = send(manager, "/console/facilities/new", {**FACILITY_FORM, "state": "Illinois"})

    assert answer.status_code == 422
    assert "Two capital letters" in manager.errors()["state"]
    assert box_value(manager.html, "name") == "Lakeside Store"  # nothing typed is lost
    assert count(app, Facility) == 1


# --- contacts --------------------------------------------------------------------------------


def test_contacts_are_listed_in_call_order_24_7_first_and_shared_ones_marked(manager, make, site):
    make.contact(facility_id=site.facility.id, name="Ann Early", call_order=1)
    make.contact(facility_id=site.facility.id, name="Bo Night", call_order=2, available_24_7=True)
    shared = make.contact(
        organization_id=site.org.id,
        name="Cy Regional",
        facilities=[{"facility_id": site.facility.id, "call_order": 3}],
    )

    manager.get(f"{site.base}/contacts")

    names = re.findall(r'/contacts/\d+">([^<]+)</a>', manager.html)
    assert names == ["Bo Night", "Ann Early", "Cy Regional"]
    row = manager.html[manager.html.index("Bo Night") :]
    assert '<span class="tag always">24/7</span>' in row[: row.index("</tr>")]
    row = manager.html[manager.html.index("Cy Regional") :]
    assert '<span class="tag">shared</span>' in row[: row.index("</tr>")]
    assert f'href="{site.base}/contacts/{shared.id}"' in manager.html
    # The facility page shows them at a glance in the same order.
    manager.get(site.base)
    assert manager.html.index("Bo Night") < manager.html.index("Ann Early")


def test_adding_a_contact_stores_its_phones_in_order(app, manager, site):
    answer = send(
        manager,
        f"{site.base}/contacts",
        {
            "name": "Dana Lee",
            "role": "Security manager",
            "call_order": "2",
            "available_24_7": "on",
            "phones-0-kind": "office",
            "phones-0-number": "(217) 555-0100",
            "phones-0-extension": "204",
            "phones-1-kind": "mobile",
            "phones-1-number": "+1 217 555 0123",
            "phones-2-kind": "mobile",
            "phones-2-number": "",
        },
    )

    assert answer.status_code == 302
    (contact,) = _contacts(app)
    assert (contact.facility_id, contact.name, contact.call_order, contact.available_24_7) == (
        site.facility.id,
        "Dana Lee",
        2,
        True,
    )
    assert contact.phones == [
        {"kind": "office", "number": "+12175550100", "extension": "204"},
        {"kind": "mobile", "number": "+12175550123", "extension": None},
    ]
    manager.get(answer.location)
    assert "Added." in manager.html and "+12175550100 x204" in manager.html


def test_a_bad_phone_is_refused_beside_its_row_and_nothing_is_added(app, manager, site):
    answer = send(
        manager,
        f"{site.base}/contacts",
        {
            "name": "Dana Lee",
            "phones-0-kind": "mobile",
            "phones-0-number": "+12175550100",
            "phones-1-kind": "office",
            "phones-1-number": "12",
        },
    )

    assert answer.status_code == 422
    errors = manager.errors()
    assert set(errors) == {"phones-1-number"}
    assert box_value(manager.html, "phones-1-number") == "12"
    assert box_value(manager.html, "name") == "Dana Lee"
    assert _contacts(app) == []

    send(manager, f"{site.base}/contacts", {"name": "", "call_order": "0"})
    assert manager.page.status_code == 422
    assert {"name", "call_order"} <= set(manager.errors())
    assert _contacts(app) == []


def test_editing_a_contact_changes_its_fields_and_phones(app, manager, make, site):
    contact = make.contact(facility_id=site.facility.id, name="Dana Lee")
    path = f"{site.base}/contacts/{contact.id}"
    manager.get(path)
    assert box_value(manager.html, "phones-0-number") == "+12175550123"

    answer = manager.post(
        path,
        {
            "version": str(contact.version),
            "name": "Dana Lee-Park",
            "call_order": "4",
            "phones-0-kind": "mobile",
            "phones-0-number": "",
            "phones-1-kind": "desk",
            "phones-1-number": "2175550199",
        },
    )

    assert answer.status_code == 302
    saved = fetch(app, Contact, contact.id)
    assert (saved.name, saved.call_order, saved.available_24_7) == ("Dana Lee-Park", 4, False)
    assert saved.phones == [{"kind": "desk", "number": "+12175550199", "extension": None}]


def test_a_shared_contact_is_edited_once_and_its_place_is_this_facilitys(app, manager, make, site):
    second = make.facility(site.org, name="Harbor Annex")
    shared = make.contact(
        organization_id=site.org.id,
        name="Cy Regional",
        call_order=7,
        facilities=[
            {"facility_id": site.facility.id, "call_order": 3},
            {"facility_id": second.id, "call_order": 1},
        ],
    )
    path = f"{site.base}/contacts/{shared.id}"
    manager.get(path)
    assert "listed at 2 facilities" in manager.html
    assert box_value(manager.html, "call_order") == "3"
    assert "Delete Cy Regional" not in manager.html

    answer = manager.post(
        path,
        {
            "version": str(shared.version),
            "name": "Cy Regional",
            "role": "Regional security director",
            "call_order": "1",
            "phones-0-kind": "mobile",
            "phones-0-number": "+12175550123",
        },
    )

    assert answer.status_code == 302
    saved = fetch(app, Contact, shared.id)
    assert (saved.role, saved.call_order) == ("Regional security director", 7)
    places = {
        row.facility_id: row.call_order
        for row in _rows(app, ContactAssignment, ContactAssignment.contact_id == shared.id)
    }
    assert places == {site.facility.id: 1, second.id: 1}
    # Deleting it here would take it from every facility: refused.
    answer = send(manager, f"{path}/delete", {"version": str(saved.version)}, page=path)
    assert answer.status_code == 403
    assert fetch(app, Contact, shared.id).deleted_at is None


def test_deleting_a_contact_is_soft_and_carries_the_version(app, manager, make, site):
    contact = make.contact(facility_id=site.facility.id, name="Dana Lee")
    path = f"{site.base}/contacts/{contact.id}"

    stale = send(manager, f"{path}/delete", {"version": "99"}, page=path)
    assert stale.status_code == 409
    assert fetch(app, Contact, contact.id).deleted_at is None

    answer = send(manager, f"{path}/delete", {"version": str(contact.version)}, page=path)
    assert answer.status_code == 302
    assert fetch(app, Contact, contact.id).deleted_at is not None
    manager.get(answer.location)
    assert "Deleted." in manager.html and "Dana Lee" not in manager.html


def test_a_stale_contact_form_shows_the_other_persons_change(
    app, manager, other_console, make, site
):
    contact = make.contact(facility_id=site.facility.id, name="Dana Lee", role="Guard")
    path = f"{site.base}/contacts/{contact.id}"
    manager.get(path)  # opened at version 1
    other_console.sign_in(make.user("facility_manager", organization=site.org))
    send(
        other_console,
        path,
        {
            "version": "1",
            "name": "Dana Lee",
            "role": "Head of security",
            "phones-0-kind": "mobile",
            "phones-0-number": "+12175550123",
        },
    )
    assert other_console.page.status_code == 302

    answer = manager.post(
        path,
        {
            "version": "1",
            "name": "Dana Lee",
            "role": "Night guard",
            "phones-0-kind": "mobile",
            "phones-0-number": "+12175550123",
        },
    )

    assert answer.status_code == 409
    assert "Someone else saved a change" in manager.html
    assert box_value(manager.html, "role") == "Head of security"  # their version, in the box
    assert "Night guard" in manager.html  # what this person typed, shown beside it
    assert 'name="version" value="2"' in manager.html
    assert fetch(app, Contact, contact.id).role == "Head of security"


# --- access points and their codes -----------------------------------------------------------


def test_a_code_goes_in_and_never_comes_back_out(app, manager, other_console, make, site):
    pages = []

    def seen():
        pages.append(manager.html)

    answer = send(
        manager,
        f"{site.base}/access-points",
        {"name": "Door A", "kind": "entrance", "code": CODE, "key_location": KEY_LOCATION},
    )
    assert answer.status_code == 302
    (point,) = _rows(app, AccessPoint)
    assert stored_secrets(app, point.id) == (CODE, KEY_LOCATION)
    path = f"{site.base}/access-points/{point.id}"
    for shown in (
        answer.location,
        path,
        site.base,
        f"/console/access-points/{point.id}/reveal",
        f"{site.base}/contacts",
        "/console/facilities?view=all",
    ):
        manager.get(shown)
        assert manager.page.status_code == 200
        seen()
    manager.get(path)
    assert "a code is on file" in manager.html
    assert box_value(manager.html, "code") is None
    assert re.search(r'<input id="code"[^>]*autocomplete="off"', manager.html)

    # An empty box keeps the stored code.
    manager.post(path, {"version": "1", "name": "Door A (north)", "kind": "entrance", "code": ""})
    assert manager.page.status_code == 302
    assert stored_secrets(app, point.id) == (CODE, KEY_LOCATION)

    # Refused for another field: the new code is not saved, and not shown again.
    send(manager, path, {"version": "2", "name": "", "kind": "entrance", "code": "5555#Z"})
    assert manager.page.status_code == 422
    seen()
    assert "not saved, and is not shown again" in manager.html
    assert stored_secrets(app, point.id)[0] == CODE

    # Refused for a stale version: not shown either.
    other_console.sign_in(make.user("facility_manager", organization=site.org))
    send(other_console, path, {"version": "2", "name": "Door A", "kind": "entrance"})
    manager.post(path, {"version": "2", "name": "Door A", "kind": "entrance", "code": "6666#Y"})
    assert manager.page.status_code == 409
    seen()

    # A code typed in replaces it; "remove" clears the key location.
    send(
        manager,
        path,
        {"version": "3", "name": "Door A", "kind": "entrance", "code": "8888#W"},
    )
    assert manager.page.status_code == 302
    send(
        manager,
        path,
        {"version": "4", "name": "Door A", "kind": "entrance", "remove_key_location": "on"},
    )
    assert manager.page.status_code == 302
    assert stored_secrets(app, point.id) == ("8888#W", None)
    manager.get(path)
    seen()
    for html in pages:
        for secret in (CODE, KEY_LOCATION, "5555#Z", "6666#Y", "8888#W"):
            assert secret not in html


def test_a_code_both_typed_and_removed_is_refused(app, manager, make, site):
    point = make.access_point(site.facility, code=CODE)
    path = f"{site.base}/access-points/{point.id}"

    answer = send(
        manager,
        path,
        {
            "version": "1",
            "name": "Main entrance",
            "kind": "entrance",
            "code": "1111",
            "remove_code": "on",
        },
    )

    assert answer.status_code == 422
    assert "not both" in manager.errors()["code"]
    assert stored_secrets(app, point.id)[0] == CODE
    assert fetch(app, AccessPoint, point.id).version == 1


def test_bad_access_point_input_is_refused_beside_the_field(app, manager, site):
    answer = send(
        manager,
        f"{site.base}/access-points",
        {"name": "Door A", "kind": "window", "lat": "91", "lon": "-89.6", "code": CODE},
    )
    assert answer.status_code == 422
    assert {"kind", "lat"} <= set(manager.errors())
    assert box_value(manager.html, "name") == "Door A"
    assert box_value(manager.html, "lat") == "91"

    # Half a position is no position.
    send(
        manager,
        f"{site.base}/access-points",
        {"name": "Door A", "kind": "entrance", "lat": "39.8", "lon": "", "code": CODE},
    )
    assert manager.page.status_code == 422
    assert "together" in manager.errors()["lat"]
    assert CODE not in manager.html
    assert count(app, AccessPoint) == 0


def test_deleting_an_access_point_is_soft(app, manager, make, site):
    point = make.access_point(site.facility, code=CODE)
    path = f"{site.base}/access-points/{point.id}"

    answer = send(manager, f"{path}/delete", {"version": "1"}, page=path)

    assert answer.status_code == 302
    assert fetch(app, AccessPoint, point.id).deleted_at is not None
    assert manager.get(path).status_code == 404


# --- revealing a code ------------------------------------------------------------------------


def test_a_manager_reveals_a_code_once_with_a_reason(app, manager, make, site):
    point = make.access_point(site.facility, name="Dock 2", code=CODE, key_location=KEY_LOCATION)
    path = f"/console/access-points/{point.id}/reveal"

    answer = send(manager, path, {"reason": "Checking it with the night manager"})

    assert answer.status_code == 200
    assert f'<output class="secret">{CODE}</output>' in manager.html
    assert KEY_LOCATION in manager.html
    assert answer.headers["Cache-Control"] == "no-store"
    (event,) = audit_events(app, "access_point.reveal")
    assert event.details["outcome"] == "revealed"
    assert event.details["reason"] == "Checking it with the night manager"
    assert (event.record_id, event.actor) == (point.id, f"user:{site.manager.id}")
    # Only that answer shows it.
    manager.get(path)
    assert CODE not in manager.html


def test_a_stale_sign_in_needs_the_password_to_reveal(app, manager, make, site):
    point = make.access_point(site.facility, code=CODE)
    path = f"/console/access-points/{point.id}/reveal"
    age_sign_in(app)

    send(manager, path, {"reason": "Night check"})
    assert manager.page.status_code == 422
    assert "Enter your password again" in manager.errors()["password"]
    send(manager, path, {"reason": "Night check", "password": "not-my-password"})
    assert manager.page.status_code == 422
    assert "not your password" in manager.errors()["password"]
    assert box_value(manager.html, "reason") == "Night check"
    assert box_value(manager.html, "password") is None
    assert CODE not in manager.html
    refusals = audit_events(app, "access_point.reveal")
    assert [e.details.get("refused_because") for e in refusals] == ["fresh_login_required"] * 2

    send(manager, path, {"reason": "Night check", "password": "correct-horse-battery"})

    assert manager.page.status_code == 200
    assert CODE in manager.html
    assert audit_events(app, "access_point.reveal")[-1].details["outcome"] == "revealed"


def test_a_reveal_needs_a_reason(app, manager, make, site):
    point = make.access_point(site.facility, code=CODE)

    send(manager, f"/console/access-points/{point.id}/reveal", {"reason": ""})

    assert manager.page.status_code == 422
    assert "reason" in manager.errors()
    assert CODE not in manager.html
    (event,) = audit_events(app, "access_point.reveal")
    assert event.details["refused_because"] == "invalid_request"


# --- tactical points -------------------------------------------------------------------------


def test_adding_a_tactical_point_with_its_position(app, manager, site):
    manager.get(f"{site.base}/tactical-points")
    assert 'data-pick-lat="lat" data-pick-lon="lon"' in manager.html
    assert '<input id="lat"' in manager.html  # the keyboard's way, without the map

    answer = send(
        manager,
        f"{site.base}/tactical-points",
        {"name": "Staging B", "kind": "staging_area", "lat": "39.80125", "lon": "-89.60211"},
    )

    assert answer.status_code == 302
    (point,) = _rows(app, TacticalPoint)
    assert (point.facility_id, point.name, point.lat, point.lon) == (
        site.facility.id,
        "Staging B",
        39.80125,
        -89.60211,
    )
    manager.get(answer.location)
    assert "&#34;label&#34;: &#34;Staging B&#34;" in manager.html  # on the map


def test_a_half_address_or_a_bad_position_is_refused(app, manager, site):
    answer = send(
        manager,
        f"{site.base}/tactical-points",
        {
            "name": "Reunification",
            "kind": "reunification_site",
            "lat": "95",
            "lon": "-89.6",
            "address_line1": "400 E Adams St",
        },
    )
    assert answer.status_code == 422
    assert "lat" in manager.errors()

    send(
        manager,
        f"{site.base}/tactical-points",
        {"name": "Reunification", "kind": "reunification_site", "address_line1": "400 E Adams St"},
    )
    assert manager.page.status_code == 422
    assert {"city", "state", "postal_code"} <= set(manager.errors())
    assert " open>" in manager.html  # the section with the address is open
    assert count(app, TacticalPoint) == 0


def test_editing_and_deleting_a_tactical_point(app, manager, other_console, make, site):
    point = make.tactical_point(site.facility, name="North lot")
    path = f"{site.base}/tactical-points/{point.id}"

    send(
        manager,
        path,
        {"version": "1", "name": "North lot", "kind": "command_post", "capacity": "40"},
    )
    assert manager.page.status_code == 302
    saved = fetch(app, TacticalPoint, point.id)
    assert (saved.kind, saved.capacity, saved.version) == ("command_post", 40, 2)

    # A form opened before that change: 409, the saved kind shown.
    send(manager, path, {"version": "1", "name": "North lot", "kind": "triage_area"})
    assert manager.page.status_code == 409
    assert '<option value="command_post" selected>' in manager.html
    assert fetch(app, TacticalPoint, point.id).kind == "command_post"

    send(manager, f"{path}/delete", {"version": "2"}, page=path)
    assert manager.page.status_code == 302
    assert fetch(app, TacticalPoint, point.id).deleted_at is not None


# --- floor plans -----------------------------------------------------------------------------


def test_uploading_a_floor_plan_and_seeing_its_preview(app, manager, site):
    path = f"{site.base}/floor-plans"
    manager.get(path)
    assert 'enctype="multipart/form-data"' in manager.html

    answer = upload(manager, path, sample_files.png(), title="Ground floor, east")

    assert answer.status_code == 302
    (plan,) = _rows(app, FloorPlan)
    assert (plan.facility_id, plan.title, plan.level_number, plan.level_label) == (
        site.facility.id,
        "Ground floor, east",
        0,
        "G",
    )
    manager.get(answer.location)
    assert "Floor plan uploaded." in manager.html and "Ground floor, east" in manager.html
    src = re.search(r'<img class="preview" src="([^"]+)"', manager.html)[1]
    preview = manager.client.get(src, buffered=True)
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert preview.data.startswith(b"\x89PNG")
    assert preview.headers["Content-Security-Policy"] == "sandbox"
    (event,) = audit_events(app, "floor_plan.preview")
    assert (event.record_id, event.facility_id) == (plan.id, site.facility.id)
    download = manager.client.get(f"/console/floor-plans/{plan.id}/file", buffered=True)
    assert download.data == sample_files.png()
    assert "attachment" in download.headers["Content-Disposition"]


def test_a_file_that_is_not_a_plan_is_refused_beside_the_file_box(app, manager, site):
    path = f"{site.base}/floor-plans"

    answer = upload(manager, path, b"<html><script>alert(1)</script></html>", name="plan.png")
    assert answer.status_code == 422
    assert "file" in manager.errors()
    assert box_value(manager.html, "title") == "Ground floor"

    answer = upload(manager, path, sample_files.png(), level_number="up")
    assert answer.status_code == 422
    assert "level_number" in manager.errors()

    manager.get(path)
    answer = manager.client.post(
        path,
        data={
            "csrf_token": manager.csrf(),
            "title": "G",
            "building": "Main",
            "level_number": "0",
            "level_label": "G",
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    assert count(app, FloorPlan) == 0


def test_an_upload_over_the_limit_is_413_and_stores_nothing(app, manager, site, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTRY_MAX_UPLOAD_BYTES", 4096)

    answer = upload(manager, f"{site.base}/floor-plans", sample_files.png() + b"\0" * 8000)

    assert answer.status_code == 413
    assert "larger than the limit" in manager.html
    assert count(app, FloorPlan) == 0


def test_editing_and_deleting_a_floor_plan(app, manager, site):
    upload(manager, f"{site.base}/floor-plans", sample_files.png())
    (plan,) = _rows(app, FloorPlan)
    path = f"{site.base}/floor-plans/{plan.id}"

    send(manager, path, {"version": "1", "title": "Ground floor (2026)", "level_label": "L0"})
    assert manager.page.status_code == 302
    assert (fetch(app, FloorPlan, plan.id).title, fetch(app, FloorPlan, plan.id).level_label) == (
        "Ground floor (2026)",
        "L0",
    )
    send(manager, path, {"version": "1", "title": "Old", "level_label": "G"})
    assert manager.page.status_code == 409
    assert box_value(manager.html, "title") == "Ground floor (2026)"

    send(manager, f"{path}/delete", {"version": "2"}, page=path)
    assert manager.page.status_code == 302
    assert fetch(app, FloorPlan, plan.id).deleted_at is not None


# --- confirm all -----------------------------------------------------------------------------


def test_confirm_all_marks_the_facility_and_its_parts(app, manager, make, site):
    contact = make.contact(facility_id=site.facility.id)
    point = make.tactical_point(site.facility)
    manager.get(site.base)
    assert "Last confirmed: never" in manager.html

    answer = manager.post(f"{site.base}/confirmation", {"version": "1"})

    assert answer.status_code == 302
    manager.get(answer.location)
    assert "every part of this pre-plan is marked as still accurate" in manager.html
    username = site.manager.username
    for model, record_id in (
        (Facility, site.facility.id),
        (Contact, contact.id),
        (TacticalPoint, point.id),
    ):
        assert fetch(app, model, record_id).confirmed_by == username
    (event,) = audit_events(app, "facility.confirm")
    assert event.details["confirmed"]["contacts"] == 1


def test_confirm_all_from_a_stale_page_is_a_conflict(app, manager, site):
    manager.get(site.base)
    send(manager, site.base, {"version": "1", "name": "Harbor Mall North"}, page=site.base)

    answer = send(manager, f"{site.base}/confirmation", {"version": "1"}, page=site.base)

    assert answer.status_code == 409
    assert "Someone else saved a change" in manager.html
    assert box_value(manager.html, "name") == "Harbor Mall North"
    assert fetch(app, Facility, site.facility.id).version == 2  # the edit only
    assert audit_events(app, "facility.confirm") == []


# --- another organization's facility ---------------------------------------------------------


def test_another_organizations_pages_are_not_found(manager, other_site, make):
    base = other_site.base
    plan = make.facility(other_site.org)  # unused: a second facility changes nothing
    for path in (
        base,
        f"{base}/contacts",
        f"{base}/contacts/{other_site.contact.id}",
        f"{base}/access-points",
        f"{base}/access-points/{other_site.access_point.id}",
        f"/console/access-points/{other_site.access_point.id}/reveal",
        f"{base}/tactical-points",
        f"{base}/tactical-points/{other_site.tactical_point.id}",
        f"{base}/floor-plans",
        f"/console/facilities/{plan.id}",
    ):
        assert manager.get(path).status_code == 404, path
        assert "Other" not in manager.html


def test_forged_forms_for_another_organization_change_nothing(app, manager, site, other_site):
    manager.get(site.base)  # a page of their own, for a valid token
    token = manager.csrf()
    base, own = other_site.base, site.base
    contact, point = other_site.contact.id, other_site.access_point.id
    tactical = other_site.tactical_point.id
    forged = [
        (base, {"version": "1", "name": "Hacked"}),
        (f"{base}/confirmation", {"version": "1"}),
        (f"{base}/contacts", {"name": "Planted"}),
        (f"{base}/contacts/{contact}", {"version": "1", "name": "Hacked"}),
        (f"{base}/contacts/{contact}/delete", {"version": "1"}),
        (f"{base}/access-points", {"name": "Planted", "kind": "entrance"}),
        (f"{base}/access-points/{point}", {"version": "1", "name": "Hacked", "code": "0000"}),
        (f"{base}/access-points/{point}/delete", {"version": "1"}),
        (f"/console/access-points/{point}/reveal", {"reason": "Curious"}),
        (f"{base}/tactical-points", {"name": "Planted", "kind": "staging_area"}),
        (
            f"{base}/tactical-points/{tactical}",
            {"version": "1", "name": "Hacked", "kind": "staging_area"},
        ),
        (f"{base}/tactical-points/{tactical}/delete", {"version": "1"}),
        # Their records through the manager's own facility's pages.
        (f"{own}/contacts/{contact}", {"version": "1", "name": "Hacked"}),
        (f"{own}/contacts/{contact}/delete", {"version": "1"}),
        (f"{own}/access-points/{point}", {"version": "1", "name": "Hacked", "kind": "entrance"}),
        (f"{own}/tactical-points/{tactical}/delete", {"version": "1"}),
    ]
    for path, form in forged:
        answer = manager.post(path, form, csrf=token)
        assert answer.status_code == 404, path
        assert "9999#X" not in manager.html

    answer = upload(manager, f"{base}/floor-plans", sample_files.png(), csrf_token=token)
    assert answer.status_code == 404
    assert count(app, FloorPlan) == 0
    assert fetch(app, Facility, other_site.facility.id).version == 1
    assert count(app, Contact) == 1 and fetch(app, Contact, contact).version == 1
    assert count(app, AccessPoint) == 1 and fetch(app, AccessPoint, point).version == 1
    assert count(app, TacticalPoint) == 1 and fetch(app, TacticalPoint, tactical).version == 1
    # The forged reveal is in the audit trail, refused, as the API's would be.
    (event,) = audit_events(app, "access_point.reveal")
    assert (event.details["outcome"], event.details["refused_because"]) == (
        "refused",
        "not_allowed",
    )


def test_an_agency_user_may_not_open_the_managers_pages(console, make, site):
    console.sign_in(make.user("agency_user", agency=make.agency()))
    for path in ("/console/facilities/new", f"{site.base}/contacts"):
        assert console.get(path).status_code == 403


# --- the form check --------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "not-the-token"])
def test_a_form_without_its_token_is_refused_and_changes_nothing(app, manager, make, site, token):
    contact = make.contact(facility_id=site.facility.id)
    point = make.access_point(site.facility, code=CODE)
    forms = [
        (f"{site.base}/contacts", {"name": "Planted"}),
        (f"{site.base}/contacts/{contact.id}", {"version": "1", "name": "Changed"}),
        (f"{site.base}/access-points/{point.id}", {"version": "1", "name": "Changed", "code": "1"}),
        (f"{site.base}/access-points/{point.id}/delete", {"version": "1"}),
        (f"/console/access-points/{point.id}/reveal", {"reason": "Curious"}),
        (f"{site.base}/tactical-points", {"name": "Planted", "kind": "staging_area"}),
        (f"{site.base}/confirmation", {"version": "1"}),
        ("/console/facilities/new", FACILITY_FORM),
    ]
    for path, form in forms:
        data = form if token is None else {**form, "csrf_token": token}
        answer = manager.client.post(path, data=data)
        assert answer.status_code == 403, path
    answer = manager.client.post(
        f"{site.base}/floor-plans",
        data={
            "title": "G",
            "building": "B",
            "level_number": "0",
            "level_label": "G",
            "file": (io.BytesIO(sample_files.png()), "plan.png"),
            **({} if token is None else {"csrf_token": token}),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 403
    assert count(app, Contact) == 1 and fetch(app, Contact, contact.id).version == 1
    assert fetch(app, AccessPoint, point.id).version == 1
    assert stored_secrets(app, point.id)[0] == CODE
    assert count(app, TacticalPoint) == 0 and count(app, FloorPlan) == 0
    assert count(app, Facility) == 1 and fetch(app, Facility, site.facility.id).confirmed_at is None
    assert audit_events(app, "access_point.reveal") == []


def _rows(app, model, *where) -> list:
    with app.app_context(), transaction.session_scope() as session:
        key = model.__table__.primary_key.columns
        rows = session.scalars(select(model).where(*where).order_by(*key)).all()
        session.expunge_all()
        return rows


def _contacts(app) -> list[Contact]:
    return _rows(app, Contact)


def test_an_add_form_sent_twice_adds_once(app, console, make):
    """Back, then Send again: the form's one-time key was stored with the first contact."""
    organization = make.organization()
    facility = make.facility(organization)
    console.sign_in(make.user("facility_manager", organization=organization))
    action = f"/console/facilities/{facility.id}/contacts"
    console.get(action)
    sent = {
        **form_fields(console.html, action),
        "name": "Night security desk",
        "available_24_7": "on",
        "phones-0-number": "+12175550199",
    }

    first = console.post(action, sent, csrf=sent["csrf_token"])
    again = console.post(action, sent, csrf=sent["csrf_token"])

    assert first.status_code == 302
    assert again.status_code == 409 and "already sent and saved" in console.html
    assert count(app, Contact, Contact.name == "Night security desk") == 1
