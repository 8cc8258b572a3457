"""Freshness (issue 12, item 1): when and by whom each part of a pre-plan was last confirmed,
the confirm-all call, stale parts in the pre-plan, and the freshness report; on both databases.

"Today" comes from registry.db.utcnow (utc_today reads it), so a test moves the clock by
patching it: `clock.move(days)`.
"""

import io
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select

from registry import config as registry_config
from registry import db, transaction
from registry.audit.models import AuditEvent
from registry.config import ConfigError
from registry.contacts.models import Contact
from registry.facilities.models import AccessPoint, Facility, TacticalPoint
from registry.floorplans.models import FileBlob, FloorPlan
from registry.history import FacilityHistory
from registry.preplans.document import cache
from registry.preplans.models import StoredPreplan
from tests import sample_files
from tests.conftest import TEST_KEYS, assert_problem, count, fetch

API = "/api/v1"
REPORT = f"{API}/reports/freshness"
REAL_UTCNOW = db.utcnow


# ---------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture
def clock(monkeypatch):
    """Moves registry.db.utcnow (and so utc_today) by whole days from the real now."""

    def move(days: int) -> None:
        monkeypatch.setattr(db, "utcnow", lambda: REAL_UTCNOW() + timedelta(days=days))

    return SimpleNamespace(move=move)


def ago(days: int) -> datetime:
    return REAL_UTCNOW() - timedelta(days=days)


def save(app, *records):
    with app.app_context(), transaction.session_scope() as session:
        for record in records:
            session.add(record)
            session.flush()
            session.expunge(record)
    return records[-1]


def floor_plan(app, facility, revision=1, level_number=1, **fields):
    """A floor plan row (the upload path is tested with a real upload below)."""
    sha = f"{facility.id:032x}{revision:016x}{level_number:016x}"
    with app.app_context(), transaction.session_scope() as session:
        if session.get(FileBlob, sha) is None:
            session.add(FileBlob(sha256=sha, size=16, media_type="image/png", preview_size=8))
    return save(
        app,
        FloorPlan(
            facility_id=facility.id,
            building="Main",
            level_number=level_number,
            level_label=f"L{level_number}",
            title=f"Level {level_number} rev {revision}",
            revision=revision,
            file_name="plan.png",
            uploaded_by="user:1",
            sha256=sha,
            **fields,
        ),
    )


def etag(client, headers, path) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["ETag"]


def patch(client, headers, path, body):
    return client.patch(
        path, json=body, headers={**headers, "If-Match": etag(client, headers, path)}
    )


def confirm(client, headers, facility_id, **extra_headers):
    match = etag(client, headers, f"{API}/facilities/{facility_id}")
    return client.post(
        f"{API}/facilities/{facility_id}/confirm",
        headers={**headers, "If-Match": match, **extra_headers},
    )


def near_now(value) -> bool:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return abs(moment - REAL_UTCNOW()) < timedelta(minutes=1)


@pytest.fixture
def site(app, make):
    """A facility of organization A with every kind of part (none confirmed), its manager, a
    sharing agency's officer and CAD client, and an outsider agency."""
    org = make.organization(name="Alpha Retail")
    facility = make.facility(org, name="Alpha #1")
    agency, outsider = make.agency(), make.agency()
    make.mou(org, agency)
    manager = make.user("facility_manager", organization=org, username="manager.alpha")
    return SimpleNamespace(
        org=org,
        facility=facility,
        contact=make.contact(facility_id=facility.id, name="Pat Night", available_24_7=True),
        gone_contact=make.contact(facility_id=facility.id, name="Gone", deleted_at=ago(1)),
        org_contact=make.contact(organization_id=org.id, name="HQ desk"),
        access_point=make.access_point(facility, kind="entrance", name="Front doors"),
        gone_point=make.access_point(facility, kind="gate", name="Old gate", deleted_at=ago(1)),
        tactical_point=make.tactical_point(facility, kind="staging_area", name="North lot"),
        old_plan=floor_plan(app, facility, revision=1),
        plan=floor_plan(app, facility, revision=2),
        agency=agency,
        manager=make.headers(manager),
        officer=make.officer(agency),
        cad=make.headers(make.cad_client(agency)),
        outsider=make.officer(outsider),
        other_manager=make.manager(make.organization()),
        auditor=make.headers(make.user("auditor")),
        admin=make.admin(),
    )


