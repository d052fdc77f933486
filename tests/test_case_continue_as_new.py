"""A case's history stays bounded: when Temporal suggests it (the test server does so at
150 events, tests/conftest.py), the case continues as new, carrying its state and its
clocks, and finishes as if nothing had happened. Its histories join the replay gate."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowExecutionStatus

from cases import history
from models.commands import Action, AssignBody, ReasonBody, RiskAckBody
from models.enums import CaseStatus, DisputeType, RiskFlag
from models.policy import Policy
from tests.helpers import (
    SUPERVISOR,
    accept_assigned,
    act,
    case_id,
    events,
    eventually,
    intake,
    open_case,
    stored,
)

SLA = timedelta(seconds=30)


async def test_a_long_wait_continues_as_new_and_keeps_its_clocks_and_timeline(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    # A red collective labor dispute: with the supervisors (R11), its red alert open (R3),
    # and a supervisor reminder every quarter second: the history grows fast.
    policy = fast_policy.model_copy(
        update={"supervisor_reminder_every": timedelta(seconds=0.25), "risk_ack_sla": SLA}
    )
    req = intake(DisputeType.labor, "合阳城街道", None, flags=[RiskFlag.self_harm], headcount=30)
    h = await open_case(client, task_queue, req, policy)
    cid = case_id(h)
    query = f"WorkflowId = '{h.id}'"

    deadline = time.monotonic() + 60
    while True:
        runs = [w async for w in client.list_workflows(query)]
        continued = [w for w in runs if w.status is WorkflowExecutionStatus.CONTINUED_AS_NEW]
        if len(continued) >= 2:
            break
        assert time.monotonic() < deadline, f"{len(runs)} runs so far"
        await asyncio.sleep(0.5)
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_supervisor)
    assert s.risk_alert_open

    # The red alert's clock ran on through the new runs: the first escalation comes one SLA
    # after the alert, not one SLA after the last new run began.
    await stored(engine, cid, lambda e, _n: "risk_escalation" in e, within=SLA.seconds + 30)
    rows = events(engine, cid)
    alert = next(r for r in rows if r.kind == "risk_alert")
    escalation = next(r for r in rows if r.kind == "risk_escalation")
    gap = (escalation.occurred_at - alert.occurred_at).total_seconds()
    assert SLA.total_seconds() - 1 <= gap <= SLA.total_seconds() + 5, gap

    # And the case goes on to its end, on the latest run.
    await act(h, Action.risk_ack, RiskAckBody(note="已通知派出所"), SUPERVISOR)
    assign = AssignBody(org_id="union-labor", mediator_id="union-labor-m1", reason="工会调委会")
    await act(h, Action.assign, assign)
    await accept_assigned(h)
    await act(h, Action.terminate, ReasonBody(reason="集体调解未成"))
    final = await h.result()
    assert final.status is CaseStatus.closed

    # One timeline across every run: each step once, numbered without a gap.
    rows = events(engine, cid)
    assert [r.seq for r in rows] == list(range(1, final.seq + 1))
    kinds = [r.kind for r in rows]
    assert kinds.count("intake") == 1 and kinds.count("closure") == 1
    assert kinds.count("supervisor_reminder") >= 30
    assert len([w async for w in client.list_workflows(query)]) >= 3

    # The story for people reads across the runs, oldest first, and says where one ends.
    runs = await history.fetch(client, h.id)
    assert len(runs) >= 3
    story = await history.summarise_runs(runs, client.data_converter)
    assert [e.run for e in story] == sorted(e.run for e in story)
    assert story[0].what.startswith("workflow started for case")
    carried = [e for e in story if "carried over" in e.what]
    assert [e.run for e in carried] == list(range(2, len(runs) + 1))
    continued = [e for e in story if "continues in a new run" in e.what]
    assert len(continued) == len(runs) - 1
    steps = [e.step for e in story if e.kind == "step"]
    assert steps.count("intake") == 1 and steps[-1] == "closure"
