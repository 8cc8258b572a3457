"""The administrators' console pages through the test client: each form writes what the API's
write would (the database afterwards, and the API's audit event), refuses bad input beside
its field with nothing changed, asks for the password again when the API wants a fresh login,
and is closed to every other role, forged forms included."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from registry import db, transaction
from registry.agencies.models import Agency
from registry.auth.models import CadClient, User
from registry.auth.passwords import verify_secret
from registry.console.admin import common as admin_common
from registry.console.models import ConsoleSession
from registry.mous.models import Mou
from registry.organizations.models import Organization
from tests.conftest import PASSWORD, audit_events, count, fetch

STRONG = "a-long-first-password-1"


@pytest.fixture
def admin(console, make):
    """An administrator, signed in to `console` (just now: the sign-in is fresh)."""
    person = make.user("admin", full_name="Ada Admin")
    console.sign_in(person)
    return person


def events(app, action, record_id=None, actor=None) -> int:
    """How many audit events of `action` there are (about `record_id`, by `actor`)."""
    return sum(
        1
        for event in audit_events(app, action)
        if record_id in (None, event.record_id) and actor in (None, event.actor)
    )


def only(app, model, *where):
    """The one row of `model` (matching `where`), fresh from the database."""
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(select(model).where(*where)).all()
        assert len(rows) == 1, rows
        session.expunge(rows[0])
        return rows[0]


def make_stale(app, user) -> None:
    """The person's console sign-in is older than the fresh-login window."""
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.user_id == user.id)
            .values(password_at=db.utcnow() - timedelta(hours=2))
        )


# --- agencies ---------------------------------------------------------------------------------


def test_an_admin_creates_and_edits_an_agency(console, admin, app):
    console.get("/console/admin/agencies/new")
    page = console.post(
        "/console/admin/agencies/new",
        {
            "name": "Springfield Police Department",
            "agency_type": "law_enforcement",
            "ori": "IL0840200",
            "state": "IL",
            "county_fips": "17167, 17031",
            "dispatch_phone": "(217) 555-0100",
            "email": "",
        },
    )
    assert page.status_code == 302, console.errors()
    agency = only(app, Agency)
    assert (agency.name, agency.ori, agency.county_fips) == (
        "Springfield Police Department",
        "IL0840200",
        ["17167", "17031"],
    )
    assert agency.dispatch_phone == "+12175550100"  # the API's phone rule
    assert page.headers["Location"].endswith(f"/console/admin/agencies/{agency.id}?notice=created")
    assert events(app, "agency.create", agency.id, f"user:{admin.id}") == 1

    console.get(page.headers["Location"])
    assert "Created." in console.html and 'value="17167, 17031"' in console.html
    page = console.post(
        f"/console/admin/agencies/{agency.id}",
        {
            "version": agency.version,
            "name": "Springfield Police Department",
            "agency_type": "law_enforcement",
            "state": "IL",
            "county_fips": "17167",
            "jurisdiction": "City of Springfield",
        },
    )
    assert page.status_code == 302, console.errors()
    saved = fetch(app, Agency, agency.id)
    assert (saved.county_fips, saved.jurisdiction) == (["17167"], "City of Springfield")
    assert saved.ori == "IL0840200"  # a field the form did not send stays as it was
    assert events(app, "agency.update", agency.id, f"user:{admin.id}") == 1


def test_bad_agency_input_is_shown_beside_its_field_and_saves_nothing(console, admin, app, make):
    console.get("/console/admin/agencies/new")
    page = console.post(
        "/console/admin/agencies/new",
        {"name": "Chatham PD", "agency_type": "law_enforcement", "ori": "chatham", "state": "IL"},
    )
    assert page.status_code == 422
    assert "An ORI is 9 characters" in console.errors()["ori"]
    assert 'value="Chatham PD"' in console.html  # what was typed is kept
    page = console.post(
        "/console/admin/agencies/new",
        {
            "name": "Chatham PD",
            "agency_type": "law_enforcement",
            "state": "IL",
            "county_fips": "06037",
        },
    )
    assert page.status_code == 422
    assert console.errors()["county_fips"] == "06037 is not a county of IL."
    assert count(app, Agency) == 0
    assert events(app, "agency.create") == 0

    agency = make.agency(name="Decatur FD", agency_type="fire")
    console.get(f"/console/admin/agencies/{agency.id}")
    page = console.post(
        f"/console/admin/agencies/{agency.id}",
        {"version": agency.version, "name": "", "agency_type": "fire"},
    )
    assert page.status_code == 422 and "name" in console.errors()
    assert fetch(app, Agency, agency.id).name == "Decatur FD"


