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
    JudicialConfirmationInput,
    ReopenInput,
    RiskInput,
)
from models.enums import (
    CaseStatus,
    DisputeType,
    FollowUpResult,
    Outcome,
    RejectionGround,
    RiskFlag,
    RiskLevel,
    Role,
)
from models.policy import Policy
from workflows.timing import CENTRE_TZ, end_of_day

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
            Action.reject,  # R2: a ground may come to light after acceptance
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
    # R8: the parties may apply within 30 days of the agreement, whatever the status.
    CaseStatus.closed: frozenset({Action.judicial_confirmation}),
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
            closed = state.status is CaseStatus.closed
            if closed and not (state.agreement and state.agreement.confirmable_after_closure):
                # Closed before its workflow waited for the window (JUDICIAL_AFTER_CLOSURE).
                return f"'{action.value}' is not possible while the case is {state.status.value}"
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
        case AgreementInput() if inp.on_site and state.sessions_held != 1:
            return "an on-site settlement is reached at the mediator's first session (R14)"
        case JudicialConfirmationInput() if not inp.jointly_applied:
            return "judicial confirmation needs the parties' joint application (R8)"
        case RiskInput() if inp.level is state.risk_level:
            return f"the risk level is already {state.risk_level.value}"
        case RiskInput() if state.collective and inp.level is RiskLevel.green:
            return "a collective dispute is at least yellow risk (R11)"
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


# The screen's reasons that make a dispute collective (activities/risk.py): the flag, the
# headcount, the words; "collective" is the workflow's own yellow floor.
COLLECTIVE_REASONS = frozenset(
    {"flag:collective", "collective_headcount", "collective_language", "collective"}
)


def is_collective_case(intake: IntakeRequest, policy: Policy, reasons: list[str]) -> bool:
    """R11's yellow floor holds for a dispute collective by flag, headcount or its words."""
    return is_collective(intake, policy) or not COLLECTIVE_REASONS.isdisjoint(reasons)


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
    ground: RejectionGround | None = None  # R2: why it was not accepted
    at: datetime | None = None  # R9: the visit's date, when a visit closes it (else now)


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
    performance_due: date | None,
    agreed_at: datetime,
    policy: Policy,
    on_site_risk: RiskLevel | None = None,
) -> datetime:
    """R9: when the agreed performance date has passed, or a week after the agreement. R14:
    a dispute settled on the spot is followed up at its risk cadence (R4)."""
    if on_site_risk is not None:
        return agreed_at + policy.follow_up_every(on_site_risk)
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
    unsettled_visits: int = 0
    escalated: bool = False  # referred on after the policy's number of unsettled visits


def visit_outcome(
    state: CaseState,
    result: FollowUpResult,
    now: datetime,
    policy: Policy,
    visited_at: datetime | None = None,
    *,
    bounded: bool = True,
) -> VisitOutcome:
    """Performed → resolved (`resolved_on_site` when settled on the spot, R14). Not performed
    once → urge the parties and visit again at the risk cadence (R4); twice → referred
    (arbitration for labor, the court otherwise). Partly performed, or nobody to ask →
    visit again at the cadence, until `max_unsettled_visits` visits in a row have not
    confirmed performance: then referred as well, and the supervisors told. A case a visit
    closes is closed on the visit's date.

    `bounded`: False for visits recorded before FOLLOW_UP_R9 (workflows/case_commands.py),
    which neither bounded the visits nor dated the closing by the visit."""
    at = closing_date(state, visited_at, now) if bounded and visited_at else None
    if result is FollowUpResult.performed:
        on_site = state.agreement is not None and state.agreement.on_site
        outcome = Outcome.resolved_on_site if on_site else Outcome.resolved
        closing = Closing(outcome, "performance confirmed (R9)", routes=False, at=at)
        return VisitOutcome(state.not_performed_count, False, closing, None)
    urged = result is FollowUpResult.not_performed
    count = state.not_performed_count + (1 if urged else 0)
    unsettled = state.unsettled_visits + 1
    referred = (
        Outcome.referred_arbitration
        if state.dispute_type is DisputeType.labor
        else Outcome.referred_court
    )
    if count >= 2:
        closing = Closing(referred, "agreement not performed (R9)", True, at=at)
        return VisitOutcome(count, urged, closing, None, unsettled)
    if bounded and unsettled >= policy.max_unsettled_visits:
        reason = "performance not confirmed after repeated follow-up visits (R9)"
        closing = Closing(referred, reason, True, at=at)
        return VisitOutcome(count, urged, closing, None, unsettled, escalated=True)
    next_due = now + policy.follow_up_every(state.risk_level)
    return VisitOutcome(count, urged, None, next_due, unsettled)


def closing_date(state: CaseState, visited_at: datetime, now: datetime) -> datetime:
    """R9: the visit's date closes the case; never before the agreement was recorded (a
    time typed to the minute) nor after now (a date typed wrong). A time without a zone is
    the centre's, as the console sends it."""
    if visited_at.tzinfo is None:
        visited_at = visited_at.replace(tzinfo=CENTRE_TZ)
    earliest = state.agreement.agreed_at if state.agreement is not None else visited_at
    return min(max(visited_at, earliest), now)
