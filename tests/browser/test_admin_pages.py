"""An administrator onboards a partner, its facility manager, an agency with its dispatch system
and an MOU between them, in Chromium; then the new manager signs in."""

from sqlalchemy import select

from registry import transaction
from registry.agencies.models import Agency
from registry.auth.models import CadClient, User
from registry.auth.passwords import verify_secret
from registry.mous.models import Mou
from registry.organizations.models import Organization
from tests.conftest import count

FIRST_PASSWORD = "prairie-first-password-7"


def one(app, model, *where):
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(select(model).where(*where)).all()
        assert len(rows) == 1, rows
        record = rows[0]
        if isinstance(record, Mou):
            record.scopes  # noqa: B018 - load before detaching
        session.expunge(record)
        return record


def test_an_admin_onboards_an_organization_and_its_manager_who_then_signs_in(browser, make, app):
    admin = make.user("admin", full_name="Ada Admin")
    browser.sign_in(admin)
    assert browser.path == "/console/admin"
    browser.check_accessibility()

    browser.click("main a[href='/console/admin/organizations']")
    browser.check_accessibility()
    browser.click("a[href='/console/admin/organizations/new']")
    browser.check_accessibility()
    browser.fill("name", "Prairie Goods Stores")
    browser.choose("kind", "retailer")
    browser.fill("website", "prairie goods")
    browser.submit()
    assert "Not a valid URL." in browser.error_for("website")
    browser.check_accessibility()  # the form with its error beside the field
    assert count(app, Organization) == 0
    browser.fill("website", "https://prairie.example")
    browser.submit()
    assert "Created." in browser.text()
    organization = one(app, Organization)
    assert (organization.name, organization.website) == (
        "Prairie Goods Stores",
        "https://prairie.example",
    )

    # From the organization's page: a facility manager for it, the role and binding chosen.
    browser.click(f"a[href*='new?role=facility_manager&organization_id={organization.id}']")
    browser.check_accessibility()
    browser.fill("username", "dana.lee")
    browser.fill("full_name", "Dana Lee")
    browser.fill("email", "dana@prairie.example")
    browser.fill("password", "dana.lee-2026-password")
    browser.submit()
    assert "Must not contain the username." in browser.error_for("password")
    assert count(app, User) == 1
    browser.fill("password", FIRST_PASSWORD)
    browser.choose("role", "agency_user")
    browser.submit()
    # The role's binding is checked by the service: an agency user has no organization.
    assert browser.error_for("organization_id") == "Must be empty for role agency_user."
    browser.choose("role", "facility_manager")
    browser.fill("password", FIRST_PASSWORD)
    browser.submit()
    assert "Created." in browser.text()
    manager = one(app, User, User.username == "dana.lee")
    assert (manager.role, manager.organization_id, manager.full_name) == (
        "facility_manager",
        organization.id,
        "Dana Lee",
    )
    assert verify_secret(manager.password_hash, FIRST_PASSWORD)
    browser.check_accessibility()

    browser.click("a[href='/console/admin/users']")
    assert "dana.lee" in browser.text() and "Prairie Goods Stores" in browser.text()
    browser.check_accessibility()
    browser.screenshot("admin-users")
    assert browser.console_errors() == []

    browser.click("header button[type=submit]")  # sign out
    browser.sign_in(manager, password=FIRST_PASSWORD)
    assert browser.path.startswith("/console/facilities")
    assert "Dana Lee" in browser.text("header")


def test_an_admin_onboards_an_agency_with_a_cad_client_and_an_mou(browser, make, app, client):
    admin = make.user("admin")
    organization = make.organization(name="White Oaks Mall LLC")
    make.facility(organization, name="White Oaks Mall")
    browser.sign_in(admin)

    browser.go("/console/admin/agencies/new")
    browser.fill("name", "Springfield Police Department")
    browser.choose("agency_type", "law_enforcement")
    browser.fill("state", "IL")
    browser.fill("county_fips", "17167")
    browser.fill("dispatch_phone", "217-555-0100")
    browser.submit()
    assert "Created." in browser.text()
    browser.check_accessibility()
    agency = one(app, Agency)
    assert (agency.county_fips, agency.dispatch_phone) == (["17167"], "+12175550100")

    # Its dispatch system: the secret is on the answer to the form, once.
    browser.click(f"a[href='/console/admin/cad-clients/new?agency_id={agency.id}']")
    browser.check_accessibility()
    browser.fill("client_id", "springfield-cad")
    browser.fill("name", "Springfield CAD")
    browser.submit()
    secret = browser.text("code.client-secret")
    assert len(secret) >= 32 and secret not in browser.path
    browser.check_accessibility()
    browser.screenshot("admin-cad-client-secret")
    stored = one(app, CadClient)
    assert stored.agency_id == agency.id and verify_secret(stored.secret_hash, secret)
    token = client.post(
        "/api/v1/auth/token", json={"client_id": "springfield-cad", "client_secret": secret}
    )
    assert token.status_code == 200
    browser.click(f"a[href='/console/admin/cad-clients/{stored.id}']")
    assert secret not in browser.driver.page_source
    browser.check_accessibility()
    browser.click("a[href='/console/admin/cad-clients']")
    assert secret not in browser.driver.page_source
    browser.check_accessibility()

    # The MOU between them: drafted, proposed for the organization, accepted for the agency.
    browser.go("/console/admin/mous/new")
    browser.check_accessibility()
    browser.choose("organization_id", str(organization.id))
    browser.choose("agency_id", str(agency.id))
    browser.fill("title", "Pre-plan sharing")
    browser.fill("expiry_date", "01/01/2020")  # before it takes effect (today)
    browser.click("#scope-data_sharing", navigates=False)
    browser.submit()
    assert browser.error_for("expiry_date") == "Must not be before effective_date."
    assert count(app, Mou) == 0
    browser.check_accessibility()
    browser.find("#expiry_date").clear()
    browser.submit()
    assert "Created." in browser.text()
    browser.check_accessibility()
    browser.screenshot("admin-mou")
    browser.choose("step", "propose:organization")
    browser.submit()
    assert "Proposed" in browser.text()
    browser.choose("step", "accept:agency")
    browser.submit()
    assert "Accepted." in browser.text() and "in force today" in browser.text()
    mou = one(app, Mou)
    assert (mou.status, mou.organization_id, mou.agency_id, mou.scopes) == (
        "active",
        organization.id,
        agency.id,
        ["data_sharing"],
    )
    browser.click("a[href='/console/admin/mous']")
    browser.check_accessibility()
    assert browser.console_errors() == []


def test_a_manager_cannot_open_the_administration(browser, make, app):
    organization = make.organization()
    manager = make.user("facility_manager", organization=organization)
    browser.sign_in(manager)
    assert "Administration" not in browser.text("header")
    browser.go("/console/admin/users/new")
    assert "This page is not for your role." in browser.text()
    browser.check_accessibility()
    assert count(app, User) == 1
