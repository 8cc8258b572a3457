"""Delivery of notifications to a real local HTTP receiver and a real local SMTP server: the
signature verifies with the Standard Webhooks library, failures are retried with back-off,
the last failure makes a dead letter an administrator replays."""

import email
import email.policy
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from registry import db, transaction
from registry.encryption import new_key_spec
from registry.notifications.models import Delivery, Notification
from registry.notifications.service import notify
from registry.notifications.worker import Worker, backoff
from tests.conftest import TEST_KEYS, assert_problem, count
from tests.notifications.conftest import API, subscribe


@pytest.fixture
def partner(client, make):
    """A partner with a shared facility, its manager and an agency's CAD."""
    org, agency = make.organization(name="Alpha Retail"), make.agency(name="Springfield PD")
    facility = make.facility(org, name="Main Street Store")
    make.mou(org, agency)
    return {
        "org": org,
        "agency": agency,
        "facility": facility,
        "manager": make.manager(org),
        "cad": make.headers(make.cad_client(agency)),
        "admin": make.admin(),
    }


def _tell(app, organization_id, kind="facility_review", message="Something happened"):
    with app.app_context(), transaction.session_scope() as session:
        return notify(
            session, organization_id=organization_id, kind=kind, message=message, actor="test"
        ).id


def _deliveries(app):
    with app.app_context(), transaction.session_scope() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        session.expunge_all()
        return rows


def test_an_incident_reaches_the_partners_webhook_signed(app, client, partner, receiver, deliver):
    created = subscribe(client, partner["manager"], url=receiver.url)
    secret = created["secret"]
    assert secret.startswith("whsec_")
    opened = client.post(
        f"{API}/incidents",
        json={
            "cad_incident_number": "24-0042",
            "incident_type": "active assailant",
            "address": f"{partner['facility'].address_line1}, Springfield IL 62701",
        },
        headers=partner["cad"],
    )
    assert opened.status_code == 201, opened.json
    # Written with the incident, before any worker ran: one notification, one delivery.
    (delivery,) = _deliveries(app)
    assert delivery.status == "pending" and receiver.arrivals == []

    assert deliver()["delivered"] == 1
    (arrival,) = receiver.arrivals
    payload = Webhook(secret).verify(arrival.body, arrival.headers)
    assert payload["type"] == "incident_opened"
    assert payload["data"]["incident_id"] == opened.json["id"]
    assert payload["data"]["facility_id"] == partner["facility"].id
    assert "Springfield PD" in payload["data"]["message"]
    assert arrival.headers["webhook-id"] == f"delivery_{delivery.id}"
    # Another secret, or a changed body, does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(subscribe(client, partner["manager"], url=receiver.url)["secret"]).verify(
            arrival.body, arrival.headers
        )
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(arrival.body.replace(b"24-0042", b"24-0043"), arrival.headers)
    (delivery,) = _deliveries(app)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    with app.app_context(), transaction.session_scope() as session:
        assert session.get(Notification, delivery.notification_id).delivered_at is not None
    # Nothing is sent twice.
    assert deliver()["delivered"] == 0 and len(receiver.arrivals) == 1


def test_a_delivery_is_retried_with_backoff_then_delivered(app, client, partner, receiver, deliver):
    subscribe(client, partner["manager"], url=receiver.url)
    _tell(app, partner["org"].id)
    receiver.statuses = [500, 503]
    # A failed attempt waits its back-off: nothing is due until then.
    counts = deliver(REGISTRY_DELIVERY_BACKOFF_SECONDS=60)
    (delivery,) = _deliveries(app)
    assert counts == {"delivered": 0, "failed": 1, "dead": 0, "announced": 0}
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 500")
    now = datetime.now(UTC)
    assert now < delivery.next_attempt_at <= now + timedelta(seconds=60)
    assert deliver(REGISTRY_DELIVERY_BACKOFF_SECONDS=60)["failed"] == 0
    assert len(receiver.arrivals) == 1
    # Due again (as if the wait were over): the second attempt fails, the third succeeds.
    with app.app_context(), transaction.session_scope() as session:
        session.get(Delivery, delivery.id).next_attempt_at = now
    failed = delivered = 0
    while delivered == 0:  # --once ends when nothing is due: the retry may wait its jitter
        counts = deliver(REGISTRY_DELIVERY_BACKOFF_SECONDS=0.01)
        failed, delivered = failed + counts["failed"], delivered + counts["delivered"]
    assert (failed, delivered) == (1, 1)
    (delivery,) = _deliveries(app)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, None)
    # Every attempt carried the same id (a receiver deduplicates by it), each signed afresh.
    assert receiver.ids() == [f"delivery_{delivery.id}"] * 3