# --- organizations ----------------------------------------------------------------------------


def test_an_admin_creates_and_edits_an_organization(console, admin, app):
    console.get("/console/admin/organizations/new")
    page = console.post(
        "/console/admin/organizations/new",
        {"name": "Prairie Goods Stores", "kind": "retailer", "website": "https://prairie.example"},
    )
    assert page.status_code == 302, console.errors()
    organization = only(app, Organization)
    assert (organization.kind, organization.website) == ("retailer", "https://prairie.example")
    assert events(app, "organization.create", organization.id, f"user:{admin.id}") == 1

    console.get(f"/console/admin/organizations/{organization.id}")
    page = console.post(
        f"/console/admin/organizations/{organization.id}",
        {"version": organization.version, "name": "Prairie Goods", "kind": "retailer"},
    )
    assert page.status_code == 302
    assert fetch(app, Organization, organization.id).name == "Prairie Goods"
    assert events(app, "organization.update", organization.id) == 1


def test_a_taken_organization_name_is_refused_beside_the_name(console, admin, app, make):
    make.organization(name="White Oaks Mall LLC")
    console.get("/console/admin/organizations/new")
    page = console.post(
        "/console/admin/organizations/new", {"name": "White Oaks Mall LLC", "kind": "mall_owner"}
    )
    assert page.status_code == 409  # the API's answer to a taken unique value
    assert "already exists" in console.errors()["name"]
    assert count(app, Organization) == 1


def test_an_edit_from_a_stale_form_shows_the_other_change_and_overwrites_nothing(
    console, other_console, admin, app, make
):
    organization = make.organization(name="Harbor Mall")
    console.get(f"/console/admin/organizations/{organization.id}")
    stale_version = organization.version
    other_console.sign_in(make.user("admin"))
    other_console.get(f"/console/admin/organizations/{organization.id}")
    other_console.post(
        f"/console/admin/organizations/{organization.id}",
        {"version": stale_version, "name": "Harbor Mall", "kind": "mall_owner", "notes": "Theirs"},
    )
    assert other_console.page.status_code == 302

    page = console.post(
        f"/console/admin/organizations/{organization.id}",
        {"version": stale_version, "name": "Harbour Mall", "kind": "retailer"},
    )
    assert page.status_code == 409
    assert "Someone else saved a change" in console.html
    assert "Theirs" in console.html  # their version is what the form now shows
    saved = fetch(app, Organization, organization.id)
    assert (saved.name, saved.kind, saved.notes) == ("Harbor Mall", "mall_owner", "Theirs")


def test_lists_are_paginated_and_searchable(console, admin, make):
    for n in range(30):
        make.organization(name=f"Partner {n:02d}")
    make.organization(name="Harbor Mall Holdings")
    console.get("/console/admin/organizations")
    assert "31 organizations" in console.html and "Page 1 of 2" in console.html
    assert console.html.count("/console/admin/organizations/") == 25 + 1  # + "new"
    assert "Harbor Mall Holdings" in console.html and "Partner 29" not in console.html
    console.get("/console/admin/organizations?page=2")
    assert "Partner 29" in console.html and "Partner 00" not in console.html
    console.get("/console/admin/organizations?q=harbor")
    assert "1 organization matching" in console.html and "Harbor Mall Holdings" in console.html

    make.user("facility_manager", organization=make.organization(), full_name="Dana Lee")
    console.get("/console/admin/users?q=dana")
    assert "1 user matching" in console.html and "Dana Lee" in console.html
    console.get("/console/admin/users?role=admin")
    assert "1 user" in console.html and "Ada Admin" in console.html


# --- users ------------------------------------------------------------------------------------


