"""The registry under a realistic mix, for bench/load_test.py (which seeds, starts gunicorn and
runs this headless). Run by hand against a prepared server with

    LOAD_PLAN=plan.json .venv/bin/locust -f bench/load/locustfile.py --headless \
        --host http://127.0.0.1:18910 -u 40 -r 10 -t 60s

`LOAD_PLAN` is the JSON file the runner writes: the API's prefix, the CAD client's credentials,
the agency users' and facility managers' logins, the sites to ask about and each manager's own
records.
`LOAD_RESULTS`, when set, is where every request's latency goes at the end (per operation), so the
runner can report exact percentiles (locust's own are rounded to whole milliseconds and more).
Logins are all recorded; every other operation only from `LOAD_SETTLE` seconds (default 5) after
the last user was started, so the steady state is measured, not the login storm of the ramp-up.

Who does what:

- CAD dispatch (most users): lookup by address and by coordinates, as a CAD client.
- Agency users: read whole pre-plans, sometimes as GeoJSON.
- Facility managers: GET one of their own organization's facilities, contacts or access points,
  think, then PATCH it with If-Match. A 412 means another manager changed it in between (a
  genuinely concurrent edit, confirmed by reading the record again and finding a newer ETag): it
  is reported as its own operation "... [412 conflict]" and is not an error. A 412 on a record
  nobody changed, or anything else that is not 2xx, is an error.
"""

import itertools
import json
import os
import random
import time
import urllib.parse
from collections import Counter, defaultdict

import gevent
from locust import FastHttpUser, between, events, task

PLAN = json.loads(open(os.environ["LOAD_PLAN"]).read())  # noqa: SIM115 - read once at import
LOOKUP_STATUSES = {"matched", "ambiguous", "not_shared", "no_match"}
API = PLAN["api"]  # the registry's API_PREFIX, from the runner

SETTLE_SECONDS = float(os.environ.get("LOAD_SETTLE", "5"))

# Per operation: every latency (ms) and what went wrong, dumped for the runner at exit.
latencies: dict[str, list[float]] = defaultdict(list)
failures: dict[str, Counter] = defaultdict(Counter)
window = {"from": None, "to": None}  # the measured steady state, monotonic seconds


@events.spawning_complete.add_listener
def _steady(**_kwargs):
    window["from"] = time.monotonic() + SETTLE_SECONDS


@events.request.add_listener
def _record(name, response_time, exception, **_kwargs):
    # By when the request was sent: one queued behind the ramp-up's logins is not steady state.
    sent = time.monotonic() - response_time / 1000
    steady = window["from"] is not None and sent >= window["from"]
    if not (steady or name.startswith("auth:")):
        return
    latencies[name].append(response_time)
    if exception is not None:
        failures[name][str(exception)[:300]] += 1


@events.test_stop.add_listener
def _stopped(**_kwargs):
    window["to"] = time.monotonic()


@events.quitting.add_listener
def _dump(**_kwargs):
    path = os.environ.get("LOAD_RESULTS")
    if path:
        steady = (window["to"] or time.monotonic()) - (window["from"] or time.monotonic())
        with open(path, "w") as out:
            json.dump({"latencies": latencies, "failures": failures, "seconds": steady}, out)


def check(response, expect=(200,)) -> dict | None:
    """Mark the response failed unless its status is expected; return its JSON body."""
    if response.status_code not in expect:
        snippet = (response.text or "")[:200].replace("\n", " ")
        response.failure(f"HTTP {response.status_code}: {snippet}")
        return None
    try:
        return response.json()
    except ValueError:
        response.failure(f"HTTP {response.status_code}: body is not JSON")
        return None


