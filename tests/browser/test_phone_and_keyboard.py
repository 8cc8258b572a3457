"""The console on a phone's screen and by keyboard alone (issue 13, item 7)."""

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from tests.conftest import PASSWORD

PHONE = (390, 844)  # CSS pixels of a common phone


@pytest.fixture
def phone(browser):
    size = browser.driver.get_window_size()
    browser.driver.set_window_size(*PHONE)
    yield browser
    browser.driver.set_window_size(size["width"], size["height"])


def fits(browser) -> bool:
    """Nothing wider than the screen: no sideways scrolling to read a page."""
    return browser.driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth"
    )


def test_a_managers_pages_fit_a_phone(phone, make):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall with a rather long name indeed")
    for n in range(3):
        make.facility(organization, name=f"Store {n}", site_code=f"S-{n:04d}")
    phone.sign_in(make.user("facility_manager", organization=organization))
    for path in (
        "/console/facilities",
        "/console/facilities?view=all",
        "/console/account",
        f"/console/facilities/{facility.id}",
    ):
        phone.go(path)
        assert fits(phone), path
    phone.screenshot("phone-facility")


def test_signing_in_and_out_by_keyboard_alone(browser, make):
    manager = make.user("facility_manager", organization=make.organization())
    browser.go("/console/sign-in")
    keys = ActionChains(browser.driver)
    # The first Tab reaches the skip link, then the brand link, then the username box.
    keys.send_keys(Keys.TAB).perform()
    assert browser.driver.switch_to.active_element.text == "Skip to content"
    keys.send_keys(Keys.TAB, Keys.TAB).perform()
    assert browser.driver.switch_to.active_element.get_attribute("id") == "username"
    old_page = browser.find("html")
    keys.send_keys(manager.username, Keys.TAB, PASSWORD, Keys.ENTER).perform()
    browser.wait_for_new_page(old_page)
    assert browser.path.startswith("/console/facilities")

    # The skip link takes focus to the page's content.
    keys.send_keys(Keys.TAB, Keys.ENTER).perform()
    assert browser.driver.switch_to.active_element.get_attribute("id") == "main"
