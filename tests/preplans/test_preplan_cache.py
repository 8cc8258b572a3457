"""Rendered pre-plans are reused only while the database says nothing in them changed: from a
worker's own cache, and from the store in the database that every worker shares."""

import pytest
from sqlalchemy import select, text

from registry import db, transaction
from registry.auth.principal import Principal
from registry.contacts.models import Contact
from registry.db import utcnow
from registry.facilities.models import Facility
from registry.mous.models import Mou
from registry.preplans import document
from registry.preplans.document import cache
from registry.preplans.models import StoredPreplan
from tests.conftest import assert_problem


# Each test runs as one worker reading again, and as if every read came to a new worker (its
# cache empty, so what the database stores is all there is).
@pytest.fixture(params=["one worker", "a new worker each read"])
def site(make, client, request):
    cache.clear()
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    contact = make.contact(facility_id=facility.id, name="First Contact")
    point = make.access_point(facility, name="Door A", lat=39.8, lon=-89.6)
    mou = make.mou(org, agency, scopes=("data_sharing",))
    return {
        "org": org,
        "agency": agency,
        "facility": facility,
        "contact": contact,
        "point": point,
        "mou": mou,
        "admin": make.admin(),
        "manager": make.manager(org),
        "officer": make.officer(agency),
        "new_worker": request.param == "a new worker each read",
    }


def read(client, site, who="officer"):
    if site["new_worker"]:
        cache.clear()
    response = client.get(f"/api/v1/preplans/{site['facility'].id}", headers=site[who])
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"], response.get_json()


def edit(client, site, path, change, who="manager"):
    etag = client.get(path, headers=site[who]).headers["ETag"]
    response = client.patch(path, json=change, headers={**site[who], "If-Match": etag})
    assert response.status_code == 200, response.get_json()


def step(client, site, mou_id, name, who="admin", **body):
    """One step of an MOU's lifecycle (an admin acts for the party it names)."""
    path = f"/api/v1/mous/{mou_id}"
    etag = client.get(path, headers=site[who]).headers["ETag"]
    response = client.post(f"{path}/{name}", json=body, headers={**site[who], "If-Match": etag})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def test_repeat_reads_are_identical_and_cached(client, site):
    first = read(client, site)
    assert len([key for key in cache.items if key[0] != "mou"]) == 1
    assert read(client, site) == first


@pytest.mark.parametrize(
    "change",
    [
        "facility",
        "contact",
        "contact_phone",
        "new_contact",
        "access_point",
        "deleted_access_point",
        "tactical_point",
        "alias",
        "mou_scope",
    ],
)
def test_every_change_shows_at_once(client, site, change):
    etag, before = read(client, site)
    fid, contact, point = site["facility"].id, site["contact"], site["point"]
    if change == "facility":
        edit(client, site, f"/api/v1/facilities/{fid}", {"hazards": "Ammonia tank"})
        check = lambda doc: doc["facility"]["hazards"] == "Ammonia tank"  # noqa: E731
    elif change == "contact":
        edit(client, site, f"/api/v1/contacts/{contact.id}", {"name": "Renamed"})
        check = lambda doc: doc["contacts"][0]["name"] == "Renamed"  # noqa: E731
    elif change == "contact_phone":
        phones = [{"kind": "desk", "number": "+12175559999"}]
        edit(client, site, f"/api/v1/contacts/{contact.id}", {"phones": phones})
        check = lambda doc: doc["contacts"][0]["phones"][0]["number"] == "+12175559999"  # noqa: E731
    elif change == "new_contact":
        response = client.post(
            f"/api/v1/facilities/{fid}/contacts",
            json={"name": "Night guard"},
            headers=site["manager"],
        )
        assert response.status_code == 201
        check = lambda doc: "Night guard" in [c["name"] for c in doc["contacts"]]  # noqa: E731
    elif change == "access_point":
        edit(client, site, f"/api/v1/access-points/{point.id}", {"name": "Door B"})
        check = lambda doc: doc["access_points"][0]["name"] == "Door B"  # noqa: E731
    elif change == "deleted_access_point":
        path = f"/api/v1/access-points/{point.id}"
        tag = client.get(path, headers=site["manager"]).headers["ETag"]
        assert client.delete(path, headers={**site["manager"], "If-Match": tag}).status_code == 204
        check = lambda doc: doc["access_points"] == []  # noqa: E731
    elif change == "tactical_point":
        response = client.post(
            f"/api/v1/facilities/{fid}/tactical-points",
            json={"kind": "command_post", "name": "CP"},
            headers=site["manager"],
        )
        assert response.status_code == 201
        check = lambda doc: [p["name"] for p in doc["tactical_points"]] == ["CP"]  # noqa: E731
    elif change == "alias":
        edit(client, site, f"/api/v1/facilities/{fid}", {"aliases": ["North Store"]})
        check = lambda doc: doc["facility"]["aliases"] == ["North Store"]  # noqa: E731
    else:  # the MOU's renewal, with one more scope, takes over (an active MOU never changes)
        renewal = step(client, site, site["mou"].id, "renew", party="organization")["id"]
        scopes = ["data_sharing", "key_holding"]
        edit(client, site, f"/api/v1/mous/{renewal}", {"scopes": scopes}, who="admin")
        step(client, site, renewal, "propose")
        step(client, site, renewal, "accept", party="agency")
        check = lambda doc: [m["scopes"] for m in doc["mous"] if m["in_force"]] == [scopes]  # noqa: E731
    new_etag, after = read(client, site)
    assert new_etag != etag
    assert not check(before) and check(after)
    # A client holding the old ETag gets the new document, not a 304.
    response = client.get(
        f"/api/v1/preplans/{fid}", headers={**site["officer"], "If-None-Match": etag}
    )
    assert response.status_code == 200


