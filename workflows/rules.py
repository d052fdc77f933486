"""What a case may do next: pure functions of its state, the policy and the time.

The Update validators and the `allowed_actions` of the query both ask `why_not`, so what the
API offers and what the workflow accepts can never disagree.
"""

from __future__ import annotations

from datetime import datetime

from models.case import CaseState
from models.commands import (
    AcceptBody,
    Action,
    AgreementBody,
    Command,
    ConsentBody,
    RiskBody,
)
from models.enums import CaseStatus
from models.policy import Policy

OPEN_STATUSES = frozenset(s for s in CaseStatus if s is not CaseStatus.closed)
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
    state: CaseState, policy: Policy, action: Action, now: datetime, cmd: Command | None = None
) -> str | None:
    """None when `action` is legal now; else the reason a person can act on."""
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
    if cmd is not None:
        return _why_not_body(state, cmd)
    return None


def _why_not_body(state: CaseState, cmd: Command) -> str | None:
    match cmd.action:
        case Action.accept:
            wanted = state.assignment.mediator_id if state.assignment else None
            if wanted is not None and cmd.body(AcceptBody).mediator_id != wanted:
                return "the case is assigned to another mediator"
        case Action.extend | Action.reopen if not cmd.body(ConsentBody).both_parties_consent:
            return "both parties must consent (R6, R9)"
        case Action.agreement if not cmd.body(AgreementBody).signed_by_parties:
            return "an agreement takes effect only when the parties have signed it (R7)"
        case Action.risk if cmd.body(RiskBody).level is state.risk_level:
            return f"the risk level is already {state.risk_level.value}"
    return None


def allowed_actions(state: CaseState, policy: Policy, now: datetime) -> list[str]:
    return [a.value for a in Action if why_not(state, policy, a, now) is None]
