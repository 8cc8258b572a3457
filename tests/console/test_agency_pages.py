"""The agency's console pages through the test client: the lookup, the pre-plan, the MOUs and
the incidents, on the same services (and audit events) as the API."""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from registry import transaction
from registry.console.models import ConsoleSession
from registry.incidents.models import Incident
from registry.mous.models import Mou
from tests import sample_files
from tests.conftest import PASSWORD, audit_events, count, fetch
from tests.console.conftest import Console
from tests.file_store import created, upload

API = "/api/v1"
STORE_ADDRESS = "2501 Wabash Ave, Springfield IL 62704"


@pytest.fixture
def scene(make):
    """Agency "Springfield PD" shares all of Prairie Goods' facilities (one store, with a 24/7
    desk, a manager, a door with a code, a staging area); another organization's depot does not
    share with it; two clinics share one building (two suites)."""
    org = make.organization(name="Prairie Goods Stores")
    store = make.facility(
        org,
        name="Prairie Goods #12",
        address_line1="2501 Wabash Ave",
        postal_code="62704",
        lat=39.7817,
        lon=-89.6501,
        hazards="Propane cylinders in the garden centre",
    )
    agency = make.agency(name="Springfield PD", state="IL")
    make.mou(org, agency, scopes=("data_sharing", "key_holding"), title="Data and keys")
    make.contact(
        facility_id=store.id,
        name="Store manager",
        call_order=1,
        phones=[{"kind": "office", "number": "+12175550101"}],
    )
    make.contact(
        facility_id=store.id,
        name="Security desk",
        call_order=3,
        available_24_7=True,
        phones=[{"kind": "desk", "number": "+12175550199", "extension": "12"}],
    )
    door = make.access_point(store, name="Loading dock", kind="loading_dock", code="4711#")
    make.tactical_point(store, name="North lot", lat=39.7825, lon=-89.6501)
    other = make.organization(name="Other Partner")
    depot = make.facility(other, name="Depot", address_line1="900 S Grand Ave E", lat=39.78)
    common = {"address_line1": "200 E Adams St", "city": "Springfield", "postal_code": "62701"}
    bank = make.facility(org, name="Bank", address_line2="Suite 100", **common)
    clinic = make.facility(org, name="Clinic", address_line2="Suite 200", **common)
    officer = make.user("agency_user", agency=agency, full_name="Officer Kim")
    return SimpleNamespace(
        org=org,
        store=store,
        door=door,
        agency=agency,
        other=other,
        depot=depot,
        bank=bank,
        clinic=clinic,
        officer=officer,
    )


def stale_sign_in(app) -> None:
    """Every console session's password was given long ago (past the fresh-login window)."""
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            update(ConsoleSession).values(password_at=datetime.now(UTC) - timedelta(hours=1))
        )


def look_up(console, **fields):
    console.get("/console/look-up")
    return console.post("/console/look-up", fields)


# --- the lookup --------------------------------------------------------------------------------


def test_the_lookup_finds_a_facility_shared_with_the_agency(console, app, scene):
    console.sign_in(scene.officer)
    page = look_up(console, way="address", address="2501 wabash avenue springfield il")
    assert page.status_code == 200
    assert "Result: matched" in console.html
    assert f'href="/console/preplans/{scene.store.id}"' in console.html
    # Recorded as the API records a lookup, noted as the console's.
    (event,) = audit_events(app, "preplan.lookup")
    assert (event.record_id, event.details["status"], event.details["via"]) == (
        scene.store.id,
        "matched",
        "console",
    )
    assert event.details["query"]["address"] == "2501 wabash avenue springfield il"


def test_the_lookup_does_not_open_a_facility_that_is_not_shared(console, app, scene):
    console.sign_in(scene.officer)
    look_up(console, way="address", address="900 S Grand Ave E, Springfield IL 62701")
    assert "Result: registered, not shared with you" in console.html
    assert "does not share its pre-plan with your agency" in console.html
    assert f"/console/preplans/{scene.depot.id}" not in console.html
    assert "Result: matched" not in console.html


