"""The rule gaps of issue 16, each closed and shown on the real dev server: R5 after a
reopening, R8 after closure, R9's urge, bound and closing date, R2's grounds in mediation,
R11's floor after intake."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from cases.read import current_state
from models.case import IntakeRequest
from models.commands import (
    Action,
    ConsentBody,
    FollowUpBody,
    JudicialConfirmationBody,
    RejectBody,
    RiskBody,
)
from models.enums import (
    CaseStatus,
    DisputeType,
    FollowUpResult,
    Outcome,
    RejectionGround,
    RiskLevel,
)
from models.policy import Policy
from tests.helpers import (
    OFFICER,
    accept_assigned,
    act,
    agreement,
    case_id,
    case_row,
    event_kinds,
    events,
    eventually,
    intake,
    notifications,
    open_case,
    stored,
)


def labor(summary: str, **extra: Any) -> IntakeRequest:
    """A labor dispute: the union's committee takes it, district-wide."""
    return intake(DisputeType.labor, "合阳城街道", None, summary=summary, **extra)


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    """A stored time as UTC (SQLite hands it back without its zone)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _visit(result: FollowUpResult, visited_at: datetime | None = None) -> FollowUpBody:
    return FollowUpBody(result=result, notes="回访", visited_at=visited_at or _now())


async def test_a_reopened_labor_case_is_told_its_arbitration_rights_again(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    """R5: the notice went out in the first period; an agreement followed, then a reopening
    with both parties' consent. Its new 15 days lapse: the parties are told again."""
    h = await open_case(client, task_queue, labor("拖欠工资"), fast_policy)
    await accept_assigned(h)
    await act(h, Action.extend, ConsentBody(both_parties_consent=True, reason="双方同意继续"))
    await eventually(h, lambda s: s.arbitration_notice_sent, within=20, what="first notice")
    await act(h, Action.agreement, agreement("补发工资"))
    s = await act(h, Action.reopen, ConsentBody(both_parties_consent=True, reason="未履行"))
    assert s.status is CaseStatus.in_mediation and not s.arbitration_notice_sent
    assert s.deadlines.mediation_due is not None
    reopened_at = s.updated_at
    assert s.deadlines.mediation_due == reopened_at + fast_policy.labor_mediation_deadline

    result = await h.result()
    assert (result.status, result.outcome) == (CaseStatus.closed, Outcome.referred_arbitration)
    cid = case_id(h)
    kinds = event_kinds(engine, cid)
    after = kinds[kinds.index("reopened") :]
    assert after[-2:] == ["arbitration_notice", "closure"]
    notices = [n for n in notifications(engine, cid) if n.kind == "arbitration_rights"]
    assert len(notices) == 2 and {n.audience for n in notices} == {"parties"}
    second = datetime.fromisoformat(notices[1].detail["arbitration_limitation_until"]).date()
    assert abs((second - (_now() + timedelta(days=365)).date()).days) <= 1


async def test_judicial_confirmation_is_taken_after_closure_inside_the_window_only(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    """R8: the window runs from the agreement, whatever the status; the workflow stays to
    take the confirmation, which needs the parties' joint application."""
    policy = fast_policy.model_copy(update={"judicial_confirmation_window": timedelta(seconds=8)})
    confirmed = await open_case(client, task_queue, intake(), policy)
    lapsed = await open_case(client, task_queue, intake(), policy)
    for h in (confirmed, lapsed):
        await accept_assigned(h)
        await act(h, Action.agreement, agreement())
        s = await act(h, Action.follow_ups, _visit(FollowUpResult.performed))
        assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.resolved)
        assert s.allowed_actions == ["judicial-confirmation"]

    alone = JudicialConfirmationBody(jointly_applied=False, note="一方申请")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await act(confirmed, Action.judicial_confirmation, alone)
    assert "joint application (R8)" in str(refused.value.cause)
    joint = JudicialConfirmationBody(jointly_applied=True, note="双方共同申请")
    s = await act(confirmed, Action.judicial_confirmation, joint)
    assert s.status is CaseStatus.closed and s.agreement is not None
    assert s.agreement.judicial_confirmed_at is not None and s.allowed_actions == []
    result = await asyncio.wait_for(confirmed.result(), timeout=5)  # nothing left to wait for
    assert result.outcome is Outcome.resolved
    assert event_kinds(engine, case_id(confirmed))[-3:] == [
        "follow_up",
        "closure",
        "judicial_confirmation",
    ]

    # The other lets the window pass: the workflow ends with it, and takes nothing more.
    result = await lapsed.result()
    assert result.allowed_actions == []
    assert event_kinds(engine, case_id(lapsed))[-2:] == ["closure", "judicial_window_closed"]
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await act(lapsed, Action.judicial_confirmation, joint)
    row = case_row(engine, case_id(lapsed))
    assert row is not None and current_state(row).allowed_actions == []


