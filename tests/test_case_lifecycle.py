"""Routing by dispute type, the happy path, refusal, R2 and withdrawal."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.client import Client

from models.commands import (
    AcceptBody,
    Action,
    FollowUpBody,
    ReasonBody,
    SessionBody,
)
from models.enums import CaseStatus, DisputeType, FollowUpResult, Outcome
from models.policy import Policy
from tests.helpers import (
    act,
    agreement,
    case_id,
    case_row,
    event_kinds,
    events,
    eventually,
    intake,
    mediator_actor,
    notification_kinds,
    open_case,
    routed_at,
)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_family_case_from_qijian_runs_to_resolved(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(
        client, task_queue, intake(DisputeType.family, "三庙镇", "七间社区"), fast_policy
    )
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.assignment is not None
    assert (s.assignment.org_id, s.assignment.org_name) == (
        "fe-sanmiao-qijian",
        "七间社区五老工作室",
    )
    assert s.risk_level.value == "green" and s.deadlines.acceptance_due is not None
    assert set(s.allowed_actions) >= {"accept", "decline"} and "sessions" not in s.allowed_actions
    assert routed_at(engine, case_id(h)) == [2]  # kept, in case its workflow task ran again

    me = mediator_actor("fe-sanmiao-qijian")
    assert s.assignment.mediator_id is not None
    s = await act(h, Action.accept, AcceptBody(mediator_id=s.assignment.mediator_id), me)
    assert s.status is CaseStatus.in_mediation and s.deadlines.mediation_due is not None
    s = await act(
        h,
        Action.sessions,
        SessionBody(held_at=_now(), summary="双方陈述", attendees=["甲", "乙"]),
        me,
    )
    assert s.sessions_held == 1
    s = await act(
        h,
        Action.agreement,
        agreement("老宅按份分割"),
        me,
    )
    assert s.status is CaseStatus.follow_up
    assert (
        s.deadlines.judicial_confirmation_until is not None
        and s.deadlines.next_follow_up_due is not None
    )
    s = await act(
        h,
        Action.follow_ups,
        FollowUpBody(result=FollowUpResult.performed, notes="已履行", visited_at=_now()),
        me,
    )
    assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.resolved)
    assert routed_at(engine, case_id(h)) == []  # let go of by the closing step
    # Closed inside the judicial-confirmation window: the parties may still apply (R8), so
    # the workflow ends when the window does.
    assert s.allowed_actions == ["judicial-confirmation"]
    result = await h.result()
    assert (result.status, result.outcome, result.allowed_actions) == (
        CaseStatus.closed,
        Outcome.resolved,
        [],
    )

    cid = case_id(h)
    assert event_kinds(engine, cid) == [
        "intake",
        "risk_screening",
        "assignment",
        "accepted",
        "session",
        "agreement",
        "follow_up",
        "closure",
        "judicial_window_closed",
    ]
    assert [e.seq for e in events(engine, cid)] == list(range(1, 10))
    assert [e.actor_id for e in events(engine, cid)][3:7] == [me.principal_id] * 4
    row = case_row(engine, cid)
    assert row is not None
    assert (row.status, row.outcome, row.org_id, row.last_seq) == (
        "closed",
        "resolved",
        "fe-sanmiao-qijian",
        9,
    )
    assert row.closed_at is not None
    assert notification_kinds(engine, cid) == ["assignment", "closure"]


async def test_labor_goes_to_the_union_and_marriage_to_the_womens_federation(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    labor = await open_case(
        client,
        task_queue,
        intake(DisputeType.labor, "合阳城街道", None, summary="拖欠三个月工资"),
        fast_policy,
    )
    marriage = await open_case(
        client,
        task_queue,
        intake(DisputeType.marriage, "南津街街道", "石鼓坝社区", summary="离婚财产分割"),
        fast_policy,
    )
    neighbor = await open_case(
        client,
        task_queue,
        intake(DisputeType.neighbor, "钓鱼城街道", "鼓楼社区", summary="楼上漏水"),
        fast_policy,
    )
    other_town = await open_case(
        client,
        task_queue,
        intake(DisputeType.other, "龙市镇", None, summary="合同纠纷"),
        fast_policy,
    )
    expected = {
        labor: "union-labor",
        marriage: "wf-marriage",
        neighbor: "fe-diaoyu-gulou",
        other_town: "town-longshi",
    }
    for h, org in expected.items():
        s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
        assert s.assignment is not None and s.assignment.org_id == org
        row = case_row(engine, case_id(h))
        assert row is not None and row.org_id == org
        await h.terminate("test over")


async def test_refusal_not_accepted_and_withdrawal_close_with_their_outcomes(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    refused = await open_case(client, task_queue, intake(), fast_policy)
    s = await eventually(refused, lambda s: s.status is CaseStatus.awaiting_acceptance)
    s = await act(
        refused,
        Action.refuse,
        ReasonBody(reason="被申请人明确拒绝调解"),
        mediator_actor("fe-sanmiao-qijian"),
    )
    assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.refused)
    assert notification_kinds(engine, case_id(refused))[-2:] == ["termination_routes", "closure"]

    court = await open_case(client, task_queue, intake(court_or_police_accepted=True), fast_policy)
    result = await court.result()
    assert (result.status, result.outcome) == (CaseStatus.closed, Outcome.not_accepted)
    assert event_kinds(engine, case_id(court)) == ["intake", "risk_screening", "closure"]
    assert result.assignment is None

    withdrawn = await open_case(client, task_queue, intake(), fast_policy)
    s = await eventually(withdrawn, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.assignment is not None and s.assignment.mediator_id is not None
    await act(
        withdrawn,
        Action.accept,
        AcceptBody(mediator_id=s.assignment.mediator_id),
        mediator_actor(s.assignment.org_id),
    )
    s = await act(withdrawn, Action.withdraw, ReasonBody(reason="申请人撤回"))
    assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.withdrawn)
    row = case_row(engine, case_id(withdrawn))
    assert row is not None and (row.status, row.outcome) == ("closed", "withdrawn")
    assert event_kinds(engine, case_id(withdrawn))[-2:] == ["accepted", "closure"]
