"""The facility form of the console: the API's validation and If-Match rule, in a form."""

from registry.facilities.models import Facility
from tests.conftest import audit_events, fetch
from tests.console.conftest import form_fields


def open_form(console, facility) -> str:
    console.get(f"/console/facilities/{facility.id}")
    return console.html.split('name="version" value="')[1].split('"')[0]


def test_a_change_is_saved_audited_and_kept_in_history(app, console, make):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall")
    manager = make.user("facility_manager", organization=organization)
    console.sign_in(manager)
    version = open_form(console, facility)

    page = console.post(
        f"/console/facilities/{facility.id}",
        {"version": version, "name": "Harbor Mall North", "has_sprinklers": "true"},
    )

    assert page.status_code == 302 and page.headers["Location"].endswith("notice=saved")
    saved = fetch(app, Facility, facility.id)
    assert (saved.name, saved.has_sprinklers) == ("Harbor Mall North", True)
    (event,) = audit_events(app, "facility.update")
    assert event.actor == f"user:{manager.id}"
    assert event.changes["name"] == ["Harbor Mall", "Harbor Mall North"]
    assert "Saved." in console.get(page.headers["Location"]).get_data(as_text=True)


def test_bad_input_is_shown_beside_its_fields_and_nothing_changes(app, console, make):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall")
    console.sign_in(make.user("facility_manager", organization=organization))
    version = open_form(console, facility)

    page = console.post(
        f"/console/facilities/{facility.id}",
        {"version": version, "name": " ", "state": "Illinois", "lat": "91", "lon": "-89.6"},
    )

    assert page.status_code == 422
    errors = console.errors()
    assert set(errors) == {"name", "state", "lat"}
    assert "Two capital letters" in errors["state"]
    # What was typed stays in the boxes, so nothing has to be typed twice.
    assert 'value="Illinois"' in console.html
    assert fetch(app, Facility, facility.id).version == facility.version


def test_a_concurrent_edit_shows_the_other_change_instead_of_overwriting_it(
    app, console, other_console, make
):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall")
    console.sign_in(make.user("facility_manager", organization=organization))
    other_console.sign_in(make.user("facility_manager", organization=organization))
    mine = open_form(console, facility)
    theirs = open_form(other_console, facility)
    other_console.post(
        f"/console/facilities/{facility.id}", {"version": theirs, "name": "Harbor Mall East"}
    )

    page = console.post(
        f"/console/facilities/{facility.id}", {"version": mine, "name": "Harbor Mall West"}
    )

    assert page.status_code == 409
    assert "Someone else saved a change" in console.html
    assert 'value="Harbor Mall East"' in console.html  # their version, in the form
    assert "Harbor Mall West" in console.html  # what I typed, listed as not saved
    assert fetch(app, Facility, facility.id).name == "Harbor Mall East"


def test_another_organizations_facility_is_not_found_and_a_forged_form_changes_nothing(
    app, console, make
):
    mine, theirs = make.organization(), make.organization()
    facility = make.facility(theirs, name="Their Store")
    console.sign_in(make.user("facility_manager", organization=mine))

    assert console.get(f"/console/facilities/{facility.id}").status_code == 404
    console.get("/console/facilities")
    page = console.post(
        f"/console/facilities/{facility.id}", {"version": "1", "name": "Taken over"}
    )
    assert page.status_code == 404
    assert fetch(app, Facility, facility.id).name == "Their Store"


def test_an_agency_user_reads_no_managers_pages(console, make):
    agency = make.agency()
    console.sign_in(make.user("agency_user", agency=agency))
    assert console.get("/console/facilities/1").status_code == 403


def test_a_new_organization_is_asked_for_its_first_facility_not_told_all_is_well(console, make):
    console.sign_in(make.user("facility_manager", organization=make.organization()))
    console.get("/console/facilities")
    assert "no facility in the registry yet" in console.html
    assert "Nothing needs attention" not in console.html


def test_after_a_conflict_only_what_this_person_changed_is_listed_as_not_saved(
    app, console, other_console, make
):
    organization = make.organization()
    facility = make.facility(organization, name="Harbor Mall", hazards="Propane in aisle 3")
    console.sign_in(make.user("facility_manager", organization=organization))
    other_console.sign_in(make.user("facility_manager", organization=organization))
    action = f"/console/facilities/{facility.id}"
    console.get(action)
    mine = form_fields(console.html, action)
    other_console.get(action)
    theirs = form_fields(other_console.html, action)
    other_console.post(action, {**theirs, "hazards": "Propane moved to the dock"})

    # The whole form, as a browser sends it: the untouched hazards box holds the old text.
    page = console.post(action, {**mine, "name": "Harbor Mall West"})

    assert page.status_code == 409
    assert "Propane moved to the dock" in console.html  # their version, in the form
    unsaved = console.html.split("What you had typed, not saved:")[1].split("</dl>")[0]
    assert "Harbor Mall West" in unsaved
    assert "Propane in aisle 3" not in unsaved  # untouched here: not offered to copy back
    assert fetch(app, Facility, facility.id).hazards == "Propane moved to the dock"
