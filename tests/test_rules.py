"""The workflow's rules as pure functions, without a server: what a command may do, the dates
the law sets, what a follow-up visit leads to; and old Update payloads still decoding."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from models.case import Actor, Agreement, Assignment, CaseState, IntakeRequest
from models.commands import (
    AcceptInput,
    Action,
    AgreementInput,
    ExtendInput,
    JudicialConfirmationInput,
    ReasonBody,
    RejectBody,
    RejectInput,
    RiskInput,
    SessionBody,
    SessionInput,
    command_input,
)
from models.enums import (
    CaseStatus,
    Channel,
    DisputeType,
    FollowUpResult,
    Outcome,
    RejectionGround,
    RiskFlag,
    RiskLevel,
    Role,
)
from models.policy import Policy
from workflows import rules

NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
POLICY = Policy()
BOSS = Actor(principal_id="p-supervisor", role=Role.supervisor)


def case(status: CaseStatus = CaseStatus.in_mediation, **changes: object) -> CaseState:
    state = CaseState(
        case_id="c1",
        case_no="HC1",
        workflow_id="case-c1",
        dispute_type=DisputeType.family,
        channel=Channel.walk_in,
        town="三庙镇",
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )
    return state.model_copy(update=changes)


def intake(**changes: object) -> IntakeRequest:
    body: dict[str, object] = {
        "dispute_type": "neighbor",
        "channel": "hotline",
        "summary": "院墙排水",
        "town": "三庙镇",
        "parties": [
            {"role": "applicant", "name": "甲", "phone": "13800000001"},
            {"role": "respondent", "name": "乙", "phone": "13800000002"},
        ],
    }
    return IntakeRequest.model_validate({**body, **changes})


# --- what a case may do --------------------------------------------------------------------


def test_a_closed_case_allows_nothing_and_an_open_one_offers_its_status_actions() -> None:
    assert rules.allowed_actions(case(CaseStatus.closed), POLICY, NOW) == []
    offered = rules.allowed_actions(case(CaseStatus.in_mediation), POLICY, NOW)
    assert offered == [
        "sessions",
        "agreement",
        "extend",
        "terminate",
        "refuse",
        "withdraw",
        "risk",
        "reject",  # R2: a ground may come to light after acceptance
    ]


def test_an_open_red_alert_holds_mediation_until_acknowledged() -> None:
    state = case(risk_alert_open=True)
    assert "acknowledged" in (rules.why_not(state, POLICY, Action.sessions, NOW) or "")
    assert rules.why_not(state, POLICY, Action.risk_ack, NOW) is None


def test_the_inputs_own_rules() -> None:
    assigned = case(
        CaseStatus.awaiting_acceptance,
        assignment=Assignment(org_id="o", org_name="O", mediator_id="m1"),
    )
    other = AcceptInput(mediator_id="m2", actor=BOSS)
    assert rules.why_not(assigned, POLICY, Action.accept, NOW, other) == (
        "the case is assigned to another mediator"
    )
    assert (
        rules.why_not(
            assigned, POLICY, Action.accept, NOW, AcceptInput(mediator_id="m1", actor=BOSS)
        )
        is None
    )
    no_consent = ExtendInput(both_parties_consent=False, reason="r", actor=BOSS)
    assert "consent" in (rules.why_not(case(), POLICY, Action.extend, NOW, no_consent) or "")
    unsigned = AgreementInput(terms="t", signed_by_parties=False, written=True, actor=BOSS)
    assert "signed" in (rules.why_not(case(), POLICY, Action.agreement, NOW, unsigned) or "")
    same = RiskInput(level=RiskLevel.green, reason="r", actor=BOSS)
    assert "already green" in (rules.why_not(case(), POLICY, Action.risk, NOW, same) or "")


def test_the_workflow_holds_each_command_to_its_actor() -> None:
    """DESIGN §7 inside the workflow: a command that reaches Temporal without the API is
    judged by who sent it and the assignment the case has now."""
    held = Assignment(org_id="union", org_name="U", mediator_id="m1")
    state = case(CaseStatus.awaiting_acceptance, assignment=held)

    def why(actor: Actor, action: Action = Action.decline) -> str | None:
        inp = command_input(action, ReasonBody(reason="r"), actor)
        return rules.why_not(state, POLICY, action, NOW, inp)

    def mediator(org: str, mediator_id: str | None = None) -> Actor:
        return Actor(principal_id="p", role=Role.mediator, org_id=org, mediator_id=mediator_id)

    assert why(BOSS) is None
    assert why(mediator("union")) is None
    assert why(mediator("union", "m1")) is None
    assert why(Actor()) == "a command must name the person who sends it"
    assert why(mediator("womens-fed")) == "the case is not assigned to your organisation"
    assert why(mediator("union", "m2")) == "the case is assigned to another mediator"
    officer = Actor(principal_id="p", role=Role.officer)
    assert why(officer) == "the officer role may not 'decline' a case"
    admin = Actor(principal_id="p", role=Role.admin)
    assert why(admin, Action.withdraw) == "the admin role may not 'withdraw' a case"
    assert why(officer, Action.withdraw) is None
    hidden = state.model_copy(update={"non_public": True})
    withdraw = command_input(Action.withdraw, ReasonBody(reason="r"), officer)
    assert "non-public" in (rules.why_not(hidden, POLICY, Action.withdraw, NOW, withdraw) or "")
    own = AcceptInput(mediator_id="m9", actor=mediator("union", "m1"))
    assert rules.why_not(
        case(
            CaseStatus.awaiting_acceptance, assignment=held.model_copy(update={"mediator_id": None})
        ),
        POLICY,
        Action.accept,
        NOW,
        own,
    ) == ("a mediator accepts cases for themself only")


def test_extensions_run_out_after_the_policy_number() -> None:
    assert rules.why_not(case(extensions_used=0), POLICY, Action.extend, NOW) is None
    assert "extended" in (rules.why_not(case(extensions_used=1), POLICY, Action.extend, NOW) or "")


def test_judicial_confirmation_only_inside_its_window() -> None:
    agreed = Agreement(terms="t", performance_due=None, agreed_at=NOW)
    state = case(CaseStatus.follow_up, agreement=agreed)
    state.deadlines.judicial_confirmation_until = NOW + timedelta(days=30)
    jc = JudicialConfirmationInput(actor=BOSS)
    assert rules.why_not(state, POLICY, Action.judicial_confirmation, NOW, jc) is None
    later = NOW + timedelta(days=31)
    assert "window" in (rules.why_not(state, POLICY, Action.judicial_confirmation, later) or "")


# --- dates and outcomes ----------------------------------------------------------------------


def test_labor_gets_fifteen_days_and_the_rest_a_month() -> None:
    assert rules.mediation_period(DisputeType.labor, POLICY) == timedelta(days=15)
    assert rules.mediation_period(DisputeType.marriage, POLICY) == timedelta(days=30)


def test_when_the_period_ends_labor_goes_to_arbitration_and_the_rest_terminate() -> None:
    labor = rules.when_the_period_ends(DisputeType.labor)
    other = rules.when_the_period_ends(DisputeType.neighbor)
    assert (labor.outcome, labor.routes) == (Outcome.referred_arbitration, False)
    assert (other.outcome, other.routes) == (Outcome.terminated, True)


def test_the_first_visit_is_due_after_the_performance_date_or_a_week_on() -> None:
    # The day has fully passed in the centre's time zone (UTC+8): 16:00 UTC that day.
    due = rules.first_follow_up_due(date(2026, 12, 10), NOW, POLICY)
    assert due.astimezone(UTC) == datetime(2026, 12, 10, 16, 0, tzinfo=UTC)
    assert rules.first_follow_up_due(None, NOW, POLICY) == NOW + timedelta(days=7)


@pytest.mark.parametrize(
    ("risk", "days"), [(RiskLevel.red, 30), (RiskLevel.yellow, 90), (RiskLevel.green, 180)]
)
def test_a_visit_that_did_not_settle_it_sets_the_next_at_the_risk_cadence(
    risk: RiskLevel, days: int
) -> None:
    out = rules.visit_outcome(
        case(CaseStatus.follow_up, risk_level=risk), FollowUpResult.unreachable, NOW, POLICY
    )
    assert out.closing is None and not out.urged
    assert out.next_due == NOW + timedelta(days=days)


def test_performed_resolves_and_not_performed_twice_is_referred() -> None:
    done = rules.visit_outcome(case(CaseStatus.follow_up), FollowUpResult.performed, NOW, POLICY)
    assert done.closing is not None and done.closing.outcome is Outcome.resolved
    first = rules.visit_outcome(
        case(CaseStatus.follow_up), FollowUpResult.not_performed, NOW, POLICY
    )
    assert first.urged and first.closing is None and first.not_performed_count == 1
    labor = case(CaseStatus.follow_up, dispute_type=DisputeType.labor, not_performed_count=1)
    second = rules.visit_outcome(labor, FollowUpResult.not_performed, NOW, POLICY)
    assert second.closing is not None
    assert second.closing.outcome is Outcome.referred_arbitration and second.closing.routes
    family = case(CaseStatus.follow_up, not_performed_count=1)
    court = rules.visit_outcome(family, FollowUpResult.not_performed, NOW, POLICY)
    assert court.closing is not None and court.closing.outcome is Outcome.referred_court


def test_collective_by_flag_or_headcount_and_routing_runs_out() -> None:
    assert not rules.is_collective(intake(), POLICY)
    assert rules.is_collective(intake(risk_flags=[RiskFlag.collective.value]), POLICY)
    assert rules.is_collective(intake(headcount=10), POLICY)
    assert not rules.routing_exhausted(case(routing_attempts=2), POLICY)
    assert rules.routing_exhausted(case(routing_attempts=3), POLICY)


# --- the Update payloads of cases started before typed inputs --------------------------------


def test_the_old_command_wrapper_still_decodes_into_the_typed_input() -> None:
    """Running cases started under the one-wrapper shape must finish on the new code."""
    actor = {"principal_id": "p1", "role": "mediator", "org_id": "o1"}
    held = "2026-11-20T02:00:00Z"
    legacy = {
        "action": "sessions",
        "actor": actor,
        "accept": None,
        "reason": None,
        "session": {"held_at": held, "summary": "s", "attendees": ["甲"]},
        "agreement": None,
    }
    decoded = SessionInput.model_validate(legacy)
    body = SessionBody(held_at=datetime(2026, 11, 20, 2, tzinfo=UTC), summary="s", attendees=["甲"])
    assert decoded == command_input(Action.sessions, body, Actor.model_validate(actor))
    assert SessionInput.body_type() is SessionBody


def test_an_unacknowledged_red_alert_is_escalated_ever_less_often_but_at_least_daily() -> None:
    sla = POLICY.risk_ack_sla  # two hours
    gaps = [rules.escalation_interval(POLICY, n) for n in range(8)]
    assert gaps[:4] == [sla, 2 * sla, 4 * sla, 8 * sla]
    assert gaps[4:] == [timedelta(days=1)] * 4  # capped: the alert is never dropped
    slow = POLICY.model_copy(update={"risk_ack_sla": timedelta(days=2)})
    assert rules.escalation_interval(slow, 5) == timedelta(days=2)  # never under the SLA


def test_a_bounded_step_gets_the_attempts_its_backoff_fits_in_the_bound() -> None:
    from workflows.steps import ACTIVITY_RETRY, retries_within

    # Attempts start at 0 s, 1 s, 3 s, 7 s, 15 s, 31 s (the backoff doubles from a second).
    assert retries_within(timedelta(seconds=0)).maximum_attempts == 1
    assert retries_within(timedelta(seconds=2)).maximum_attempts == 2
    assert retries_within(timedelta(seconds=3)).maximum_attempts == 3
    assert retries_within(timedelta(minutes=1)).maximum_attempts == 6
    assert retries_within(timedelta(minutes=1)).initial_interval == ACTIVITY_RETRY.initial_interval


# --- R2, R8, R9, R11, R14 as the issue-16 gaps closed them ------------------------------------


def test_a_collective_dispute_never_goes_below_yellow() -> None:
    """R11's floor holds after intake too: a collective case cannot be set to green."""
    collective = case(risk_level=RiskLevel.yellow, collective=True)
    green = RiskInput(level=RiskLevel.green, reason="r", actor=BOSS)
    red = RiskInput(level=RiskLevel.red, reason="r", actor=BOSS)
    assert rules.why_not(collective, POLICY, Action.risk, NOW, green) == (
        "a collective dispute is at least yellow risk (R11)"
    )
    assert rules.why_not(collective, POLICY, Action.risk, NOW, red) is None
    assert rules.why_not(case(risk_level=RiskLevel.yellow), POLICY, Action.risk, NOW, green) is None
    # Collective by the flag, the headcount or the screen's words.
    assert rules.is_collective_case(intake(), POLICY, ["collective_language"])
    assert rules.is_collective_case(intake(headcount=12), POLICY, [])
    assert not rules.is_collective_case(intake(), POLICY, ["petition_threat"])


