"""A facility manager keeps a facility's pre-plan current, in Chromium: contacts in call order,
an access point whose code is never shown back (then revealed with the password), a tactical
point placed by clicking the map, a floor plan with its preview, and "confirm all". Screenshots
of the dashboard and the facility page (README) are taken here, of a realistic facility."""

import io
from datetime import timedelta

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select, update

from registry import transaction
from registry.console.models import ConsoleSession
from registry.contacts.models import Contact
from registry.db import utcnow
from registry.facilities import sealing
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.floorplans.models import FloorPlan
from tests import sample_files
from tests.conftest import audit_events, fetch

CODE = "4711#B"


@pytest.fixture
def mall(make, app):
    """A realistic organization: a mall with contacts, points and a floor plan, and two stores
    whose pre-plans are missing parts (so the dashboard has something to say)."""
    org = make.organization(name="White Oaks Mall LLC")
    facility = make.facility(
        org,
        name="White Oaks Mall",
        facility_type="shopping_mall",
        address_line1="2501 W Wabash Ave",
        postal_code="62704",
        lat=39.7617,
        lon=-89.7048,
        main_phone="+12175550100",
        occupancy=12000,
        hazards="Propane cylinders in the garden centre (east wing).",
    )
    make.facility(org, name="White Oaks Outlet, Chatham", site_code="WO-02")
    make.facility(org, name="White Oaks Express, Sherman", site_code="WO-03")
    make.contact(
        facility_id=facility.id,
        name="Dana Lee",
        role="Security manager",
        call_order=1,
        phones=[{"kind": "mobile", "number": "+12175550123"}],
    )
    make.contact(
        organization_id=org.id,
        name="Regional security operations centre",
        available_24_7=True,
        phones=[{"kind": "office", "number": "+13125550188"}],
        facilities=[{"facility_id": facility.id, "call_order": 2}],
    )
    make.access_point(
        facility, name="Door 3, loading dock", kind="loading_dock", lat=39.7621, lon=-89.7040
    )
    make.access_point(facility, name="Fire alarm panel", kind="fire_alarm_panel", level="Ground")
    make.tactical_point(
        facility, name="Staging, north lot", kind="staging_area", lat=39.7632, lon=-89.7049
    )
    make.tactical_point(
        facility,
        name="Casualty collection, food court doors",
        kind="casualty_collection_point",
        lat=39.7614,
        lon=-89.7052,
    )
    manager = make.user("facility_manager", organization=org, full_name="Dana Lee")
    uploaded = app.test_client().post(
        f"/api/v1/facilities/{facility.id}/floor-plans",
        data={
            "building": "Main building",
            "level_number": "0",
            "level_label": "Ground",
            "title": "Ground floor",
            "file": (_png_file(), "ground.png"),
        },
        headers=make.headers(manager),
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_json()
    return facility, manager


def _png_file():
    return io.BytesIO(sample_files.png(size=(320, 200), color="lightsteelblue"))


def test_the_dashboard_and_a_24_7_contact_first_in_call_order(browser, app, mall):
    facility, manager = mall
    browser.sign_in(manager)
    assert browser.path.startswith("/console/facilities")
    assert "White Oaks Outlet, Chatham" in browser.text()  # needs attention: no contact
    browser.check_accessibility()
    browser.screenshot("manager-dashboard")

    browser.click(f"a[href='/console/facilities/{facility.id}']")
    browser.click(f"a[href='/console/facilities/{facility.id}/contacts']")
    browser.check_accessibility()
    browser.fill("name", "Night desk")
    browser.fill("call_order", "1")
    browser.click("#available_24_7", navigates=False)
    browser.fill("phones-0-number", "555")
    browser.submit("main form[action$='/contacts']")
    assert "phone" in browser.error_for("phones-0-number").lower()
    browser.check_accessibility()

    browser.fill("phones-0-number", "(217) 555-0142")
    browser.submit("main form[action$='/contacts']")

    assert "Added." in browser.text()
    first = browser.find("table tbody tr")
    assert "Night desk" in first.text and "24/7" in first.text
    with app.app_context(), transaction.session_scope() as session:
        added = session.scalar(select(Contact).where(Contact.name == "Night desk"))
        assert (added.facility_id, added.available_24_7, added.call_order) == (
            facility.id,
            True,
            1,
        )
        assert added.phones[0]["number"] == "+12175550142"
    assert browser.console_errors() == []


def test_a_code_is_never_shown_back_until_revealed_with_the_password(browser, app, mall):
    facility, manager = mall
    browser.sign_in(manager)
    browser.go(f"/console/facilities/{facility.id}/access-points")
    browser.check_accessibility()
    browser.fill("name", "Door 7, east service entrance")
    browser.choose("kind", "entrance")
    browser.fill("code", CODE)
    browser.submit("main form[action$='/access-points']")

    assert "Added." in browser.text()
    assert CODE not in browser.driver.page_source
    with app.app_context(), transaction.session_scope() as session:
        point = session.scalar(select(AccessPoint).where(AccessPoint.name.startswith("Door 7")))
        assert sealing.open_secret(point, "code") == CODE
        point_id = point.id
    browser.click(f"a[href='/console/facilities/{facility.id}/access-points/{point_id}']")
    assert "a code is on file" in browser.text()
    assert browser.find("#code").get_attribute("value") == ""
    assert browser.find("#code").get_attribute("autocomplete") == "off"
    assert CODE not in browser.driver.page_source
    browser.check_accessibility()

    # Signed in long ago: the reveal wants the password again.
    with app.app_context(), transaction.session_scope() as session:
        session.execute(update(ConsoleSession).values(password_at=utcnow() - timedelta(hours=1)))
    browser.click(f"a[href='/console/access-points/{point_id}/reveal']")
    browser.check_accessibility()
    browser.fill("reason", "Checking the code with the night manager")
    browser.fill("password", "wrong-password")
    browser.submit()
    assert "not your password" in browser.error_for("password")
    assert CODE not in browser.driver.page_source

    browser.fill("password", "correct-horse-battery")
    browser.submit()

    assert browser.text("output.secret") == CODE
    assert CODE not in browser.driver.current_url
    browser.check_accessibility()
    outcomes = [e.details["outcome"] for e in audit_events(app, "access_point.reveal")]
    assert outcomes == ["refused", "revealed"]
    assert browser.console_errors() == []


def test_a_tactical_point_placed_by_clicking_the_map(browser, app, mall):
    facility, manager = mall
    browser.sign_in(manager)
    browser.go(f"/console/facilities/{facility.id}/tactical-points")
    WebDriverWait(browser.driver, 10).until(
        lambda driver: browser.find_all(".map.leaflet-container")
    )
    browser.check_accessibility()
    assert browser.find("#lat").get_attribute("value") == ""

    ActionChains(browser.driver).move_to_element_with_offset(
        browser.find(".map"), 90, -60
    ).click().perform()

    lat, lon = (float(browser.find(f"#{box}").get_attribute("value")) for box in ("lat", "lon"))
    assert abs(lat - facility.lat) < 0.05 and abs(lon - facility.lon) < 0.05
    browser.fill("name", "Reunification, east lot")
    browser.choose("kind", "reunification_site")
    browser.submit("main form[action$='/tactical-points']")

    assert "Added." in browser.text()
    with app.app_context(), transaction.session_scope() as session:
        point = session.scalar(
            select(TacticalPoint).where(TacticalPoint.name == "Reunification, east lot")
        )
        assert (point.facility_id, point.lat, point.lon) == (facility.id, lat, lon)
    assert browser.console_errors() == []


def test_a_floor_plan_upload_shows_its_preview(browser, app, mall, tmp_path):
    facility, manager = mall
    plan = tmp_path / "level-1.png"
    plan.write_bytes(sample_files.png(size=(400, 300), color="darkseagreen"))
    browser.sign_in(manager)
    browser.go(f"/console/facilities/{facility.id}/floor-plans")
    browser.check_accessibility()
    browser.fill("title", "First floor, shops")
    browser.fill("level_number", "1")
    browser.fill("level_label", "Level 1")
    browser.find("#file").send_keys(str(plan))
    browser.submit("main form[enctype='multipart/form-data']")

    assert "Floor plan uploaded." in browser.text()
    previews = browser.find_all("img.preview")
    assert len(previews) == 2
    WebDriverWait(browser.driver, 10).until(
        lambda driver: all(
            driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
            for img in previews
        )
    )
    assert browser.check_accessibility() is None
    with app.app_context(), transaction.session_scope() as session:
        titles = session.scalars(
            select(FloorPlan.title)
            .where(FloorPlan.facility_id == facility.id)
            .order_by(FloorPlan.id)
        ).all()
    assert titles == ["Ground floor", "First floor, shops"]
    assert browser.console_errors() == []


def test_the_facility_page_and_confirm_all(browser, app, mall):
    facility, manager = mall
    browser.sign_in(manager)
    browser.go(f"/console/facilities/{facility.id}")
    text = browser.text()
    assert text.index("Regional security operations centre") < text.index("Dana Lee, Security")
    browser.check_accessibility()
    browser.screenshot("manager-facility")

    browser.submit("main form[action$='/confirmation']")

    assert "marked as still accurate today" in browser.text()
    confirmed = fetch(app, Facility, facility.id)
    assert confirmed.confirmed_by == manager.username
    with app.app_context(), transaction.session_scope() as session:
        points = session.scalars(
            select(AccessPoint.confirmed_by).where(AccessPoint.facility_id == facility.id)
        ).all()
    assert points == [manager.username] * 2
    browser.go("/console/facilities/new")
    browser.check_accessibility()
    assert browser.console_errors() == []


def test_the_parts_pages_fit_a_phone(browser, mall):
    facility, manager = mall
    size = browser.driver.get_window_size()
    browser.sign_in(manager)
    browser.driver.set_window_size(390, 844)
    try:
        base = f"/console/facilities/{facility.id}"
        for path in ("/contacts", "/access-points", "/tactical-points", "/floor-plans"):
            browser.go(base + path)
            assert browser.driver.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth"
            ), path
    finally:
        browser.driver.set_window_size(size["width"], size["height"])
