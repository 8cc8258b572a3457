"""A deleted part of a facility is gone from every representation of its pre-plan at once:
the JSON document, the GeoJSON, the CAD lookup's pre-plan and phone match, the floor-plan list
and the facility's nested lists, whether or not a rendered pre-plan was cached before.

(Issue 15: a deleted 24/7 contact stayed first in call order, with its phone number.)"""

from registry.preplans.document import cache
from tests import sample_files
from tests.conftest import assert_problem
from tests.file_store import file_part

API = "/api/v1"
GEOJSON = "application/geo+json"
DELETED_PHONE = "+12175550199"


def delete(client, headers, path):
    etag = client.get(path, headers=headers).headers["ETag"]
    response = client.delete(path, headers={**headers, "If-Match": etag})
    assert response.status_code == 204, response.get_data(as_text=True)


def upload_floor_plan(client, headers, facility_id, level, title):
    response = client.post(
        f"{API}/facilities/{facility_id}/floor-plans",
        data={
            "building": "Main building",
            "level_number": str(level),
            "level_label": f"Level {level}",
            "title": title,
            "file": file_part(sample_files.pdf(), "plan.pdf"),
        },
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def everything_shown(client, headers, facility_id) -> str:
    """Every representation a reader gets of the facility, as one text to search."""
    texts = []
    for path, extra in (
        (f"{API}/preplans/{facility_id}", {}),
        (f"{API}/preplans/{facility_id}", {"Accept": GEOJSON}),
        (f"{API}/preplans/{facility_id}?format=geojson", {}),
        (f"{API}/preplans/lookup?name=Riverside+Depot&city=Springfield&state=IL", {}),
        (f"{API}/facilities/{facility_id}", {}),
        (f"{API}/facilities/{facility_id}/contacts", {}),
        (f"{API}/facilities/{facility_id}/access-points", {}),
        (f"{API}/facilities/{facility_id}/tactical-points", {}),
        (f"{API}/facilities/{facility_id}/floor-plans", {}),
    ):
        response = client.get(path, headers={**headers, **extra})
        if "/lookup" in path and response.status_code == 403:
            continue  # a facility manager may not run the CAD lookup (issue 15, item 9)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        texts.append(response.get_data(as_text=True))
    return "\n".join(texts)


def test_deleted_parts_leave_every_representation(client, make):
    cache.clear()
    org, agency = make.organization(), make.agency()
    facility = make.facility(org, name="Riverside Depot")
    fid = facility.id
    make.mou(org, agency, title="Sharing agreement")
    dropped_mou = make.mou(org, agency, scopes=("training",), title="Training agreement")
    make.contact(facility_id=fid, name="Kept Contact", call_order=1)
    gone_contact = make.contact(
        facility_id=fid,
        name="Gone Contact",
        call_order=2,
        available_24_7=True,  # listed first while live: the tester's case
        phones=[{"kind": "mobile", "number": DELETED_PHONE}],
    )
    make.contact(organization_id=org.id, name="Head Office Liaison")
    make.access_point(facility, name="Kept Door", lat=39.8, lon=-89.6)
    gone_door = make.access_point(facility, name="Gone Door", lat=39.8001, lon=-89.6001)
    make.tactical_point(facility, name="Kept Lot", lat=39.8, lon=-89.6)
    gone_lot = make.tactical_point(facility, name="Gone Lot", lat=39.8002, lon=-89.6002)
    admin, manager = make.admin(), make.manager(org)
    cad = make.headers(make.cad_client(agency))
    upload_floor_plan(client, manager, fid, 1, "Kept Plan")
    gone_plan = upload_floor_plan(client, manager, fid, 2, "Gone Plan")
    facility_path = f"{API}/facilities/{fid}"
    etag = client.get(facility_path, headers=manager).headers["ETag"]
    response = client.patch(
        facility_path,
        json={
            "aliases": ["Kept Alias", "Gone Alias"],
            "external_ids": [
                {"system": "cad", "external_id": "KEPT-1"},
                {"system": "cad", "external_id": "GONE-2"},
            ],
        },
        headers={**manager, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)

    # Read once by everyone (the rendered pre-plans are now cached) ...
    readers = {"admin": admin, "manager": manager, "cad": cad}
    before = {name: everything_shown(client, h, fid) for name, h in readers.items()}
    gone = (
        "Gone Contact",
        DELETED_PHONE,
        "Gone Door",
        "Gone Lot",
        "Gone Plan",
        "Training agreement",
        "Gone Alias",
        "GONE-2",
    )
    for name, text in before.items():
        for value in gone:
            assert value in text, (name, value)
        # Organization-level contacts are no part of a facility's pre-plan.
        assert "Head Office Liaison" not in text
    assert len(cache.items) > 0
    phone_match = client.get(f"{API}/preplans/lookup?phone={DELETED_PHONE}", headers=cad)
    assert phone_match.get_json()["status"] == "matched"

    # ... then delete one of each part ...
    delete(client, manager, f"{API}/contacts/{gone_contact.id}")
    delete(client, manager, f"{API}/access-points/{gone_door.id}")
    delete(client, manager, f"{API}/tactical-points/{gone_lot.id}")
    delete(client, manager, f"{API}/floor-plans/{gone_plan}")
    delete(client, admin, f"{API}/mous/{dropped_mou.id}")
    etag = client.get(facility_path, headers=manager).headers["ETag"]
    response = client.patch(
        facility_path,
        json={
            "aliases": ["Kept Alias"],
            "external_ids": [{"system": "cad", "external_id": "KEPT-1"}],
        },
        headers={**manager, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_problem(client.get(f"{API}/contacts/{gone_contact.id}", headers=manager), 404)

    # ... and read again: nothing deleted is served, cached or freshly rendered.
    for name, headers in readers.items():
        text = everything_shown(client, headers, fid)
        for value in gone:
            assert value not in text, (name, value)
        for value in ("Kept Contact", "Kept Door", "Kept Lot", "Kept Plan", "Kept Alias"):
            assert value in text, (name, value)
    document = client.get(f"{API}/preplans/{fid}", headers=cad).get_json()
    assert [c["name"] for c in document["contacts"]] == ["Kept Contact"]
    geojson = client.get(f"{API}/preplans/{fid}?format=geojson", headers=cad).get_json()
    assert sorted(f["properties"]["name"] for f in geojson["features"]) == [
        "Kept Door",
        "Kept Lot",
        "Riverside Depot",
    ]
    phone_match = client.get(f"{API}/preplans/lookup?phone={DELETED_PHONE}", headers=cad)
    assert phone_match.get_json()["status"] == "no_match"