async def test_a_first_unperformed_visit_urges_the_parties(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(h)
    await act(h, Action.agreement, agreement())
    s = await act(h, Action.follow_ups, _visit(FollowUpResult.not_performed))
    assert s.status is CaseStatus.follow_up and s.not_performed_count == 1
    urged = [n for n in notifications(engine, case_id(h)) if n.kind == "performance_urge"]
    assert [n.audience for n in urged] == ["parties"]
    assert events(engine, case_id(h))[-1].detail["urged"] is True
    await h.terminate("test over")


@pytest.mark.parametrize(
    "results",
    [
        [FollowUpResult.unreachable] * 3,
        [
            FollowUpResult.partially_performed,
            FollowUpResult.unreachable,
            FollowUpResult.partially_performed,
        ],
    ],
    ids=["unreachable", "partly-performed"],
)
async def test_visits_that_cannot_confirm_performance_end_in_a_referral(
    results: list[FollowUpResult],
    client: Client,
    task_queue: str,
    engine: Engine,
    fast_policy: Policy,
) -> None:
    """R9: no endless loop. The policy's third visit in a row that does not confirm
    performance refers the case to the court, tells the parties the routes and alerts the
    supervisors; the case closes on that visit's date."""
    policy = fast_policy.model_copy(update={"first_follow_up_after": timedelta(minutes=5)})
    h = await open_case(client, task_queue, intake(), policy)
    await accept_assigned(h)
    agreed = await act(h, Action.agreement, agreement())
    assert agreed.agreement is not None
    for result in results[:2]:
        s = await act(h, Action.follow_ups, _visit(result))
        assert s.status is CaseStatus.follow_up
    await asyncio.sleep(1.5)
    visited = agreed.agreement.agreed_at + timedelta(seconds=1)  # typed in later
    s = await act(h, Action.follow_ups, _visit(results[2], visited))
    assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.referred_court)
    assert s.closed_at == visited and s.unsettled_visits == 3
    cid = case_id(h)
    row = case_row(engine, cid)
    assert row is not None and _utc(row.closed_at) == visited
    sent = [(n.kind, n.audience) for n in notifications(engine, cid)]
    assert sent[-3:] == [
        ("supervisor_alert", "supervisors"),
        ("termination_routes", "parties"),
        ("closure", "parties"),
    ]
    assert event_kinds(engine, cid)[-2:] == ["follow_up", "closure"]
    await h.terminate("test over")


async def test_a_performed_visit_closes_the_case_on_the_visits_date(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(h)
    agreed = await act(h, Action.agreement, agreement())
    assert agreed.agreement is not None
    await asyncio.sleep(1.5)
    visited = agreed.agreement.agreed_at + timedelta(milliseconds=500)
    s = await act(h, Action.follow_ups, _visit(FollowUpResult.performed, visited))
    assert s.outcome is Outcome.resolved
    assert s.closed_at == visited and s.updated_at - visited >= timedelta(seconds=1)
    row = case_row(engine, case_id(h))
    assert row is not None and _utc(row.closed_at) == visited
    await h.terminate("test over")


async def test_a_ground_found_in_mediation_rejects_the_case(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    """R2 after acceptance: the officer rejects on an enumerated ground."""
    h = await open_case(client, task_queue, intake(), fast_policy)
    s = await accept_assigned(h)
    assert s.status is CaseStatus.in_mediation and "reject" in s.allowed_actions
    body = RejectBody(ground=RejectionGround.court_or_police_accepted, reason="法院已立案")
    s = await act(h, Action.reject, body, OFFICER)
    assert (s.status, s.outcome) == (CaseStatus.closed, Outcome.not_accepted)
    cid = case_id(h)
    closure = events(engine, cid)[-1]
    assert closure.kind == "closure" and closure.detail["ground"] == "court_or_police_accepted"
    assert [n.kind for n in notifications(engine, cid)][-2:] == ["termination_routes", "closure"]


async def test_a_collective_case_cannot_be_set_below_yellow(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    """R11's floor holds at any time, for a headcount and for collective words alike."""
    by_headcount = await open_case(client, task_queue, labor("拖欠工资", headcount=12), fast_policy)
    by_words = await open_case(client, task_queue, labor("全体员工联名讨要拖欠工资"), fast_policy)
    await eventually(by_headcount, lambda s: s.status is CaseStatus.awaiting_supervisor)
    await eventually(by_words, lambda s: s.status is CaseStatus.awaiting_acceptance)
    green = RiskBody(level=RiskLevel.green, reason="复评为低风险")
    for h in (by_headcount, by_words):
        s = await eventually(h, lambda s: s.risk_level is RiskLevel.yellow)
        assert s.collective
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(h, Action.risk, green)
        assert "collective dispute is at least yellow risk (R11)" in str(refused.value.cause)
        assert "risk_changed" not in event_kinds(engine, case_id(h))
    s = await act(by_headcount, Action.risk, RiskBody(level=RiskLevel.red, reason="扬言堵路"))
    assert s.risk_level is RiskLevel.red
    await stored(engine, case_id(by_headcount), lambda e, _n: "risk_changed" in e)
    for h in (by_headcount, by_words):
        await h.terminate("test over")
