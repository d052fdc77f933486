"""Deadlines, escalations and follow-ups fire on their own (second-scale policy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowUpdateFailedError

from models.commands import (
    AcceptBody,
    Action,
    AssignBody,
    ConsentBody,
    FollowUpBody,
    JudicialConfirmationBody,
    RiskAckBody,
    SessionBody,
)
from models.enums import CaseStatus, DisputeType, FollowUpResult, Outcome, RiskLevel
from models.policy import Policy
from tests.helpers import (
    SUPERVISOR,
    accept_assigned,
    act,
    agreement,
    case_id,
    event_kinds,
    eventually,
    intake,
    mediator_actor,
    notification_kinds,
    notifications,
    open_case,
    stored,
)


def _now() -> datetime:
    return datetime.now(UTC)


async def _agreed(h, performance_due=None):  # type: ignore[no-untyped-def]
    await accept_assigned(h)
    return await act(
        h,
        Action.agreement,
        agreement("分期支付", performance_due=performance_due),
    )


async def test_labor_without_agreement_is_referred_to_arbitration(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(
        client,
        task_queue,
        intake(DisputeType.labor, "合阳城街道", None, summary="欠薪"),
        fast_policy,
    )
    s = await accept_assigned(h)
    assert s.assignment is not None and s.assignment.org_id == "union-labor"
    result = await h.result()
    assert (result.status, result.outcome) == (CaseStatus.closed, Outcome.referred_arbitration)
    cid = case_id(h)
    assert event_kinds(engine, cid)[-3:] == ["deadline_reminder", "arbitration_notice", "closure"]
    notice = next(n for n in notifications(engine, cid) if n.kind == "arbitration_rights")
    limitation = datetime.fromisoformat(notice.detail["arbitration_limitation_until"]).date()
    assert abs((limitation - (_now() + timedelta(days=365)).date()).days) <= 1
    assert notice.audience == "parties"


async def test_labor_with_both_parties_consent_stays_in_mediation(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(
        client,
        task_queue,
        intake(DisputeType.labor, "合阳城街道", None, summary="欠薪"),
        fast_policy,
    )
    await accept_assigned(h)
    await act(h, Action.extend, ConsentBody(both_parties_consent=True, reason="双方同意继续调解"))
    s = await eventually(
        h, lambda s: s.arbitration_notice_sent, within=20, what="arbitration notice"
    )
    assert s.status is CaseStatus.in_mediation  # told of arbitration, still mediating
    await stored(engine, case_id(h), lambda _e, n: "arbitration_rights" in n)
    s = await act(h, Action.agreement, agreement("补发工资"))
    assert s.status is CaseStatus.follow_up
    await h.terminate("test over")


async def test_red_risk_alerts_first_reescalates_and_proceeds_once_acknowledged(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(client, task_queue, intake(summary="男方扬言要跳楼"), fast_policy)
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.risk_level is RiskLevel.red and s.risk_alert_open
    assert "self_harm_language" in s.risk_reasons
    cid = case_id(h)
    kinds = notification_kinds(engine, cid)
    assert kinds[:2] == ["risk_alert", "risk_alert"]  # before the assignment, before anything else
    assert {n.audience for n in notifications(engine, cid)[:2]} == {
        "police_liaison",
        "duty_supervisor",
    }
    assert event_kinds(engine, cid)[:4] == ["intake", "risk_screening", "risk_alert", "assignment"]
    # Red family dispute: the women's federation committee takes it.
    assert s.assignment is not None and s.assignment.org_id == "wf-marriage"

    s = await eventually(h, lambda s: s.risk_escalations >= 1, within=15, what="re-escalation")
    await stored(engine, cid, lambda e, _n: "risk_escalation" in e)
    assert notification_kinds(engine, cid).count("risk_alert") >= 4

    s = await accept_assigned(h)
    assert "sessions" not in s.allowed_actions
    with pytest.raises(WorkflowUpdateFailedError):
        await act(h, Action.sessions, SessionBody(held_at=_now(), summary="x"))
    s = await act(h, Action.risk_ack, RiskAckBody(note="已通知派出所，民警已上门"), SUPERVISOR)
    assert not s.risk_alert_open and "sessions" in s.allowed_actions
    escalations = s.risk_escalations
    s = await act(h, Action.sessions, SessionBody(held_at=_now(), summary="背靠背调解"))
    assert s.sessions_held == 1
    await h.terminate("test over")
    assert escalations >= 1


async def test_unaccepted_cases_are_rerouted_then_handed_to_supervisors(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    # R5's 15 days count from the first assignment: long enough here not to end the case
    # between the supervisor's assignment and the end of the test.
    policy = fast_policy.model_copy(
        update={
            "acceptance_timeout": timedelta(seconds=3),
            "labor_mediation_deadline": timedelta(minutes=1),
        }
    )
    h = await open_case(
        client, task_queue, intake(DisputeType.labor, "合阳城街道", None, summary="欠薪"), policy
    )
    first = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert first.assignment is not None
    second = await eventually(h, lambda s: s.routing_attempts == 2, within=15, what="re-routing")
    assert (
        second.assignment is not None
        and second.assignment.mediator_id != first.assignment.mediator_id
    )
    assert first.assignment.mediator_id in second.excluded_mediators
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_supervisor, within=15)
    assert s.assignment is None
    cid = case_id(h)
    await eventually(
        h,
        lambda _: notification_kinds(engine, cid).count("supervisor_alert") >= 2,
        within=15,
        what="supervisor reminders",
    )
    kinds = event_kinds(engine, cid)
    assert kinds[:8] == [
        "intake",
        "risk_screening",
        "assignment",
        "acceptance_reminder",
        "acceptance_timeout",
        "assignment",
        "acceptance_reminder",
        "acceptance_timeout",
    ]
    assert kinds[8:10] == ["supervisor_escalation", "supervisor_reminder"]
    s = await act(
        h,
        Action.assign,
        AssignBody(org_id="union-labor", mediator_id="union-labor-m3", reason="指定"),
    )
    assert s.status is CaseStatus.awaiting_acceptance
    assert s.assignment is not None and s.assignment.mediator_name == "孙海波"
    s = await act(
        h, Action.accept, AcceptBody(mediator_id="union-labor-m3"), mediator_actor("union-labor")
    )
    assert s.status is CaseStatus.in_mediation
    await h.terminate("test over")


async def test_general_case_terminates_at_its_deadline_or_extends_once_with_consent(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    lapsed = await open_case(client, task_queue, intake(), fast_policy)
    extended = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(lapsed)
    s = await accept_assigned(extended)
    due = s.deadlines.mediation_due
    assert due is not None
    with pytest.raises(WorkflowUpdateFailedError):
        await act(
            extended, Action.extend, ConsentBody(both_parties_consent=False, reason="一方不同意")
        )
    s = await act(
        extended, Action.extend, ConsentBody(both_parties_consent=True, reason="双方同意延长")
    )
    assert s.deadlines.mediation_due == due + fast_policy.extension and s.extensions_used == 1
    assert "extend" not in s.allowed_actions
    with pytest.raises(WorkflowUpdateFailedError):
        await act(
            extended, Action.extend, ConsentBody(both_parties_consent=True, reason="再次延长")
        )

    result = await lapsed.result()
    assert (result.status, result.outcome) == (CaseStatus.closed, Outcome.terminated)
    assert notification_kinds(engine, case_id(lapsed))[-3:] == [
        "deadline_reminder",
        "termination_routes",
        "closure",
    ]
    s = await eventually(extended, lambda s: True)
    assert s.status is CaseStatus.in_mediation  # past the original deadline, still mediating
    result = await extended.result()
    assert result.outcome is Outcome.terminated
    assert event_kinds(engine, case_id(extended)).count("extension") == 1


async def test_judicial_confirmation_only_inside_its_window(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    policy = fast_policy.model_copy(
        update={
            "judicial_confirmation_window": timedelta(seconds=3),
            "first_follow_up_after": timedelta(seconds=60),
        }
    )
    inside = await open_case(client, task_queue, intake(), policy)
    late = await open_case(client, task_queue, intake(), policy)
    await _agreed(inside)
    await _agreed(late)
    s = await act(
        inside,
        Action.judicial_confirmation,
        JudicialConfirmationBody(jointly_applied=True, note="双方共同申请"),
    )
    assert s.agreement is not None and s.agreement.judicial_confirmed_at is not None
    assert "judicial_confirmation" in event_kinds(engine, case_id(inside))
    await eventually(late, lambda s: "judicial-confirmation" not in s.allowed_actions, within=10)
    with pytest.raises(WorkflowUpdateFailedError, match="update"):
        await act(
            late,
            Action.judicial_confirmation,
            JudicialConfirmationBody(jointly_applied=True, note="逾期申请"),
        )
    assert "judicial_confirmation" not in event_kinds(engine, case_id(late))
    for h in (inside, late):
        await h.terminate("test over")


async def test_follow_ups_remind_urge_refer_and_reopen(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(client, task_queue, intake(), fast_policy)
    await _agreed(h)
    cid = case_id(h)
    s = await eventually(h, lambda s: s.overdue, within=15, what="overdue follow-up")
    await stored(engine, cid, lambda _e, n: n.count("follow_up_overdue") == 2)
    assert notification_kinds(engine, cid)[-3:] == [
        "follow_up_due",
        "follow_up_overdue",
        "follow_up_overdue",
    ]
    s = await act(
        h, Action.follow_ups, FollowUpBody(result=FollowUpResult.not_performed, visited_at=_now())
    )
    assert s.status is CaseStatus.follow_up and not s.overdue and s.not_performed_count == 1
    s = await act(
        h, Action.follow_ups, FollowUpBody(result=FollowUpResult.not_performed, visited_at=_now())
    )
    assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.referred_court)

    labor = await open_case(
        client,
        task_queue,
        intake(DisputeType.labor, "合阳城街道", None, summary="欠薪"),
        fast_policy,
    )
    await _agreed(labor)
    for _ in range(2):
        s = await act(
            labor,
            Action.follow_ups,
            FollowUpBody(result=FollowUpResult.not_performed, visited_at=_now()),
        )
    assert s.outcome is Outcome.referred_arbitration

    again = await open_case(client, task_queue, intake(), fast_policy)
    await _agreed(again)
    await act(
        again,
        Action.follow_ups,
        FollowUpBody(result=FollowUpResult.not_performed, visited_at=_now()),
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await act(again, Action.reopen, ConsentBody(both_parties_consent=False, reason="一方要求"))
    s = await act(
        again, Action.reopen, ConsentBody(both_parties_consent=True, reason="双方同意重新调解")
    )
    assert s.status is CaseStatus.in_mediation and s.deadlines.mediation_due is not None
    assert event_kinds(engine, case_id(again))[-1] == "reopened"
    await again.terminate("test over")
