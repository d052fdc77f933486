"""The notification outbox is delivered: once per message, retried when the gateway fails,
never twice by two dispatchers. The messaging gateway is outside the system: a fake one
here, served for real over HTTP."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest_asyncio
from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine
from temporalio.client import Client

from models.commands import Action, ReasonBody
from models.enums import CaseStatus
from models.policy import Policy
from notify.outbox import Dispatcher, WebhookSender
from tests.conftest import TEST_KEYRING, served
from tests.helpers import (
    APPLICANT,
    RESPONDENT,
    act,
    case_id,
    eventually,
    intake,
    notifications,
    open_case,
    stored,
)


@dataclass
class Gateway:
    url: str = ""
    fail_next: int = 0
    calls: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    def delivered(self, cid: str) -> Counter[str]:
        return Counter(k for k, status, b in self.calls if status == 200 and b["case_id"] == cid)


@pytest_asyncio.fixture(scope="module")
async def gateway() -> AsyncIterator[Gateway]:
    g = Gateway()
    app = FastAPI()

    @app.post("/messages")
    async def receive(request: Request) -> Response:
        body = await request.json()
        status = 503 if g.fail_next > 0 else 200
        g.fail_next = max(0, g.fail_next - 1)
        g.calls.append((request.headers["idempotency-key"], status, body))
        return Response(status_code=status)

    async with served(app) as url:
        g.url = f"{url}/messages"
        yield g


async def closed_case(client: Client, queue: str, engine: Engine, policy: Policy) -> str:
    """A case routed and then withdrawn: notifications to the mediator and to the parties."""
    h = await open_case(client, queue, intake(), policy)
    await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    await act(h, Action.withdraw, ReasonBody(reason="申请人撤回"))
    cid = case_id(h)
    await stored(engine, cid, lambda _, kinds: "closure" in kinds, what="closure notice")
    return cid


def dispatcher(engine: Engine, g: Gateway) -> Dispatcher:
    return Dispatcher(
        engine, TEST_KEYRING, WebhookSender(g.url), retry_after=lambda _: timedelta(0)
    )


async def drain(engine: Engine, cid: str, *dispatchers: Dispatcher) -> None:
    for _ in range(50):
        if all(n.sent_at is not None for n in notifications(engine, cid)):
            return
        await asyncio.gather(*(d.run_once() for d in dispatchers))
    raise AssertionError("the outbox did not drain")


async def test_every_notification_is_delivered_once_and_a_failed_send_is_retried(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy, gateway: Gateway
) -> None:
    cid = await closed_case(client, task_queue, engine, fast_policy)
    rows = notifications(engine, cid)
    assert {"assignment", "closure"} <= {n.kind for n in rows}
    gateway.fail_next = 1  # the gateway is down for the first message
    await drain(engine, cid, dispatcher(engine, gateway))

    rows = notifications(engine, cid)
    assert all(n.sent_at is not None and n.last_error is None for n in rows)
    assert gateway.delivered(cid) == Counter({n.dedupe_key: 1 for n in rows})
    assert sorted(n.attempts for n in rows)[-1] == 2  # the one that failed, then went
    closure = next(
        b
        for _, status, b in gateway.calls
        if status == 200
        and b["case_id"] == cid
        and b["kind"] == "closure"
        and b["audience"] == "parties"
    )
    assert [r["phone"] for r in closure["recipients"]] == [APPLICANT.phone, RESPONDENT.phone]
    assert closure["case_no"].startswith("HC")


async def test_two_dispatchers_never_deliver_a_message_twice(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy, gateway: Gateway
) -> None:
    cids = [await closed_case(client, task_queue, engine, fast_policy) for _ in range(4)]
    one, two = dispatcher(engine, gateway), dispatcher(engine, gateway)
    for cid in cids:
        await drain(engine, cid, one, two)
    for cid in cids:
        keys = {n.dedupe_key for n in notifications(engine, cid)}
        assert gateway.delivered(cid) == Counter({k: 1 for k in keys})