def test_an_ambiguous_address_lists_the_candidates_and_chooses_none(console, scene):
    console.sign_in(scene.officer)
    look_up(console, way="address", address="200 E Adams St, Springfield IL 62701")
    assert "Result: not certain" in console.html
    assert "not certain" in console.html and "Matched" not in console.html
    for facility in (scene.bank, scene.clinic):
        assert f'href="/console/preplans/{facility.id}">{facility.name}</a>' in console.html
    assert "Candidates (2)" in console.html
    assert console.html.count("score ") == 2  # how well each fits, in the lookup's words


def test_a_point_on_the_map_is_looked_up(console, scene):
    console.sign_in(scene.officer)
    look_up(console, way="position", lat="39.78172", lon="-89.65012", radius_m="")
    assert "Result: matched" in console.html
    assert f'href="/console/preplans/{scene.store.id}"' in console.html
    # The point stays in its boxes, for the map's marker.
    assert 'value="39.78172"' in console.html


def test_no_match_is_said_plainly(console, scene):
    console.sign_in(scene.officer)
    look_up(console, way="address", address="17 Nowhere Lane, Springfield IL 62704")
    assert "Result: no match" in console.html
    assert "No registered facility matches." in console.html


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"way": "address", "address": ""}, "address", "Type the address to look up."),
        ({"way": "address", "address": "PO Box 12, Springfield IL"}, "address", "PO box"),
        ({"way": "position", "lat": "", "lon": "-89.6"}, "lat", "Give the latitude"),
        ({"way": "position", "lat": "95", "lon": "-89.6"}, "lat", "90"),
        (
            {"way": "position", "lat": "39.7", "lon": "-89.6", "radius_m": "9999"},
            "radius_m",
            "5000",
        ),
    ],
)
def test_bad_lookup_input_is_said_beside_its_field(console, app, scene, fields, field, words):
    console.sign_in(scene.officer)
    page = look_up(console, **fields)
    assert page.status_code == 422
    assert words in console.errors()[field], console.errors()
    assert "Result:" not in console.html
    assert audit_events(app, "preplan.lookup") == []


def test_the_lookup_is_for_agency_staff_and_administrators(console, make, scene):
    manager = make.user("facility_manager", organization=scene.org)
    console.sign_in(manager)
    assert console.get("/console/look-up").status_code == 403
    assert console.get(f"/console/preplans/{scene.store.id}").status_code == 403


def test_an_administrator_may_look_up(console, make, scene):
    console.sign_in(make.user("admin"))
    look_up(console, way="address", address=STORE_ADDRESS)
    assert "Result: matched" in console.html


# --- the pre-plan ------------------------------------------------------------------------------


def test_the_preplan_reads_as_a_responder_needs_it(console, scene):
    console.sign_in(scene.officer)
    page = console.get(f"/console/preplans/{scene.store.id}")
    assert page.status_code == 200
    html = console.html
    # 24/7 first, whatever the call order says; phones are links to call.
    assert html.index("Security desk") < html.index("Store manager")
    assert 'href="tel:+12175550199;ext=12"' in html
    assert 'href="tel:+12175550101"' in html
    # Access point: that a code exists, never the code itself.
    assert "Loading dock" in html and "code on file" in html
    assert "4711#" not in html
    assert "North lot" in html and "Propane cylinders in the garden centre" in html
    assert "Data and keys" in html and "Springfield PD" in html
    assert f"/console/preplans/{scene.store.id}/preplan.pdf" in html


def test_a_preplan_not_shared_with_the_agency_is_a_404_page(console, app, scene):
    console.sign_in(scene.officer)
    page = console.get(f"/console/preplans/{scene.depot.id}")
    assert page.status_code == 404
    assert "Depot" not in console.html
    assert console.get(f"/console/preplans/{scene.depot.id}/preplan.pdf").status_code == 404
    assert audit_events(app, "preplan.view") == []


def test_reading_a_preplan_writes_the_api_s_audit_event(console, client, make, app, scene):
    console.sign_in(scene.officer)
    console.get(f"/console/preplans/{scene.store.id}")
    client.get(f"{API}/preplans/{scene.store.id}", headers=make.headers(scene.officer))
    in_console, by_api = audit_events(app, "preplan.view")
    for event in (in_console, by_api):
        assert (event.actor, event.record_type, event.record_id, event.facility_id) == (
            f"user:{scene.officer.id}",
            "facility",
            scene.store.id,
            scene.store.id,
        )
        assert event.break_glass is False
        assert set(event.details) == {"format", "incident_id"}
    assert (in_console.details["format"], by_api.details["format"]) == ("console", "json")


