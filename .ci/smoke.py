"""Wait for the service started by `make run`, then use it as a new user would."""

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

# The registry's own prefix, from the checkout this script belongs to (run as .ci/smoke.py, its
# directory, not the checkout, comes first on sys.path).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from registry.api.router import API_PREFIX

base = sys.argv[1]


def call(method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read() or b"null")


deadline = time.monotonic() + 300
while True:
    try:
        if call("GET", "/readyz")[0] == 200:
            break
    except (urllib.error.URLError, OSError):  # refused, reset, or a worker still booting
        pass
    if time.monotonic() > deadline:
        sys.exit("the service did not become ready")
    time.sleep(1)

_, tokens = call(
    "POST",
    f"{API_PREFIX}/auth/login",
    {"username": "manager.prairie", "password": "demo-password-1"},
)
status, page = call("GET", f"{API_PREFIX}/facilities", token=tokens["access_token"])
assert status == 200 and page["total"] >= 1, page
print("smoke: logged in as a demo manager and listed", page["total"], "facilities")

# A dispatcher's lookup, typed the messy way (no state: the agency's jurisdiction supplies it),
# sent as a POST so the text stays out of the access log.
_, tokens = call(
    "POST",
    f"{API_PREFIX}/auth/login",
    {"username": "officer.springfield", "password": "demo-password-1"},
)
status, found = call(
    "POST",
    f"{API_PREFIX}/preplans/lookup",
    {"address": "123 north main street springfield"},
    token=tokens["access_token"],
)
assert status == 200 and found["status"] == "matched", found
assert found["parsed"]["state_source"] == "agency", found["parsed"]
print("smoke: an officer's lookup without a state matched", found["preplan"]["facility"]["name"])

# The web console, as a person signs in: the start page, the sign-in form (its token in a
# cookie and in the form), then a manager's facilities.
cookies = urllib.request.HTTPCookieProcessor()
browser = urllib.request.build_opener(cookies)
with browser.open(base + "/", timeout=5) as response:
    assert 'href="/console/sign-in"' in response.read().decode()
with browser.open(base + "/console/sign-in", timeout=5) as response:
    form = response.read().decode()
token = form.split('name="csrf_token" value="')[1].split('"')[0]
fields = urllib.parse.urlencode(
    {"csrf_token": token, "username": "manager.prairie", "password": "demo-password-1"}
).encode()
sign_in = urllib.request.Request(base + "/console/sign-in", data=fields, method="POST")
sign_in.add_header("Origin", base)
with browser.open(sign_in, timeout=5) as response:
    page = response.read().decode()
    assert response.url.endswith("/console/facilities"), response.url
    assert "Facilities" in page, page[:500]
print("smoke: signed in to the web console as a demo manager")

# The audit trail: the workers' sealers chain the events these requests wrote, within a moment.
_, tokens = call(
    "POST", f"{API_PREFIX}/auth/login", {"username": "admin", "password": "demo-password-1"}
)
deadline = time.monotonic() + 30
while True:
    status, verification = call(
        "GET", f"{API_PREFIX}/audit-events/verification", token=tokens["access_token"]
    )
    assert status == 200 and verification["ok"], verification
    if verification["unsealed"] == 0 and verification["events"] >= 2:
        break
    if time.monotonic() > deadline:
        sys.exit(f"the audit sealers did not seal the events: {verification}")
    time.sleep(0.5)
print("smoke: the audit trail verifies, every event sealed:", verification["events"], "events")
