"""The cast of the incident and break-glass tests, and helpers to open incidents.

`world`: organization A with facility `store` at 123 N Main St, Ste 4 and `annex` next door;
agency X shares all of A (active data-sharing MOU); agency Y shares nothing. Each agency has a CAD
client and an officer; A's manager and another organization's manager, and an admin, complete it.
"""

from types import SimpleNamespace

import pytest

API = "/api/v1"
INCIDENTS = f"{API}/incidents"
STORE_ADDRESS = "123 n. main street suite 4, springfield il"


@pytest.fixture
def world(make):
    org = make.organization()
    store = make.facility(
        org,
        name="Main Street Store",
        address_line1="123 N Main St",
        address_line2="Ste 4",
        postal_code="62701",
        lat=39.80,
        lon=-89.60,
        hazards="Propane cages at the loading dock",
    )
    annex = make.facility(
        org, name="Annex", address_line1="125 N Main St", postal_code="62701", lat=39.81, lon=-89.6
    )
    agency_x, agency_y = make.agency(), make.agency()
    make.mou(org, agency_x)
    cad_x, officer_x = make.cad_client(agency_x), make.user("agency_user", agency=agency_x)
    cad_y, officer_y = make.cad_client(agency_y), make.user("agency_user", agency=agency_y)
    return SimpleNamespace(
        org=org,
        store=store,
        annex=annex,
        agency_x=agency_x,
        agency_y=agency_y,
        cad_x=cad_x,
        officer_x=officer_x,
        cad_y=cad_y,
        officer_y=officer_y,
        headers={
            "cad_x": make.headers(cad_x),
            "officer_x": make.headers(officer_x),
            "cad_y": make.headers(cad_y),
            "officer_y": make.headers(officer_y),
            "manager": make.manager(org),
            "other_manager": make.manager(make.organization()),
            "admin": make.admin(),
        },
    )


def open_incident(client, headers, number="SPD-2026-000001", **fields):
    payload = {"cad_incident_number": number, "incident_type": "active assailant", **fields}
    if not any(k in fields for k in ("address", "lat", "phone", "name")):
        payload["address"] = STORE_ADDRESS
    return client.post(INCIDENTS, json=payload, headers=headers)


def opened(client, headers, **fields) -> dict:
    response = open_incident(client, headers, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json
