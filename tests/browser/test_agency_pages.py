"""An officer's jobs in Chromium: look up an address, read the pre-plan, look up a point by
clicking the map, answer an MOU proposal with the password, open an incident."""

import io
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from PIL import Image, ImageDraw
from selenium.webdriver.common.action_chains import ActionChains
from sqlalchemy import select, update

from registry import transaction
from registry.console.models import ConsoleSession
from registry.incidents.models import Incident
from registry.mous.models import Mou
from tests.conftest import PASSWORD, audit_events, fetch
from tests.file_store import created, upload

STORE_ADDRESS = "2501 wabash ave springfield il"


def floor_plan_png() -> bytes:
    """A ground-floor plan drawn for the screenshots: walls, the sales floor, the dock."""
    image = Image.new("RGB", (640, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 620, 380), outline="black", width=6)
    draw.line((420, 20, 420, 380), fill="black", width=4)
    draw.line((20, 260, 420, 260), fill="black", width=4)
    draw.rectangle((280, 372, 360, 388), fill="seagreen")  # main entrance
    draw.rectangle((612, 120, 628, 200), fill="darkorange")  # loading dock
    for x, y, words in (
        (150, 130, "SALES FLOOR"),
        (470, 190, "STOCKROOM"),
        (120, 310, "GARDEN CENTRE (propane)"),
        (285, 350, "MAIN ENTRANCE"),
        (500, 140, "DOCK"),
    ):
        draw.text((x, y), words, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def store(make, client):
    """A store as a responder finds it: contacts, doors, points, a plan, an MOU ending soon;
    confirmed by its manager a few days ago, but for one contact, not confirmed for months."""
    checked = {"confirmed_at": datetime.now(UTC) - timedelta(days=12), "confirmed_by": "dwhitfield"}
    org = make.organization(name="Prairie Goods Stores")
    facility = make.facility(
        org,
        name="Prairie Goods #12",
        address_line1="2501 Wabash Ave",
        postal_code="62704",
        lat=39.7817,
        lon=-89.6501,
        main_phone="+12175550100",
        occupancy=1200,
        opening_hours="Mo-Su 07:00-22:00",
        stories_above_grade=1,
        stories_below_grade=0,
        floor_area_sq_ft=98000,
        construction_type="Type II-B, steel frame",
        has_sprinklers=True,
        has_fire_alarm=True,
        hazards="Propane cylinders caged in the garden centre; pool chemicals in aisle 14.",
        security_office_notes="Behind customer service, CCTV monitors for all doors.",
        bleeding_control_kit_locations="Customer service desk; pharmacy counter.",
        aed_locations="Front entrance vestibule.",
        **checked,
    )
    agency = make.agency(name="Springfield Police Department", state="IL")
    make.mou(
        org,
        agency,
        scopes=("data_sharing", "key_holding"),
        title="Data sharing and key holding",
        expiry_date=date.today() + timedelta(days=40),
    )
    make.contact(
        facility_id=facility.id,
        name="Security operations centre",
        role="Corporate SOC, Chicago",
        call_order=2,
        available_24_7=True,
        phones=[{"kind": "desk", "number": "+13125550142"}],
        confirmed_at=datetime.now(UTC) - timedelta(days=230),
        confirmed_by="dwhitfield",
    )
    make.contact(
        facility_id=facility.id,
        name="Dana Whitfield",
        role="Store manager",
        call_order=1,
        email="dana.whitfield@prairiegoods.example",
        phones=[
            {"kind": "mobile", "number": "+12175550111"},
            {"kind": "office", "number": "+12175550100", "extension": "201"},
        ],
        **checked,
    )
    make.access_point(
        facility,
        name="Main entrance",
        kind="entrance",
        level="Ground",
        lat=39.7815,
        lon=-89.6501,
        **checked,
    )
    make.access_point(
        facility,
        name="Loading dock",
        kind="loading_dock",
        description="East wall, two roll-up doors",
        code="4711#",
        key_location="Knox box left of door 2",
        lat=39.7817,
        lon=-89.6497,
        **checked,
    )
    make.tactical_point(facility, name="North lot", lat=39.7823, lon=-89.6501, **checked)
    make.tactical_point(
        facility,
        name="Lincoln Elementary gym",
        kind="reunification_site",
        address_line1="300 S 11th St",
        city="Springfield",
        state="IL",
        postal_code="62703",
        capacity=400,
        opened_by="Springfield Public Schools",
        activation_contact="District duty officer",
        activation_phone="+12175550177",
        **checked,
    )
    manager = make.manager(org)
    plan = {"title": "Ground floor", "level_label": "Ground floor", "level_number": "0"}
    created(upload(client, manager, facility.id, floor_plan_png(), name="ground.png", **plan))
    officer = make.user("agency_user", agency=agency, full_name="Officer Kim Alvarez")
    return SimpleNamespace(org=org, facility=facility, agency=agency, officer=officer)


def test_an_officer_looks_up_an_address_and_reads_the_preplan(browser, app, store):
    browser.sign_in(store.officer)
    assert browser.path.startswith("/console/look-up")
    browser.check_accessibility()
    browser.fill("address", STORE_ADDRESS)
    browser.submit("#by-address")
    assert "Result: matched" in browser.text()
    browser.check_accessibility()
    browser.screenshot_whole_page("agency-search")
    assert [e.details["status"] for e in audit_events(app, "preplan.lookup")] == ["matched"]

    browser.click(".match-name a")
    assert browser.path == f"/console/preplans/{store.facility.id}"
    browser.check_accessibility()
    browser.screenshot_whole_page("agency-preplan")
    contacts = browser.text("#contacts")
    assert contacts.index("Security operations centre") < contacts.index("Dana Whitfield")
    assert browser.find("a[href='tel:+13125550142']")
    assert "4711#" not in browser.text()
    assert [e.details["format"] for e in audit_events(app, "preplan.view")] == ["console"]
    # The plan's preview is drawn (the image loaded), read as the API's download.
    preview = browser.find("#floor-plans img")
    assert browser.driver.execute_script("return arguments[0].naturalWidth", preview) == 640
    assert len(audit_events(app, "floor_plan.preview")) == 1

    # The dock's code, with a reason (a fresh sign-in: no password asked).
    browser.click("#access-points a[href*='reveal=']")
    browser.fill("reason", "Entry team staging at the dock")
    browser.submit("#reveal")
    assert "4711#" in browser.text(".secret")
    assert audit_events(app, "access_point.reveal")[0].details["outcome"] == "revealed"
    # On paper: the pre-plan without navigation, forms, map or the code just revealed.
    browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        for hidden in (".site-header", ".preplan .map", ".secret", ".print-hint"):
            assert not browser.find(hidden).is_displayed(), hidden
        assert browser.find("#contacts").is_displayed()
        assert "4711#" not in browser.text()
    finally:
        browser.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    assert browser.console_errors() == []


def test_an_officer_looks_up_a_point_by_clicking_the_map(browser, app, store):
    browser.sign_in(store.officer)
    browser.fill("address", STORE_ADDRESS)
    browser.submit("#by-address")
    # The map now shows the store; a click beside it fills the point's boxes.
    area = browser.find("#by-position .map")
    ActionChains(browser.driver).move_to_element_with_offset(area, 6, -4).click().perform()
    lat = float(browser.find("#lat").get_attribute("value"))
    lon = float(browser.find("#lon").get_attribute("value"))
    assert abs(lat - 39.7817) < 0.0003 and abs(lon - -89.6501) < 0.0003
    browser.submit("#by-position")
    assert "Result: matched" in browser.text()
    assert (
        browser.find(".match-name a")
        .get_attribute("href")
        .endswith(f"/console/preplans/{store.facility.id}")
    )
    looked_up = audit_events(app, "preplan.lookup")[-1]
    assert set(looked_up.details["query"]) >= {"lat", "lon"}
    assert browser.console_errors() == []


def test_an_officer_accepts_an_mou_proposal_with_the_password(browser, app, make, store):
    proposal = make.mou(
        store.org,
        store.agency,
        scopes=("training", "staging"),
        title="Joint active-assailant exercises",
        status="proposed",
        expiry_date=date.today() + timedelta(days=730),
    )
    browser.sign_in(store.officer)
    with app.app_context(), transaction.session_scope() as session:
        # Signed in an hour ago: an MOU change asks for the password again.
        session.execute(
            update(ConsoleSession).values(password_at=datetime.now(UTC) - timedelta(hours=1))
        )
    browser.go("/console/agency/mous")
    assert "Waiting for your answer (1)" in browser.text()
    assert "ends within 60 days" in browser.text()
    browser.check_accessibility()
    browser.screenshot("agency-mous")
    browser.click(f"a[href='/console/mous/{proposal.id}']")
    browser.fill("password", "not-my-password")
    browser.click("button[value=accept]")
    assert "not your password" in browser.error_for("password")
    browser.check_accessibility()
    assert fetch(app, Mou, proposal.id).status == "proposed"

    browser.fill("password", PASSWORD)
    browser.click("button[value=accept]")
    assert "it is active" in browser.text()
    assert fetch(app, Mou, proposal.id).status == "active"
    assert browser.console_errors() == []


def test_an_officer_opens_an_incident_and_lists_it(browser, app, store):
    browser.sign_in(store.officer)
    browser.click("a[href='/console/incidents']")
    browser.check_accessibility()
    browser.click("a[href='/console/incidents/new']")
    browser.fill("cad_incident_number", "SPD-2026-004417")
    browser.fill("incident_type", "active assailant")
    browser.submit()
    assert "Give the address" in browser.error_for("address")
    browser.check_accessibility()
    browser.fill("address", STORE_ADDRESS)
    browser.submit()
    assert "Incident opened." in browser.text()
    assert "Lincoln Elementary gym" in browser.text()  # its recovery sites
    browser.check_accessibility()
    browser.screenshot("agency-incident")
    with app.app_context(), transaction.session_scope() as session:
        (incident,) = session.scalars(select(Incident)).all()
        assert (incident.facility_id, incident.status) == (store.facility.id, "open")

    browser.go("/console/incidents")
    assert "SPD-2026-004417" in browser.text()
    browser.screenshot("agency-incidents")
    assert browser.console_errors() == []
