"""Every command in every status where it is illegal is rejected by the
validator, and neither the workflow history nor the case store holds a trace of it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError

from models.case import Actor, CaseState, Strict
from models.commands import (
    AcceptBody,
    Action,
    AssignBody,
    ConsentBody,
    FollowUpBody,
    JudicialConfirmationBody,
    ReasonBody,
    RejectBody,
    RiskAckBody,
    RiskBody,
    SessionBody,
)
from models.enums import CaseStatus, DisputeType, FollowUpResult, RejectionGround, RiskLevel
from models.policy import Policy
from tests.helpers import (
    act,
    agreement,
    case_id,
    events,
    eventually,
    intake,
    mediator_actor,
    open_case,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
BODIES: dict[Action, Strict] = {
    Action.accept: AcceptBody(mediator_id="fe-sanmiao-qijian-m1"),
    Action.decline: ReasonBody(reason="回避"),
    Action.assign: AssignBody(org_id="fe-sanmiao-qijian", reason="指定"),
    Action.sessions: SessionBody(held_at=NOW, summary="调解"),
    Action.agreement: agreement("协议", performance_due=date(2026, 12, 31)),
    Action.judicial_confirmation: JudicialConfirmationBody(jointly_applied=True, note="申请"),
    Action.extend: ConsentBody(both_parties_consent=True, reason="延长"),
    Action.terminate: ReasonBody(reason="终止"),
    Action.refuse: ReasonBody(reason="拒绝"),
    Action.follow_ups: FollowUpBody(result=FollowUpResult.performed, visited_at=NOW),
    Action.reopen: ConsentBody(both_parties_consent=True, reason="重新调解"),
    Action.withdraw: ReasonBody(reason="撤回"),
    Action.risk: RiskBody(level=RiskLevel.yellow, reason="复评"),
    Action.risk_ack: RiskAckBody(note="已知悉"),
    Action.reject: RejectBody(ground=RejectionGround.administrative, reason="不予受理"),
}

# DESIGN §3 and §7, written out here rather than read from the workflow's own table.
LEGAL: dict[CaseStatus, set[str]] = {
    CaseStatus.awaiting_supervisor: {"assign", "refuse", "withdraw", "reject", "risk"},
    CaseStatus.awaiting_acceptance: {
        "accept",
        "decline",
        "assign",
        "refuse",
        "withdraw",
        "reject",
        "risk",
    },
    CaseStatus.in_mediation: {
        "sessions",
        "agreement",
        "extend",
        "terminate",
        "refuse",
        "withdraw",
        "reject",  # R2: a ground found after acceptance (DESIGN §2, notes)
        "risk",
    },
    CaseStatus.follow_up: {"judicial-confirmation", "follow-ups", "reopen", "withdraw", "risk"},
    CaseStatus.closed: set(),
}


async def _case_in(
    status: CaseStatus, client: Client, queue: str
) -> WorkflowHandle[Any, CaseState]:
    policy = Policy()  # legal durations: no timer fires during the test
    if status is CaseStatus.awaiting_supervisor:
        h = await open_case(
            client, queue, intake(DisputeType.labor, "合阳城街道", None, headcount=30), policy
        )
        await eventually(h, lambda s: s.status is status)
        return h
    h = await open_case(client, queue, intake(), policy)
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    if status is CaseStatus.awaiting_acceptance:
        return h
    assert s.assignment is not None and s.assignment.mediator_id is not None
    await act(h, Action.accept, AcceptBody(mediator_id=s.assignment.mediator_id))
    if status is CaseStatus.in_mediation:
        return h
    await act(h, Action.agreement, BODIES[Action.agreement])
    if status is CaseStatus.follow_up:
        return h
    # Confirmed first: a case closed inside the window would still take it (R8).
    await act(h, Action.judicial_confirmation, BODIES[Action.judicial_confirmation])
    await act(h, Action.follow_ups, BODIES[Action.follow_ups])
    await h.result()
    return h


def _update_events(history: Any) -> int:
    kinds = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
    }
    return sum(1 for e in history.events if e.event_type in kinds)


@pytest.mark.parametrize("status", list(LEGAL), ids=lambda s: s.value)
async def test_illegal_commands_are_rejected_without_trace(
    status: CaseStatus, client: Client, task_queue: str, engine: Engine
) -> None:
    h = await _case_in(status, client, task_queue)
    state = await h.query("current_state", result_type=CaseState)
    assert state.status is status
    assert set(state.allowed_actions) == LEGAL[status]
    before_updates = _update_events(await h.fetch_history())
    before_rows = len(events(engine, case_id(h)))
    illegal = [a for a in Action if a.value not in LEGAL[status]]
    assert illegal
    for action in illegal:
        with pytest.raises((WorkflowUpdateFailedError, RPCError)):
            await act(h, action, BODIES[action])
    assert _update_events(await h.fetch_history()) == before_updates
    assert len(events(engine, case_id(h))) == before_rows
    after = await h.query("current_state", result_type=CaseState)
    assert (after.status, after.seq) == (status, state.seq)
    if status is not CaseStatus.closed:
        await h.terminate("test over")


async def test_the_workflow_refuses_actors_the_assignment_does_not_allow(
    client: Client, task_queue: str, engine: Engine
) -> None:
    """Sent straight through Temporal, past the API: a mediator of another organisation,
    and the organisation that held the case before a supervisor re-assigned it, are
    refused by the validator, with nothing in history or in the store."""
    h = await _case_in(CaseStatus.awaiting_acceptance, client, task_queue)
    s = await h.query("current_state", result_type=CaseState)
    assert s.assignment is not None
    before = s.assignment.org_id
    decline = ReasonBody(reason="回避")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(h, Action.decline, decline, mediator_actor("union-labor"))
    assert "not assigned to your organisation" in str(refused.value.cause)

    moved = await act(h, Action.assign, AssignBody(org_id="wf-marriage", reason="改派"))
    assert moved.assignment is not None and moved.assignment.org_id == "wf-marriage"
    updates, rows = _update_events(await h.fetch_history()), len(events(engine, case_id(h)))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(h, Action.decline, decline, mediator_actor(before))
    assert "not assigned to your organisation" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(h, Action.decline, decline, Actor())  # nobody in particular
    assert "must name the person" in str(refused.value.cause)
    assert _update_events(await h.fetch_history()) == updates
    assert len(events(engine, case_id(h))) == rows
    # The organisation that holds it now may.
    await act(h, Action.decline, decline, mediator_actor("wf-marriage"))
    assert events(engine, case_id(h))[rows].kind == "declined"
    await h.terminate("test over")
