"""Who and which record are settled before the body is judged: a caller who may not write
learns nothing about the body's shape, and a stale editor is told so before anything else."""

from registry.facilities.models import Facility
from registry.organizations.models import Organization
from tests.conftest import assert_problem, count, fetch

BAD_BODY = {"occupancy": "many", "unknown": 1}


def test_invisible_record_is_404_before_the_body(client, make):
    org, other = make.organization(), make.organization()
    facility = make.facility(other)
    response = client.patch(
        f"/api/v1/facilities/{facility.id}", json=BAD_BODY, headers=make.manager(org)
    )
    assert_problem(response, 404)


def test_reader_who_may_not_write_is_403_before_the_body(client, make, app):
    org, agency = make.organization(), make.agency()
    facility = make.facility(org)
    make.mou(org, agency)
    headers = make.officer(agency)
    etag = client.get(f"/api/v1/facilities/{facility.id}", headers=headers).headers["ETag"]
    response = client.patch(
        f"/api/v1/facilities/{facility.id}", json=BAD_BODY, headers={**headers, "If-Match": etag}
    )
    assert_problem(response, 403)
    assert fetch(app, Facility, facility.id).version == facility.version


def test_missing_if_match_is_428_before_the_body(client, make):
    org = make.organization()
    facility = make.facility(org)
    response = client.patch(
        f"/api/v1/facilities/{facility.id}", json=BAD_BODY, headers=make.manager(org)
    )
    assert_problem(response, 428)


def test_role_that_never_creates_is_403_before_the_body(client, make, app):
    org, agency = make.organization(), make.agency()
    before = count(app, Organization)
    assert_problem(
        client.post("/api/v1/organizations", json=BAD_BODY, headers=make.manager(org)), 403
    )
    assert_problem(
        client.post("/api/v1/facilities", json=BAD_BODY, headers=make.officer(agency)), 403
    )
    assert count(app, Organization) == before
    # The same bad body from an admin is judged on its merits.
    assert_problem(
        client.post("/api/v1/organizations", json=BAD_BODY, headers=make.admin()), 422, "unknown"
    )
