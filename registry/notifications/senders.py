"""Sending one delivery: a signed webhook (Standard Webhooks) or an email (SMTP).

Each sender returns normally when the receiver took the message and raises SendFailed (with a
reason short enough to store, never a secret) otherwise; the worker decides about retries.
"""

import http.client
import json
import smtplib
import socket
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage

from standardwebhooks.webhooks import Webhook

from ..encryption import UnreadableSecret
from . import secrets, targets
from .models import Delivery, Notification

USER_AGENT = "partner-registry-webhooks/1"


class SendFailed(Exception):
    """The receiver did not take the delivery (the reason is stored as `last_error`)."""


def webhook_id(delivery: Delivery) -> str:
    """The `webhook-id` header: the same on every attempt at one delivery, so a receiver that
    gets a resend (a worker killed after sending, before recording it) can drop it."""
    return f"delivery_{delivery.id}"


def payload(notification: Notification) -> dict:
    """The body: Standard Webhooks' {type, timestamp, data}, `data` being the notification as
    GET /notifications shows it."""
    return {
        "type": notification.kind,
        "timestamp": notification.created_at.astimezone(UTC).isoformat(),
        "data": {
            "id": notification.id,
            "kind": notification.kind,
            "created_at": notification.created_at.astimezone(UTC).isoformat(),
            "organization_id": notification.organization_id,
            "agency_id": notification.agency_id,
            "facility_id": notification.facility_id,
            "incident_id": notification.incident_id,
            "mou_id": notification.mou_id,
            "actor": notification.actor,
            "message": notification.message,
        },
    }


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address checked beforehand (targets.resolve), with the certificate checked
    for the URL's host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def send_webhook(delivery: Delivery, config) -> None:
    subscription, notification = delivery.subscription, delivery.notification
    try:
        target = targets.resolve(subscription.url, config["REGISTRY_WEBHOOK_ALLOW_PRIVATE"])
    except targets.Refused as refusal:
        raise SendFailed(f"refused: {refusal}") from None
    try:
        secret = secrets.open_secret(subscription)
    except UnreadableSecret:
        raise SendFailed("the subscription's secret cannot be decrypted; rotate it") from None
    body = json.dumps(payload(notification), separators=(",", ":"))
    message_id = webhook_id(delivery)
    now = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(
        target.address, target.host, target.port, config["REGISTRY_DELIVERY_TIMEOUT_SECONDS"]
    )
    try:
        connection.request("POST", target.path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer's body is not used; a bounded read
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        raise SendFailed(f"{type(error).__name__}: {error}"[:300]) from None
    finally:
        connection.close()
    # 2xx is taken; anything else (3xx included: redirects are not followed) is a failure.
    if not 200 <= status < 300:
        raise SendFailed(f"HTTP {status}")


def email_text(notification: Notification, public_url: str | None) -> tuple[str, str]:
    """Subject and plain text: what happened and where to look; no secret, no link with a
    token (the reader signs in to look)."""
    where = f"{public_url or ''}/api/v1/notifications?kind={notification.kind}"
    subject = f"[Partner registry] {notification.kind.replace('_', ' ')}"
    lines = [
        notification.message,
        "",
        f"When: {notification.created_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
    ]
    for label, value in (
        ("Facility", notification.facility_id),
        ("Incident", notification.incident_id),
        ("MOU", notification.mou_id),
    ):
        if value is not None:
            lines.append(f"{label}: id {value}")
    lines += [
        "",
        f"Sign in to the registry to see the details: {where}",
        "",
        "You receive this because your organization or agency subscribed this address to the "
        "registry's notifications; its administrators can change that (/api/v1/subscriptions).",
    ]
    return subject, "\n".join(lines)


def send_email(delivery: Delivery, config) -> None:
    host = config["REGISTRY_SMTP_HOST"]
    if not host:
        raise SendFailed("no SMTP server is configured (REGISTRY_SMTP_HOST)")
    subject, text = email_text(delivery.notification, config["REGISTRY_PUBLIC_URL"])
    message = EmailMessage()
    message["From"] = config["REGISTRY_SMTP_FROM"]
    message["To"] = delivery.subscription.email
    message["Subject"] = subject
    message["Message-ID"] = f"<{webhook_id(delivery)}@partner-registry>"
    message.set_content(text)
    try:
        with smtplib.SMTP(
            host, config["REGISTRY_SMTP_PORT"], timeout=config["REGISTRY_DELIVERY_TIMEOUT_SECONDS"]
        ) as smtp:
            if config["REGISTRY_SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["REGISTRY_SMTP_USERNAME"]:
                smtp.login(config["REGISTRY_SMTP_USERNAME"], config["REGISTRY_SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise SendFailed(f"{type(error).__name__}: {error}"[:300]) from None


SENDERS = {"webhook": send_webhook, "email": send_email}