def test_the_printed_preplan_is_the_api_s_pdf(console, app, scene):
    console.sign_in(scene.officer)
    page = console.get(f"/console/preplans/{scene.store.id}/preplan.pdf")
    assert page.status_code == 200
    assert page.mimetype == "application/pdf" and page.data.startswith(b"%PDF")
    assert page.headers["Cache-Control"] == "no-store"
    (event,) = audit_events(app, "preplan.view")
    assert event.details["format"] == "pdf"


def test_a_code_is_revealed_with_a_reason_and_the_password(console, app, scene):
    console.sign_in(scene.officer)
    console.get(f"/console/preplans/{scene.store.id}?reveal={scene.door.id}")
    assert 'id="reveal"' in console.html
    stale_sign_in(app)
    action = f"/console/preplans/{scene.store.id}/access-points/{scene.door.id}/reveal"

    page = console.post(action, {"reason": "Entry team at the dock"})
    assert page.status_code == 422
    assert "password again" in console.errors()["password"]
    assert "4711#" not in console.html
    refused = audit_events(app, "access_point.reveal")
    assert [e.details["refused_because"] for e in refused] == ["fresh_login_required"]

    page = console.post(action, {"reason": "", "password": PASSWORD})
    assert page.status_code == 422
    assert "reason" in console.errors()
    assert "4711#" not in console.html

    page = console.post(action, {"reason": "Entry team at the dock", "password": PASSWORD})
    assert page.status_code == 200
    assert "4711#" in console.html
    assert page.headers["Cache-Control"] == "no-store"
    revealed = audit_events(app, "access_point.reveal")[-1]
    assert revealed.details["outcome"] == "revealed"
    assert revealed.details["reason"] == "Entry team at the dock"


def test_a_wrong_password_reveals_nothing(console, app, scene):
    console.sign_in(scene.officer)
    console.get(f"/console/preplans/{scene.store.id}?reveal={scene.door.id}")
    stale_sign_in(app)
    page = console.post(
        f"/console/preplans/{scene.store.id}/access-points/{scene.door.id}/reveal",
        {"reason": "Entry team at the dock", "password": "not-it"},
    )
    assert page.status_code == 422
    assert "not your password" in console.errors()["password"]
    assert "4711#" not in console.html


@pytest.mark.parametrize("where", ["another organization's", "no"])
def test_a_point_of_another_facility_is_not_revealed_and_the_probe_is_recorded(
    console, app, make, scene, where
):
    point_id = make.access_point(scene.depot, name="Depot gate", code="0000").id
    if where == "no":
        point_id = 999_999
    console.sign_in(scene.officer)
    console.get(f"/console/preplans/{scene.store.id}")
    page = console.post(
        f"/console/preplans/{scene.store.id}/access-points/{point_id}/reveal",
        {"reason": "probing", "password": PASSWORD},
    )
    assert page.status_code == 404
    assert "0000" not in console.html
    # Audited as the API audits a reveal of a point it cannot find.
    (probe,) = audit_events(app, "access_point.reveal")
    assert probe.record_id == point_id and probe.facility_id is None
    assert probe.details["refused_because"] == "no_such_access_point"


def test_an_agency_without_a_key_scope_is_refused_and_the_attempt_recorded(
    console, app, make, scene
):
    readers = make.agency(name="Sangamon County Sheriff")
    make.mou(scene.org, readers)  # data sharing only: the plan, not the doors
    console.sign_in(make.user("agency_user", agency=readers))
    console.get(f"/console/preplans/{scene.store.id}?reveal={scene.door.id}")
    assert "code on file" in console.html
    assert "reveal=" not in console.html and 'id="reveal"' not in console.html
    page = console.post(
        f"/console/preplans/{scene.store.id}/access-points/{scene.door.id}/reveal",
        {"reason": "Entry team at the dock", "password": PASSWORD},
    )
    assert page.status_code == 403
    assert "4711#" not in console.html
    (refused,) = audit_events(app, "access_point.reveal")
    assert refused.details["refused_because"] == "not_allowed"