def test_judicial_confirmation_after_closure_inside_the_window_and_only_jointly() -> None:
    agreed = Agreement(
        terms="t", performance_due=None, agreed_at=NOW, confirmable_after_closure=True
    )
    closed = case(CaseStatus.closed, agreement=agreed)
    closed.deadlines.judicial_confirmation_until = NOW + timedelta(days=30)
    joint = JudicialConfirmationInput(jointly_applied=True, actor=BOSS)
    alone = JudicialConfirmationInput(jointly_applied=False, actor=BOSS)
    assert rules.allowed_actions(closed, POLICY, NOW) == ["judicial-confirmation"]
    assert rules.why_not(closed, POLICY, Action.judicial_confirmation, NOW, joint) is None
    assert rules.why_not(closed, POLICY, Action.judicial_confirmation, NOW, alone) == (
        "judicial confirmation needs the parties' joint application (R8)"
    )
    assert rules.allowed_actions(closed, POLICY, NOW + timedelta(days=31)) == []
    # A case closed before its workflow waited for the window cannot take it any more.
    old = closed.model_copy(
        update={"agreement": agreed.model_copy(update={"confirmable_after_closure": False})}
    )
    assert rules.allowed_actions(old, POLICY, NOW) == []


def test_an_on_site_settlement_is_the_first_sessions_and_resolves_on_site() -> None:
    on_site = AgreementInput(
        terms="t", signed_by_parties=True, written=False, on_site=True, actor=BOSS
    )
    why = rules.why_not(case(sessions_held=1), POLICY, Action.agreement, NOW, on_site)
    assert why is None
    for held in (0, 2):
        why = rules.why_not(case(sessions_held=held), POLICY, Action.agreement, NOW, on_site)
        assert why == "an on-site settlement is reached at the mediator's first session (R14)"
    red_cadence = rules.first_follow_up_due(date(2026, 12, 1), NOW, POLICY, RiskLevel.red)
    assert red_cadence == NOW + POLICY.follow_up_every_red
    agreed = Agreement(terms="t", performance_due=None, agreed_at=NOW, on_site=True)
    state = case(CaseStatus.follow_up, agreement=agreed)
    done = rules.visit_outcome(state, FollowUpResult.performed, NOW, POLICY)
    assert done.closing is not None and done.closing.outcome is Outcome.resolved_on_site


