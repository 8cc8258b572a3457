"""Subscriptions through the API: who manages which, the secret shown once and stored sealed,
ETags and If-Match, idempotent creates, history, and bad input refused with nothing changed."""

import pytest
from sqlalchemy import select

from registry import transaction
from registry.audit.models import AuditEvent
from registry.notifications.models import Subscription
from tests.conftest import assert_problem, count, fetch
from tests.notifications.conftest import API, subscribe

HOOK = "https://hooks.alpha.example/registry"


@pytest.fixture
def cast(make):
    org, other_org = make.organization(), make.organization()
    agency, other_agency = make.agency(), make.agency()
    return {
        "org": org,
        "agency": agency,
        "other_agency": other_agency,
        "admin": make.admin(),
        "manager": make.manager(org),
        "other_manager": make.manager(other_org),
        "officer": make.officer(agency),
        "other_officer": make.officer(other_agency),
        "cad": make.headers(make.cad_client(agency)),
        "auditor": make.headers(make.user("auditor")),
    }


def test_a_manager_subscribes_its_organization_and_sees_the_secret_once(app, client, cast):
    created = subscribe(client, cast["manager"], url=HOOK, kinds=["incident_opened"])
    assert created["organization_id"] == cast["org"].id and created["agency_id"] is None
    assert created["secret"].startswith("whsec_") and created["version"] == 1
    read = client.get(f"{API}/subscriptions/{created['id']}", headers=cast["manager"])
    assert read.status_code == 200 and "secret" not in read.json
    assert read.headers["ETag"] == f'"subscription-{created["id"]}-v1"'
    stored = fetch(app, Subscription, created["id"])
    assert stored.secret_ciphertext and created["secret"].encode() not in stored.secret_ciphertext
    listed = client.get(f"{API}/subscriptions", headers=cast["manager"]).json
    assert [s["id"] for s in listed["items"]] == [created["id"]]
    assert "secret" not in listed["items"][0]


def test_each_role_manages_only_its_own(app, client, cast):
    mine = subscribe(client, cast["manager"], url=HOOK)
    agencys = subscribe(client, cast["officer"], channel="email", email="watch@pd.example")
    assert agencys["agency_id"] == cast["agency"].id
    for caller, own, others in (
        ("manager", mine, agencys),
        ("officer", agencys, mine),
        ("other_manager", None, mine),
        ("other_officer", None, agencys),
    ):
        headers = cast[caller]
        listed = {
            s["id"] for s in client.get(f"{API}/subscriptions", headers=headers).json["items"]
        }
        assert listed == ({own["id"]} if own else set())
        path = f"{API}/subscriptions/{others['id']}"
        assert_problem(client.get(path, headers=headers), 404)
        patched = client.patch(path, json={"active": False}, headers={**headers, "If-Match": '"x"'})
        assert_problem(patched, 404)
        assert_problem(client.delete(path, headers={**headers, "If-Match": '"x"'}), 404)
    # An agency's CAD clients read its subscriptions and change nothing; auditors do not use
    # the area at all.
    listed = client.get(f"{API}/subscriptions", headers=cast["cad"]).json["items"]
    assert [s["id"] for s in listed] == [agencys["id"]]
    body = {"channel": "webhook", "url": HOOK}
    assert_problem(client.post(f"{API}/subscriptions", json=body, headers=cast["cad"]), 403)
    etag = client.get(f"{API}/subscriptions/{agencys['id']}", headers=cast["cad"]).headers["ETag"]
    patched = client.patch(
        f"{API}/subscriptions/{agencys['id']}",
        json={"active": False},
        headers={**cast["cad"], "If-Match": etag},
    )
    assert_problem(patched, 403)
    assert_problem(client.get(f"{API}/subscriptions", headers=cast["auditor"]), 403)
    assert_problem(client.post(f"{API}/subscriptions", json=body, headers=cast["auditor"]), 403)
    # Admins see both.
    listed = client.get(f"{API}/subscriptions", headers=cast["admin"]).json
    assert listed["total"] == 2
    assert all(fetch(app, Subscription, s["id"]).active for s in (mine, agencys))


