"""The change feed for CAD mirrors (issue 11, item 3): `GET /changes?since=<position>` tells each
caller, in commit order, which pre-plans it reads changed and which it no longer reads; a mirror
that replays it ends equal to the registry. On both databases; the overlapping transactions on
PostgreSQL (SQLite has one writer at a time)."""

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from registry import db, transaction
from registry.audit.models import AuditEvent
from registry.changes.models import FeedChange
from registry.mous.models import Mou
from registry.preplans import document
from tests.conftest import assert_problem, count, seal

API = "/api/v1"
FEED = f"{API}/changes"
REAL_UTCNOW = db.utcnow


@pytest.fixture
def clock(monkeypatch):
    def move(days: int) -> None:
        monkeypatch.setattr(db, "utcnow", lambda: REAL_UTCNOW() + timedelta(days=days))

    return SimpleNamespace(move=move)


@pytest.fixture
def world(make):
    """A retailer with two stores shared with an agency (whose CAD mirrors the feed), a third
    store of another retailer shared with nobody, and an agency with no MOU."""
    org, other_org = make.organization(name="Acme"), make.organization(name="Other")
    agency, stranger = make.agency(name="Springfield PD"), make.agency(name="Far PD")
    north, south = make.facility(org, name="North"), make.facility(org, name="South")
    mou = make.mou(org, agency)
    cad_client = make.cad_client(agency)
    return SimpleNamespace(
        org=org,
        agency=agency,
        north=north,
        south=south,
        hidden=make.facility(other_org, name="Not shared"),
        mou=mou,
        cad=make.headers(cad_client),
        officer=make.officer(agency),
        stranger=make.officer(stranger),
        manager=make.manager(org),
        admin=make.admin(),
    )


class Mirror:
    """What a CAD system keeps: facility id -> pre-plan, and where it read up to."""

    def __init__(self, client, headers, limit=3):
        self.client, self.headers, self.limit = client, headers, limit
        self.preplans, self.cursor, self.positions = {}, 0, []

    def catch_up(self) -> "Mirror":
        while True:
            response = self.client.get(
                FEED, query_string={"since": self.cursor, "limit": self.limit}, headers=self.headers
            )
            assert response.status_code == 200, response.get_data(as_text=True)
            page = response.json
            for change in page["changes"]:
                assert change["position"] > self.cursor
                self.positions.append(change["position"])
                if change["action"] == "upsert":
                    self.preplans[change["facility_id"]] = change["preplan"]
                else:
                    self.preplans.pop(change["facility_id"], None)
            assert page["next"] >= self.cursor
            self.cursor = page["next"]
            if not page["more"]:
                return self


def registry_state(app, client, headers) -> dict:
    """Facility id -> pre-plan parts, for every live facility the caller reads (the API's
    list says which)."""
    ids, page = [], 1
    while True:
        response = client.get(
            f"{API}/facilities", query_string={"page": page, "per_page": 100}, headers=headers
        )
        assert response.status_code == 200
        ids += [item["id"] for item in response.json["items"]]
        if page * 100 >= response.json["total"]:
            break
        page += 1
    with app.app_context(), transaction.session_scope() as session:
        return document.shared_parts(session, ids)


def etag(client, headers, path) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["ETag"]


