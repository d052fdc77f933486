"""What each step does to a case's state, and the detail its record carries.

Pure functions of (state, policy, now, input): `rules` says whether a command may run and
what a date or an outcome is; these apply it. The workflow class sequences them with the
activities and timers, so none of these may call Temporal. Deterministic, sandboxed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models import commands as cmd
from models.case import Agreement, Assignment, CaseState
from models.enums import CaseStatus, DisputeType
from models.policy import Policy
from workflows import rules
from workflows.rules import Closing


def assigned(
    s: CaseState,
    policy: Policy,
    now: datetime,
    assignment: Assignment,
    labor_notice_due: datetime | None,
) -> datetime | None:
    """A mediator (or an organisation) is asked to accept. Returns the R5 notice date: 15
    days from the labor mediation body first receiving the application."""
    s.assignment = assignment
    s.status = CaseStatus.awaiting_acceptance
    s.deadlines.acceptance_due = now + policy.acceptance_timeout_for(s.risk_level)
    if s.dispute_type is DisputeType.labor and labor_notice_due is None:
        labor_notice_due = now + rules.mediation_period(s.dispute_type, policy)
        s.deadlines.mediation_due = labor_notice_due
    return labor_notice_due


def to_supervisor(s: CaseState) -> None:
    s.status = CaseStatus.awaiting_supervisor
    s.assignment = None
    s.deadlines.acceptance_due = None


def release_mediator(s: CaseState) -> None:
    """The assigned mediator declined or let the time pass: never route to them again."""
    if s.assignment is not None and s.assignment.mediator_id:
        s.excluded_mediators.append(s.assignment.mediator_id)
    s.deadlines.acceptance_due = None


def accepted(s: CaseState, policy: Policy, now: datetime) -> None:
    s.status = CaseStatus.in_mediation
    s.deadlines.acceptance_due = None
    if s.deadlines.mediation_due is None:
        s.deadlines.mediation_due = now + rules.mediation_period(s.dispute_type, policy)


def session_held(s: CaseState, inp: cmd.SessionInput) -> dict[str, Any]:
    s.sessions_held += 1
    return {
        "held_at": inp.held_at.isoformat(),
        "summary": inp.summary,
        "attendees": inp.attendees,
        "number": s.sessions_held,
    }


def agreed(
    s: CaseState, policy: Policy, now: datetime, inp: cmd.AgreementInput, on_site: bool = False
) -> dict[str, Any]:
    """R8's confirmation window and R9's first visit start with the agreement; one settled
    on the spot (R14, `on_site`) is first visited at the case's risk cadence."""
    s.agreement = Agreement(
        terms=inp.terms, performance_due=inp.performance_due, agreed_at=now, on_site=on_site
    )
    s.status = CaseStatus.follow_up
    s.unsettled_visits = 0
    s.deadlines.mediation_due = None
    s.deadlines.judicial_confirmation_until = now + policy.judicial_confirmation_window
    s.deadlines.next_follow_up_due = rules.first_follow_up_due(
        inp.performance_due, now, policy, s.risk_level if on_site else None
    )
    # The timeline keeps what was agreed (R7's particulars: the documents read them there).
    return inp.model_dump(mode="json", exclude={"actor", "signed_by_parties"})


def extended(s: CaseState, policy: Policy, inp: cmd.ExtendInput) -> dict[str, Any]:
    assert s.deadlines.mediation_due is not None
    s.extensions_used += 1
    s.deadlines.mediation_due = s.deadlines.mediation_due + policy.extension
    return {"reason": inp.reason, "extensions_used": s.extensions_used}


def visited(
    s: CaseState, policy: Policy, now: datetime, inp: cmd.FollowUpInput, bounded: bool = False
) -> tuple[dict[str, Any], rules.VisitOutcome]:
    """R9: a recorded visit sets the next one, or says how the case closes (`bounded`: as
    rules.visit_outcome)."""
    s.overdue = False
    outcome = rules.visit_outcome(s, inp.result, now, policy, inp.visited_at, bounded=bounded)
    s.not_performed_count = outcome.not_performed_count
    s.unsettled_visits = outcome.unsettled_visits
    detail: dict[str, Any] = {
        "result": inp.result.value,
        "visited_at": inp.visited_at.isoformat(),
        "notes": inp.notes,
    }
    if outcome.urged:
        detail["urged"] = True
    if outcome.escalated:
        detail["unsettled_visits"] = outcome.unsettled_visits
    if outcome.next_due is not None:
        s.deadlines.next_follow_up_due = outcome.next_due
    return detail, outcome


def reopened(s: CaseState, policy: Policy, now: datetime, labor_notice: bool = False) -> None:
    """Back to mediation with both parties' consent (R9): a new period (R5, R6); for labor,
    with `labor_notice`, a new arbitration-rights notice when it lapses again (R5)."""
    s.status = CaseStatus.in_mediation
    s.overdue = False
    s.unsettled_visits = 0
    if labor_notice:
        s.arbitration_notice_sent = False
    s.deadlines.next_follow_up_due = None
    s.deadlines.judicial_confirmation_until = None
    s.deadlines.mediation_due = now + rules.mediation_period(s.dispute_type, policy)


def closed(s: CaseState, closing: Closing, now: datetime) -> dict[str, Any]:
    s.status = CaseStatus.closed
    s.outcome = closing.outcome
    s.closed_at = closing.at or now  # R9: a visit closes the case on the visit's date
    s.overdue = False
    s.deadlines.acceptance_due = None
    s.deadlines.mediation_due = None
    s.deadlines.next_follow_up_due = None
    detail = {"reason": closing.reason, "outcome": closing.outcome.value}
    if closing.ground is not None:
        detail["ground"] = closing.ground.value
    return detail