def test_floor_plans_are_read_through_the_api_s_download(console, client, make, app, scene):
    manager = make.manager(scene.org)
    plan = created(upload(client, manager, scene.store.id, sample_files.png(), name="plan.png"))
    console.sign_in(scene.officer)
    console.get(f"/console/preplans/{scene.store.id}")
    assert f"/console/floor-plans/{plan['id']}/preview" in console.html
    preview = console.get(f"/console/floor-plans/{plan['id']}/preview")
    preview.close()  # a file from the store, streamed
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert preview.headers["Content-Security-Policy"] == "sandbox"
    file = console.get(f"/console/floor-plans/{plan['id']}/file")
    file.close()
    assert file.status_code == 200 and file.mimetype == "image/png"
    assert [e.action for e in audit_events(app, "floor_plan.preview")] == ["floor_plan.preview"]
    assert len(audit_events(app, "floor_plan.download")) == 1

    hidden = created(
        upload(client, make.manager(scene.other), scene.depot.id, sample_files.png(), name="p.png")
    )
    assert console.get(f"/console/floor-plans/{hidden['id']}/file").status_code == 404


# --- MOUs --------------------------------------------------------------------------------------


@pytest.fixture
def proposal(make, scene):
    """The organization proposed (and accepted) a training MOU to the agency."""
    return make.mou(
        scene.org,
        scene.agency,
        scopes=("training",),
        title="Joint exercises",
        status="proposed",
        expiry_date=date.today() + timedelta(days=365),
    )


def test_the_agency_s_mous_list_proposals_and_ending_dates(console, make, scene, proposal):
    make.mou(
        scene.org,
        scene.agency,
        title="Ending soon",
        expiry_date=date.today() + timedelta(days=10),
    )
    make.mou(
        scene.org, scene.agency, title="Ending later", expiry_date=date.today() + timedelta(days=45)
    )
    make.mou(make.organization(), make.agency(), title="Someone else's")
    console.sign_in(scene.officer)
    page = console.get("/console/agency/mous")
    assert page.status_code == 200
    html = console.html
    assert "Waiting for your answer (1)" in html
    assert f'href="/console/mous/{proposal.id}">Joint exercises</a>' in html
    assert "Someone else" not in html
    # In force first, the soonest to end first; no end date after those that have one.
    assert html.index("Ending soon") < html.index("Ending later") < html.index("Data and keys")
    assert "ends within 30 days (10 left)" in html
    assert "ends within 60 days (45 left)" in html

    console.get("/console/agency/mous?ending_within_days=30")
    assert "Ending soon" in console.html and "Ending later" not in console.html
    page = console.get("/console/agency/mous?ending_within_days=7")
    assert page.status_code == 422
    assert "ending_within_days" in console.errors()


def test_the_mou_list_is_paginated(console, make, scene):
    for n in range(26):
        make.mou(scene.org, scene.agency, title=f"Site MOU {n:02}", expiry_date=date(2030, 1, 1))
    console.sign_in(scene.officer)
    console.get("/console/agency/mous")
    assert "All MOUs (27)" in console.html and "Page 1 of 2" in console.html
    assert 'href="?page=2"' in console.html
    console.get("/console/agency/mous?page=2")
    assert "Page 2 of 2" in console.html
    assert "Data and keys" in console.html  # no end date: last


def test_accepting_needs_the_password_when_not_fresh(console, app, scene, proposal):
    console.sign_in(scene.officer)
    console.get(f"/console/mous/{proposal.id}")
    assert "Your answer" in console.html
    stale_sign_in(app)
    console.get(f"/console/mous/{proposal.id}")
    assert 'type="password"' in console.html
    form = {"version": str(proposal.version), "step": "accept"}

    page = console.post(f"/console/mous/{proposal.id}", form)
    assert page.status_code == 422
    assert "password again" in console.errors()["password"]
    assert fetch(app, Mou, proposal.id).agency_accepted_at is None

    page = console.post(f"/console/mous/{proposal.id}", {**form, "password": PASSWORD})
    assert page.status_code == 302
    assert page.headers["Location"].endswith(f"/console/mous/{proposal.id}?notice=active")
    accepted = fetch(app, Mou, proposal.id)
    assert accepted.status == "active" and accepted.agency_accepted_by == scene.officer.username
    assert [e.details["party"] for e in audit_events(app, "mou.accept")] == ["agency"]
    console.get(page.headers["Location"])
    assert "it is active" in console.html and "Your answer" not in console.html