def patch(client, headers, path, body):
    response = client.patch(
        path, json=body, headers={**headers, "If-Match": etag(client, headers, path)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def delete(client, headers, path):
    response = client.delete(path, headers={**headers, "If-Match": etag(client, headers, path)})
    assert response.status_code == 204, response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# A mirror ends equal to the registry


def test_a_mirror_replaying_the_feed_ends_equal_to_the_registry(client, app, make, world):
    w = world
    live = Mirror(client, w.cad).catch_up()  # reads along, page by page
    assert set(live.preplans) == {w.north.id, w.south.id}

    # Every kind of change to a pre-plan's parts, through the API.
    contact = client.post(
        f"{API}/facilities/{w.north.id}/contacts",
        json={"name": "Night manager", "phones": [{"kind": "mobile", "number": "+12175550123"}]},
        headers=w.manager,
    )
    assert contact.status_code == 201
    point = client.post(
        f"{API}/facilities/{w.south.id}/access-points",
        json={"kind": "entrance", "name": "Loading dock", "code": "4711#"},
        headers=w.manager,
    )
    assert point.status_code == 201
    live.catch_up()
    # The sealed code never leaves with a pre-plan.
    [dock] = live.preplans[w.south.id]["access_points"]
    assert dock["name"] == "Loading dock" and "code" not in dock
    # With its "#": bare digits can turn up in a timestamp's microseconds.
    assert "4711#" not in str(live.preplans)
    patch(client, w.manager, f"{API}/facilities/{w.north.id}", {"hazards": "Propane cage"})
    patch(client, w.manager, f"{API}/contacts/{contact.json['id']}", {"role": "Duty manager"})
    delete(client, w.manager, f"{API}/access-points/{point.json['id']}")
    third = client.post(
        f"{API}/facilities",
        json={
            "organization_id": w.org.id,
            "name": "East",
            "facility_type": "retail_store",
            "address_line1": "900 Main St",
            "city": "Springfield",
            "state": "IL",
            "postal_code": "62701",
        },
        headers=w.manager,
    )
    assert third.status_code == 201, third.get_data(as_text=True)
    live.catch_up()
    delete(client, w.manager, f"{API}/facilities/{w.south.id}")
    live.catch_up()

    expected = registry_state(app, client, w.cad)
    assert set(expected) == {w.north.id, third.json["id"]}
    assert live.preplans == expected
    # From the start, in pages of one: the same.
    assert Mirror(client, w.cad, limit=1).catch_up().preplans == expected


def test_each_change_is_read_once_in_order_and_the_cursor_reads_on(client, app, world):
    w = world
    mirror = Mirror(client, w.cad, limit=1).catch_up()
    for n in range(3):
        patch(client, w.manager, f"{API}/facilities/{w.north.id}", {"notes": f"Note {n}"})
    mirror.catch_up()
    assert len(mirror.positions) == len(set(mirror.positions))
    assert mirror.positions == sorted(mirror.positions)
    assert mirror.preplans[w.north.id]["facility"]["notes"] == "Note 2"
    # Nothing new: an empty page, the same cursor.
    response = client.get(FEED, query_string={"since": mirror.cursor}, headers=w.cad)
    assert response.json == {"changes": [], "next": mirror.cursor, "more": False}


def test_a_write_outside_the_api_reaches_the_feed(client, app, world):
    """The triggers write the rows, whoever changes the data."""
    w = world
    mirror = Mirror(client, w.cad).catch_up()
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text("UPDATE facilities SET hazards = 'Set by hand' WHERE id = :id"),
            {"id": w.south.id},
        )
    mirror.catch_up()
    assert mirror.preplans[w.south.id]["facility"]["hazards"] == "Set by hand"
    assert mirror.preplans == registry_state(app, client, w.cad)


# ---------------------------------------------------------------------------------------------
# Sharing: what stops being shared is removed; what starts is sent whole


def test_an_mou_past_its_end_date_removes_its_facilities_with_no_write(
    client, app, make, clock, world
):
    w = world
    with app.app_context(), transaction.session_scope() as session:
        session.get(Mou, w.mou.id).expiry_date = db.utc_today()  # its last day
    mirror = Mirror(client, w.cad).catch_up()
    assert set(mirror.preplans) == {w.north.id, w.south.id}
    clock.move(1)
    mirror.catch_up()
    assert mirror.preplans == {} == registry_state(app, client, w.cad)
    removals = client.get(FEED, query_string={"since": 0, "limit": 500}, headers=w.cad).json
    reasons = {c["facility_id"]: c.get("reason") for c in removals["changes"]}
    assert reasons == {w.north.id: "not_shared", w.south.id: "not_shared"}


def test_an_mou_taking_effect_later_sends_its_facilities_that_day(client, app, make, clock):
    org, agency = make.organization(), make.agency()
    store = make.facility(org)
    make.mou(org, agency, effective_date=db.utc_today() + timedelta(days=2))
    cad = make.headers(make.cad_client(agency))
    mirror = Mirror(client, cad).catch_up()
    assert mirror.preplans == {}
    clock.move(2)
    mirror.catch_up()
    assert set(mirror.preplans) == {store.id}
    assert mirror.preplans == registry_state(app, client, cad)


def test_a_terminated_mou_removes_what_it_shared(client, app, make, world):
    w = world
    mirror = Mirror(client, w.cad).catch_up()
    path = f"{API}/mous/{w.mou.id}"
    response = client.post(
        f"{path}/terminate",
        json={"reason": "Store sold"},
        headers={**w.officer, "If-Match": etag(client, w.officer, path)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    mirror.catch_up()
    assert mirror.preplans == {} == registry_state(app, client, w.cad)


def test_a_narrowed_mou_removes_only_the_facility_it_no_longer_covers(client, app, make):
    org, agency = make.organization(), make.agency()
    kept, dropped = make.facility(org), make.facility(org)
    mou = make.mou(org, agency, facilities=(kept, dropped))
    cad = make.headers(make.cad_client(agency))
    mirror = Mirror(client, cad).catch_up()
    assert set(mirror.preplans) == {kept.id, dropped.id}
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text("DELETE FROM mou_facilities WHERE mou_id = :m AND facility_id = :f"),
            {"m": mou.id, "f": dropped.id},
        )
    mirror.catch_up()
    assert set(mirror.preplans) == {kept.id}
    assert mirror.preplans == registry_state(app, client, cad)


def test_a_facility_moved_to_another_organization_leaves_the_old_ones_mirrors(
    client, app, make, world
):
    """A store sold to another retailer is no longer shared by the old one's MOUs: the mirror
    drops it instead of serving the old owner's contacts and notes."""
    w = world
    mirror = Mirror(client, w.cad).catch_up()
    buyer = make.organization(name="Buyer")
    patch(client, w.admin, f"{API}/facilities/{w.north.id}", {"organization_id": buyer.id})
    mirror.catch_up()
    assert set(mirror.preplans) == {w.south.id}
    assert mirror.preplans == registry_state(app, client, w.cad)


# ---------------------------------------------------------------------------------------------
# Who is told what


def test_nobody_is_told_of_a_facility_they_do_not_read(client, app, world):
    w = world
    patch(client, w.admin, f"{API}/facilities/{w.hidden.id}", {"hazards": "Secret"})
    assert Mirror(client, w.stranger).catch_up().preplans == {}
    for headers in (w.cad, w.officer, w.manager):
        mirror = Mirror(client, headers).catch_up()
        assert w.hidden.id not in mirror.preplans
        everything = client.get(FEED, query_string={"limit": 500}, headers=headers).json
        assert w.hidden.id not in {c["facility_id"] for c in everything["changes"]}
    admin = Mirror(client, w.admin).catch_up()
    assert set(admin.preplans) == {w.north.id, w.south.id, w.hidden.id}


def test_an_agencys_own_draft_tells_it_nothing_about_the_facilities_it_names(client, world):
    """A draft (or a proposal) grants nothing: the organization's facilities are not named to
    the agency that drafted it, whatever it covers, however it is edited or deleted."""
    w = world
    mirror = Mirror(client, w.stranger).catch_up()
    drafted = client.post(
        f"{API}/mous",
        json={
            "organization_id": w.org.id,
            "agency_id": client.get(f"{API}/auth/me", headers=w.stranger).json["agency_id"],
            "title": "Fishing",
            "effective_date": str(db.utc_today() - timedelta(days=1)),
            "scopes": ["data_sharing"],
        },
        headers=w.stranger,
    )
    assert drafted.status_code == 201, drafted.get_data(as_text=True)
    path = f"{API}/mous/{drafted.json['id']}"
    patch(client, w.stranger, path, {"notes": "Edited"})
    delete(client, w.stranger, path)
    everything = client.get(FEED, query_string={"limit": 500}, headers=w.stranger).json
    assert everything["changes"] == []
    assert mirror.catch_up().preplans == {}


def test_a_manager_mirrors_its_organization_and_sees_a_deletion(client, app, world):
    w = world
    mirror = Mirror(client, w.manager).catch_up()
    assert set(mirror.preplans) == {w.north.id, w.south.id}
    delete(client, w.manager, f"{API}/facilities/{w.north.id}")
    page = client.get(FEED, query_string={"since": mirror.cursor}, headers=w.manager).json
    assert [(c["facility_id"], c["action"], c["reason"]) for c in page["changes"]] == [
        (w.north.id, "remove", "deleted")
    ]


def test_each_page_is_one_audit_event_naming_the_preplans_it_carried(client, app, world):
    w = world
    Mirror(client, w.cad, limit=500).catch_up()
    seal(app)
    with app.app_context(), transaction.session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "preplan.feed")
        ).all()
        assert len(events) == 1
        assert sorted(events[0].details["facility_ids"]) == sorted([w.north.id, w.south.id])