def test_a_change_made_outside_the_api_shows_too(client, site, app):
    etag, _ = read(client, site)
    with app.app_context(), transaction.session_scope() as session:
        session.get(Contact, site["contact"].id).name = "Changed by a script"
    new_etag, after = read(client, site)
    assert new_etag != etag
    assert after["contacts"][0]["name"] == "Changed by a script"


def test_losing_the_mou_hides_a_cached_preplan(client, site, app):
    read(client, site)
    with app.app_context(), transaction.session_scope() as session:
        session.get(Mou, site["mou"].id).status = "terminated"
    response = client.get(f"/api/v1/preplans/{site['facility'].id}", headers=site["officer"])
    assert_problem(response, 404)


def test_a_deleted_facility_is_gone_even_when_cached(client, site):
    read(client, site, who="manager")
    path = f"/api/v1/facilities/{site['facility'].id}"
    tag = client.get(path, headers=site["manager"]).headers["ETag"]
    assert client.delete(path, headers={**site["manager"], "If-Match": tag}).status_code == 204
    assert_problem(
        client.get(f"/api/v1/preplans/{site['facility'].id}", headers=site["manager"]), 404
    )


def test_each_agency_sees_only_its_own_mous(client, site, make):
    other = make.agency()
    make.mou(site["org"], other, scopes=("data_sharing", "training"))
    _, mine = read(client, site)
    _, theirs = (lambda r: (r.headers["ETag"], r.get_json()))(
        client.get(f"/api/v1/preplans/{site['facility'].id}", headers=make.officer(other))
    )
    assert [m["agency_id"] for m in mine["mous"]] == [site["agency"].id]
    assert [m["agency_id"] for m in theirs["mous"]] == [other.id]
    _, everything = read(client, site, who="manager")
    assert sorted(m["agency_id"] for m in everything["mous"]) == sorted(
        [site["agency"].id, other.id]
    )


@pytest.mark.parametrize("facility_id", [0, 2**31, 2**63])
def test_out_of_range_ids_are_not_found(client, site, facility_id):
    response = client.get(f"/api/v1/preplans/{facility_id}", headers=site["officer"])
    assert_problem(response, 404)


def test_incident_filter_rejects_out_of_range_ids(client, site):
    response = client.get(f"/api/v1/incidents?facility_id={2**40}", headers=site["officer"])
    assert_problem(response, 422, "facility_id")


def test_both_representations_say_they_vary_by_accept(client, site):
    path = f"/api/v1/preplans/{site['facility'].id}"
    json_response = client.get(path, headers=site["officer"])
    geo_response = client.get(path, headers={**site["officer"], "Accept": "application/geo+json"})
    assert json_response.headers["Vary"] == "Accept"
    assert geo_response.headers["Vary"] == "Accept"
    assert geo_response.mimetype == "application/geo+json"


