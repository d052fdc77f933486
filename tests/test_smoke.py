"""A case executed by the real worker on the real dev server, written to the real store."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio.client import Client

from models.enums import CaseStatus
from models.policy import Policy
from tests.helpers import case_id, case_row, event_kinds, eventually, intake, open_case


async def test_intake_is_screened_routed_and_persisted(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    handle = await open_case(client, task_queue, intake(), fast_policy)
    state = await eventually(handle, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert state.assignment is not None and state.assignment.org_name == "七间社区五老工作室"
    cid = case_id(handle)
    assert event_kinds(engine, cid) == ["intake", "risk_screening", "assignment"]
    row = case_row(engine, cid)
    assert row is not None and row.status == "awaiting_acceptance"
    assert row.org_id == "fe-sanmiao-qijian" and row.workflow_id == handle.id
    await handle.terminate("test over")
