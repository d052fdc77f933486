"""Cases reach their outcomes while the worker process is SIGKILLed and
restarted at random moments, and every step leaves exactly one timeline row."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle

from models.case import CaseState
from models.commands import (
    AcceptBody,
    Action,
    FollowUpBody,
    JudicialConfirmationBody,
    ReasonBody,
    SessionBody,
)
from models.enums import CaseStatus, DisputeType, FollowUpResult, Outcome
from models.policy import Policy
from tests.conftest import TEST_KEYS
from tests.helpers import act as send
from tests.helpers import agreement, case_id, events, eventually, intake, notifications, open_case

CASES = 20
KILLS = 5
CALM = Policy(
    acceptance_timeout=timedelta(minutes=5),
    mediation_deadline=timedelta(minutes=5),
    labor_mediation_deadline=timedelta(minutes=5),
    deadline_reminder_before=timedelta(0),
    first_follow_up_after=timedelta(minutes=5),
    judicial_confirmation_window=timedelta(minutes=5),
)
LAPSING = CALM.model_copy(
    update={
        "mediation_deadline": timedelta(seconds=6),
        "labor_mediation_deadline": timedelta(seconds=6),
    }
)
START = ["intake", "risk_screening", "assignment", "accepted"]
PLANS: dict[str, tuple[Outcome, list[str]]] = {
    "resolved": (
        Outcome.resolved,
        [*START, "session", "agreement", "judicial_confirmation", "follow_up", "closure"],
    ),
    "labor_lapsed": (Outcome.referred_arbitration, [*START, "arbitration_notice", "closure"]),
    "lapsed": (Outcome.terminated, [*START, "closure"]),
    "withdrawn": (Outcome.withdrawn, [*START, "closure"]),
}


class WorkerProcess:
    """`mediation worker` as its own process, as in production."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "ops", "worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


async def _drive(plan: str, h: WorkflowHandle[Any, CaseState], rng: random.Random) -> CaseState:
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance, within=120)
    assert s.assignment is not None and s.assignment.mediator_id is not None
    await asyncio.sleep(rng.uniform(0, 2))
    await send(h, Action.accept, AcceptBody(mediator_id=s.assignment.mediator_id))
    now = datetime.now(UTC)
    if plan == "resolved":
        await send(h, Action.sessions, SessionBody(held_at=now, summary="调解"))
        await asyncio.sleep(rng.uniform(0, 2))
        await send(h, Action.agreement, agreement("履行"))
        # Confirmed before it closes: else the workflow waits out the window (R8).
        await send(h, Action.judicial_confirmation, JudicialConfirmationBody(jointly_applied=True))
        await send(
            h, Action.follow_ups, FollowUpBody(result=FollowUpResult.performed, visited_at=now)
        )
    elif plan == "withdrawn":
        await asyncio.sleep(rng.uniform(0, 3))
        await send(h, Action.withdraw, ReasonBody(reason="撤回"))
    result: CaseState = await asyncio.wait_for(h.result(), timeout=180)
    return result


async def test_twenty_cases_survive_five_worker_kills(
    client: Client, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("MEDIATION_CHAOS_SEED", time.time()))
    rng = random.Random(seed)
    queue = f"chaos-{seed}"
    env = {
        **os.environ,
        "MEDIATION_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "MEDIATION_DATABASE_URL": db_url,
        "MEDIATION_TASK_QUEUE": queue,
        "MEDIATION_KEYS": TEST_KEYS,
        "MEDIATION_LOG_FORMAT": "json",
    }
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start()
    plans = [list(PLANS)[i % len(PLANS)] for i in range(CASES)]
    kills_done = asyncio.Event()

    async def chaos() -> None:
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(1.0, 3.0))
            worker.kill()
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            worker.start()
        kills_done.set()

    async def one(i: int, plan: str) -> tuple[str, WorkflowHandle[Any, CaseState], CaseState]:
        await asyncio.sleep(rng.uniform(0, 6))  # staggered intakes, spread over the kills
        dispute = DisputeType.labor if plan == "labor_lapsed" else DisputeType.family
        req = intake(
            dispute,
            "合阳城街道" if plan == "labor_lapsed" else "三庙镇",
            None if plan == "labor_lapsed" else "七间社区",
        )
        policy = LAPSING if plan in ("lapsed", "labor_lapsed") else CALM
        h = await open_case(client, queue, req, policy)
        return plan, h, await _drive(plan, h, rng)

    try:
        chaos_task = asyncio.create_task(chaos())
        results = await asyncio.gather(*(one(i, p) for i, p in enumerate(plans)))
        await chaos_task
    finally:
        worker.stop()
    assert kills_done.is_set()

    for plan, h, final in results:
        outcome, kinds = PLANS[plan]
        cid = case_id(h)
        rows = events(engine, cid)
        assert (final.status, final.outcome) == (CaseStatus.closed, outcome), (
            f"{plan} {cid} (seed {seed})"
        )
        assert [r.kind for r in rows] == kinds, f"{plan} {cid} (seed {seed})"
        assert [r.seq for r in rows] == list(range(1, final.seq + 1))  # no gaps, no duplicates
        sent = Counter(n.kind for n in notifications(engine, cid))
        assert sent["closure"] == 1 and sent["assignment"] == 1
    assert Counter(p for p, _, _ in results) == Counter(plans)
