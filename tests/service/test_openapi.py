"""The committed API document is generated from the code and is a valid Swagger 2.0 document."""

import json

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV2SpecValidator

from registry.cli import OPENAPI_PATH, render_openapi


def test_committed_document_matches_the_code(app):
    with app.app_context():
        generated = render_openapi()
    committed = OPENAPI_PATH.read_text().rstrip("\n")
    assert committed == generated, (
        "openapi/swagger.json is stale: run `make openapi` and commit the result"
    )


def test_document_is_valid_swagger_2(client):
    spec = client.get("/api/v1/swagger.json").get_json()
    validate(spec, cls=OpenAPIV2SpecValidator)
    assert spec["swagger"] == "2.0"


def test_document_shows_the_marshmallow_fields(client):
    definitions = client.get("/api/v1/swagger.json").get_json()["definitions"]
    facility = definitions["Facility"]["properties"]
    assert {"address_line1", "postal_code", "lat", "lon", "occupancy", "hazards"} <= set(facility)
    assert facility["lat"]["minimum"] == -90 and facility["lat"]["maximum"] == 90
    assert facility["id"]["readOnly"] is True
    assert set(definitions["Facility"]["required"]) >= {"name", "address_line1", "city"}
    # PATCH bodies are partial: nothing is required.
    assert "required" not in definitions["FacilityPatch"]
    # Nested schemas are emitted too, so every $ref resolves.
    assert "PhoneNumber" in definitions
    # A password is input only and never required in a response.
    assert "password" not in definitions["User"].get("required", [])


def test_every_error_response_is_documented_as_a_problem(client):
    spec = client.get("/api/v1/swagger.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert response["schema"] == {"$ref": "#/definitions/Problem"}, (
                        method,
                        path,
                        code,
                    )


def test_swagger_ui_is_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"swagger" in response.data.lower()
    assert json.loads(OPENAPI_PATH.read_text())["info"]["title"]