def parts(site) -> dict:
    return {
        "facility": (Facility, site.facility.id),
        "contact": (Contact, site.contact.id),
        "access_point": (AccessPoint, site.access_point.id),
        "tactical_point": (TacticalPoint, site.tactical_point.id),
        "floor_plan": (FloorPlan, site.plan.id),
    }


# ---------------------------------------------------------------------------------------------
# An edit confirms


def test_an_edit_by_its_manager_confirms_the_part(client, app, site):
    edits = {
        f"{API}/facilities/{site.facility.id}": {"hazards": "Propane"},
        f"{API}/contacts/{site.contact.id}": {"role": "Night manager"},
        f"{API}/access-points/{site.access_point.id}": {"notes": "Push bar"},
        f"{API}/tactical-points/{site.tactical_point.id}": {"notes": "Enter from the north"},
        f"{API}/floor-plans/{site.plan.id}": {"level_label": "L1", "title": "Ground"},
    }
    for path, body in edits.items():
        response = patch(client, site.manager, path, body)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert near_now(response.json["confirmed_at"]), path
        assert response.json["confirmed_by"] == "manager.alpha"
    for model, record_id in parts(site).values():
        stored = fetch(app, model, record_id)
        assert near_now(stored.confirmed_at), model
        assert stored.confirmed_by == "manager.alpha"
    # The edit's history row is the confirmation: it lists what changed, nothing else.
    with app.app_context(), transaction.session_scope() as session:
        row = session.scalars(
            select(FacilityHistory).where(FacilityHistory.record_type == "contact")
        ).one()
    assert row.changes == {"role": [None, "Night manager"]}


def test_an_upload_and_a_create_confirm_what_they_add(client, app, site):
    created = client.post(
        f"{API}/facilities/{site.facility.id}/contacts",
        json={"name": "Sam Day"},
        headers=site.manager,
    )
    uploaded = client.post(
        f"{API}/facilities/{site.facility.id}/floor-plans",
        data={
            "building": "Annex",
            "level_number": "0",
            "level_label": "Ground",
            "title": "Annex ground floor",
            "file": (io.BytesIO(sample_files.png()), "annex.png", "image/png"),
        },
        headers=site.manager,
        content_type="multipart/form-data",
    )
    for response, model in ((created, Contact), (uploaded, FloorPlan)):
        assert response.status_code == 201, response.get_data(as_text=True)
        stored = fetch(app, model, response.json["id"])
        assert near_now(stored.confirmed_at)
        assert stored.confirmed_by == "manager.alpha"


def test_last_verified_at_states_an_earlier_verification(client, app, site):
    """The field of old clients: a past time sent is when it was verified; the value read back
    (or null) is no statement, and the edit confirms now; both read as confirmed_at."""
    path = f"{API}/contacts/{site.contact.id}"
    stated = patch(client, site.manager, path, {"last_verified_at": "2026-01-15T09:30:00-05:00"})
    assert stated.status_code == 200, stated.json
    assert stated.json["confirmed_at"] == "2026-01-15T14:30:00+00:00"
    assert stated.json["last_verified_at"] == stated.json["confirmed_at"]
    assert fetch(app, Contact, site.contact.id).confirmed_at == datetime(
        2026, 1, 15, 14, 30, tzinfo=UTC
    )

    echoed = patch(
        client,
        site.manager,
        path,
        {"last_verified_at": stated.json["last_verified_at"], "notes": "x"},
    )
    assert near_now(echoed.json["confirmed_at"])
    cleared = patch(client, site.manager, path, {"last_verified_at": None})
    assert near_now(cleared.json["confirmed_at"])

    future = (REAL_UTCNOW() + timedelta(days=1)).isoformat()
    before = fetch(app, Contact, site.contact.id)
    assert_problem(
        patch(client, site.manager, path, {"last_verified_at": future}), 422, "last_verified_at"
    )
    assert fetch(app, Contact, site.contact.id).version == before.version


