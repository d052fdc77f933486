"""R4's cadences by risk level, R7's signatures, R14's first session, and routing by
specialty and to 石鼓坝社区's veterans' room, on the real dev server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowUpdateFailedError

from models.commands import (
    AcceptBody,
    Action,
    AssignBody,
    FollowUpBody,
    RiskAckBody,
    SessionBody,
)
from models.enums import (
    CaseStatus,
    DisputeType,
    FollowUpResult,
    Outcome,
    RiskFlag,
    RiskLevel,
    Specialty,
)
from models.policy import Policy
from tests.helpers import (
    SUPERVISOR,
    accept_assigned,
    act,
    agreement,
    case_id,
    case_row,
    event_kinds,
    eventually,
    intake,
    mediator_actor,
    open_case,
)


def _now() -> datetime:
    return datetime.now(UTC)


async def test_each_risk_level_is_visited_again_at_its_own_cadence(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    """R4: 1 / 3 / 6 months by default; here minutes, each level its own."""
    policy = fast_policy.model_copy(
        update={
            "first_follow_up_after": timedelta(minutes=1),
            "follow_up_every_red": timedelta(minutes=10),
            "follow_up_every_yellow": timedelta(minutes=30),
            "follow_up_every_green": timedelta(minutes=60),
        }
    )
    cases = {
        RiskLevel.red: intake(flags=[RiskFlag.self_harm]),
        RiskLevel.yellow: intake(flags=[RiskFlag.elderly]),
        RiskLevel.green: intake(),
    }
    due: dict[RiskLevel, timedelta] = {}
    for level, req in cases.items():
        h = await open_case(client, task_queue, req, policy)
        s = await accept_assigned(h)
        assert s.risk_level is level
        if s.risk_alert_open:
            await act(h, Action.risk_ack, RiskAckBody(note="已通知派出所"), SUPERVISOR)
        s = await act(h, Action.agreement, agreement())
        assert s.deadlines.next_follow_up_due == s.updated_at + timedelta(minutes=1)
        visit = FollowUpBody(result=FollowUpResult.unreachable, visited_at=_now())
        s = await act(h, Action.follow_ups, visit)
        assert s.status is CaseStatus.follow_up and s.deadlines.next_follow_up_due is not None
        due[level] = s.deadlines.next_follow_up_due - s.updated_at
        row = case_row(engine, case_id(h))
        assert row is not None and row.next_follow_up_due is not None
        await h.terminate("test over")
    assert due == {
        RiskLevel.red: timedelta(minutes=10),
        RiskLevel.yellow: timedelta(minutes=30),
        RiskLevel.green: timedelta(minutes=60),
    }


async def test_an_agreement_the_parties_have_not_signed_is_refused(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    """R7: it takes effect only when the parties (and the mediator) sign it."""
    h = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(h)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(h, Action.agreement, agreement(signed_by_parties=False))
    assert "signed it (R7)" in str(refused.value.cause)
    s = await eventually(h, lambda s: True)
    assert s.status is CaseStatus.in_mediation and s.agreement is None
    assert "agreement" not in event_kinds(engine, case_id(h))
    s = await act(h, Action.agreement, agreement(signed_by_parties=True))
    assert s.status is CaseStatus.follow_up
    await h.terminate("test over")


async def test_an_on_site_settlement_belongs_to_the_first_session(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    """R14: settled on the spot at the mediator's first session, it is still followed up,
    at the case's risk cadence, and resolves on site; after a second session it is not
    on the spot."""
    policy = fast_policy.model_copy(update={"follow_up_every_green": timedelta(minutes=20)})
    spot = await open_case(client, task_queue, intake(), policy)
    later = await open_case(client, task_queue, intake(), policy)
    for h in (spot, later):
        await accept_assigned(h)
    on_site = agreement(on_site=True, written=False)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(spot, Action.agreement, on_site)  # no session yet
    assert "first session (R14)" in str(refused.value.cause)

    await act(spot, Action.sessions, SessionBody(held_at=_now(), summary="当场调解"))
    s = await act(spot, Action.agreement, on_site)
    assert s.status is CaseStatus.follow_up and s.agreement is not None and s.agreement.on_site
    assert s.deadlines.next_follow_up_due == s.updated_at + timedelta(minutes=20)
    visit = FollowUpBody(result=FollowUpResult.performed, visited_at=_now())
    s = await act(spot, Action.follow_ups, visit)
    assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.resolved_on_site)

    for n in (1, 2):
        await act(later, Action.sessions, SessionBody(held_at=_now(), summary=f"第{n}次调解"))
    with pytest.raises(WorkflowUpdateFailedError):
        await act(later, Action.agreement, on_site)
    s = await act(later, Action.agreement, agreement(written=False))  # settled, not on the spot
    assert s.agreement is not None and not s.agreement.on_site
    for h in (spot, later):
        await h.terminate("test over")


async def test_a_traffic_dispute_goes_to_the_traffic_mediation_centre(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    """The category named at intake finds the professional body of that specialty before
    the town's committee; without one the town's committee takes it, as before."""
    req = intake(DisputeType.other, "龙市镇", None, summary="两车追尾，赔偿争议")
    traffic = await open_case(
        client, task_queue, req.model_copy(update={"category": Specialty.traffic}), fast_policy
    )
    plain = await open_case(client, task_queue, req, fast_policy)
    s = await eventually(traffic, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.assignment is not None
    assert (s.assignment.org_id, s.assignment.org_name) == (
        "pro-traffic",
        "合川区道路交通事故纠纷调解中心",
    )
    row = case_row(engine, case_id(traffic))
    assert row is not None and row.org_id == "pro-traffic"
    s = await eventually(plain, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.assignment is not None and s.assignment.org_id == "town-longshi"
    for h in (traffic, plain):
        await h.terminate("test over")


async def test_a_shiguba_dispute_can_be_assigned_to_its_veterans_room(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    req = intake(DisputeType.neighbor, "南津街街道", "石鼓坝社区", summary="邻居占用楼道堆放杂物")
    h = await open_case(client, task_queue, req, fast_policy)
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.assignment is not None and s.assignment.org_id == "fe-nanjin-shiguba"
    room = AssignBody(org_id="vet-nanjin-shiguba", reason="老兵调解室熟悉双方")
    s = await act(h, Action.assign, room, SUPERVISOR)
    assert s.status is CaseStatus.awaiting_acceptance and s.assignment is not None
    assert s.assignment.org_name == "石鼓坝社区退役军人调解室"
    s = await act(
        h,
        Action.accept,
        AcceptBody(mediator_id="vet-nanjin-shiguba-m1"),
        mediator_actor("vet-nanjin-shiguba"),
    )
    assert s.status is CaseStatus.in_mediation and s.assignment is not None
    assert s.assignment.mediator_name == "彭永刚"
    row = case_row(engine, case_id(h))
    assert row is not None and row.org_id == "vet-nanjin-shiguba"
    await h.terminate("test over")
