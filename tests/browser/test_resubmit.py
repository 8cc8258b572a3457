"""Back, then Send again, in a real browser: a form that adds something adds it once."""

from registry.contacts.models import Contact
from tests.conftest import count


def test_back_and_send_again_adds_no_second_contact(browser, make, app):
    organization = make.organization()
    facility = make.facility(organization)
    browser.sign_in(make.user("facility_manager", organization=organization))
    browser.go(f"/console/facilities/{facility.id}/contacts")
    browser.fill("name", "Night security desk")
    browser.fill("phones-0-number", "+12175550199")
    add_form = f"form[action='/console/facilities/{facility.id}/contacts']"
    browser.submit(add_form)
    assert "Added." in browser.text()

    old_page = browser.find("html")
    browser.driver.back()
    browser.wait_for_new_page(old_page)
    assert browser.find("#name").get_attribute("value") == "Night security desk"
    browser.submit(add_form)

    assert "already sent and saved" in browser.text()
    assert count(app, Contact, Contact.name == "Night security desk") == 1