def test_declining_needs_a_reason_and_ends_the_proposal(console, app, scene, proposal):
    console.sign_in(scene.officer)
    console.get(f"/console/mous/{proposal.id}")
    form = {"version": str(proposal.version), "step": "decline", "reason": ""}
    page = console.post(f"/console/mous/{proposal.id}", form)
    assert page.status_code == 422
    assert console.errors()["reason"]
    assert fetch(app, Mou, proposal.id).status == "proposed"

    page = console.post(f"/console/mous/{proposal.id}", {**form, "reason": "Not this year"})
    assert page.status_code == 302
    declined = fetch(app, Mou, proposal.id)
    assert (declined.status, declined.terminating_party, declined.termination_reason) == (
        "terminated",
        "agency",
        "Not this year",
    )


def test_an_answer_on_terms_changed_meanwhile_is_refused(console, app, scene, proposal):
    console.sign_in(scene.officer)
    console.get(f"/console/mous/{proposal.id}")
    form = {"version": str(proposal.version - 1), "step": "accept"}
    page = console.post(f"/console/mous/{proposal.id}", form)
    assert page.status_code == 409
    assert "Someone else saved a change" in console.html
    assert fetch(app, Mou, proposal.id).agency_accepted_at is None


def test_another_agency_s_mou_is_not_found_and_a_forged_answer_changes_nothing(
    console, app, make, scene
):
    foreign = make.mou(make.organization(), make.agency(), status="proposed")
    console.sign_in(scene.officer)
    assert console.get(f"/console/mous/{foreign.id}").status_code == 404
    console.get("/console/agency/mous")
    page = console.post(
        f"/console/mous/{foreign.id}",
        {"version": str(foreign.version), "step": "accept", "password": PASSWORD},
    )
    assert page.status_code == 404
    assert fetch(app, Mou, foreign.id).agency_accepted_at is None


def test_a_manager_answers_the_agency_s_proposal_on_the_same_pages(console, app, make, scene):
    proposed = make.mou(
        scene.org,
        scene.agency,
        title="Staging on our lot",
        status="proposed",
        scopes=("staging",),
        drafting_party="agency",
    )
    manager = make.user("facility_manager", organization=scene.org)
    console.sign_in(manager)
    page = console.get("/console/organization/mous")
    assert page.status_code == 200
    assert "Waiting for your answer (1)" in console.html
    assert "Springfield PD" in console.html
    console.get(f"/console/mous/{proposed.id}")
    page = console.post(
        f"/console/mous/{proposed.id}", {"version": str(proposed.version), "step": "accept"}
    )
    assert page.status_code == 302
    assert fetch(app, Mou, proposed.id).status == "active"
    # Each role has its own list.
    assert console.get("/console/agency/mous").status_code == 403


# --- incidents ---------------------------------------------------------------------------------


def test_an_officer_opens_lists_and_closes_an_incident(console, app, scene):
    console.sign_in(scene.officer)
    console.get("/console/incidents/new")
    page = console.post(
        "/console/incidents/new",
        {
            "cad_incident_number": "SPD-2026-000123",
            "incident_type": "active assailant",
            "address": STORE_ADDRESS,
            "lat": "",
            "lon": "",
            "notes": "",
        },
    )
    assert page.status_code == 302, console.errors()
    (incident,) = (fetch(app, Incident, i) for i in _incident_ids(app))
    assert (incident.facility_id, incident.match_status, incident.status) == (
        scene.store.id,
        "matched",
        "open",
    )
    console.get(page.headers["Location"])
    assert "Incident opened." in console.html
    assert "Prairie Goods #12" in console.html

    assert console.get("/console/incidents").status_code == 200
    assert "SPD-2026-000123" in console.html
    assert console.get("/console/incidents?status=closed").status_code == 200
    assert "SPD-2026-000123" not in console.html

    console.get(f"/console/incidents/{incident.id}")
    page = console.post(
        f"/console/incidents/{incident.id}", {"version": str(incident.version), "status": "closed"}
    )
    assert page.status_code == 302
    assert fetch(app, Incident, incident.id).status == "closed"