@pytest.mark.parametrize("field", ["confirmed_at", "confirmed_by"])
def test_a_confirmation_cannot_be_written_directly(client, app, site, field):
    path = f"{API}/facilities/{site.facility.id}"
    before = fetch(app, Facility, site.facility.id)
    response = patch(client, site.manager, path, {field: "2026-01-01T00:00:00+00:00"})
    assert_problem(response, 422, field)
    after = fetch(app, Facility, site.facility.id)
    assert (after.version, after.confirmed_at, after.confirmed_by) == (before.version, None, None)


# ---------------------------------------------------------------------------------------------
# Confirm all


def stored_confirmations(app, site) -> dict:
    return {
        kind: (row.confirmed_at, row.confirmed_by, row.version, row.updated_at)
        for kind, (model, record_id) in parts(site).items()
        for row in [fetch(app, model, record_id)]
    }


def test_confirm_all_confirms_every_part_in_one_request(client, app, site):
    before = stored_confirmations(app, site)
    untouched = [
        (Contact, site.gone_contact.id),
        (Contact, site.org_contact.id),
        (AccessPoint, site.gone_point.id),
        (FloorPlan, site.old_plan.id),
    ]
    untouched_before = [fetch(app, model, record_id).version for model, record_id in untouched]

    response = confirm(client, site.manager, site.facility.id)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["confirmed"] == {
        "facility": 1,
        "contacts": 1,
        "access_points": 1,
        "tactical_points": 1,
        "floor_plans": 1,
    }
    assert body["confirmed_by"] == "manager.alpha"
    assert near_now(body["confirmed_at"])
    assert body["facility"]["confirmed_at"] == body["confirmed_at"]
    facility = fetch(app, Facility, site.facility.id)
    assert response.headers["ETag"] == f'"facility-{facility.id}-v{facility.version}"'
    after = stored_confirmations(app, site)
    for kind, (confirmed_at, confirmed_by, version, updated_at) in after.items():
        assert confirmed_at == datetime.fromisoformat(body["confirmed_at"]), kind
        assert confirmed_by == "manager.alpha"
        assert version == before[kind][2] + 1, kind  # its representation changed
        assert updated_at == before[kind][3], kind  # its content did not
    # Deleted parts, the organization's own contact and a superseded plan are not confirmed.
    for (model, record_id), version in zip(untouched, untouched_before, strict=True):
        row = fetch(app, model, record_id)
        assert (row.confirmed_at, row.version) == (None, version), model
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "facility.confirm")
        ).all()
        history = session.scalars(
            select(FacilityHistory).where(FacilityHistory.action == "confirm")
        ).all()
    assert len(events) == 1
    assert events[0].facility_id == site.facility.id
    assert events[0].details == {"confirmed": body["confirmed"]}
    assert sorted(row.record_type for row in history) == sorted(parts(site))
    assert all(row.changes["confirmed_by"] == [None, "manager.alpha"] for row in history)


def test_confirm_all_answers_in_the_history_of_the_facility(client, site):
    assert confirm(client, site.manager, site.facility.id).status_code == 200
    listed = client.get(f"{API}/facilities/{site.facility.id}/history", headers=site.manager)
    assert listed.status_code == 200, listed.get_data(as_text=True)
    actions = {(item["record_type"], item["action"]) for item in listed.json["items"]}
    assert ("floor_plan", "confirm") in actions and ("facility", "confirm") in actions


def test_an_admin_confirms_too(client, app, site):
    response = confirm(client, site.admin, site.facility.id)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert fetch(app, Contact, site.contact.id).confirmed_by.startswith("user")