def test_nobody_subscribes_for_someone_else(app, client, cast):
    for caller, body in (
        ("manager", {"agency_id": None, "organization_id": cast["org"].id + 1}),
        ("manager", {"agency_id": cast["agency"].id}),
        ("officer", {"agency_id": cast["other_agency"].id}),
        ("officer", {"organization_id": cast["org"].id}),
    ):
        response = client.post(
            f"{API}/subscriptions",
            json={"channel": "webhook", "url": HOOK, **body},
            headers=cast[caller],
        )
        assert response.status_code in (403, 422), response.json
    assert count(app, Subscription) == 0
    # An admin names the owner, one of them.
    assert_problem(
        client.post(
            f"{API}/subscriptions", json={"channel": "webhook", "url": HOOK}, headers=cast["admin"]
        ),
        422,
        "organization_id",
    )
    made = subscribe(client, cast["admin"], url=HOOK, agency_id=cast["agency"].id)
    assert made["agency_id"] == cast["agency"].id


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "webhook", "url": "ftp://hooks.example/x"}, "url"),
        ({"channel": "webhook", "url": "not a url"}, "url"),
        ({"channel": "webhook", "url": "http://hooks.example.com/x"}, "url"),  # not https
        ({"channel": "webhook", "url": "https://user:pw@hooks.example.com/x"}, "url"),
        ({"channel": "webhook"}, "url"),
        ({"channel": "webhook", "url": HOOK, "email": "a@b.example"}, "email"),
        ({"channel": "email", "email": "not-an-address"}, "email"),
        ({"channel": "email", "email": "a@b.example\r\nBcc: x@y.example"}, "email"),
        ({"channel": "email"}, "email"),
        ({"channel": "webhook", "url": HOOK, "kinds": ["nonsense"]}, "kinds"),
        ({"channel": "webhook", "url": HOOK, "kinds": "incident_opened"}, "kinds"),
        ({"channel": "sms", "url": HOOK}, "channel"),
        ({"channel": "webhook", "url": HOOK, "secret": "whsec_mine"}, "secret"),
        ({"channel": "webhook", "url": HOOK, "created_by": "user:1"}, "created_by"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(app, client, cast, body, field):
    response = client.post(f"{API}/subscriptions", json=body, headers=cast["manager"])
    assert_problem(response, 422, field)
    assert count(app, Subscription) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",  # plain http, even to loopback
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",  # the cloud metadata service
        "https://[::1]/hook",
        "https://[::ffff:192.168.0.1]/hook",
    ],
)
def test_in_production_private_and_loopback_targets_are_refused(build_app, make, url):
    production = build_app(REGISTRY_ENV="production")
    assert production.config["REGISTRY_WEBHOOK_ALLOW_PRIVATE"] is False
    org = make.organization()
    headers = make.manager(org)
    client = production.test_client()
    body = {"channel": "webhook", "url": url}
    assert_problem(client.post(f"{API}/subscriptions", json=body, headers=headers), 422, "url")
    assert count(production, Subscription) == 0
    # An operator may allow them (a partner reached over a private link; plain http to a
    # loopback receiver comes with that setting).
    allowing = build_app(REGISTRY_ENV="production", REGISTRY_WEBHOOK_ALLOW_PRIVATE=True)
    response = allowing.test_client().post(f"{API}/subscriptions", json=body, headers=headers)
    assert response.status_code == 201, response.json