@pytest.mark.parametrize(
    "params, field",
    [
        ({"since": "-1"}, "since"),
        ({"since": "abc"}, "since"),
        ({"since": "1.5"}, "since"),
        ({"since": "99999"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
    ],
)
def test_a_bad_cursor_or_limit_is_422_and_tells_nothing(client, app, world, params, field):
    w = world
    response = client.get(FEED, query_string=params, headers=w.cad)
    assert_problem(response, 422, field)
    assert count(app, AuditEvent, AuditEvent.action == "preplan.feed") == 0


def test_the_feed_needs_a_token(client):
    assert_problem(client.get(FEED), 401)


# ---------------------------------------------------------------------------------------------
# Concurrent writers and long transactions (PostgreSQL)


def _postgres_only(app):
    with app.app_context():
        if db.engine().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: no transactions overlap")


def test_a_long_transaction_committing_after_a_later_one_is_neither_skipped_nor_repeated(
    client, app, world
):
    _postgres_only(app)
    w = world
    mirror = Mirror(client, w.cad).catch_up()
    with app.app_context():
        engine = db.engine()
        long_running, short = engine.connect(), engine.connect()
        try:
            long_running.begin()
            long_running.execute(
                text("UPDATE facilities SET notes = 'long' WHERE id = :id"), {"id": w.north.id}
            )
            with short.begin():
                short.execute(
                    text("UPDATE facilities SET notes = 'short' WHERE id = :id"),
                    {"id": w.south.id},
                )
            # The long transaction's row has the smaller id, and is not committed yet.
            mirror.catch_up()
            assert mirror.preplans[w.south.id]["facility"]["notes"] == "short"
            assert mirror.preplans[w.north.id]["facility"]["notes"] is None
            long_running.commit()
        finally:
            long_running.close()
            short.close()
    mirror.catch_up()
    assert mirror.preplans[w.north.id]["facility"]["notes"] == "long"
    assert mirror.preplans == registry_state(app, client, w.cad)
    with app.app_context(), transaction.session_scope() as session:
        rows = session.execute(
            select(FeedChange.id, FeedChange.position, FeedChange.facility_id).where(
                FeedChange.facility_id.in_([w.north.id, w.south.id])
            )
        ).all()
    late = max((row for row in rows if row.facility_id == w.north.id), key=lambda r: r.id)
    early = max((row for row in rows if row.facility_id == w.south.id), key=lambda r: r.id)
    assert late.id < early.id and late.position > early.position  # numbered at commit


def test_concurrent_writers_and_a_polling_mirror_end_equal(client, app, make, world):
    _postgres_only(app)
    w = world
    stores = [w.north, w.south] + [make.facility(w.org) for _ in range(4)]
    mirror = Mirror(client, w.cad, limit=5).catch_up()

    def writer(store, n):
        with app.app_context():
            engine = db.engine()
            for i in range(n):
                with engine.begin() as connection:
                    connection.execute(
                        text("UPDATE facilities SET notes = :notes WHERE id = :id"),
                        {"notes": f"{store.id}-{i}", "id": store.id},
                    )
                    if i % 3 == 0:
                        connection.execute(text("SELECT pg_sleep(0.01)"))

    threads = [threading.Thread(target=writer, args=(store, 8)) for store in stores]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        mirror.catch_up()
    for thread in threads:
        thread.join()
    mirror.catch_up()
    assert len(mirror.positions) == len(set(mirror.positions))
    assert mirror.preplans == registry_state(app, client, w.cad)
    assert {p["facility"]["notes"] for p in mirror.preplans.values()} == {
        f"{store.id}-7" for store in stores
    }
    with app.app_context(), transaction.session_scope() as session:
        positions = session.scalars(select(FeedChange.position).order_by(FeedChange.position)).all()
    assert positions == list(range(1, len(positions) + 1))  # numbered without a gap
