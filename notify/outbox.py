"""Delivery of the notification outbox (DESIGN §6): the workflow's steps write notifications
into the case store; a dispatcher in each worker process sends them through an adapter and
stamps `sent_at`.

At least once, never lost: a batch is claimed with a lease (`next_attempt_at`), so a
dispatcher that dies mid-send leaves its rows to another once the lease runs out; a failed
send is retried with backoff. Every message carries its outbox `dedupe_key` (also as the
`Idempotency-Key` header), so a gateway can drop the rare repeat. On PostgreSQL several
dispatchers claim disjoint batches (`FOR UPDATE SKIP LOCKED`); SQLite serialises writers.

Adapters: `log` (development: one line per message, no personal data) and `webhook` (POST
JSON to an SMS or messaging gateway, which is outside this system).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
import structlog
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from core.crypto import Keyring
from core.db import session_scope
from models.tables import Case, Notification, Party

log = structlog.get_logger("outbox")
MAX_ATTEMPTS = 20


class Sender(Protocol):
    async def send(self, message: dict[str, Any]) -> None:
        """Deliver one message; raise to have it retried later."""


class LogSender:
    async def send(self, message: dict[str, Any]) -> None:
        log.info(
            "notification sent",
            kind=message["kind"],
            audience=message["audience"],
            case_id=message["case_id"],
            recipients=len(message["recipients"]),
        )


class WebhookSender:
    def __init__(self, url: str, timeout: float = 10) -> None:
        self.url = url
        self.http = httpx.AsyncClient(timeout=timeout)

    async def send(self, message: dict[str, Any]) -> None:
        r = await self.http.post(
            self.url, json=message, headers={"Idempotency-Key": message["dedupe_key"]}
        )
        r.raise_for_status()


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        sender: Sender,
        *,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=60),
        retry_after: Callable[[int], timedelta] = backoff,
    ) -> None:
        self.engine, self.keyring, self.sender = engine, keyring, sender
        self.batch, self.lease, self.retry_after = batch, lease, retry_after

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        while not stop.is_set():
            try:
                sent = await self.run_once()
            except Exception as exc:  # the database may be away for a moment; keep going
                log.warning("outbox round failed", error=type(exc).__name__)
                sent = 0
            if sent == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=idle)
                except TimeoutError:
                    pass

    async def run_once(self) -> int:
        """Claim one batch and try each message once; returns how many were delivered."""
        messages = await asyncio.to_thread(self._claim)
        delivered = 0
        for nid, message in messages:
            try:
                await self.sender.send(message)
            except Exception as exc:
                await asyncio.to_thread(self._failed, nid, type(exc).__name__)
                log.warning("notification not delivered", id=nid, error=type(exc).__name__)
            else:
                await asyncio.to_thread(self._delivered, nid)
                delivered += 1
        return delivered

    # --- the store -------------------------------------------------------------------------

    def _claim(self) -> list[tuple[int, dict[str, Any]]]:
        now = datetime.now(UTC)
        lock = " FOR UPDATE SKIP LOCKED" if self.engine.dialect.name == "postgresql" else ""
        claim = text(
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = :lease "
            "WHERE id IN (SELECT id FROM notifications WHERE sent_at IS NULL "
            "AND attempts < :max AND (next_attempt_at IS NULL OR next_attempt_at <= :now) "
            f"ORDER BY id LIMIT :n{lock}) RETURNING id"
        )
        params = {"lease": now + self.lease, "max": MAX_ATTEMPTS, "now": now, "n": self.batch}
        with session_scope(self.engine) as session:  # the claim commits on its own
            ids = [row[0] for row in session.execute(claim, params)]
        if not ids:
            return []
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(Notification)
                .where(col(Notification.id).in_(ids))
                .order_by(col(Notification.id))
            ).all()
            return [(n.id or 0, self._message(session, n)) for n in rows]

    def _message(self, session: Session, n: Notification) -> dict[str, Any]:
        case = session.get(Case, n.case_id)
        recipients: list[dict[str, Any]] = []
        if n.audience == "parties":  # the gateway texts the parties themselves
            parties = session.exec(
                select(Party).where(Party.case_id == n.case_id).order_by(col(Party.position))
            ).all()
            recipients = [{"role": p.role, "phone": self.keyring.open(p.phone)} for p in parties]
        return {
            "dedupe_key": n.dedupe_key,
            "case_id": n.case_id,
            "case_no": case.case_no if case else None,
            "kind": n.kind,
            "audience": n.audience,
            "recipients": recipients,
            "detail": n.detail,
            "created_at": n.created_at.isoformat(),
        }

    def _delivered(self, nid: int) -> None:
        with session_scope(self.engine) as session:
            n = session.get(Notification, nid)
            if n is not None:
                n.sent_at, n.next_attempt_at, n.last_error = datetime.now(UTC), None, None
                session.add(n)

    def _failed(self, nid: int, error: str) -> None:
        with session_scope(self.engine) as session:
            n = session.get(Notification, nid)
            if n is not None:
                n.next_attempt_at = datetime.now(UTC) + self.retry_after(n.attempts)
                n.last_error = error[:200]
                session.add(n)


def sender_from(adapter: str, webhook_url: str | None) -> Sender:
    if adapter == "webhook":
        if not webhook_url:
            raise ValueError("MEDIATION_NOTIFY_WEBHOOK_URL is required for the webhook adapter")
        return WebhookSender(webhook_url)
    return LogSender()
