"""The notification outbox is delivered: once per message, retried when the gateway fails,
never twice by two dispatchers, never silently dropped. The messaging gateway is outside
the system: a fake one here, served for real over HTTP, that checks every signature."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine, event
from sqlmodel import Session, select
from temporalio.client import Client

from models.commands import Action, ReasonBody
from models.enums import CaseStatus, RiskFlag
from models.policy import Policy
from models.tables import Notification, Party
from notify.outbox import Dispatcher
from notify.senders import WebhookSender
from notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.conftest import TEST_DATA_KEYS, served
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

SECRET = b"test-only webhook secret"
Answer = Callable[[dict[str, Any]], int]


@dataclass
class Gateway:
    url: str = ""
    answer: Answer = lambda _: 200
    delay: float = 0.0
    calls: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    unsigned: int = 0  # requests whose signature did not verify

    def delivered(self, cid: str) -> Counter[str]:
        return Counter(k for k, status, b in self.calls if status == 200 and b["case_id"] == cid)


@pytest_asyncio.fixture
async def gateway() -> AsyncIterator[Gateway]:
    g = Gateway()
    app = FastAPI()

    @app.post("/messages")
    async def receive(request: Request) -> Response:
        raw = await request.body()
        headers = request.headers
        if not verify(SECRET, headers[TIMESTAMP_HEADER], raw, headers[SIGNATURE_HEADER]):
            g.unsigned += 1
            return Response(status_code=401)
        body = await request.json()
        await asyncio.sleep(g.delay)
        status = g.answer(body)
        g.calls.append((headers["idempotency-key"], status, body))
        return Response(status_code=status)

    async with served(app) as url:
        g.url = f"{url}/messages"
        yield g
    assert g.unsigned == 0


async def closed_case(
    client: Client, queue: str, engine: Engine, policy: Policy, red: bool = False
) -> str:
    """A case routed and then withdrawn: notifications to the mediator and to the parties
    (and, when `red`, risk alerts to the police liaison and the duty supervisor)."""
    flags = [RiskFlag.self_harm] if red else None
    h = await open_case(client, queue, intake(flags=flags), policy)
    await eventually(h, lambda s: s.status is not CaseStatus.registered)
    await act(h, Action.withdraw, ReasonBody(reason="申请人撤回"))
    cid = case_id(h)
    await stored(engine, cid, lambda _, kinds: "closure" in kinds, what="closure notice")
    return cid


def dispatcher(engine: Engine, g: Gateway, **kw: Any) -> Dispatcher:
    timeout = kw.pop("timeout", 10)
    return Dispatcher(
        engine,
        TEST_DATA_KEYS,
        WebhookSender(g.url, SECRET, timeout=timeout),
        retry_after=lambda _: timedelta(0),
        **kw,
    )


def message_keys(rows: list[Notification]) -> list[str]:
    """What the gateway is sent for these notifications: one message per party (the
    notification's key and `#<position>`; the cases here have two), one for any other."""
    return [
        key
        for n in rows
        for key in (
            [f"{n.dedupe_key}#{i}" for i in (0, 1)] if n.audience == "parties" else [n.dedupe_key]
        )
    ]


def settled(n: Notification) -> bool:
    return n.sent_at is not None or n.dead_at is not None


async def drain(engine: Engine, cid: str, *dispatchers: Dispatcher) -> None:
    for _ in range(80):
        if all(settled(n) for n in notifications(engine, cid)):
            return
        await asyncio.gather(*(d.run_once() for d in dispatchers))
    raise AssertionError("the outbox did not drain")


@contextmanager
def renewals(engine: Engine) -> Iterator[list[str]]:
    """The statements that lease one notification afresh, as the dispatchers send them."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE notifications SET next_attempt_at =") and (
            "claimed_by" in statement
        ):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_every_notification_is_delivered_once_and_a_failed_send_is_retried(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy, gateway: Gateway
) -> None:
    cid = await closed_case(client, task_queue, engine, fast_policy)
    rows = notifications(engine, cid)
    assert {"assignment", "closure"} <= {n.kind for n in rows}
    down = iter([503])  # the gateway is down for the first message
    gateway.answer = lambda _: next(down, 200)
    with renewals(engine) as renewed:
        await drain(engine, cid, dispatcher(engine, gateway))
    # Every message went out inside its round's lease (a minute): no row was leased again,
    # one write fewer for each.
    assert renewed == []

    rows = notifications(engine, cid)
    assert all(n.sent_at is not None and n.last_error is None for n in rows)
    assert gateway.delivered(cid) == Counter({k: 1 for k in message_keys(rows)})
    assert sorted(n.attempts for n in rows)[-1] == 2  # the one that failed, then went
    closure = [
        b
        for _, status, b in gateway.calls
        if status == 200
        and b["case_id"] == cid
        and b["kind"] == "closure"
        and b["audience"] == "parties"
    ]
    assert [b["recipient"]["phone"] for b in closure] == [APPLICANT.phone, RESPONDENT.phone]
    assert all(b["case_no"].startswith("HC") and b["case_no"] in b["text"] for b in closure)


async def test_a_long_outage_dead_letters_visibly_and_never_drops_a_risk_alert(
    client: Client,
    task_queue: str,
    engine: Engine,
    fast_policy: Policy,
    gateway: Gateway,
    http: httpx.AsyncClient,
) -> None:
    cid = await closed_case(client, task_queue, engine, fast_policy, red=True)
    kinds = {n.kind for n in notifications(engine, cid)}
    assert {"risk_alert", "closure"} <= kinds
    gateway.answer = lambda _: 503  # down for longer than all the attempts
    one = dispatcher(engine, gateway, max_attempts=3)
    for _ in range(4):
        await one.run_once()

    rows = notifications(engine, cid)
    dead = [n for n in rows if n.dead_at is not None]
    alive = [n for n in rows if n.dead_at is None and n.sent_at is None]
    assert dead and {n.kind for n in dead} >= {"closure"}
    assert all(n.attempts == 3 and n.last_error == "HTTPStatusError" for n in dead)
    assert {n.kind for n in alive} >= {"risk_alert"}  # tried on, never given up
    assert all(n.attempts == 4 for n in alive if n.kind == "risk_alert")
    # The duty supervisor hears of each, once: the dead letters and the risk alerts still
    # in flight.
    alerts = [n for n in rows if n.audience == "duty_supervisor" and "undelivered" in n.detail]
    assert Counter(n.detail["undelivered"] for n in alerts)["risk_alert"] == 2
    assert {n.detail["undelivered"] for n in alerts} >= {"closure", "risk_alert"}
    assert len(alerts) == len({n.dedupe_key for n in alerts})
    metrics = (await http.get("/metrics")).text
    dead_gauge = next(
        line for line in metrics.splitlines() if line.startswith("mediation_outbox_dead_letters ")
    )
    assert float(dead_gauge.split()[1]) >= len(dead)

    # The gateway comes back: every risk alert (and the supervisor alerts) goes out once.
    gateway.answer = lambda _: 200
    await drain(engine, cid, one)
    sent = gateway.delivered(cid)
    risk = [n for n in notifications(engine, cid) if n.kind == "risk_alert"]
    assert risk and all(n.sent_at is not None and sent[n.dedupe_key] == 1 for n in risk)
    assert all(sent[k] == 0 for k in message_keys(dead))


async def test_a_refusal_is_final_and_a_poison_row_delays_no_other(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy, gateway: Gateway
) -> None:
    cid = await closed_case(client, task_queue, engine, fast_policy, red=True)
    gateway.answer = lambda b: 400 if b["kind"] == "assignment" else 200
    with Session(engine) as s:  # a phone number no key opens: the parties' messages are poison
        for p in s.exec(select(Party).where(Party.case_id == cid)):
            p.phone = "enc:v1:nokey:AAAA"
            s.add(p)
        s.commit()
    one = dispatcher(engine, gateway)
    await one.run_once()  # one round settles every message, each on its own
    rows = notifications(engine, cid)
    by_kind = {(n.kind, n.audience): n for n in rows if "undelivered" not in n.detail}
    refused = [n for (kind, _), n in by_kind.items() if kind == "assignment"]
    assert refused and all(n.attempts == 1 and n.dead_at is not None for n in refused)
    assert all(n.last_error == "HTTP 400" for n in refused)
    poison = by_kind[("closure", "parties")]
    assert poison.dead_at is not None and poison.sent_at is None and poison.attempts == 1
    others = [n for n in by_kind.values() if n not in refused and n is not poison]
    assert {n.kind for n in others} >= {"risk_alert"}
    assert all(n.sent_at is not None for n in others)
    assert all(gateway.delivered(cid)[n.dedupe_key] == 0 for n in refused)


async def test_two_dispatchers_never_deliver_a_message_twice_through_a_slow_gateway(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy, gateway: Gateway
) -> None:
    cids = [await closed_case(client, task_queue, engine, fast_policy) for _ in range(3)]
    # Each send takes 0.3 s; a batch takes far longer than the lease of a second: without a
    # lease per message the second dispatcher would take the first one's waiting rows.
    gateway.delay = 0.3
    kw = {"lease": timedelta(seconds=1), "timeout": 0.8, "batch": 20}
    one, two = dispatcher(engine, gateway, **kw), dispatcher(engine, gateway, **kw)
    with renewals(engine) as renewed:
        for cid in cids:
            await drain(engine, cid, one, two)
    assert renewed  # the later messages of a round went out under leases of their own
    for cid in cids:
        keys = message_keys(notifications(engine, cid))
        assert gateway.delivered(cid) == Counter({k: 1 for k in keys})


def test_plain_http_to_another_host_is_refused_and_the_signature_binds_the_body() -> None:
    with pytest.raises(ValueError, match="https"):
        WebhookSender("http://10.1.2.3/messages", SECRET)
    WebhookSender("http://127.0.0.1:9/messages", SECRET)  # a sidecar on loopback: fine
    with pytest.raises(ValueError, match="SECRET"):
        WebhookSender("https://sms.example/messages", b"")
    from notify.signing import signature

    sig = signature(SECRET, "1800000000", b'{"a":1}')
    assert verify(SECRET, "1800000000", b'{"a":1}', sig, now=1800000010)
    assert not verify(SECRET, "1800000000", b'{"a":2}', sig, now=1800000010)
    assert not verify(b"another", "1800000000", b'{"a":1}', sig, now=1800000010)
    assert not verify(SECRET, "1800000000", b'{"a":1}', sig, now=1800000000 + 301)


def test_the_worker_refuses_to_start_with_a_plain_http_gateway(tmp_path: Any) -> None:
    env = {
        **os.environ,
        "MEDIATION_DATA_DIR": str(tmp_path),
        "MEDIATION_NOTIFY_ADAPTER": "webhook",
        "MEDIATION_NOTIFY_WEBHOOK_URL": "http://sms-gateway.internal/messages",
        "MEDIATION_NOTIFY_WEBHOOK_SECRET": "s",
    }
    done = subprocess.run(
        [sys.executable, "-m", "ops", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "must be https://" in done.stderr
