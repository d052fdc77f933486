"""The rules of DESIGN §2 as pure functions of a case's state, its policy and the time.

The Update validators and `allowed_actions` both ask `why_not`, so what the API offers and
what the workflow accepts can never disagree. Everything else here decides a date or an
outcome; the workflow only carries the decision out. No I/O: unit-tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models.case import Actor, CaseState, IntakeRequest
from models.commands import (
    MAY_ACT,
    AcceptInput,
    Action,
    AgreementInput,
    CommandInput,
    ExtendInput,
    ReopenInput,
    RiskInput,
)
from models.enums import CaseStatus, DisputeType, FollowUpResult, Outcome, RiskFlag, Role
from models.policy import Policy
from workflows.timing import end_of_day

BY_STATUS: dict[CaseStatus, frozenset[Action]] = {
    CaseStatus.registered: frozenset({Action.withdraw, Action.reject, Action.risk_ack}),
    CaseStatus.awaiting_supervisor: frozenset(
        {Action.assign, Action.refuse, Action.withdraw, Action.reject, Action.risk, Action.risk_ack}
    ),
    CaseStatus.awaiting_acceptance: frozenset(
        {
            Action.accept,
            Action.decline,
            Action.assign,
            Action.refuse,
            Action.withdraw,
            Action.reject,
            Action.risk,
            Action.risk_ack,
        }
    ),
    CaseStatus.in_mediation: frozenset(
        {
            Action.sessions,
            Action.agreement,
            Action.extend,
            Action.terminate,
            Action.refuse,
            Action.withdraw,
            Action.risk,
            Action.risk_ack,
        }
    ),
    CaseStatus.follow_up: frozenset(
        {
            Action.judicial_confirmation,
            Action.follow_ups,
            Action.reopen,
            Action.withdraw,
            Action.risk,
            Action.risk_ack,
        }
    ),
    CaseStatus.closed: frozenset(),
}


def why_not(
    state: CaseState,
    policy: Policy,
    action: Action,
    now: datetime,
    inp: CommandInput | None = None,
) -> str | None:
    """None when `action` is legal now (and, given its input, for the actor who sent it);
    else the reason a person can act on."""
    if inp is not None and (reason := why_not_actor(state, action, inp.actor)):
        return reason
    if action not in BY_STATUS[state.status]:
        return f"'{action.value}' is not possible while the case is {state.status.value}"
    match action:
        case Action.risk_ack if not state.risk_alert_open:
            return "there is no open risk alert to acknowledge"
        case Action.sessions | Action.agreement if state.risk_alert_open:
            return "the red-risk alert must be acknowledged before mediation goes on (R3)"
        case Action.extend if state.extensions_used >= policy.max_extensions:
            return "the mediation period has already been extended the most times allowed (R6)"
        case Action.judicial_confirmation:
            until = state.deadlines.judicial_confirmation_until
            if state.agreement is None or until is None:
                return "there is no agreement to confirm"
            if state.agreement.judicial_confirmed_at is not None:
                return "judicial confirmation is already recorded"
            if not state.agreement.judicial_window_open or now > until:
                return "the 30-day window for judicial confirmation has passed (R8)"
    return None if inp is None else _why_not_input(state, inp)


def escalation_interval(policy: Policy, escalations: int) -> timedelta:
    """How long after the alert (or the last escalation) an unacknowledged red alert is
    escalated again: the SLA, then doubling, never further apart than a day (or the SLA,
    if that is longer). Escalation goes on until someone acknowledges; the backoff keeps
    a forgotten alert from filling the case's history."""
    sla = policy.risk_ack_sla
    return min(sla * 2 ** min(escalations, 16), max(sla, timedelta(days=1)))


def why_not_actor(state: CaseState, action: Action, actor: Actor) -> str | None:
    """DESIGN §7 with the assignment as the workflow knows it: the API asks the same before
    it sends a command, but whoever reaches Temporal directly, or acts on a case its
    organisation no longer holds, stops here."""
    if actor.role is None:
        return "a command must name the person who sends it"
    if action not in MAY_ACT[actor.role]:
        return f"the {actor.role.value} role may not '{action.value}' a case"
    if actor.role is Role.officer and state.non_public:
        return "a non-public case is handled by its organisation and the supervisors (R10)"
    if actor.role is Role.mediator:
        held = state.assignment
        if held is None or actor.org_id != held.org_id:
            return "the case is not assigned to your organisation"
        if actor.mediator_id and held.mediator_id not in (None, actor.mediator_id):
            return "the case is assigned to another mediator"
    return None