def test_changes_need_if_match_and_are_in_the_history(app, client, cast):
    created = subscribe(client, cast["manager"], url=HOOK)
    path = f"{API}/subscriptions/{created['id']}"
    assert_problem(client.patch(path, json={"active": False}, headers=cast["manager"]), 428)
    stale = {**cast["manager"], "If-Match": f'"subscription-{created["id"]}-v0"'}
    assert_problem(client.patch(path, json={"active": False}, headers=stale), 412)
    # The owner and the channel are fixed once made.
    etag = client.get(path, headers=cast["manager"]).headers["ETag"]
    fresh = {**cast["manager"], "If-Match": etag}
    assert_problem(client.patch(path, json={"channel": "email"}, headers=fresh), 422, "channel")
    assert_problem(
        client.patch(path, json={"organization_id": 99}, headers=fresh), 422, "organization_id"
    )
    assert_problem(client.patch(path, json={"url": "ftp://x"}, headers=fresh), 422, "url")
    assert fetch(app, Subscription, created["id"]).version == 1
    changed = client.patch(path, json={"kinds": ["data_stale"], "active": False}, headers=fresh)
    assert changed.status_code == 200 and changed.json["version"] == 2
    # Rotating the secret: shown once again, the stored one replaced, the ETag moves.
    old = fetch(app, Subscription, created["id"]).secret_ciphertext
    rotate = f"{path}/secret"
    assert_problem(client.post(rotate, headers=cast["manager"]), 428)
    rotated = client.post(rotate, headers={**cast["manager"], "If-Match": changed.headers["ETag"]})
    assert rotated.status_code == 200, rotated.json
    assert rotated.json["secret"].startswith("whsec_")
    assert rotated.json["secret"] != created["secret"]
    assert fetch(app, Subscription, created["id"]).secret_ciphertext != old
    history = client.get(f"{path}/history", headers=cast["manager"]).json
    actions = [event["action"] for event in history["items"]]
    assert actions == [
        "subscription.rotate_secret",
        "subscription.update",
        "subscription.create",
    ]
    assert history["items"][1]["changes"]["active"] == [True, False]
    assert history["items"][0]["changes"] == {"secret": ["[redacted]", "[redacted]"]}
    assert all(event["client_address"] is None for event in history["items"])
    assert_problem(client.get(f"{path}/history", headers=cast["other_manager"]), 404)


def test_an_email_subscription_has_no_secret_to_rotate(client, cast):
    created = subscribe(client, cast["manager"], channel="email", email="desk@alpha.example")
    assert created["secret"] is None
    path = f"{API}/subscriptions/{created['id']}"
    etag = client.get(path, headers=cast["manager"]).headers["ETag"]
    response = client.post(f"{path}/secret", headers={**cast["manager"], "If-Match": etag})
    assert_problem(response, 409)


def test_a_create_with_an_idempotency_key_makes_one_and_never_stores_the_secret(app, client, cast):
    headers = {**cast["manager"], "Idempotency-Key": "sub-1"}
    body = {"channel": "webhook", "url": HOOK}
    first = client.post(f"{API}/subscriptions", json=body, headers=headers)
    again = client.post(f"{API}/subscriptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["id"] == first.json["id"] and count(app, Subscription) == 1
    assert first.json["secret"].startswith("whsec_") and again.json["secret"] is None
    with app.app_context(), transaction.session_scope() as session:
        stored = session.execute(select(AuditEvent.action)).scalars().all()
        assert stored.count("subscription.create") == 1


def test_deleting_and_restoring(app, client, cast):
    created = subscribe(client, cast["manager"], url=HOOK)
    path = f"{API}/subscriptions/{created['id']}"
    etag = client.get(path, headers=cast["manager"]).headers["ETag"]
    assert client.delete(path, headers={**cast["manager"], "If-Match": etag}).status_code == 204
    assert_problem(client.get(path, headers=cast["manager"]), 404)
    deleted = client.get(f"{API}/subscriptions?deleted=true", headers=cast["manager"]).json
    assert [s["id"] for s in deleted["items"]] == [created["id"]]
    assert client.post(f"{path}/restore", headers=cast["manager"]).status_code == 200
    assert fetch(app, Subscription, created["id"]).deleted_at is None
