"""Log lines from workflow.logger / activity.logger carry the Temporal context as fields."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import Engine
from temporalio.client import Client

from core.logging import configure_logging
from models.enums import CaseStatus
from models.policy import Policy
from tests.helpers import case_id, eventually, intake, open_case, stored


async def test_workflow_and_activity_lines_carry_ids(
    client: Client,
    task_queue: str,
    engine: Engine,
    fast_policy: Policy,
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    # Here, so its handler writes to what capfd captures; DEBUG shows the persistence
    # activities' own lines (at INFO the workflow's line per step stands for them).
    configure_logging("json", "DEBUG")
    try:
        handle = await open_case(client, task_queue, intake(), fast_policy)
        await eventually(handle, lambda s: s.status is CaseStatus.awaiting_acceptance)
        # The state changes a moment before the assignment activity commits and logs.
        await stored(engine, case_id(handle), lambda ev, _: "assignment" in ev, what="assignment")
        await handle.terminate("test over")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    err = capfd.readouterr().err
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    ours = [x for x in lines if x.get("workflow_id") == handle.id]
    wf = [x for x in ours if x["logger"] == "temporalio.workflow"]
    act = [x for x in ours if x["logger"] == "temporalio.activity"]
    assert wf and all(x["run_id"] and x["workflow_type"] == "MediationCaseWorkflow" for x in wf)
    assert {x["step"] for x in wf} >= {"intake", "risk_screening", "assignment"}
    assert act and all(x["run_id"] and x["activity_type"] for x in act)
    assert {x["activity_type"] for x in act} >= {"persist_intake", "persist_assignment"}
    # temporalio's own context dict is not appended to the message text.
    assert all("{" not in x["event"] for x in wf + act)
