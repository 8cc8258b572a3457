"""A facility manager signs in, finds a facility and edits it, in Chromium."""

from registry.facilities.models import Facility
from tests.conftest import fetch


def test_a_manager_signs_in_and_edits_a_facility(browser, make, app):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall")
    manager = make.user("facility_manager", organization=organization, full_name="Dana Lee")

    browser.go("/")
    browser.check_accessibility()
    browser.click("a.button")  # "Sign in to the console"
    assert browser.path.startswith("/console/sign-in")
    browser.check_accessibility()
    browser.sign_in(manager)
    assert browser.path.startswith("/console/facilities")
    browser.check_accessibility()

    browser.go("/console/facilities?view=all")
    browser.click(f"a[href='/console/facilities/{facility.id}']")
    browser.check_accessibility()
    browser.screenshot("facility")
    browser.fill("occupancy", "a lot")
    browser.fill("hazards", "Propane cylinders in the garden centre")
    browser.submit()
    # Refused next to its field; nothing saved.
    assert "Not a valid integer" in browser.error_for("occupancy")
    browser.check_accessibility()
    assert fetch(app, Facility, facility.id).hazards is None

    browser.fill("occupancy", "2400")
    browser.submit()
    assert "Saved." in browser.text(), [
        e.get_attribute("id") + e.text for e in browser.find_all(".field-error")
    ]
    saved = fetch(app, Facility, facility.id)
    assert (saved.occupancy, saved.hazards) == (2400, "Propane cylinders in the garden centre")
    assert browser.console_errors() == []


def test_wrong_password_is_said_on_the_form(browser, make):
    manager = make.user("facility_manager", organization=make.organization())
    browser.sign_in(manager, password="not-it")
    assert browser.path.startswith("/console/sign-in")
    assert "Unknown username or wrong password" in browser.text()
    browser.check_accessibility()