def _incident_ids(app):
    with app.app_context(), transaction.session_scope() as session:
        return session.scalars(select(Incident.id)).all()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cad_incident_number": "", "address": STORE_ADDRESS}, "cad_incident_number"),
        ({"address": "", "lat": "", "lon": ""}, "address"),
        ({"address": "", "lat": "39.78", "lon": ""}, "lat"),
    ],
)
def test_a_refused_incident_is_said_beside_its_field_and_not_opened(
    console, app, scene, fields, field
):
    console.sign_in(scene.officer)
    console.get("/console/incidents/new")
    form = {"cad_incident_number": "SPD-1", "incident_type": "fire", **fields}
    page = console.post("/console/incidents/new", form)
    assert page.status_code == 422
    assert field in console.errors(), console.errors()
    assert count(app, Incident) == 0


def test_another_agency_s_incident_is_not_found(console, app, make, scene):
    console.sign_in(make.user("agency_user", agency=make.agency()))
    console.get("/console/incidents/new")
    console.post(
        "/console/incidents/new",
        {"cad_incident_number": "X-1", "incident_type": "fire", "address": STORE_ADDRESS},
    )
    (incident_id,) = _incident_ids(app)
    other = console.__class__(app.test_client())
    other.sign_in(scene.officer)
    assert other.get(f"/console/incidents/{incident_id}").status_code == 404
    other.get("/console/incidents")
    page = other.post(f"/console/incidents/{incident_id}", {"version": "1", "status": "closed"})
    assert page.status_code == 404
    assert fetch(app, Incident, incident_id).status == "open"


def test_an_incident_at_a_facility_not_shared_opens_it_through_break_glass(console, app, scene):
    console.sign_in(scene.officer)
    assert console.get(f"/console/preplans/{scene.depot.id}").status_code == 404
    console.get("/console/incidents/new")
    page = console.post(
        "/console/incidents/new",
        {
            "cad_incident_number": "SPD-2026-000777",
            "incident_type": "vehicle ramming",
            "address": "900 S Grand Ave E, Springfield IL 62701",
        },
    )
    assert page.status_code == 302
    console.get(page.headers["Location"])
    assert "Incident opened." in console.html and "Break-glass" in console.html

    page = console.get(f"/console/preplans/{scene.depot.id}")
    assert page.status_code == 200
    assert "Break-glass" in console.html and "SPD-2026-000777" in console.html
    (view,) = [e for e in audit_events(app, "preplan.view") if e.details["format"] == "console"]
    assert view.break_glass is True and view.details["incident_id"] is not None

    # Closing ends break-glass for good: one click is not enough, the box must be ticked.
    incident = fetch(app, Incident, view.details["incident_id"])
    path = f"/console/incidents/{incident.id}"
    console.get(path)
    page = console.post(path, {"version": str(incident.version), "status": "closed"})
    assert page.status_code == 422 and "break-glass access for good" in console.errors()["confirm"]
    assert fetch(app, Incident, incident.id).status == "open"
    page = console.post(
        path, {"version": str(incident.version), "status": "closed", "confirm": "on"}
    )
    assert page.status_code == 302
    assert fetch(app, Incident, incident.id).status == "closed"


def test_an_incident_that_grants_no_break_glass_says_why(console, app, make, scene):
    nowhere = make.agency(name="Agency without a jurisdiction")
    console.sign_in(make.user("agency_user", agency=nowhere))
    console.get("/console/incidents/new")
    page = console.post(
        "/console/incidents/new",
        {
            "cad_incident_number": "X-2",
            "incident_type": "fire",
            "address": "900 S Grand Ave E, Springfield IL 62701",
        },
    )
    assert page.headers["Location"].endswith("notice=no_grant_agency_has_no_jurisdiction")
    console.get(page.headers["Location"])
    assert "your agency has no jurisdiction on record" in console.html
    assert console.get(f"/console/preplans/{scene.depot.id}").status_code == 404


def test_the_pdf_budget_is_each_persons_not_the_addresss(build_app, make, scene):
    """Two officers behind one address (a precinct's network) each have their own budget."""
    limited = build_app(REGISTRY_PDF_RATE_LIMIT="1/minute")
    colleague = make.user("agency_user", agency=scene.agency)
    path = f"/console/preplans/{scene.store.id}/preplan.pdf"
    first, second = Console(limited.test_client()), Console(limited.test_client())
    first.sign_in(scene.officer)
    second.sign_in(colleague)

    assert first.get(path).status_code == 200
    refused = first.get(path)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert second.get(path).status_code == 200  # the colleague's own budget is untouched
