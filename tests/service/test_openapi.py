"""The committed API document is generated from the code and is a valid Swagger 2.0 document."""

import json
import re
from pathlib import Path
from urllib.parse import urljoin

import flask_restx
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV2SpecValidator

import registry
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
    # The one relative URL, on purpose: the document names no host (it is committed, and a host
    # read from the request's Host header would tell browsers where to send passwords). Swagger
    # UI resolves it against the document's own address, as done here; the validator's JSON
    # Schema wants an absolute URI.
    oauth2 = spec["securityDefinitions"]["oauth2"]
    assert oauth2["tokenUrl"] == "/api/v1/auth/oauth-token"
    oauth2["tokenUrl"] = urljoin("http://localhost/api/v1/swagger.json", oauth2["tokenUrl"])
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


# OAuth2 clients read RFC 6749's error JSON from the token endpoint (errors.OAuthError).
OAUTH_ERRORS = {("post", "/auth/oauth-token", "400")}


def test_every_error_response_is_documented_as_a_problem(client):
    spec = client.get("/api/v1/swagger.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for code, response in operation["responses"].items():
                if (method, path, code) in OAUTH_ERRORS:
                    assert response["schema"] == {"$ref": "#/definitions/OAuthError"}
                elif int(code) >= 400:
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


def test_the_document_offers_a_password_sign_in(client):
    spec = client.get("/api/v1/swagger.json").get_json()

    oauth2 = spec["securityDefinitions"]["oauth2"]
    assert (oauth2["type"], oauth2["flow"]) == ("oauth2", "password")
    # Relative to the document's own address, as Swagger UI resolves it.
    assert oauth2["tokenUrl"] == spec["basePath"] + "/auth/oauth-token"
    token_route = spec["paths"]["/auth/oauth-token"]["post"]
    assert token_route["consumes"][0] == "application/x-www-form-urlencoded"
    assert {p["name"] for p in token_route["parameters"]} == {"grant_type", "username", "password"}
    assert spec["securityDefinitions"]["bearer"]["type"] == "apiKey"


def test_every_route_that_wants_an_access_token_takes_either_scheme(client):
    spec = client.get("/api/v1/swagger.json").get_json()
    securities = {
        (method, path): operation.get("security")
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method != "parameters"
    }

    either = [{"bearer": []}, {"oauth2": []}]
    assert securities[("get", "/auth/me")] == either
    assert securities[("get", "/facilities")] == either
    # The refresh token is pasted by hand: the OAuth2 flow does not hand one out.
    assert securities[("post", "/auth/refresh")] == [{"bearer": []}]
    for route in ("/auth/login", "/auth/token", "/auth/oauth-token"):
        assert securities[("post", route)] is None
    others = {
        key: value
        for key, value in securities.items()
        if value not in (either, None) and key != ("post", "/auth/refresh")
    }
    assert others == {}


def _starting_script(page: bytes) -> str:
    inline = re.findall(rb"<script[^>]*>(.*?)</script>", page, re.DOTALL)
    (script,) = [s for s in inline if b"SwaggerUIBundle(" in s]
    return script.decode()


def test_swagger_ui_keeps_the_token_across_reloads_but_not_the_password(client):
    """What the browser does with it: tests/browser/test_swagger_ui.py."""
    script = _starting_script(client.get("/api/v1/docs").data)

    assert re.search(r"\bpersistAuthorization: true\b", script)
    assert re.search(r"plugins: \[[^\]]*\bforgetThePassword\b", script)


# registry/templates/swagger-ui.html's changes to flask-restx's page.
_FORGET_THE_PASSWORD = re.compile(
    r"        // The token is what Authorize keeps .*?\n        }\n\n", re.DOTALL
)
_SETTINGS = (
    ",\n                    forgetThePassword",
    ",\n                persistAuthorization: true",
)


def test_the_swagger_ui_page_is_flask_restxs_own_plus_two_changes():
    """registry/templates/swagger-ui.html overrides flask-restx's template; when flask-restx
    changes its own, copy it again and make the changes."""
    ours = (Path(registry.__file__).parent / "templates" / "swagger-ui.html").read_text()
    theirs = (Path(flask_restx.__file__).parent / "templates" / "swagger-ui.html").read_text()

    ours = re.sub(r"\A\{#-.*?-#\}\n", "", ours, flags=re.DOTALL)
    ours, plugins = _FORGET_THE_PASSWORD.subn("", ours)
    assert plugins == 1
    for setting in _SETTINGS:
        assert ours.count(setting) == 1, setting
        ours = ours.replace(setting, "")
    assert ours == theirs