def test_backoff_is_exponential_capped_and_jittered(app):
    config = {"REGISTRY_DELIVERY_BACKOFF_SECONDS": 30, "REGISTRY_DELIVERY_BACKOFF_CAP_SECONDS": 600}

    class Highest:
        @staticmethod
        def uniform(low, high):
            return high

    class Lowest:
        @staticmethod
        def uniform(low, high):
            return low

    ceilings = [backoff(n, config, Highest).total_seconds() for n in range(1, 8)]
    assert ceilings == [30, 60, 120, 240, 480, 600, 600]
    assert backoff(5, config, Lowest) == timedelta(0)
    assert backoff(200, config, Highest).total_seconds() == 600


def test_the_last_failure_is_a_dead_letter_an_admin_replays(
    app, client, partner, receiver, deliver
):
    created = subscribe(client, partner["manager"], url=receiver.url)
    _tell(app, partner["org"].id)
    receiver.statuses = [500] * 5
    settings = {"REGISTRY_DELIVERY_BACKOFF_SECONDS": 0.001, "REGISTRY_DELIVERY_MAX_ATTEMPTS": 2}
    while _deliveries(app)[0].status == "pending":
        deliver(**settings)
    (delivery,) = _deliveries(app)
    assert (delivery.status, delivery.attempts) == ("dead", 2)
    assert len(receiver.arrivals) == 2

    dead = client.get(f"{API}/notification-deliveries?status=dead", headers=partner["admin"])
    assert [d["id"] for d in dead.json["items"]] == [delivery.id]
    # The owner sees it too (what failed and why), but only an administrator replays it.
    mine = client.get(f"{API}/notification-deliveries/{delivery.id}", headers=partner["manager"])
    assert mine.json["status"] == "dead" and mine.json["last_error"] == "HTTP 500"
    replay = f"{API}/notification-deliveries/{delivery.id}/replay"
    assert_problem(client.post(replay, headers=partner["manager"]), 403)
    assert _deliveries(app)[0].status == "dead"

    receiver.statuses = []
    replayed = client.post(replay, headers=partner["admin"])
    assert replayed.status_code == 200 and replayed.json["status"] == "pending"
    assert_problem(client.post(replay, headers=partner["admin"]), 409)  # not dead now
    assert deliver()["delivered"] == 1
    (delivery,) = _deliveries(app)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    Webhook(created["secret"]).verify(receiver.arrivals[-1].body, receiver.arrivals[-1].headers)
    assert receiver.ids()[-1] == receiver.ids()[0]  # the same webhook-id as before


def test_replaying_every_dead_delivery_of_a_subscription(app, client, partner, receiver, deliver):
    subscribe(client, partner["manager"], url=receiver.url)
    for _ in range(3):
        _tell(app, partner["org"].id)
    receiver.statuses = [500] * 3
    deliver(REGISTRY_DELIVERY_MAX_ATTEMPTS=1)
    assert [d.status for d in _deliveries(app)] == ["dead"] * 3
    sub_id = _deliveries(app)[0].subscription_id
    replayed = client.post(
        f"{API}/notification-deliveries/replay?subscription_id={sub_id}", headers=partner["admin"]
    )
    assert replayed.json == {"replayed": 3}
    assert deliver()["delivered"] == 3


def test_only_the_subscriptions_kinds_and_owner_get_a_delivery(app, client, make, partner):
    subscribe(client, partner["manager"], url="https://hooks.example.com/a", kinds=["mou_expired"])
    other = make.organization()
    subscribe(client, make.manager(other), url="https://hooks.example.com/b")
    paused = subscribe(client, partner["manager"], url="https://hooks.example.com/c")
    etag = client.get(f"{API}/subscriptions/{paused['id']}", headers=partner["manager"]).headers[
        "ETag"
    ]
    response = client.patch(
        f"{API}/subscriptions/{paused['id']}",
        json={"active": False},
        headers={**partner["manager"], "If-Match": etag},
    )
    assert response.status_code == 200
    _tell(app, partner["org"].id, kind="facility_review")
    assert count(app, Delivery) == 0
    _tell(app, partner["org"].id, kind="mou_expired")
    assert count(app, Delivery) == 1