def test_rows_written_around_the_orm_still_change_the_preplan(client, site, app):
    # The triggers of migration 0002 see every writer: here plain SQL, as a data fix would be.
    etag, _ = read(client, site)
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text(
                "INSERT INTO facility_external_ids (facility_id, system, external_id) "
                "VALUES (:f, 'spd-cad', 'P-77')"
            ),
            {"f": site["facility"].id},
        )
    new_etag, after = read(client, site)
    assert new_etag != etag
    assert after["facility"]["external_ids"] == [{"system": "spd-cad", "external_id": "P-77"}]
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text("UPDATE contact_phones SET number = '+12175550000' WHERE contact_id = :c"),
            {"c": site["contact"].id},
        )
    _, later = read(client, site)
    assert later["contacts"][0]["phones"][0]["number"] == "+12175550000"


def test_replacing_an_mou_changes_the_preplan(client, site, app, make):
    # Same count, same versions: the new MOU's larger id still changes the stamp.
    etag, before = read(client, site, who="manager")
    with app.app_context(), transaction.session_scope() as session:
        session.delete(session.get(Mou, site["mou"].id))
    replacement = make.mou(site["org"], site["agency"], title="Replacement", status="proposed")
    new_etag, after = read(client, site, who="manager")
    assert new_etag != etag
    assert [m["title"] for m in after["mous"]] == ["Replacement"]
    assert [m["id"] for m in after["mous"]] == [replacement.id]
    assert before["mous"][0]["id"] == site["mou"].id


def renders_counted(monkeypatch) -> list:
    """Counts the renders of a pre-plan's shared parts from here on."""
    calls, render = [], document.render_shared_parts

    def counted(session, facility_ids):
        calls.extend(facility_ids)
        return render(session, facility_ids)

    monkeypatch.setattr(document, "render_shared_parts", counted)
    return calls


def test_one_render_serves_every_worker(client, site, make, monkeypatch):
    renders = renders_counted(monkeypatch)
    first = read(client, site)
    cache.clear()  # another worker, or another instance
    assert read(client, site) == first
    # Another agency reads the same stored parts, with its own MOUs.
    other = make.agency()
    make.mou(site["org"], other, scopes=("data_sharing",))
    cache.clear()
    theirs = client.get(f"/api/v1/preplans/{site['facility'].id}", headers=make.officer(other))
    assert [m["agency_id"] for m in theirs.get_json()["mous"]] == [other.id]
    assert theirs.get_json()["contacts"] == first[1]["contacts"]
    assert renders == [site["facility"].id]


def test_the_store_holds_no_mous_and_no_secrets(client, site, app, make):
    # Letters the code alone has: digits alone turned up in a timestamp's microseconds.
    make.access_point(site["facility"], name="Key box", code="Zq7x-4321#")
    read(client, site)
    with app.app_context(), transaction.session_scope() as session:
        stored = session.get(StoredPreplan, site["facility"].id)
        assert '"mous"' not in stored.document
        assert "Zq7x" not in stored.document
        assert "Key box" in stored.document


def test_parts_stored_by_other_rendering_code_are_rendered_again(client, site, app, monkeypatch):
    _, first = read(client, site)
    with app.app_context(), transaction.session_scope() as session:
        stored = session.get(StoredPreplan, site["facility"].id)
        version = stored.render_key.split(":")[1]
        # What an older release stored: another shape, under another fingerprint.
        stored.render_key = f"0123456789abcdef:{version}"
        stored.document = '{"facility": {"name": "Old shape"}}'
    renders = renders_counted(monkeypatch)
    cache.clear()
    assert read(client, site)[1] == first
    assert renders == [site["facility"].id]


def test_a_stored_preplan_the_database_moved_past_is_not_served(client, site, app, monkeypatch):
    read(client, site)
    with app.app_context(), transaction.session_scope() as session:
        session.execute(
            text("UPDATE contacts SET name = 'Changed in SQL' WHERE id = :c"),
            {"c": site["contact"].id},
        )
    cache.clear()
    assert read(client, site)[1]["contacts"][0]["name"] == "Changed in SQL"


