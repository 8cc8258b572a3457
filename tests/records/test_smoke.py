from registry.facilities.models import Facility
from tests.conftest import assert_problem, count, fetch


def test_manager_edits_own_facility_with_if_match(client, make, app):
    org = make.organization()
    facility = make.facility(org)
    headers = make.manager(org)

    read = client.get(f"/api/v1/facilities/{facility.id}", headers=headers)
    assert read.status_code == 200
    etag = read.headers["ETag"]

    changed = client.patch(
        f"/api/v1/facilities/{facility.id}",
        json={"occupancy": 300},
        headers={**headers, "If-Match": etag},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["occupancy"] == 300
    assert changed.headers["ETag"] != etag
    assert fetch(app, Facility, facility.id).occupancy == 300

    stale = client.patch(
        f"/api/v1/facilities/{facility.id}",
        json={"occupancy": 1},
        headers={**headers, "If-Match": etag},
    )
    assert_problem(stale, 412)
    assert fetch(app, Facility, facility.id).occupancy == 300
    assert count(app, Facility) == 1