def test_a_webhook_to_a_private_address_is_refused_at_send_time_in_production(
    app, client, partner, receiver, deliver
):
    subscribe(client, partner["manager"], url=receiver.url)
    _tell(app, partner["org"].id)
    deliver(REGISTRY_WEBHOOK_ALLOW_PRIVATE=False, REGISTRY_DELIVERY_MAX_ATTEMPTS=1)
    (delivery,) = _deliveries(app)
    assert delivery.status == "dead" and delivery.last_error.startswith("refused")
    assert receiver.arrivals == []


def test_email_through_smtp(app, client, partner, mailbox, deliver):
    subscribe(client, partner["manager"], channel="email", email="desk@alpha.example")
    _tell(app, partner["org"].id, message="Agency X opened incident 7 at Main Street Store.")
    smtp = {
        "REGISTRY_SMTP_HOST": "127.0.0.1",
        "REGISTRY_SMTP_PORT": mailbox.port,
        "REGISTRY_SMTP_STARTTLS": False,
        "REGISTRY_SMTP_FROM": "registry@county.example",
        "REGISTRY_PUBLIC_URL": "https://registry.county.example",
    }
    assert deliver(**smtp)["delivered"] == 1
    (envelope,) = mailbox.messages
    assert envelope.rcpt_tos == ["desk@alpha.example"]
    assert envelope.mail_from == "registry@county.example"
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "[Partner registry] facility review"
    text = message.get_content()
    assert "Agency X opened incident 7 at Main Street Store." in text
    assert "https://registry.county.example/api/v1/notifications?kind=facility_review" in text
    assert "whsec_" not in text and "Bearer" not in text


def test_email_waits_while_no_smtp_server_is_configured(app, client, partner, deliver):
    subscribe(client, partner["manager"], channel="email", email="desk@alpha.example")
    _tell(app, partner["org"].id)
    deliver(REGISTRY_SMTP_HOST=None)
    (delivery,) = _deliveries(app)
    assert delivery.status == "pending" and "REGISTRY_SMTP_HOST" in delivery.last_error


def test_a_rolled_back_event_sends_nothing(app, client, partner):
    subscribe(client, partner["manager"], url="https://hooks.example.com/a")
    with app.app_context(), pytest.raises(RuntimeError), transaction.session_scope() as session:
        notify(
            session,
            organization_id=partner["org"].id,
            kind="facility_review",
            message="m",
            actor="t",
        )
        raise RuntimeError("the event failed")
    assert count(app, Notification) == 0 and count(app, Delivery) == 0


def test_the_payload_is_the_notification(app, client, partner, receiver, deliver):
    created = subscribe(client, partner["manager"], url=receiver.url)
    notification_id = _tell(app, partner["org"].id, message="Hello")
    deliver()
    body = Webhook(created["secret"]).verify(
        receiver.arrivals[0].body, receiver.arrivals[0].headers
    )
    listed = client.get(f"{API}/notifications", headers=partner["manager"]).json["items"][0]
    assert body["data"]["id"] == notification_id == listed["id"]
    assert body["data"]["message"] == listed["message"] == "Hello"
    sent = datetime.fromisoformat(body["timestamp"])
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)
    assert json.loads(receiver.arrivals[0].body) == body
    with app.app_context():
        assert db.session() is not None


def test_secrets_rotate_moves_webhook_secrets_to_the_active_key(
    app, build_app, client, partner, receiver
):
    created = subscribe(client, partner["manager"], url=receiver.url)
    new_key = new_key_spec("test2")
    both = build_app(REGISTRY_FIELD_KEYS=f"{new_key},{TEST_KEYS['REGISTRY_FIELD_KEYS']}")
    runner = both.test_cli_runner()
    assert (
        "test1 (not active): 1 webhook secrets" in runner.invoke(args=["secrets", "status"]).output
    )
    rotated = runner.invoke(args=["secrets", "rotate"])
    assert rotated.exit_code == 0 and "1 webhook secrets re-encrypted" in rotated.output
    assert "test1" not in runner.invoke(args=["secrets", "status"]).output
    # The old key can go: the worker still signs with the same secret.
    only_new = build_app(REGISTRY_FIELD_KEYS=new_key)
    _tell(app, partner["org"].id)
    with only_new.app_context():
        assert Worker().run(once=True, announce=False)["delivered"] == 1
    Webhook(created["secret"]).verify(receiver.arrivals[0].body, receiver.arrivals[0].headers)