def test_an_admin_creates_a_facility_manager_who_can_then_sign_in(
    console, other_console, admin, app, make
):
    organization = make.organization(name="Prairie Goods Stores")
    console.get(f"/console/admin/users/new?role=facility_manager&organization_id={organization.id}")
    assert f'<option value="{organization.id}" selected>' in console.html  # from the link
    page = console.post(
        "/console/admin/users/new",
        {
            "username": "dana.lee",
            "full_name": "Dana Lee",
            "email": "dana@prairie.example",
            "role": "facility_manager",
            "organization_id": str(organization.id),
            "agency_id": "",
            "password": STRONG,
        },
    )
    assert page.status_code == 302, console.errors()
    user = only(app, User, User.username == "dana.lee")
    assert (user.role, user.organization_id, user.agency_id, user.is_active) == (
        "facility_manager",
        organization.id,
        None,
        True,
    )
    assert verify_secret(user.password_hash, STRONG)
    assert events(app, "user.create", user.id, f"user:{admin.id}") == 1
    assert STRONG not in console.get(f"/console/admin/users/{user.id}").get_data(as_text=True)

    other_console.sign_in(user, password=STRONG)
    assert other_console.page.headers["Location"] == "/console/"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"role": "facility_manager"}, "organization_id", "Required for role facility_manager."),
        ({"role": "agency_user"}, "agency_id", "Required for role agency_user."),
        ({"role": "admin", "agency_id": "AGENCY"}, "agency_id", "Must be empty for role admin."),
        (
            {"role": "facility_manager", "organization_id": "ORG", "agency_id": "AGENCY"},
            "agency_id",
            "Must be empty for role facility_manager.",
        ),
        (
            {"role": "auditor", "password": "short"},
            "password",
            "Length must be between 12 and 200.",
        ),
        ({"role": "auditor", "password": "pat.doe-is-my-name"}, "password", "Must not contain"),
        ({"role": "auditor", "username": "p d"}, "username", "3-80 letters, digits, _.@-"),
        ({"role": "boss"}, "role", "Must be one of"),
    ],
)
def test_a_refused_user_shows_why_beside_the_field(
    console, admin, app, make, fields, field, message
):
    organization, agency = make.organization(), make.agency()
    ids = {"ORG": str(organization.id), "AGENCY": str(agency.id)}
    form = {"username": "pat.doe", "password": STRONG, "organization_id": "", "agency_id": ""}
    form.update({k: ids.get(v, v) for k, v in fields.items()})
    console.get("/console/admin/users/new")
    page = console.post("/console/admin/users/new", form)
    assert page.status_code == 422
    assert message in console.errors()[field]
    assert count(app, User) == 1  # the administrator alone
    assert events(app, "user.create") == 0


def test_an_admin_deactivates_and_reactivates_a_user(console, other_console, admin, app, make):
    officer = make.user("agency_user", agency=make.agency(), full_name="Sam Officer")
    other_console.sign_in(officer)
    assert other_console.get("/console/account").status_code == 200

    console.get(f"/console/admin/users/{officer.id}")
    form = {
        "version": str(officer.version),
        "username": officer.username,
        "full_name": "Sam Officer",
        "role": "agency_user",
        "organization_id": "",
        "agency_id": str(officer.agency_id),
    }  # "is_active" unticked: sent as nothing
    page = console.post(f"/console/admin/users/{officer.id}", form)
    assert page.status_code == 302, console.errors()
    saved = fetch(app, User, officer.id)
    assert saved.is_active is False and saved.tokens_valid_after is not None
    assert events(app, "user.update", officer.id, f"user:{admin.id}") == 1
    # Their session ended with it, and they cannot sign in again.
    assert other_console.get("/console/account").status_code == 302
    assert other_console.sign_in(officer).status_code == 401

    console.get(f"/console/admin/users/{officer.id}")
    assert "deactivated: cannot sign in" in console.html
    page = console.post(
        f"/console/admin/users/{officer.id}",
        {**form, "version": str(saved.version), "is_active": "on"},
    )
    assert page.status_code == 302
    assert fetch(app, User, officer.id).is_active is True
    assert other_console.sign_in(officer).status_code == 302


