"""Delivery of the notification outbox (DESIGN §6): the workflow's steps write notifications
into the case store; a dispatcher in each worker process sends them through an adapter
(notify/senders.py) and stamps `sent_at`.

At least once, and never silently lost:
- A round claims a batch under a claim token and one lease. Each message goes out under a
  lease with room left for its send (the sender's timeout, and half a lease at least): the
  round's own while it has that room, else one renewed for the message alone, and only
  while the token still holds it. A dispatcher that dies leaves its rows to another once
  the lease runs out; a slow gateway never lets a second dispatcher send a message the
  first is still sending.
- Each message stands alone: one that cannot be built (its ciphertext will not open) or
  sent fails by itself, not its batch.
- A 4xx from the gateway is final; a 5xx or a network error is retried with backoff, up to
  MAX_ATTEMPTS. Then the message is dead-lettered (`dead_at`): logged, counted on the API's
  `/metrics`, and reported to the duty supervisor by a supervisor alert of its own.
- A `risk_alert` is never abandoned: when it runs out of attempts (or is refused) the duty
  supervisor is alerted once, and it goes on being tried at the longest backoff.

Words and people are resolved at delivery time, from the store as it stands then: the
text from the kind's template (notify/texts.py) with the case row, the mediation body and
mediator, and the notification's detail; the recipients from the parties (their phones
opened with the keyring) or from the roster's contacts (store/roster.py). A notification
to the parties becomes one message per party, each carrying that party's phone alone; any
other audience is one message to its contact. A notification is delivered when all its
messages are.

Every message carries its `dedupe_key` (also as the `Idempotency-Key` header), so the
gateway can drop the rare repeat: the notification's own key, with `#<position>` for each
party. On PostgreSQL several dispatchers claim disjoint batches (`FOR UPDATE SKIP LOCKED`);
SQLite serialises writers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, Row, bindparam, text
from sqlmodel import Session, select

from core.db import core_execute, read_row, session_scope
from core.envelope import TOMBSTONE, DataKeys
from models.enums import NotificationKind
from models.tables import Case, Mediator, Notification, Organization, Report
from notify.senders import Sender, Undeliverable
from notify.texts import NoticeContext, render
from store.roster import contact_for
from store.sealing import opened_parties
from store.steps import alert_duty_supervisor

log = structlog.get_logger("outbox")
MAX_ATTEMPTS = 20
NEVER_ABANDONED = frozenset({NotificationKind.risk_alert.value})
PARTIES = "parties"


_NOTIFICATIONS = Notification.__table__  # type: ignore[attr-defined]
_STAMP_DELIVERED = (
    _NOTIFICATIONS.update()
    .where(_NOTIFICATIONS.c.id == bindparam("nid"))
    .values(sent_at=bindparam("sent_at"), next_attempt_at=None, last_error=None)
)


class NoRecipient(LookupError):
    """Nobody to send a notification to: no party phone, or no contact in the roster for
    its audience. Final: the message is dead-lettered (a risk alert goes on being tried)."""


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2**attempts, 600))


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        keys: DataKeys,
        sender: Sender,
        *,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=60),
        retry_after: Callable[[int], timedelta] = backoff,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        timeout = getattr(sender, "timeout", None)
        if timeout is not None and lease.total_seconds() <= timeout:
            raise ValueError("the outbox lease must outlast one send (the sender's timeout)")
        self.engine, self.keys, self.sender = engine, keys, sender
        self.batch, self.lease, self.retry_after = batch, lease, retry_after
        self.max_attempts = max_attempts
        # What a lease must have left for a send to go out under it.
        self.room = max(lease / 2, timedelta(seconds=timeout or 0))

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
        token = uuid.uuid4().hex
        delivered = 0
        ids, leased_until = await asyncio.to_thread(self._claim, token)
        for nid in ids:
            try:
                taken = await asyncio.to_thread(self._take, nid, token, leased_until)
            except Exception as exc:  # e.g. a phone number that no key opens, no contact
                await asyncio.to_thread(self._failed, nid, type(exc).__name__, True)
                continue
            if taken is None:  # another dispatcher holds it now
                continue
            until, messages = taken
            try:
                if not await self._send_all(nid, token, messages, until):
                    continue  # the lease ran out mid-way: whoever holds it now goes on
            except Undeliverable as exc:
                await asyncio.to_thread(self._failed, nid, str(exc) or "refused", True)
            except Exception as exc:
                await asyncio.to_thread(self._failed, nid, type(exc).__name__, False)
            else:
                await asyncio.to_thread(self._delivered, nid)
                delivered += 1
        return delivered

    async def _send_all(
        self, nid: int, token: str, messages: list[dict[str, Any]], until: datetime
    ) -> bool:
        """Send a notification's messages in turn, each under a lease with room for it
        (`_take` saw to the first); False when the lease was lost before one of them."""
        for i, message in enumerate(messages):
            if i and not self._has_room(until):
                renewed = await asyncio.to_thread(self._renew, nid, token)
                if renewed is None:
                    return False
                until = renewed
            await self.sender.send(message)
        return True

    def _has_room(self, leased_until: datetime) -> bool:
        return leased_until - datetime.now(UTC) >= self.room

    # --- the store -------------------------------------------------------------------------

    def _claim(self, token: str) -> tuple[list[int], datetime]:
        """This round's rows, and when their lease ends."""
        now = datetime.now(UTC)
        lock = " FOR UPDATE SKIP LOCKED" if self.engine.dialect.name == "postgresql" else ""
        claim = text(
            "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = :lease, "
            "claimed_by = :token WHERE id IN (SELECT id FROM notifications "
            "WHERE sent_at IS NULL AND dead_at IS NULL "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= :now) "
            f"ORDER BY id LIMIT :n{lock}) RETURNING id"
        )
        until = now + self.lease
        params = {"lease": until, "token": token, "now": now, "n": self.batch}
        with session_scope(self.engine) as session:  # the claim commits on its own
            return sorted(row[0] for row in session.execute(claim, params)), until

    def _renew(self, nid: int, token: str) -> datetime | None:
        """Lease this one notification afresh, if the round's token still holds it: when the
        new lease ends, or None."""
        now = datetime.now(UTC)
        renew = text(
            "UPDATE notifications SET next_attempt_at = :lease WHERE id = :id "
            "AND claimed_by = :token AND sent_at IS NULL AND dead_at IS NULL "
            "AND next_attempt_at > :now RETURNING id"
        )
        until = now + self.lease
        params = {"lease": until, "id": nid, "token": token, "now": now}
        with session_scope(self.engine) as session:
            renewed = session.execute(renew, params).first() is not None
        return until if renewed else None

    def _take(
        self, nid: int, token: str, leased_until: datetime
    ) -> tuple[datetime, list[dict[str, Any]]] | None:
        """The lease its first message goes out under (the round's, while that has room for
        a send, else renewed) and its messages; None when another dispatcher holds it now.
        A renewal commits first: building the messages (the parties' phones opened, the
        text rendered) is no part of a write."""
        until = leased_until if self._has_room(leased_until) else self._renew(nid, token)
        if until is None:
            return None
        with session_scope(self.engine) as session:
            n = read_row(session, Notification, nid)
            return None if n is None else (until, self._messages(session, n))

    def _messages(self, session: Session, n: Row[Any]) -> list[dict[str, Any]]:
        """One message per recipient, with the text rendered from the store as it is now
        (`n`: the notification's row)."""
        case = read_row(session, Case, n.case_id)
        if case is not None:
            context = self._context(session, n, case)
        elif (report := self._report(session, n)) is not None:
            context = NoticeContext(
                case_no=report.report_no, dispute_type="other", town=report.town, detail=n.detail
            )
        else:
            raise NoRecipient("the notification's case is not in the store")
        words = render(n.kind, context)
        common = {
            "case_id": n.case_id,
            "case_no": context.case_no,
            "kind": n.kind,
            "audience": n.audience,
            "text": words,
            "detail": n.detail,
            "created_at": n.created_at.isoformat(),
        }
        if n.audience == PARTIES:  # each party hears it alone: no one sees another's number
            parties = opened_parties(session, self.keys, n.case_id)
            phones = [(p, p.phone if p.phone != TOMBSTONE else None) for p in parties]
            messages = [
                {
                    "dedupe_key": f"{n.dedupe_key}#{p.position}",
                    "recipient": {"role": p.role, "phone": phone},
                    **common,
                }
                for p, phone in phones
                if phone
            ]
            if not messages:
                raise NoRecipient("the case has no party with a phone")
            return messages
        contact = contact_for(session, n.audience)
        if contact is None:
            raise NoRecipient("no contact in the roster for this audience")
        recipient = {"contact": contact.audience, "name": contact.name, "phone": contact.phone}
        return [{"dedupe_key": n.dedupe_key, "recipient": recipient, **common}]

    @staticmethod
    def _report(session: Session, n: Row[Any]) -> Report | None:
        """A public report's emergency alert (R13) is keyed by the report's workflow id."""
        return session.exec(select(Report).where(Report.workflow_id == n.case_id)).first()

    @staticmethod
    def _context(session: Session, n: Row[Any], case: Row[Any]) -> NoticeContext:
        """A notice to a mediator or an organisation names them (the case may have moved on
        since it was written); any other names the case's current assignment."""
        org_id, mediator_id = case.org_id, case.mediator_id
        if n.audience.startswith("mediator:"):
            mediator = read_row(session, Mediator, n.audience.removeprefix("mediator:"))
            org_id = mediator.org_id if mediator else org_id
            mediator_id = mediator.id if mediator else None
        elif n.audience.startswith("org:"):
            org_id, mediator_id = n.audience.removeprefix("org:"), None
        org = read_row(session, Organization, org_id) if org_id else None
        mediator = read_row(session, Mediator, mediator_id) if mediator_id else None
        return NoticeContext(
            case_no=case.case_no,
            dispute_type=case.dispute_type,
            town=case.town,
            org_name=org.name if org else None,
            mediator_name=mediator.name if mediator else None,
            acceptance_due=case.acceptance_due,
            mediation_due=case.mediation_due,
            next_follow_up_due=case.next_follow_up_due,
            outcome=case.outcome,
            detail=n.detail,
        )

    def _delivered(self, nid: int) -> None:
        """Stamped by one Core statement built once (the columns' types bind the moment),
        not read first."""
        with session_scope(self.engine) as session:
            core_execute(session, _STAMP_DELIVERED, {"nid": nid, "sent_at": datetime.now(UTC)})

    def _failed(self, nid: int, error: str, final: bool) -> None:
        with session_scope(self.engine) as session:
            n = session.get(Notification, nid)
            if n is None:
                return
            n.last_error = error[:200]
            exhausted = final or n.attempts >= self.max_attempts
            if n.kind in NEVER_ABANDONED:
                n.next_attempt_at = datetime.now(UTC) + self.retry_after(
                    min(n.attempts, self.max_attempts)
                )
                if exhausted and self._alert_supervisor(session, n):
                    log.error(
                        "risk alert not delivered; duty supervisor alerted, still trying",
                        id=nid,
                        attempts=n.attempts,
                        error=n.last_error,
                    )
            elif exhausted:
                n.dead_at, n.next_attempt_at = datetime.now(UTC), None
                log.error(
                    "notification dead-lettered",
                    id=nid,
                    kind=n.kind,
                    attempts=n.attempts,
                    error=n.last_error,
                )
                if "undelivered" not in n.detail:  # no alerts about undelivered alerts
                    self._alert_supervisor(session, n)
            else:
                n.next_attempt_at = datetime.now(UTC) + self.retry_after(n.attempts)
                log.warning("notification not delivered", id=nid, error=n.last_error)
            session.add(n)

    @staticmethod
    def _alert_supervisor(session: Session, n: Notification) -> bool:
        """One supervisor alert per undelivered message (its dedupe key says so); True when
        this call wrote it."""
        detail = {"undelivered": n.kind, "audience": n.audience, "error": n.last_error}
        return alert_duty_supervisor(
            session, n.case_id, n.seq, f"{n.dedupe_key}/undelivered", detail
        )
