"""Many editors, one facility: every acknowledged edit is applied, every other one is a 412.

Each editor reads the facility (ETag), then PATCHes with If-Match. The row version is checked by
the database on every UPDATE, so two editors who read the same version can never both succeed.
"""

from concurrent.futures import ThreadPoolExecutor

from registry.facilities.models import Facility
from tests.conftest import fetch

EDITORS, ROUNDS = 8, 25


def test_conflicting_editors_never_lose_an_acknowledged_edit(app, make):
    org = make.organization()
    facility = make.facility(org)
    headers = make.manager(org)
    path = f"/api/v1/facilities/{facility.id}"

    def editor(number):
        outcomes = []
        with app.test_client() as client:
            for round_ in range(ROUNDS):
                read = client.get(path, headers=headers)
                note = f"editor {number} round {round_}"
                response = client.patch(
                    path,
                    json={"notes": note},
                    headers={**headers, "If-Match": read.headers["ETag"]},
                )
                body = response.get_json()
                outcomes.append((response.status_code, read.get_json()["version"], note, body))
        return outcomes

    with ThreadPoolExecutor(max_workers=EDITORS) as pool:
        outcomes = [o for result in pool.map(editor, range(EDITORS)) for o in result]

    statuses = [status for status, *_ in outcomes]
    assert set(statuses) <= {200, 412}, set(statuses)  # never a 500, never a silent overwrite
    applied = [
        (read_version, note, body) for status, read_version, note, body in outcomes if status == 200
    ]
    # Each acknowledged edit produced its own version, one after the other from the read one.
    new_versions = sorted(body["version"] for _, _, body in applied)
    assert new_versions == list(range(2, 2 + len(applied)))
    assert all(body["version"] == read + 1 for read, _, body in applied)
    # And the row holds the last acknowledged edit.
    last = max(applied, key=lambda a: a[2]["version"])
    row = fetch(app, Facility, facility.id)
    assert row.version == 1 + len(applied)
    assert row.notes == last[1]
    assert statuses.count(412) > 0, "the editors never actually collided"