class CadDispatch(FastHttpUser):
    """A dispatch system asking where a caller is: the hot path during an attack."""

    weight = PLAN["weights"]["cad"]
    wait_time = between(*PLAN["wait_seconds"])

    def on_start(self):
        with self.client.post(
            f"{API}/auth/token",
            json={"client_id": PLAN["cad"]["client_id"], "client_secret": PLAN["cad"]["secret"]},
            name="auth: CAD client token",
            catch_response=True,
        ) as response:
            body = check(response)
        self.auth = {"Authorization": f"Bearer {body['access_token']}"} if body else {}

    def _lookup(self, query: dict, name: str) -> None:
        path = f"{API}/preplans/lookup?" + urllib.parse.urlencode(query)
        with self.client.get(path, headers=self.auth, name=name, catch_response=True) as response:
            body = check(response)
            if body is not None and body.get("status") not in LOOKUP_STATUSES:
                response.failure(f"unexpected lookup status {body.get('status')!r}")

    @task(3)
    def lookup_by_address(self):
        site = random.choice(PLAN["sites"])
        self._lookup({"address": site["address"]}, "CAD lookup by address")

    @task(2)
    def lookup_by_coordinates(self):
        site = random.choice(PLAN["sites"])
        # A caller's phone fix within ~10 m of the building.
        lat = site["lat"] + random.uniform(-9e-5, 9e-5)
        lon = site["lon"] + random.uniform(-9e-5, 9e-5)
        self._lookup({"lat": f"{lat:.6f}", "lon": f"{lon:.6f}"}, "CAD lookup by coordinates")


def login(user, account: dict) -> dict:
    with user.client.post(
        f"{API}/auth/login",
        json={"username": account["username"], "password": account["password"]},
        name="auth: login",
        catch_response=True,
    ) as response:
        body = check(response)
    return {"Authorization": f"Bearer {body['access_token']}"} if body else {}


class AgencyOfficer(FastHttpUser):
    """An officer (or their mobile terminal) reading pre-plans of facilities shared with them."""

    weight = PLAN["weights"]["agency"]
    wait_time = between(*PLAN["wait_seconds"])
    _accounts = itertools.cycle(PLAN["agency_users"])

    def on_start(self):
        self.auth = login(self, next(self._accounts))

    def _preplan(self, suffix: str, name: str, accept: str = "application/json") -> None:
        facility_id = random.choice(PLAN["sites"])["facility_id"]
        headers = {**self.auth, "Accept": accept}
        with self.client.get(
            f"{API}/preplans/{facility_id}{suffix}", headers=headers, name=name, catch_response=True
        ) as response:
            check(response)

    @task(4)
    def preplan(self):
        self._preplan("", "pre-plan read")

    @task(1)
    def preplan_geojson(self):
        self._preplan("?format=geojson", "pre-plan read (GeoJSON)")


EDITS = {  # what a manager edits: the path, and a change that touches no match key
    "facility": ("facilities", lambda n: {"notes": f"Load test edit {n}: gate code changed."}),
    "contact": ("contacts", lambda n: {"notes": f"Load test edit {n}: new shift pattern."}),
    "access point": (
        "access-points",
        lambda n: {"description": f"Load test edit {n}: door propped open during deliveries."},
    ),
}


class FacilityManager(FastHttpUser):
    """A manager keeping their own organization's records current: read, think, write."""

    weight = PLAN["weights"]["manager"]
    wait_time = between(*PLAN["wait_seconds"])
    _accounts = itertools.cycle(PLAN["managers"])
    _edits = itertools.count(1)

    def on_start(self):
        self.account = next(self._accounts)
        self.auth = login(self, self.account)

    def _edit(self, kind: str) -> None:
        collection, change = EDITS[kind]
        record_id = random.choice(self.account["records"][kind])
        path = f"{API}/{collection}/{record_id}"
        with self.client.get(
            path, headers=self.auth, name=f"edit: GET {kind}", catch_response=True
        ) as response:
            if check(response) is None:
                return
            etag = response.headers.get("ETag")
            if not etag:
                response.failure("no ETag on a record")
                return
        gevent.sleep(random.uniform(*PLAN["think_seconds"]))  # the manager types the change
        with self.client.patch(
            path,
            json=change(next(self._edits)),
            headers={**self.auth, "If-Match": etag},
            name=f"edit: PATCH {kind}",
            catch_response=True,
        ) as response:
            if response.status_code == 412:
                # Someone else saved first: the promise kept, not an error. Counted apart, once
                # a fresh read shows the record really did change since our GET.
                response.request_meta["name"] = f"edit: PATCH {kind} [412 conflict]"
                with self.client.get(
                    path, headers=self.auth, name=f"edit: GET {kind} after 412", catch_response=True
                ) as fresh:
                    check(fresh)
                    now = fresh.headers.get("ETag")
                if now and now != etag:
                    response.success()
                else:
                    response.failure(f"412 but the record is unchanged ({etag} -> {now})")
            else:
                check(response)

    @task(2)
    def edit_facility(self):
        self._edit("facility")

    @task(2)
    def edit_contact(self):
        self._edit("contact")

    @task(1)
    def edit_access_point(self):
        self._edit("access point")