@pytest.mark.parametrize(
    ("caller", "status"),
    [("officer", 403), ("cad", 403), ("outsider", 404), ("other_manager", 404), ("auditor", 404)],
)
def test_only_the_facilitys_managers_confirm(client, app, site, caller, status):
    """An agency that reads the pre-plan may not vouch for it (403); callers who cannot read
    the facility learn nothing (404). Nothing changes."""
    before = stored_confirmations(app, site)
    events = count(app, AuditEvent)
    match = etag(client, site.admin, f"{API}/facilities/{site.facility.id}")

    response = client.post(
        f"{API}/facilities/{site.facility.id}/confirm",
        headers={**getattr(site, caller), "If-Match": match},
    )

    assert_problem(response, status)
    assert stored_confirmations(app, site) == before
    assert count(app, AuditEvent) == events


def test_confirm_all_needs_the_current_if_match(client, app, site):
    path = f"{API}/facilities/{site.facility.id}/confirm"
    before = stored_confirmations(app, site)

    assert_problem(client.post(path, headers=site.manager), 428)
    assert_problem(client.post(path, headers={**site.manager, "If-Match": "*"}), 428)
    stale = f'"facility-{site.facility.id}-v0"'
    assert_problem(client.post(path, headers={**site.manager, "If-Match": stale}), 412)
    assert_problem(client.post(f"{API}/facilities/987654/confirm", headers=site.manager), 404)
    assert stored_confirmations(app, site) == before


def test_confirm_all_with_an_idempotency_key_is_replayed(client, app, site):
    first = confirm(client, site.manager, site.facility.id, **{"Idempotency-Key": "confirm-1"})
    assert first.status_code == 200
    stored = stored_confirmations(app, site)

    again = client.post(
        f"{API}/facilities/{site.facility.id}/confirm",
        headers={**site.manager, "If-Match": '"stale"', "Idempotency-Key": "confirm-1"},
    )

    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert stored_confirmations(app, site) == stored
    assert count(app, AuditEvent, AuditEvent.action == "facility.confirm") == 1


# ---------------------------------------------------------------------------------------------
# Stale parts in the pre-plan