def test_render_command_fills_the_store(client, site, app, make):
    second = make.facility(site["org"])
    deleted = make.facility(site["org"], deleted_at=utcnow())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["preplans", "render", "--batch-size", "1"])
    assert result.exit_code == 0, result.output
    assert "2 pre-plans rendered and stored" in result.output
    with app.app_context(), transaction.session_scope() as session:
        ids = set(session.scalars(select(StoredPreplan.facility_id)))
    assert ids == {site["facility"].id, second.id}
    assert deleted.id not in ids
    # Nothing is due any more; a change makes its facility due again.
    assert "0 pre-plans" in runner.invoke(args=["preplans", "render"]).output
    with app.app_context(), transaction.session_scope() as session:
        session.get(Contact, site["contact"].id).name = "Changed"
    assert "1 pre-plans" in runner.invoke(args=["preplans", "render"]).output
    # What the command stored is what a read serves.
    assert read(client, site)[1]["contacts"][0]["name"] == "Changed"


def test_a_batch_renders_each_facility_as_a_read_does(client, site, app, make):
    other = make.facility(site["org"], name="Other store")
    make.contact(facility_id=other.id, name="Other's contact")
    make.contact(facility_id=site["facility"].id, name="Second contact", call_order=2)
    make.tactical_point(other, name="Staging lot")
    paths = [f"/api/v1/preplans/{f.id}" for f in (site["facility"], other)]
    by_reads = [client.get(path, headers=site["manager"]).get_json() for path in paths]
    with app.app_context(), transaction.session_scope() as session:
        session.execute(StoredPreplan.__table__.delete())
    result = app.test_cli_runner().invoke(args=["preplans", "render", "--batch-size", "10"])
    assert "2 pre-plans rendered" in result.output
    cache.clear()
    by_batch = [client.get(path, headers=site["manager"]).get_json() for path in paths]
    assert by_batch == by_reads
    assert [c["name"] for c in by_batch[1]["contacts"]] == ["Other's contact"]


def test_an_mou_shown_in_many_preplans_changes_in_each(client, site, make, app):
    second = make.facility(site["org"])
    paths = [f"/api/v1/preplans/{f.id}" for f in (site["facility"], second)]
    for path in paths:
        assert client.get(path, headers=site["officer"]).get_json()["mous"][0]["title"] == (
            "Data sharing"
        )
    with app.app_context(), transaction.session_scope() as session:
        session.get(Mou, site["mou"].id).title = "Data sharing, renewed"
    if site["new_worker"]:
        cache.clear()
    for path in paths:
        mous = client.get(path, headers=site["officer"]).get_json()["mous"]
        assert [m["title"] for m in mous] == ["Data sharing, renewed"]


def test_new_rendering_code_changes_the_tag(client, site, monkeypatch):
    etag, _ = read(client, site)
    monkeypatch.setattr(document, "RENDERING", "fedcba9876543210")
    cache.clear()
    path = f"/api/v1/preplans/{site['facility'].id}"
    response = client.get(path, headers={**site["officer"], "If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag


def test_a_facility_the_request_holds_is_read_afresh_before_it_is_stored(client, site, app):
    """An incident's request holds the facility object; a change committed meanwhile must not
    be stored under the newer version with the older columns (READ COMMITTED sees it)."""
    if app.extensions["registry.engine"].dialect.name != "postgresql":
        pytest.skip("SQLite's transaction reads one snapshot: the change is not seen at all")
    fid = site["facility"].id
    with app.app_context(), transaction.session_scope() as session:
        held = session.get(Facility, fid)
        assert held.name != "Renamed meanwhile"
        with db.engine().begin() as other:  # another request commits a change
            other.execute(
                text("UPDATE facilities SET name = 'Renamed meanwhile' WHERE id = :f"), {"f": fid}
            )
        cache.clear()
        rendered, _ = document.preplan(session, Principal("user", 1, "admin"), fid)
        stored = session.get(StoredPreplan, fid)
        current = session.scalar(select(Facility.preplan_version).where(Facility.id == fid))
    assert rendered.document["facility"]["name"] == "Renamed meanwhile"
    assert stored.render_key == document.render_key(current)
    assert "Renamed meanwhile" in stored.document
    cache.clear()
    assert read(client, site)[1]["facility"]["name"] == "Renamed meanwhile"