def test_an_admin_resets_a_password(console, other_console, admin, app, make):
    manager = make.user("facility_manager", organization=make.organization())
    other_console.sign_in(manager)
    path = f"/console/admin/users/{manager.id}/password"
    console.get(path)
    page = console.post(path, {"version": str(manager.version), "password": "short"})
    assert page.status_code == 422
    assert console.errors()["password"] == "Length must be between 12 and 200."
    assert verify_secret(fetch(app, User, manager.id).password_hash, PASSWORD)

    page = console.post(path, {"version": str(manager.version), "password": STRONG})
    assert page.status_code == 302, console.errors()
    assert verify_secret(fetch(app, User, manager.id).password_hash, STRONG)
    assert events(app, "user.update", manager.id, f"user:{admin.id}") == 1
    [reset] = audit_events(app, "user.update")
    assert STRONG not in str(reset.changes)
    assert other_console.get("/console/account").status_code == 302  # their session ended
    assert other_console.sign_in(manager).status_code == 401
    assert other_console.sign_in(manager, password=STRONG).status_code == 302


# --- CAD clients ------------------------------------------------------------------------------


def test_a_new_cad_clients_secret_is_shown_once_and_works(console, admin, app, make, client):
    agency = make.agency(name="Springfield PD")
    console.get(f"/console/admin/cad-clients/new?agency_id={agency.id}")
    page = console.post(
        "/console/admin/cad-clients/new",
        {"client_id": "springfield-cad", "name": "Springfield CAD", "agency_id": str(agency.id)},
    )
    # Answered with the page itself: no redirect could carry the secret but in a URL.
    assert page.status_code == 201 and "Location" not in page.headers
    assert page.headers["Cache-Control"] == "no-store"
    secret = console.html.split('<code class="client-secret">')[1].split("</code>")[0]
    assert len(secret) >= 32
    stored = only(app, CadClient)
    assert (stored.client_id, stored.agency_id) == ("springfield-cad", agency.id)
    assert verify_secret(stored.secret_hash, secret) and secret not in stored.secret_hash
    assert events(app, "cad_client.create", stored.id, f"user:{admin.id}") == 1
    [created] = audit_events(app, "cad_client.create")
    assert secret not in str(created.changes)

    token = client.post(
        "/api/v1/auth/token", json={"client_id": "springfield-cad", "client_secret": secret}
    )
    assert token.status_code == 200
    # Never again: not on the client's page, nor in the list.
    for path in (f"/console/admin/cad-clients/{stored.id}", "/console/admin/cad-clients"):
        assert secret not in console.get(path).get_data(as_text=True)

    # Deactivated: the secret gets no token any more.
    console.get(f"/console/admin/cad-clients/{stored.id}")
    page = console.post(
        f"/console/admin/cad-clients/{stored.id}",
        {
            "version": str(stored.version),
            "client_id": "springfield-cad",
            "name": "Springfield CAD",
            "agency_id": str(agency.id),
        },
    )
    assert page.status_code == 302, console.errors()
    assert fetch(app, CadClient, stored.id).is_active is False
    assert events(app, "cad_client.update", stored.id) == 1
    token = client.post(
        "/api/v1/auth/token", json={"client_id": "springfield-cad", "client_secret": secret}
    )
    assert token.status_code == 401


def test_a_cad_client_needs_an_agency_and_a_free_client_id(console, admin, app, make):
    agency = make.agency()
    make.cad_client(agency, client_id="taken-cad")
    console.get("/console/admin/cad-clients/new")
    page = console.post(
        "/console/admin/cad-clients/new", {"client_id": "new-cad", "name": "CAD", "agency_id": ""}
    )
    assert page.status_code == 422 and "agency_id" in console.errors()
    page = console.post(
        "/console/admin/cad-clients/new",
        {"client_id": "taken-cad", "name": "CAD", "agency_id": str(agency.id)},
    )
    assert page.status_code == 409
    assert "already exists" in console.errors()["client_id"]
    assert "client-secret" not in console.html
    assert count(app, CadClient) == 1


# --- MOUs -------------------------------------------------------------------------------------