def preplan(client, headers, facility_id) -> dict:
    response = client.get(f"{API}/preplans/{facility_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def marks(document) -> dict:
    """kind -> (stale, age_days) of the site's one live part of each kind."""
    return {
        "facility": (document["facility"]["stale"], document["facility"]["age_days"]),
        **{
            kind: (document[name][0]["stale"], document[name][0]["age_days"])
            for kind, name in (
                ("contact", "contacts"),
                ("access_point", "access_points"),
                ("tactical_point", "tactical_points"),
                ("floor_plan", "floor_plans"),
            )
        },
    }


def stored_rendering(app, facility_id):
    with app.app_context(), transaction.session_scope() as session:
        row = session.get(StoredPreplan, facility_id)
        return row.render_key, row.document


def test_never_confirmed_parts_are_stale_without_an_age(client, site):
    cache.clear()
    document = preplan(client, site.officer, site.facility.id)
    assert set(marks(document).values()) == {(True, None)}
    assert document["contacts"][0]["confirmed_at"] is None


def test_a_stored_preplan_ages_with_the_clock(client, app, site, clock):
    """Confirmed today: fresh. 181 days on, with nothing edited, the contact (180 days) is
    stale and the rest is not; 366 days on, everything is. The stored rendering is the same
    row all along and holds no stale flag: the flags are the day's."""
    cache.clear()
    assert confirm(client, site.manager, site.facility.id).status_code == 200
    fresh = preplan(client, site.officer, site.facility.id)
    assert set(marks(fresh).values()) == {(False, 0)}
    stored = stored_rendering(app, site.facility.id)
    assert '"stale"' not in stored[1] and '"age_days"' not in stored[1]

    clock.move(181)
    later = preplan(client, site.officer, site.facility.id)
    assert marks(later) == {
        "facility": (False, 181),
        "contact": (True, 181),
        "access_point": (False, 181),
        "tactical_point": (False, 181),
        "floor_plan": (False, 181),
    }
    clock.move(366)
    assert set(marks(preplan(client, site.cad, site.facility.id)).values()) == {(True, 366)}
    assert stored_rendering(app, site.facility.id) == stored

    clock.move(0)
    assert set(marks(preplan(client, site.officer, site.facility.id)).values()) == {(False, 0)}


def test_the_etag_changes_with_the_day(client, site, clock):
    cache.clear()
    assert confirm(client, site.manager, site.facility.id).status_code == 200
    path = f"{API}/preplans/{site.facility.id}"
    today = client.get(path, headers=site.officer).headers["ETag"]
    clock.move(181)
    response = client.get(path, headers={**site.officer, "If-None-Match": today})
    assert response.status_code == 200  # not 304: the stale flags moved
    assert response.json["contacts"][0]["stale"] is True


def test_the_maximum_ages_are_set_per_kind(build_app, make, app, clock):
    """REGISTRY_STALE_DAYS_*: each kind its own, the rest at their defaults."""
    cache.clear()
    other = build_app(REGISTRY_STALE_DAYS_ACCESS_POINTS=10, REGISTRY_STALE_DAYS_CONTACTS=400)
    client = other.test_client()
    org = make.organization()
    facility = make.facility(org, confirmed_at=ago(11), confirmed_by="someone")
    make.contact(facility_id=facility.id, confirmed_at=ago(300), confirmed_by="someone")
    make.access_point(facility, confirmed_at=ago(11), confirmed_by="someone")
    make.tactical_point(facility, confirmed_at=ago(364), confirmed_by="someone")
    floor_plan(app, facility, confirmed_at=ago(366), confirmed_by="someone")
    document = preplan(client, make.manager(org), facility.id)
    assert marks(document) == {
        "facility": (False, 11),
        "contact": (False, 300),  # 400 here; 180 by default
        "access_point": (True, 11),  # 10 here
        "tactical_point": (False, 364),
        "floor_plan": (True, 366),
    }
    # The default app, same day, same rows: its own limits (its own cache entry).
    default = preplan(app.test_client(), make.manager(org), facility.id)
    assert marks(default)["contact"] == (True, 300)
    assert marks(default)["access_point"] == (False, 11)


@pytest.mark.parametrize("value", [0, -1, 36501, "180", 1.5, True])
def test_a_maximum_age_out_of_bounds_stops_the_service(value):
    with pytest.raises(ConfigError, match="REGISTRY_STALE_DAYS_CONTACTS"):
        registry_config.load_config({**TEST_KEYS, "REGISTRY_STALE_DAYS_CONTACTS": value})


def test_a_maximum_age_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("REGISTRY_STALE_DAYS_FLOOR_PLANS", "90")
    config = registry_config.load_config(dict(TEST_KEYS))
    assert config["REGISTRY_STALE_DAYS_FLOOR_PLANS"] == 90
    assert config["REGISTRY_STALE_DAYS_CONTACTS"] == 180
    assert config["REGISTRY_STALE_DAYS_FACILITIES"] == 365


def test_the_printed_preplan_marks_stale_parts(client, site, clock):
    cache.clear()
    assert confirm(client, site.manager, site.facility.id).status_code == 200
    clock.move(200)
    page = client.get(f"{API}/preplans/{site.facility.id}?format=html", headers=site.officer)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "by manager.alpha" in text
    assert text.count("STALE (200 days)") == 1  # the contact only


# ---------------------------------------------------------------------------------------------
# The report


@pytest.fixture
def estate(app, make):
    """Organization A (five facilities) and B (one), agency X sharing A's and agency Z sharing
    nothing. Confirmation ages are chosen against the defaults (contacts 180 days, else 365)."""
    a, b = make.organization(name="Alpha"), make.organization(name="Beta")
    x, z = make.agency(), make.agency()
    make.mou(a, x)

    def complete(facility, contact_age=10):
        make.contact(
            facility_id=facility.id,
            available_24_7=True,
            confirmed_at=ago(contact_age),
            confirmed_by="m",
        )
        make.access_point(facility, confirmed_at=ago(10), confirmed_by="m")
        make.tactical_point(facility, kind="staging_area", confirmed_at=ago(10), confirmed_by="m")
        return facility

    fresh = {"confirmed_at": ago(10), "confirmed_by": "m"}
    e = SimpleNamespace(a=a, b=b)
    e.fine = complete(make.facility(a, name="A1 fine", main_phone="+12175550101", **fresh))
    e.stale_contact = complete(make.facility(a, name="A2 stale contact", **fresh), 200)
    e.due_soon = complete(make.facility(a, name="A3 due soon", **fresh), 160)
    e.bare = make.facility(a, name="A4 bare", main_phone="+12175550199", **fresh)
    e.twin = complete(make.facility(a, name="A5 twin", main_phone="+12175550199", **fresh))
    e.beta = complete(make.facility(b, name="B1", main_phone="+12175550101", **fresh))
    e.beta_stale = make.facility(b, name="B2 never confirmed")
    e.deleted = make.facility(a, name="A0 deleted", deleted_at=ago(1))
    make.contact(facility_id=e.due_soon.id, name="Deleted", deleted_at=ago(1))
    e.manager_a = make.manager(a)
    e.officer_x = make.officer(x)
    e.officer_z = make.officer(z)
    e.x, e.z = x, z
    return e


def report(client, headers, **params):
    response = client.get(REPORT, headers=headers, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def by_name(body) -> dict:
    return {item["facility_name"]: item for item in body["items"]}


def test_the_report_for_a_manager(client, estate):
    body = report(client, estate.manager_a)

    assert body["as_of"] == db.utc_today().isoformat()
    assert body["due_within_days"] == 30
    assert body["max_age_days"] == {
        "facility": 365,
        "contact": 180,
        "access_point": 365,
        "tactical_point": 365,
        "floor_plan": 365,
    }
    items = by_name(body)
    assert list(items) == ["A2 stale contact", "A3 due soon", "A4 bare", "A5 twin"]
    assert body["total"] == 4
    assert items["A4 bare"]["incomplete"] == [
        "no_24_7_contact",
        "no_access_point",
        "no_staging_area",
        "main_phone_shared",
    ]
    assert items["A4 bare"]["due"] == []
    assert items["A5 twin"]["incomplete"] == ["main_phone_shared"]
    # A1 shares its number with B1, which this manager does not read: not said.
    stale = items["A2 stale contact"]
    assert stale["incomplete"] == []
    [contact] = stale["due"]
    today = db.utc_today()
    assert contact["kind"] == "contact"
    assert (contact["age_days"], contact["stale"]) == (200, True)
    assert contact["due_on"] == (today - timedelta(days=20)).isoformat()
    assert contact["confirmed_by"] == "m"
    [soon] = items["A3 due soon"]["due"]  # the deleted contact is not listed
    assert (soon["age_days"], soon["stale"]) == (160, False)
    assert soon["due_on"] == (today + timedelta(days=20)).isoformat()


def test_due_within_days_narrows_and_widens(client, estate):
    now_only = by_name(report(client, estate.manager_a, due_within_days=0))
    assert "A3 due soon" not in now_only and "A2 stale contact" in now_only
    wide = by_name(report(client, estate.manager_a, due_within_days=360))
    # Everything confirmed 10 days ago is due within 360 days; the contact (180 days) first.
    assert [item["kind"] for item in wide["A1 fine"]["due"]] == [
        "contact",
        "facility",
        "access_point",
        "tactical_point",
    ]
    assert all(not item["stale"] for item in wide["A1 fine"]["due"])


def test_the_report_for_an_agency_shows_only_what_is_shared_with_it(client, estate):
    names = list(by_name(report(client, estate.officer_x)))
    assert names == ["A2 stale contact", "A3 due soon", "A4 bare", "A5 twin"]
    filtered = report(client, estate.officer_x, organization_id=estate.b.id)
    assert (filtered["total"], filtered["items"]) == (0, [])
    unshared = report(client, estate.officer_z)
    assert (unshared["total"], unshared["items"]) == (0, [])
    # Another agency named: only what both this agency and that one read (nothing of B here).
    assert report(client, estate.officer_z, agency_id=estate.x.id)["total"] == 0


def test_the_report_for_an_admin_with_filters(client, make, estate):
    admin = make.admin()
    everything = by_name(report(client, admin))
    assert set(everything) == {
        "A1 fine",  # shares its main phone with B1: an admin reads both
        "A2 stale contact",
        "A3 due soon",
        "A4 bare",
        "A5 twin",
        "B1",
        "B2 never confirmed",
    }
    assert everything["A1 fine"]["incomplete"] == ["main_phone_shared"]
    never = everything["B2 never confirmed"]
    assert never["due"] == [
        {
            "kind": "facility",
            "id": estate.beta_stale.id,
            "name": "B2 never confirmed",
            "confirmed_at": None,
            "confirmed_by": None,
            "age_days": None,
            "due_on": None,
            "stale": True,
        }
    ]
    beta = by_name(report(client, admin, organization_id=estate.b.id))
    assert set(beta) == {"B1", "B2 never confirmed"}
    shared = by_name(report(client, admin, agency_id=estate.x.id))
    assert set(shared) == {"A1 fine", "A2 stale contact", "A3 due soon", "A4 bare", "A5 twin"}


def test_the_report_pages(client, estate):
    pages = [report(client, estate.manager_a, per_page=3, page=n) for n in (1, 2, 3)]
    assert [p["total"] for p in pages] == [4, 4, 4]
    assert [len(p["items"]) for p in pages] == [3, 1, 0]
    names = [item["facility_name"] for p in pages for item in p["items"]]
    assert names == ["A2 stale contact", "A3 due soon", "A4 bare", "A5 twin"]


def test_a_confirmation_takes_a_facility_off_the_report(client, estate):
    assert "A2 stale contact" in by_name(report(client, estate.manager_a))
    assert confirm(client, estate.manager_a, estate.stale_contact.id).status_code == 200
    assert "A2 stale contact" not in by_name(report(client, estate.manager_a))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"due_within_days": -1}, "due_within_days"),
        ({"due_within_days": 366}, "due_within_days"),
        ({"due_within_days": "soon"}, "due_within_days"),
        ({"due_within_days": "1.5"}, "due_within_days"),
        ({"organization_id": 0}, "organization_id"),
        ({"agency_id": 2**31}, "agency_id"),
        ({"per_page": 101}, "per_page"),
        ({"page": 0}, "page"),
        ({"stale": "true"}, "stale"),
    ],
)
def test_bad_report_parameters_are_422_and_change_nothing(client, app, estate, params, field):
    events = count(app, AuditEvent)
    response = client.get(REPORT, headers=estate.manager_a, query_string=params)
    assert_problem(response, 422, field)
    assert count(app, AuditEvent) == events


