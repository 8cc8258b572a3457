"""Property-based fuzzing of the whole API against its own document (schemathesis).

Every operation in /api/v1/swagger.json gets generated requests, valid and invalid, as each role.
The run fails on any 5xx and on any response the document does not describe (status code,
content type, headers, body schema), and when schema-invalid input is accepted. Not checked:
"schema-valid input is accepted" — the API has rules JSON Schema cannot state (phone numbers
must be real numbers, addresses must be streets, roles bind to an organization or agency, MOU
dates must be ordered), so a schema-valid body can rightly get a 422.

REGISTRY_FUZZ_EXAMPLES sets the examples per operation and role (default 10); the summary
prints how many requests ran. Examples are derandomized, so CI failures reproduce.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests import sample_files
from tests.file_store import upload

EXAMPLES = int(os.environ.get("REGISTRY_FUZZ_EXAMPLES", "10"))


@pytest.fixture
def callers(client, make):
    """A small world, so generated ids sometimes hit real records, and a token per role."""
    org, agency = make.organization(), make.agency()
    admin = make.admin()
    make.mou(org, agency)
    cad = make.headers(make.cad_client(agency))
    # Where notifications go, one of each channel: the incidents below give them deliveries.
    manager = make.manager(org)
    for body in (
        {"channel": "webhook", "url": "https://hooks.example.com/registry"},
        {"channel": "email", "email": "desk@example.org"},
    ):
        made = client.post("/api/v1/subscriptions", json=body, headers=manager)
        assert made.status_code == 201, made.get_data(as_text=True)
    for n in range(3):
        facility = make.facility(org)
        make.access_point(facility)
        make.tactical_point(facility)
        # A recovery site in full, and an incident there that shows it (recovery_sites).
        make.tactical_point(
            facility,
            kind="reunification_site",
            name="School gym",
            address_line1="400 E Adams St",
            city="Springfield",
            state="IL",
            postal_code="62701",
            capacity=300,
            opened_by="School district",
            activation_contact="Duty desk",
            activation_phone="+12175550186",
        )
        address = f"{facility.address_line1}, Springfield IL 62701"
        opened = client.post(
            "/api/v1/incidents",
            json={"cad_incident_number": f"F-{n}", "incident_type": "fire", "address": address},
            headers=cad,
        )
        assert opened.status_code == 201 and opened.json["recovery_sites"], opened.json
        make.contact(facility_id=facility.id)
        # A floor plan too, so downloads and previews are fuzzed beyond their 404.
        uploaded = upload(client, admin, facility.id, sample_files.png(), name="plan.png")
        assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
        # A responder's correction report on it, open, so the pre-plan shows it and its steps
        # are fuzzed beyond their 404.
        reported = client.post(
            f"/api/v1/facilities/{facility.id}/corrections",
            json={"item_kind": "facility", "discrepancy": "outdated", "problem": "New owner"},
            headers=cad,
        )
        assert reported.status_code == 201, reported.get_data(as_text=True)
        # A drill with the agency, and a finding of it with an overdue follow-up.
        drill = client.post(
            f"/api/v1/facilities/{facility.id}/exercises",
            json={
                "kind": "drill",
                "scenario": "active_assailant",
                "held_on": "2026-10-01",
                "title": "Lockdown drill",
                "agencies": [{"agency_id": agency.id, "participants": 8}],
            },
            headers=admin,
        )
        assert drill.status_code == 201, drill.get_data(as_text=True)
        found = client.post(
            f"/api/v1/exercises/{drill.json['id']}/findings",
            json={
                "text": "Staging area too small",
                "follow_up": {"owner": "Store manager", "due_on": "2026-10-15"},
            },
            headers=admin,
        )
        assert found.status_code == 201, found.get_data(as_text=True)
    return {
        "admin": admin,
        "facility_manager": manager,
        "agency_user": make.officer(agency),
        "cad": cad,
    }


@pytest.mark.parametrize("role", ["admin", "facility_manager", "agency_user", "cad"])
def test_every_operation_matches_the_document(app, callers, role, capsys):
    schema = schemathesis.openapi.from_wsgi("/api/v1/swagger.json", app)
    headers = callers[role]
    failures, requests, operations = [], 0, 0

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            nonlocal requests
            requests += 1
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            run()
        except BaseException as failure:  # schemathesis raises exception groups
            if isinstance(failure, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}:\n{failure}")

    with capsys.disabled():
        print(f"\nfuzz[{role}]: {operations} operations, {requests} generated requests")
    assert not failures, "\n\n".join(failures)