def test_an_admin_drafts_an_mou_and_takes_it_to_active(console, admin, app, make):
    organization, agency = make.organization(), make.agency()
    store, mall = make.facility(organization), make.facility(organization)
    console.get(f"/console/admin/mous/new?organization_id={organization.id}")
    page = console.post(
        "/console/admin/mous/new",
        {
            "organization_id": str(organization.id),
            "agency_id": str(agency.id),
            "drafting_party": "organization",
            "title": "Pre-plan sharing",
            "effective_date": "2026-01-01",
            "expiry_date": "2027-12-31",
            "scopes": ["data_sharing", "training"],
            "facility_ids": f"{store.id}, {mall.id}",
        },  # "covers_all_facilities" unticked
    )
    assert page.status_code == 302, console.errors()
    mou = only(app, Mou)
    assert (mou.status, mou.drafting_party, mou.covers_all_facilities) == (
        "draft",
        "organization",
        False,
    )
    with app.app_context(), transaction.session_scope() as session:
        stored = session.get(Mou, mou.id)
        assert (stored.scopes, stored.facility_ids) == (
            ["data_sharing", "training"],
            sorted([store.id, mall.id]),
        )
    assert events(app, "mou.create", mou.id, f"user:{admin.id}") == 1

    path = f"/console/admin/mous/{mou.id}"
    console.get(path)
    assert "Propose it for the organization" in console.html
    page = console.post(path, {"version": str(mou.version), "step": "propose:organization"})
    assert page.status_code == 302, console.errors()
    assert fetch(app, Mou, mou.id).status == "proposed"
    assert events(app, "mou.propose", mou.id) == 1

    console.get(path)
    page = console.post(
        path, {"version": str(fetch(app, Mou, mou.id).version), "step": "accept:agency"}
    )
    assert page.status_code == 302, console.errors()
    active = fetch(app, Mou, mou.id)
    assert active.status == "active" and active.agency_accepted_by == admin.username
    assert events(app, "mou.accept", mou.id) == 1

    # Its terms are fixed now: the lifecycle's words, nothing changed.
    console.get(f"/console/admin/mous/{mou.id}/edit")
    page = console.post(
        f"/console/admin/mous/{mou.id}/edit",
        {
            "version": str(active.version),
            "organization_id": str(organization.id),
            "agency_id": str(agency.id),
            "title": "Another title",
            "effective_date": "2026-01-01",
            "scopes": ["data_sharing"],
            "covers_all_facilities": "on",
        },
    )
    assert page.status_code == 409
    assert "both parties accepted its terms" in console.html
    assert fetch(app, Mou, mou.id).title == "Pre-plan sharing"

    # Terminating wants a reason, told to the other party.
    console.get(path)
    version = str(active.version)
    page = console.post(path, {"version": version, "step": "terminate:agency", "reason": ""})
    assert page.status_code == 422 and "reason" in console.errors()
    page = console.post(
        path, {"version": version, "step": "terminate:agency", "reason": "Contract ended"}
    )
    assert page.status_code == 302, console.errors()
    assert fetch(app, Mou, mou.id).status == "terminated"


def test_an_admin_drafts_the_renewal_of_an_active_mou(console, admin, app, make):
    mou = make.mou(make.organization(), make.agency(), expiry_date=date.today() + timedelta(days=9))
    console.get(f"/console/admin/mous/{mou.id}")
    page = console.post(
        f"/console/admin/mous/{mou.id}", {"version": str(mou.version), "step": "renew:agency"}
    )
    assert page.status_code == 302, console.errors()
    renewal = only(app, Mou, Mou.supersedes_id == mou.id)
    assert (renewal.status, renewal.drafting_party) == ("draft", "agency")
    assert renewal.effective_date == mou.expiry_date + timedelta(days=1)
    assert page.headers["Location"].endswith(f"/console/admin/mous/{renewal.id}?notice=renew")
    assert events(app, "mou.renew", mou.id, f"user:{admin.id}") == 1


def test_a_step_from_a_stale_mou_page_is_refused(console, other_console, admin, app, make):
    mou = make.mou(make.organization(), make.agency(), status="proposed")
    path = f"/console/admin/mous/{mou.id}"
    console.get(path)
    other_console.sign_in(make.user("admin"))
    other_console.get(path)
    other_console.post(path, {"version": str(mou.version), "step": "terminate:organization",
                              "reason": "Withdrawn"})  # fmt: skip
    assert other_console.page.status_code == 302

    page = console.post(path, {"version": str(mou.version), "step": "accept:agency"})
    assert page.status_code == 409
    assert "Someone else saved a change" in console.html
    saved = fetch(app, Mou, mou.id)
    assert (saved.status, saved.agency_accepted_at) == ("terminated", None)
    assert events(app, "mou.accept") == 0


