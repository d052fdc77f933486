"""How the outbox reaches people: the adapters behind it (DESIGN §6), and what a failed
delivery means (try again later, or never).

A message (notify/outbox.py) is for one recipient: `dedupe_key`, `case_id`, `case_no`,
`kind`, `audience`, `recipient` (`phone`, and `role` for a party or `contact` and `name` for
a contact in the roster), `text` (notify/texts.py), `detail`, `created_at`.

- `log` (development): one line per message with its kind, audience, case id and whom it
  is for (a party's role or the contact's audience key): never the phone, the contact's
  name or the text. Texts carry no party's particulars, but they do name mediators, and a
  log is the wrong place for what a person was told.
- `webhook`: POST JSON to an SMS or messaging gateway, which is outside this system. Only
  over https (plain http to a loopback address aside: a gateway sidecar), because the body
  carries phone numbers; every request is signed (notify/signing.py) so the gateway can
  tell our messages from anyone's.
"""

from __future__ import annotations

import ipaddress
import json
import time
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import structlog

from notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

log = structlog.get_logger("outbox")

# Answers that say "later", not "never": timeout, too early, too many requests.
RETRYABLE_4XX = frozenset({408, 425, 429})


class Undeliverable(Exception):
    """The gateway refused this message for good (a 4xx): sending it again changes nothing."""


class Sender(Protocol):
    async def send(self, message: dict[str, Any]) -> None:
        """Deliver one message; raise `Undeliverable` when retrying cannot help, any other
        exception to have it retried later."""


class LogSender:
    async def send(self, message: dict[str, Any]) -> None:
        recipient = message["recipient"]
        log.info(
            "notification sent",
            kind=message["kind"],
            audience=message["audience"],
            case_id=message["case_id"],
            to=recipient.get("role") or recipient.get("contact"),
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_webhook_url(url: str) -> str:
    """The gateway's address, if messages with phone numbers in them may go there."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise ValueError(
        "MEDIATION_NOTIFY_WEBHOOK_URL must be https:// (plain http only to a loopback "
        "address): the messages carry phone numbers"
    )


class WebhookSender:
    def __init__(self, url: str, secret: bytes, timeout: float = 10) -> None:
        if not secret:
            raise ValueError("MEDIATION_NOTIFY_WEBHOOK_SECRET is required to sign the webhook")
        self.url, self.secret, self.timeout = check_webhook_url(url), secret, timeout
        self.http = httpx.AsyncClient(timeout=timeout)

    async def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message["dedupe_key"],
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(self.secret, stamp, body),
        }
        r = await self.http.post(self.url, content=body, headers=headers)
        if 400 <= r.status_code < 500 and r.status_code not in RETRYABLE_4XX:
            raise Undeliverable(f"HTTP {r.status_code}")
        r.raise_for_status()


def sender_from(adapter: str, webhook_url: str | None, webhook_secret: str | None) -> Sender:
    if adapter == "webhook":
        if not webhook_url:
            raise ValueError("MEDIATION_NOTIFY_WEBHOOK_URL is required for the webhook adapter")
        return WebhookSender(webhook_url, (webhook_secret or "").encode())
    return LogSender()