@pytest.mark.parametrize("role", ["cad", "auditor"])
def test_the_report_is_for_people_who_keep_or_plan_with_preplans(client, make, role):
    agency = make.agency()
    account = make.cad_client(agency) if role == "cad" else make.user("auditor")
    assert_problem(client.get(REPORT, headers=make.headers(account)), 403)
    assert_problem(client.get(REPORT), 401)


def test_the_report_takes_a_few_queries_whatever_the_number_of_facilities(app, client, make):
    """Six statements for a page, for 3 facilities as for 40 (no query per facility)."""
    org = make.organization()
    headers = make.manager(org)

    def statements() -> int:
        seen = []
        engine = app.extensions["registry.engine"]

        def count_it(*_args):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count_it)
        try:
            report(client, headers, per_page=100)
        finally:
            event.remove(engine, "before_cursor_execute", count_it)
        return len(seen)

    for n in range(3):
        facility = make.facility(org, name=f"Small {n}")
        make.contact(facility_id=facility.id)
    few = statements()
    for n in range(37):
        facility = make.facility(org, name=f"Large {n}")
        make.contact(facility_id=facility.id)
        make.access_point(facility)
    assert statements() == few


def test_the_day_moves_the_report(client, estate, clock):
    clock.move(25)
    assert "A3 due soon" in by_name(report(client, estate.manager_a, due_within_days=0))
    assert (
        date.fromisoformat(report(client, estate.manager_a)["as_of"])
        == (REAL_UTCNOW() + timedelta(days=25)).date()
    )