def test_too_many_organizations_for_a_list_are_picked_by_id(console, admin, app, make, monkeypatch):
    monkeypatch.setattr(admin_common, "MOST_CHOICES", 1)
    make.organization()
    organization = make.organization()
    console.get("/console/admin/users/new")
    assert '<select id="organization_id"' not in console.html
    assert '<input id="organization_id" name="organization_id"' in console.html
    page = console.post(
        "/console/admin/users/new",
        {"username": "pat.doe", "role": "facility_manager", "password": STRONG,
         "organization_id": str(organization.id), "agency_id": ""},
    )  # fmt: skip
    assert page.status_code == 302, console.errors()
    assert only(app, User, User.username == "pat.doe").organization_id == organization.id


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"scopes": []}, "scopes", "Length must be between 1 and 7."),
        ({"expiry_date": "2025-01-01"}, "expiry_date", "Must not be before effective_date."),
        ({"facility_ids": "OTHER"}, "facility_ids", "No facility with id"),
        ({"facility_ids": ""}, "facility_ids", "List the facilities"),
        ({"effective_date": "someday"}, "effective_date", "Not a valid date."),
        ({"agency_id": ""}, "agency_id", "Not a valid integer."),
    ],
)
def test_a_refused_mou_shows_why_beside_the_field(
    console, admin, app, make, fields, field, message
):
    organization, agency = make.organization(), make.agency()
    elsewhere = make.facility(make.organization())
    form = {
        "organization_id": str(organization.id),
        "agency_id": str(agency.id),
        "title": "Sharing",
        "effective_date": "2026-01-01",
        "scopes": ["data_sharing"],
        "facility_ids": str(make.facility(organization).id),
    }
    form.update({k: str(elsewhere.id) if v == "OTHER" else v for k, v in fields.items()})
    console.get("/console/admin/mous/new")
    page = console.post("/console/admin/mous/new", form)
    assert page.status_code == 422
    assert message in console.errors()[field]
    assert count(app, Mou) == 0 and events(app, "mou.create") == 0


# --- who may ----------------------------------------------------------------------------------


def admin_pages(make) -> list[str]:
    organization, agency = make.organization(), make.agency()
    user = make.user("auditor")
    client = make.cad_client(agency)
    mou = make.mou(organization, agency, status="draft")
    return [
        "/console/admin",
        "/console/admin/agencies",
        "/console/admin/agencies/new",
        f"/console/admin/agencies/{agency.id}",
        "/console/admin/organizations",
        "/console/admin/organizations/new",
        f"/console/admin/organizations/{organization.id}",
        "/console/admin/users",
        "/console/admin/users/new",
        f"/console/admin/users/{user.id}",
        f"/console/admin/users/{user.id}/password",
        "/console/admin/cad-clients",
        "/console/admin/cad-clients/new",
        f"/console/admin/cad-clients/{client.id}",
        "/console/admin/mous",
        "/console/admin/mous/new",
        f"/console/admin/mous/{mou.id}",
        f"/console/admin/mous/{mou.id}/edit",
    ]


def test_every_admin_page_opens_for_an_admin(console, admin, make):
    for path in admin_pages(make):
        assert console.get(path).status_code == 200, path
        assert 'aria-current="page"' in console.html or 'aria-current="true"' in console.html


@pytest.mark.parametrize("role", ["facility_manager", "agency_user", "auditor"])
def test_no_other_role_opens_an_admin_page(console, make, role):
    bound = {
        "facility_manager": {"organization": make.organization()},
        "agency_user": {"agency": make.agency()},
        "auditor": {},
    }[role]
    console.sign_in(make.user(role, **bound))
    for path in admin_pages(make):
        assert console.get(path).status_code == 403, path
        assert "This page is not for your role." in console.html