def _why_not_input(state: CaseState, inp: CommandInput) -> str | None:
    match inp:
        case AcceptInput() if inp.actor.mediator_id not in (None, inp.mediator_id):
            return "a mediator accepts cases for themself only"
        case AcceptInput():
            wanted = state.assignment.mediator_id if state.assignment else None
            if wanted is not None and inp.mediator_id != wanted:
                return "the case is assigned to another mediator"
        case ExtendInput() | ReopenInput() if not inp.both_parties_consent:
            return "both parties must consent (R6, R9)"
        case AgreementInput() if not inp.signed_by_parties:
            return "an agreement takes effect only when the parties have signed it (R7)"
        case RiskInput() if inp.level is state.risk_level:
            return f"the risk level is already {state.risk_level.value}"
    return None


def allowed_actions(state: CaseState, policy: Policy, now: datetime) -> list[str]:
    return [a.value for a in Action if why_not(state, policy, a, now) is None]


# --- intake and routing (R2, R11, R12) -------------------------------------------------------


def is_collective(intake: IntakeRequest, policy: Policy) -> bool:
    """R11: flagged collective, or as many parties with a common claim as the policy says."""
    return (
        RiskFlag.collective in intake.risk_flags
        or (intake.headcount or 0) >= policy.collective_headcount
    )


def routing_exhausted(state: CaseState, policy: Policy) -> bool:
    """R12: after the last routing attempt the case goes to the supervisors."""
    return state.routing_attempts >= policy.max_routing_attempts


# --- mediation periods (R5, R6) ---------------------------------------------------------------


def mediation_period(dispute_type: DisputeType, policy: Policy) -> timedelta:
    """R5: 15 days for labor disputes; R6: a month for the rest."""
    if dispute_type is DisputeType.labor:
        return policy.labor_mediation_deadline
    return policy.mediation_deadline


@dataclass(frozen=True)
class Closing:
    outcome: Outcome
    reason: str
    routes: bool  # whether the parties are told the other routes open to them


def when_the_period_ends(dispute_type: DisputeType) -> Closing:
    """No agreement by the deadline: labor goes to arbitration (R5), the rest end (R6)."""
    if dispute_type is DisputeType.labor:
        return Closing(
            Outcome.referred_arbitration,
            "no agreement within the labor mediation period (R5)",
            routes=False,
        )
    return Closing(Outcome.terminated, "mediation period ended without agreement (R6)", True)


# --- agreement and follow-up (R4, R8, R9) -----------------------------------------------------


def first_follow_up_due(
    performance_due: date | None, agreed_at: datetime, policy: Policy
) -> datetime:
    """R9: when the agreed performance date has passed, or a week after the agreement."""
    if performance_due is not None:
        return end_of_day(performance_due)
    return agreed_at + policy.first_follow_up_after


@dataclass(frozen=True)
class VisitOutcome:
    """What a recorded follow-up visit leads to (R9): closing, or the next visit's date."""

    not_performed_count: int
    urged: bool
    closing: Closing | None
    next_due: datetime | None


def visit_outcome(
    state: CaseState, result: FollowUpResult, now: datetime, policy: Policy
) -> VisitOutcome:
    """Performed → resolved. Not performed once → urge and visit again at the risk cadence
    (R4); twice → referred (arbitration for labor, the court otherwise)."""
    if result is FollowUpResult.performed:
        closing = Closing(Outcome.resolved, "performance confirmed (R9)", routes=False)
        return VisitOutcome(state.not_performed_count, False, closing, None)
    urged = result is FollowUpResult.not_performed
    count = state.not_performed_count + (1 if urged else 0)
    if count >= 2:
        outcome = (
            Outcome.referred_arbitration
            if state.dispute_type is DisputeType.labor
            else Outcome.referred_court
        )
        return VisitOutcome(
            count, urged, Closing(outcome, "agreement not performed (R9)", True), None
        )
    return VisitOutcome(count, urged, None, now + policy.follow_up_every(state.risk_level))