@pytest.mark.parametrize("result", [FollowUpResult.unreachable, FollowUpResult.partially_performed])
def test_unsettled_visits_are_bounded_then_referred(result: FollowUpResult) -> None:
    """R9: a third visit in a row that cannot confirm performance refers the case on."""
    state = case(CaseStatus.follow_up)
    for n in range(1, POLICY.max_unsettled_visits):
        out = rules.visit_outcome(state, result, NOW, POLICY)
        assert out.closing is None and out.unsettled_visits == n and not out.escalated
        state = state.model_copy(update={"unsettled_visits": n})
    last = rules.visit_outcome(state, result, NOW, POLICY)
    assert last.escalated and last.closing is not None
    assert (last.closing.outcome, last.closing.routes) == (Outcome.referred_court, True)
    # Cases from before the bound keep visiting (replay).
    legacy = rules.visit_outcome(state, result, NOW, POLICY, bounded=False)
    assert legacy.closing is None and legacy.next_due is not None


def test_a_visit_closes_the_case_on_its_own_date() -> None:
    agreed = Agreement(terms="t", performance_due=None, agreed_at=NOW)
    state = case(CaseStatus.follow_up, agreement=agreed)
    visited = NOW + timedelta(days=3)
    typed_in = NOW + timedelta(days=5)
    out = rules.visit_outcome(state, FollowUpResult.performed, typed_in, POLICY, visited)
    assert out.closing is not None and out.closing.at == visited
    # Never before the agreement, nor after now; a time without a zone is Beijing time.
    assert rules.closing_date(state, NOW - timedelta(days=1), typed_in) == NOW
    assert rules.closing_date(state, typed_in + timedelta(days=1), typed_in) == typed_in
    naive = datetime(2026, 11, 30, 10, 0)
    assert rules.closing_date(state, naive, typed_in) == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def test_reject_needs_a_ground_and_is_open_in_mediation_too() -> None:
    body = RejectBody(ground=RejectionGround.criminal, reason="已涉嫌故意伤害")
    inp = command_input(Action.reject, body, BOSS)
    assert rules.why_not(case(CaseStatus.in_mediation), POLICY, Action.reject, NOW, inp) is None
    assert "follow_up" in (
        rules.why_not(case(CaseStatus.follow_up), POLICY, Action.reject, NOW, inp) or ""
    )
    with pytest.raises(ValueError, match="ground"):
        RejectBody.model_validate({"reason": "无依据"})
    # A rejection from before grounds (an older history) still decodes.
    assert RejectInput.model_validate({"reason": "旧"}).ground is None
