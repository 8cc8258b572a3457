"""One person, many sites (issue 11, item 2): an organization's contact listed at any number of
its facilities, at a place in each one's call order, shown in each pre-plan and edited once; on
both databases."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from registry import db, transaction
from registry.audit.models import AuditEvent
from registry.contacts.models import Contact, ContactAssignment
from registry.facilities.models import Facility
from registry.preplans.document import cache
from tests.conftest import assert_problem, count, fetch

API = "/api/v1"


@pytest.fixture
def estate(make):
    """Two stores of one retailer with a night manager each (call order 1), a regional
    director (an organization contact, not yet listed anywhere), a sharing agency's officer,
    and another retailer with a store of its own."""
    org = make.organization(name="Acme Stores")
    north, south = make.facility(org, name="Acme North"), make.facility(org, name="Acme South")
    agency = make.agency()
    make.mou(org, agency)
    other_org = make.organization(name="Other Stores")
    return SimpleNamespace(
        org=org,
        north=north,
        south=south,
        gone=make.facility(org, name="Acme Closed", deleted_at=db.utcnow() - timedelta(days=1)),
        night_north=make.contact(facility_id=north.id, name="Night North", call_order=1),
        night_south=make.contact(facility_id=south.id, name="Night South", call_order=1),
        director=make.contact(organization_id=org.id, name="Regional Director", call_order=1),
        manager=make.manager(org),
        officer=make.officer(agency),
        cad=make.headers(make.cad_client(agency)),
        admin=make.admin(),
        other_manager=make.manager(other_org),
        other_store=make.facility(other_org, name="Other #1"),
    )


def etag(client, headers, path) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["ETag"]


def patch_contact(client, headers, contact_id, body):
    path = f"{API}/contacts/{contact_id}"
    return client.patch(
        path, json=body, headers={**headers, "If-Match": etag(client, headers, path)}
    )


def listed(client, headers, facility_id) -> list[tuple[str, int]]:
    """(name, call_order) of each contact the facility's pre-plan lists, in its order."""
    response = client.get(f"{API}/preplans/{facility_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [(c["name"], c["call_order"]) for c in response.json["contacts"]]


def assignments(app) -> set[tuple[int, int, int]]:
    with app.app_context(), transaction.session_scope() as session:
        rows = session.execute(
            select(
                ContactAssignment.contact_id,
                ContactAssignment.facility_id,
                ContactAssignment.call_order,
            )
        )
        return {tuple(row) for row in rows}


def preplan_version(app, facility_id) -> int:
    return fetch(app, Facility, facility_id).preplan_version


def place(client, e, *places):
    """List the director at (facility, call order) places; the response is checked."""
    body = {"facilities": [{"facility_id": f.id, "call_order": n} for f, n in places]}
    response = patch_contact(client, e.manager, e.director.id, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


# ---------------------------------------------------------------------------------------------
# Listed in each pre-plan, at each facility's own place


def test_an_organization_contact_created_with_its_sites_is_in_each_preplan(client, app, estate):
    e = estate
    response = client.post(
        f"{API}/organizations/{e.org.id}/contacts",
        json={
            "name": "Security Operations Centre",
            "available_24_7": True,
            "phones": [{"kind": "office", "number": "+12175550199"}],
            "facilities": [
                {"facility_id": e.north.id, "call_order": 3},
                {"facility_id": e.south.id, "call_order": 2},
            ],
        },
        headers=e.manager,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    soc = response.json["id"]
    assert "facilities" not in response.json  # read at /contacts/{id}/facilities
    assert assignments(app) == {(soc, e.north.id, 3), (soc, e.south.id, 2)}
    # Round the clock first, as everywhere; then each facility's order.
    assert listed(client, e.officer, e.north.id) == [
        ("Security Operations Centre", 3),
        ("Night North", 1),
    ]
    assert listed(client, e.cad, e.south.id) == [
        ("Security Operations Centre", 2),
        ("Night South", 1),
    ]
    shown = client.get(f"{API}/preplans/{e.north.id}", headers=e.officer).json["contacts"][0]
    assert shown["organization_id"] == e.org.id and shown["facility_id"] is None
    assert shown["phones"] == [{"kind": "office", "number": "+12175550199", "extension": None}]


def test_places_in_call_order_mix_with_the_facilitys_own_contacts(client, app, estate):
    e = estate
    place(client, e, (e.north, 1), (e.south, 2))
    # Equal places: by name, as for a facility's own contacts.
    assert listed(client, e.officer, e.north.id) == [("Night North", 1), ("Regional Director", 1)]
    assert listed(client, e.officer, e.south.id) == [("Night South", 1), ("Regional Director", 2)]
    assert assignments(app) == {(e.director.id, e.north.id, 1), (e.director.id, e.south.id, 2)}


def test_where_a_contact_is_listed_is_read_with_the_contacts_etag(client, estate):
    e = estate
    place(client, e, (e.south, 2), (e.north, 4))
    path = f"{API}/contacts/{e.director.id}"
    response = client.get(f"{path}/facilities", headers=e.manager)
    assert response.status_code == 200
    assert response.json == {
        "contact_id": e.director.id,
        "facilities": sorted(
            [
                {"facility_id": e.north.id, "call_order": 4},
                {"facility_id": e.south.id, "call_order": 2},
            ],
            key=lambda a: a["facility_id"],
        ),
    }
    assert response.headers["ETag"] == etag(client, e.manager, path)
    assert client.get(f"{path}/facilities", headers=e.admin).status_code == 200


# ---------------------------------------------------------------------------------------------
# Edited once


@pytest.mark.parametrize("worker", ["one worker", "a new worker per read"])
def test_one_edit_changes_every_preplan_that_lists_the_person(client, app, estate, worker):
    e = estate
    place(client, e, (e.north, 2), (e.south, 2))
    before = {f.id: listed(client, e.officer, f.id) for f in (e.north, e.south)}  # cached, stored
    if worker != "one worker":
        cache.clear()
    response = patch_contact(
        client,
        e.manager,
        e.director.id,
        {
            "name": "Regional Director (acting)",
            "phones": [{"kind": "mobile", "number": "+12175550142"}],
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    if worker != "one worker":
        cache.clear()
    for facility in (e.north, e.south):
        after = listed(client, e.officer, facility.id)
        assert after != before[facility.id]
        assert ("Regional Director (acting)", 2) in after
        contacts = client.get(f"{API}/preplans/{facility.id}", headers=e.officer).json["contacts"]
        number = next(c for c in contacts if c["id"] == e.director.id)["phones"][0]["number"]
        assert number == "+12175550142"


def test_moving_one_place_moves_the_person_there_only(client, app, estate):
    e = estate
    place(client, e, (e.north, 2), (e.south, 2))
    place(client, e, (e.north, 2), (e.south, 5))
    assert assignments(app) == {(e.director.id, e.north.id, 2), (e.director.id, e.south.id, 5)}
    assert listed(client, e.officer, e.south.id) == [("Night South", 1), ("Regional Director", 5)]
    assert listed(client, e.officer, e.north.id) == [("Night North", 1), ("Regional Director", 2)]


def test_a_site_taken_off_the_list_no_longer_shows_the_person(client, app, estate):
    e = estate
    place(client, e, (e.north, 2), (e.south, 2))
    listed(client, e.officer, e.south.id)  # cached and stored with the director
    place(client, e, (e.north, 2))
    assert assignments(app) == {(e.director.id, e.north.id, 2)}
    assert listed(client, e.officer, e.south.id) == [("Night South", 1)]
    place(client, e)  # listed nowhere
    assert assignments(app) == set()
    assert listed(client, e.officer, e.north.id) == [("Night North", 1)]


def test_a_deleted_contact_leaves_every_preplan_and_comes_back_restored(client, app, estate):
    e = estate
    place(client, e, (e.north, 2), (e.south, 2))
    listed(client, e.officer, e.north.id)
    path = f"{API}/contacts/{e.director.id}"
    deleted = client.delete(path, headers={**e.manager, "If-Match": etag(client, e.manager, path)})
    assert deleted.status_code == 204
    assert listed(client, e.officer, e.north.id) == [("Night North", 1)]
    assert listed(client, e.officer, e.south.id) == [("Night South", 1)]
    restored = client.post(f"{path}/restore", headers=e.manager)
    assert restored.status_code == 200
    assert ("Regional Director", 2) in listed(client, e.officer, e.south.id)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE contacts SET name = 'Changed by hand' WHERE id = :contact",
        "UPDATE contact_phones SET number = '+12175550111' WHERE contact_id = :contact",
        "DELETE FROM contact_phones WHERE contact_id = :contact",
        "UPDATE contact_assignments SET call_order = 9 WHERE contact_id = :contact",
    ],
)
def test_any_writer_moves_the_preplans_that_list_the_person(client, app, estate, statement):
    """The triggers, not the API, keep pre-plans current: a bulk load or a hand-written fix
    reaches every facility that lists the person."""
    e = estate
    place(client, e, (e.north, 2), (e.south, 2))
    versions = {f.id: preplan_version(app, f.id) for f in (e.north, e.south, e.other_store)}
    with app.app_context(), transaction.session_scope() as session:
        session.execute(text(statement), {"contact": e.director.id})
    assert preplan_version(app, e.north.id) > versions[e.north.id]
    assert preplan_version(app, e.south.id) > versions[e.south.id]
    assert preplan_version(app, e.other_store.id) == versions[e.other_store.id]


def test_the_edit_is_audited_with_the_places_it_changed(client, app, estate):
    e = estate
    place(client, e, (e.north, 2))
    with app.app_context(), transaction.session_scope() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "contact.update")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.changes["facilities"] == [[], [{"facility_id": e.north.id, "call_order": 2}]]


# ---------------------------------------------------------------------------------------------
# Freshness: confirm-all and the report count the person at each site


def test_confirm_all_confirms_the_organization_contacts_listed_there(client, app, estate):
    e = estate
    place(client, e, (e.north, 2))
    path = f"{API}/facilities/{e.north.id}"
    response = client.post(
        f"{path}/confirm", headers={**e.manager, "If-Match": etag(client, e.manager, path)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["confirmed"]["contacts"] == 2
    assert fetch(app, Contact, e.director.id).confirmed_at is not None
    contacts = client.get(f"{API}/preplans/{e.north.id}", headers=e.officer).json["contacts"]
    assert not any(c["stale"] for c in contacts)


def test_the_freshness_report_counts_a_round_the_clock_person_at_each_site(client, app, estate):
    e = estate

    def reported() -> dict:
        response = client.get(f"{API}/reports/freshness", headers=e.manager)
        assert response.status_code == 200, response.get_data(as_text=True)
        return {item["facility_id"]: item for item in response.json["items"]}

    assert "no_24_7_contact" in reported()[e.north.id]["incomplete"]
    response = patch_contact(client, e.manager, e.director.id, {"available_24_7": True})
    assert response.status_code == 200
    place(client, e, (e.north, 1))
    with app.app_context(), transaction.session_scope() as session:  # never confirmed
        session.get(Contact, e.director.id).confirmed_at = None
    items = reported()
    assert "no_24_7_contact" not in items[e.north.id]["incomplete"]
    assert "no_24_7_contact" in items[e.south.id]["incomplete"]
    # Never confirmed: due at each site that lists it, and nowhere else.
    due = {(item["kind"], item["id"]) for item in items[e.north.id]["due"]}
    assert ("contact", e.director.id) in due
    assert ("contact", e.director.id) not in {
        (item["kind"], item["id"]) for item in items[e.south.id]["due"]
    }


# ---------------------------------------------------------------------------------------------
# Who reads where a person is listed, and bad input


def test_agencies_read_the_person_in_preplans_but_not_where_else_they_are_listed(client, estate):
    e = estate
    place(client, e, (e.north, 2))
    path = f"{API}/contacts/{e.director.id}/facilities"
    assert client.get(f"{API}/contacts/{e.director.id}", headers=e.officer).status_code == 200
    assert_problem(client.get(path, headers=e.officer), 403)
    assert_problem(client.get(path, headers=e.cad), 403)
    assert_problem(client.get(path, headers=e.other_manager), 404)


@pytest.mark.parametrize(
    "case",
    [
        "another organization's facility",
        "a deleted facility",
        "no such facility",
        "the same facility twice",
        "call order 0",
        "call order 101",
        "a string id",
    ],
)
def test_bad_places_are_422_and_change_nothing(client, app, estate, case):
    e = estate
    place(client, e, (e.north, 2))
    before = assignments(app)
    version = fetch(app, Contact, e.director.id).version
    places = {
        "another organization's facility": [{"facility_id": e.other_store.id}],
        "a deleted facility": [{"facility_id": e.gone.id}],
        "no such facility": [{"facility_id": 2_000_000_000}],
        "the same facility twice": [{"facility_id": e.south.id}, {"facility_id": e.south.id}],
        "call order 0": [{"facility_id": e.south.id, "call_order": 0}],
        "call order 101": [{"facility_id": e.south.id, "call_order": 101}],
        "a string id": [{"facility_id": "south"}],
    }[case]
    response = patch_contact(client, e.manager, e.director.id, {"facilities": places})
    assert_problem(response, 422, "facilities")
    assert assignments(app) == before
    assert fetch(app, Contact, e.director.id).version == version


def test_another_organizations_facility_is_refused_like_one_nobody_has(client, estate):
    """The refusal does not tell a manager which ids are another partner's facilities."""
    e = estate

    def refusal(facility_id):
        body = {"facilities": [{"facility_id": facility_id}]}
        response = patch_contact(client, e.manager, e.director.id, body)
        assert response.status_code == 422
        return response.json["errors"]["facilities"][0].replace(str(facility_id), "N")

    assert refusal(e.other_store.id) == refusal(2_000_000_000)


def test_only_an_organizations_contact_is_listed_at_facilities(client, app, estate):
    e = estate
    response = patch_contact(
        client, e.manager, e.night_north.id, {"facilities": [{"facility_id": e.south.id}]}
    )
    assert_problem(response, 422, "facilities")
    created = client.post(
        f"{API}/facilities/{e.north.id}/contacts",
        json={"name": "Temp", "facilities": [{"facility_id": e.south.id}]},
        headers=e.manager,
    )
    assert_problem(created, 422, "facilities")
    assert count(app, Contact, Contact.name == "Temp") == 0
    assert assignments(app) == set()


def test_a_place_kept_at_a_since_deleted_facility_does_not_block_other_edits(client, app, estate):
    e = estate
    place(client, e, (e.north, 2), (e.south, 3))
    with app.app_context(), transaction.session_scope() as session:
        session.get(Facility, e.south.id).deleted_at = db.utcnow()
    response = patch_contact(client, e.manager, e.director.id, {"role": "Regional security"})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_a_facility_moved_to_another_organization_no_longer_lists_its_old_contacts(
    client, app, make, estate
):
    """Its old organization's people are not the new owner's: the places are removed (a
    trigger, whoever moves it), and its pre-plan lists only its own contacts."""
    e = estate
    place(client, e, (e.north, 2), (e.south, 2))
    buyer = make.organization(name="Buyer")
    path = f"{API}/facilities/{e.north.id}"
    response = client.patch(
        path,
        json={"organization_id": buyer.id},
        headers={**e.admin, "If-Match": etag(client, e.admin, path)},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert assignments(app) == {(e.director.id, e.south.id, 2)}
    assert listed(client, e.admin, e.north.id) == [("Night North", 1)]