def test_a_managers_forged_admin_forms_change_nothing(console, app, make):
    organization = make.organization(name="Prairie Goods")
    manager = make.user("facility_manager", organization=organization)
    console.sign_in(manager)
    console.get("/console/account")
    token = console.csrf()  # the manager's own, valid form token
    forged = [
        ("/console/admin/organizations/new", {"name": "Shell Co", "kind": "other"}),
        (
            f"/console/admin/users/{manager.id}",
            {"version": "1", "username": manager.username, "role": "admin"},
        ),
        (
            "/console/admin/users/new",
            {"username": "mallory", "role": "admin", "password": STRONG},
        ),
        (f"/console/admin/organizations/{organization.id}", {"version": "1", "name": "Mine"}),
    ]
    for path, form in forged:
        assert console.post(path, form, csrf=token).status_code == 403, path
    assert count(app, Organization) == 1
    assert fetch(app, Organization, organization.id).name == "Prairie Goods"
    assert count(app, User) == 1 and fetch(app, User, manager.id).role == "facility_manager"
    assert events(app, "organization.create") == events(app, "user.update") == 0


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_an_admin_form_without_its_token_is_refused(console, admin, app, token):
    console.get("/console/admin/organizations/new")
    form = {"name": "Shell Co", "kind": "other"}
    if token is not None:
        form["csrf_token"] = token
    page = console.client.post("/console/admin/organizations/new", data=form)
    assert page.status_code == 403
    assert count(app, Organization) == 0


def test_a_form_from_another_site_is_refused(console, admin, app):
    console.get("/console/admin/organizations/new")
    page = console.post(
        "/console/admin/organizations/new",
        {"name": "Shell Co"},
        headers={"Origin": "https://evil.example"},
    )
    assert page.status_code == 403
    assert count(app, Organization) == 0


# --- the fresh-login rule ---------------------------------------------------------------------


def test_an_admin_signed_in_long_ago_gives_the_password_again(console, admin, app):
    make_stale(app, admin)
    console.get("/console/admin/organizations/new")
    assert 'id="password"' in console.html
    form = {"name": "Prairie Goods", "kind": "retailer"}
    page = console.post("/console/admin/organizations/new", form)
    assert page.status_code == 422
    assert console.errors()["password"] == "Enter your password again to do this."
    page = console.post("/console/admin/organizations/new", {**form, "password": "not-it"})
    assert page.status_code == 422
    assert "That is not your password" in console.errors()["password"]
    assert count(app, Organization) == 0
    # The wrong guess counts towards the lockout, and the trail keeps it.
    assert fetch(app, User, admin.id).failed_logins == 1
    assert events(app, "auth.login_failed", admin.id) == 1

    page = console.post("/console/admin/organizations/new", {**form, "password": PASSWORD})
    assert page.status_code == 302
    assert count(app, Organization) == 1
    # Fresh again for the next change.
    organization = only(app, Organization)
    console.get(f"/console/admin/organizations/{organization.id}")
    page = console.post(
        f"/console/admin/organizations/{organization.id}",
        {"version": str(organization.version), "name": "Prairie Goods Inc"},
    )
    assert page.status_code == 302


def test_the_user_forms_ask_for_the_admins_password_in_its_own_box(console, admin, app, make):
    """On a user's forms "password" is the person's new one; the administrator's goes in
    `current_password`, and one is never taken for the other."""
    make_stale(app, admin)
    manager = make.user("facility_manager", organization=make.organization())
    path = f"/console/admin/users/{manager.id}/password"
    console.get(path)
    page = console.post(path, {"version": str(manager.version), "password": PASSWORD})
    assert page.status_code == 422
    assert console.errors() == {"current_password": "Enter your password again to do this."}
    assert fetch(app, User, manager.id).version == manager.version

    page = console.post(
        path,
        {"version": str(manager.version), "password": STRONG, "current_password": PASSWORD},
    )
    assert page.status_code == 302, console.errors()
    assert verify_secret(fetch(app, User, manager.id).password_hash, STRONG)


def test_mou_steps_want_a_fresh_password_too(console, admin, app, make):
    mou = make.mou(make.organization(), make.agency(), status="draft")
    make_stale(app, admin)
    path = f"/console/admin/mous/{mou.id}"
    console.get(path)
    page = console.post(path, {"version": str(mou.version), "step": "propose:organization"})
    assert page.status_code == 422 and "password" in console.errors()
    assert fetch(app, Mou, mou.id).status == "draft"
    page = console.post(
        path,
        {"version": str(mou.version), "step": "propose:organization", "password": PASSWORD},
    )
    assert page.status_code == 302
    assert fetch(app, Mou, mou.id).status == "proposed"
