"""MediationCaseWorkflow: one durable workflow per case, from intake to closure (DESIGN §3).

Read top to bottom: the state, the main line and its phases (screening, routing, waiting
for acceptance or a supervisor, mediation with its deadlines, follow-up, the judicial
window, the red-risk watch), the commands (one Update with a typed input each), then the
plumbing. What is a rule (a date, an outcome, whether a command is legal) lives in
workflows/rules.py; this class carries the decisions out. Every transition is persisted by
an activity of its own type (`persist_<step>`), under one lock, so steps are numbered in
the order they happened and the store's timeline matches the history.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import commands as cmd
    from models.case import (
        SYSTEM,
        Actor,
        Agreement,
        Assignment,
        CaseInput,
        CaseState,
        RiskAssessment,
        RouteDecision,
        Step,
    )
    from models.commands import ILLEGAL, Action
    from models.enums import CaseStatus, NotificationKind, Outcome, RiskLevel
    from workflows import rules, transitions
    from workflows.rules import Closing
    from workflows.steps import (
        PARTIES,
        Ledger,
        closing_notices,
        initial_state,
        notice,
        resolve_assignment,
        route_request,
        run_activity,
        screening_input,
        validated,
    )
    from workflows.timers import Generation, Watch, watch


@workflow.defn
@validated
class MediationCaseWorkflow:
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self.input = inp
        self.policy = inp.policy
        self.state = initial_state(inp, workflow.info().workflow_id, workflow.now())
        self.ledger = Ledger(self.state, self._view)
        self.lock = asyncio.Lock()
        self.assignments = Generation()  # a stale acceptance timer must not act
        self.visits = Generation()  # a stale follow-up timer must not act
        self.reminded_for: datetime | None = None  # the mediation due date already reminded of
        self.labor_notice_due: datetime | None = None  # R5: 15 days from the labor body's receipt
        self.risk_watch: asyncio.Task[None] | None = None
        self.background: list[asyncio.Task[None]] = []  # watchers, kept referenced
        self.registered = False  # screened and routed (or closed, or with the supervisor)

    # --- the main line ----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        async with self.lock:
            await self._register(inp)
            self.registered = True
        phases = {
            CaseStatus.awaiting_acceptance: self._await_acceptance,
            CaseStatus.awaiting_supervisor: self._await_supervisor,
            CaseStatus.in_mediation: self._mediate,
            CaseStatus.follow_up: self._follow_up,
        }
        while self.state.status is not CaseStatus.closed:
            phase = phases.get(self.state.status)
            if phase is None:
                await workflow.wait_condition(lambda: self.state.status is CaseStatus.closed)
            else:
                await phase()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    async def _register(self, inp: CaseInput) -> None:
        """Record the intake, screen the risk (R3, R11), then triage: R2, R11, else route."""
        await self.ledger.record(Step.intake, inp.registered_by, intake=inp)
        await self._screen_risk()
        if self.state.status is not CaseStatus.registered:
            return
        if inp.intake.court_or_police_accepted:
            reason = "already accepted by a court or the police (R2)"
            await self._close(Closing(Outcome.not_accepted, reason, routes=True))
        elif rules.is_collective(inp.intake, self.policy):
            await self._to_supervisor("collective dispute: centre joint mediation (R11)")
        else:
            await self._route()

    async def _screen_risk(self) -> None:
        intake = self.input.intake
        assessment = await run_activity("screen_risk", screening_input(self.input), RiskAssessment)
        if rules.is_collective(intake, self.policy) and assessment.level is RiskLevel.green:
            assessment = RiskAssessment(level=RiskLevel.yellow, reasons=["collective"])
        self.state.risk_level = assessment.level
        self.state.risk_reasons = assessment.reasons
        detail = {"level": assessment.level.value, "reasons": assessment.reasons}
        await self.ledger.record(Step.risk_screening, detail=detail)
        if assessment.level is RiskLevel.red:
            await self._raise_risk_alert(SYSTEM, "screening")

    # --- routing and acceptance (R12) -------------------------------------------------------

    async def _route(self) -> None:
        """Assign the next mediator, or hand the case to supervisors. Called under the lock."""
        if rules.routing_exhausted(self.state, self.policy):
            await self._to_supervisor("routing attempts exhausted (R12)")
            return
        s = self.state
        request = route_request(self.input, s)
        decision = await run_activity("route_case", request, RouteDecision, decision=True)
        if decision.assignment is None:
            await self._to_supervisor(decision.reason)
            return
        s.routing_attempts += 1
        await self._assign(decision.assignment, SYSTEM, {"route": decision.reason})

    async def _assign(self, assignment: Assignment, actor: Actor, detail: dict[str, Any]) -> None:
        self.labor_notice_due = transitions.assigned(
            self.state, self.policy, workflow.now(), assignment, self.labor_notice_due
        )
        self.assignments.bump()
        ids = {"org_id": assignment.org_id, "mediator_id": assignment.mediator_id}
        await self.ledger.record(Step.assignment, actor, detail={**detail, **ids})

    async def _to_supervisor(self, reason: str) -> None:
        transitions.to_supervisor(self.state)
        self.assignments.bump()
        await self.ledger.record(Step.supervisor_escalation, detail={"reason": reason})

    async def _await_acceptance(self) -> None:
        w = self._watch(CaseStatus.awaiting_acceptance, self.assignments.changed())
        due = self.state.deadlines.acceptance_due
        assert due is not None
        half = self.policy.acceptance_timeout_for(self.state.risk_level) / 2
        await w.at(due - half, "acceptance reminder", self._remind_mediator)
        await w.at(due, "acceptance timeout", self._acceptance_timed_out)

    async def _remind_mediator(self) -> None:
        await self.ledger.record(Step.acceptance_reminder)

    async def _acceptance_timed_out(self) -> None:
        transitions.release_mediator(self.state)
        await self.ledger.record(
            Step.acceptance_timeout, detail={"attempt": self.state.routing_attempts}
        )
        await self._route()

    async def _await_supervisor(self) -> None:
        w = self._watch(CaseStatus.awaiting_supervisor, self.assignments.changed())

        async def remind() -> None:
            await self.ledger.record(Step.supervisor_reminder)

        await w.every(self.policy.supervisor_reminder_every, "supervisor reminder", remind)

    # --- mediation deadlines (R5, R6) -------------------------------------------------------

    async def _mediate(self) -> None:
        """Sleep until the earliest of the reminder, the labor notice and the deadline."""
        due = self.state.deadlines.mediation_due
        assert due is not None
        w = self._watch(CaseStatus.in_mediation, lambda: self.state.deadlines.mediation_due != due)
        timers: list[tuple[datetime, Callable[[], Awaitable[None]], str]] = []
        before = self.policy.deadline_reminder_before
        if self.reminded_for != due and before > timedelta(0):
            timers.append((due - before, self._deadline_reminder, "mediation deadline reminder"))
        if self.labor_notice_due is not None and not self.state.arbitration_notice_sent:
            timers.append(
                (self.labor_notice_due, self._arbitration_notice, "labor arbitration notice")
            )
        timers.append((due, self._deadline_passed, "mediation deadline"))
        when, act, summary = min(timers, key=lambda t: t[0])
        await w.at(when, summary, act)

    async def _deadline_reminder(self) -> None:
        self.reminded_for = self.state.deadlines.mediation_due
        await self.ledger.record(Step.deadline_reminder)

    async def _arbitration_notice(self) -> None:
        limitation_until = workflow.now() + self.policy.labor_arbitration_limitation
        detail = {"arbitration_limitation_until": limitation_until.date().isoformat()}
        self.state.arbitration_notice_sent = True
        notify = [notice(NotificationKind.arbitration_rights, PARTIES, detail)]
        await self.ledger.record(Step.arbitration_notice, detail=detail, notify=notify)

    async def _deadline_passed(self) -> None:
        await self._close(rules.when_the_period_ends(self.state.dispute_type))

    # --- follow-up (R4, R8, R9) -------------------------------------------------------------

    async def _follow_up(self) -> None:
        w = self._watch(CaseStatus.follow_up, self.visits.changed())
        due = self.state.deadlines.next_follow_up_due
        assert due is not None

        async def remind() -> None:
            await self.ledger.record(Step.follow_up_due)

        async def overdue() -> None:
            self.state.overdue = True
            await self.ledger.record(Step.follow_up_overdue)

        overdue_at = due + self.policy.follow_up_overdue_after
        if await w.at(due, "follow-up due", remind):
            if await w.at(overdue_at, "follow-up overdue", overdue):
                await w.forever()

    async def _close_judicial_window(self, agreement: Agreement) -> None:
        """R8: the 30-day window is a timer, so the live state stops offering it on time."""
        s = self.state
        until = s.deadlines.judicial_confirmation_until
        assert until is not None
        w = watch(
            self.lock,
            lambda: s.agreement is not agreement,
            lambda: s.deadlines.judicial_confirmation_until != until,
            lambda: s.status is CaseStatus.closed,
        )

        async def close_window() -> None:
            agreement.judicial_window_open = False
            detail = {"confirmed": agreement.judicial_confirmed_at is not None}
            await self.ledger.record(Step.judicial_window_closed, detail=detail)

        await w.at(until, "judicial confirmation window", close_window)

    # --- red risk (R3) ----------------------------------------------------------------------

    async def _raise_risk_alert(self, actor: Actor, source: str) -> None:
        """Alert police liaison and the duty supervisor now; re-escalate until acknowledged."""
        self.state.risk_alert_open = True
        await self.ledger.record(Step.risk_alert, actor, detail={"source": source})
        if self.risk_watch is None or self.risk_watch.done():
            self.risk_watch = asyncio.create_task(self._watch_risk_ack())

    async def _watch_risk_ack(self) -> None:
        s = self.state
        w = watch(self.lock, lambda: not s.risk_alert_open, lambda: s.status is CaseStatus.closed)

        async def escalate() -> None:
            s.risk_escalations += 1
            await self.ledger.record(
                Step.risk_escalation, detail={"escalation": s.risk_escalations}
            )

        await w.every(self.policy.risk_ack_sla, "risk acknowledgement SLA", escalate)

    # --- commands: one Update each, validated by rules.why_not (see _validated) --------------

    @workflow.update
    async def accept(self, inp: cmd.AcceptInput) -> CaseState:
        async with self._command(Action.accept, inp):
            s = self.state
            assert s.assignment is not None
            if s.assignment.mediator_id is None:
                s.assignment = await resolve_assignment(s.assignment.org_id, inp.mediator_id)
            transitions.accepted(s, self.policy, workflow.now())
            await self.ledger.record(
                Step.accepted, inp.actor, detail={"mediator_id": inp.mediator_id}
            )
        return self._view()

    @workflow.update
    async def decline(self, inp: cmd.DeclineInput) -> CaseState:
        async with self._command(Action.decline, inp):
            transitions.release_mediator(self.state)
            await self.ledger.record(Step.declined, inp.actor, detail={"reason": inp.reason})
            await self._route()
        return self._view()

    @workflow.update
    async def assign(self, inp: cmd.AssignInput) -> CaseState:
        async with self._command(Action.assign, inp):
            assignment = await resolve_assignment(inp.org_id, inp.mediator_id)
            self.state.routing_attempts = 0
            await self._assign(assignment, inp.actor, {"reason": inp.reason, "by": "supervisor"})
        return self._view()

    @workflow.update
    async def sessions(self, inp: cmd.SessionInput) -> CaseState:
        async with self._command(Action.sessions, inp):
            detail = transitions.session_held(self.state, inp)
            await self.ledger.record(Step.session, inp.actor, detail=detail)
        return self._view()

    @workflow.update
    async def agreement(self, inp: cmd.AgreementInput) -> CaseState:
        async with self._command(Action.agreement, inp):
            detail = transitions.agreed(self.state, self.policy, workflow.now(), inp)
            self.visits.bump()
            # The window's timer starts before the step's record, as it always has (replay).
            assert self.state.agreement is not None
            window = self._close_judicial_window(self.state.agreement)
            self.background.append(asyncio.create_task(window))
            await self.ledger.record(Step.agreement, inp.actor, detail=detail)
        return self._view()

    @workflow.update
    async def judicial_confirmation(self, inp: cmd.JudicialConfirmationInput) -> CaseState:
        async with self._command(Action.judicial_confirmation, inp):
            assert self.state.agreement is not None
            self.state.agreement.judicial_confirmed_at = workflow.now()
            await self.ledger.record(
                Step.judicial_confirmation, inp.actor, detail={"note": inp.note}
            )
        return self._view()

    @workflow.update
    async def extend(self, inp: cmd.ExtendInput) -> CaseState:
        async with self._command(Action.extend, inp):
            detail = transitions.extended(self.state, self.policy, inp)
            await self.ledger.record(Step.extension, inp.actor, detail=detail)
        return self._view()

    @workflow.update
    async def follow_ups(self, inp: cmd.FollowUpInput) -> CaseState:
        async with self._command(Action.follow_ups, inp):
            self.visits.bump()
            detail, closing = transitions.visited(self.state, self.policy, workflow.now(), inp)
            await self.ledger.record(Step.follow_up, inp.actor, detail=detail)
            if closing is not None:
                await self._close(closing, inp.actor)
        return self._view()

    @workflow.update
    async def reopen(self, inp: cmd.ReopenInput) -> CaseState:
        async with self._command(Action.reopen, inp):
            transitions.reopened(self.state, self.policy, workflow.now())
            self.labor_notice_due = None
            await self.ledger.record(Step.reopened, inp.actor, detail={"reason": inp.reason})
        return self._view()

    @workflow.update
    async def terminate(self, inp: cmd.TerminateInput) -> CaseState:
        return await self._close_by(Action.terminate, inp, Outcome.terminated, routes=True)

    @workflow.update
    async def refuse(self, inp: cmd.RefuseInput) -> CaseState:
        return await self._close_by(Action.refuse, inp, Outcome.refused, routes=True)

    @workflow.update
    async def withdraw(self, inp: cmd.WithdrawInput) -> CaseState:
        return await self._close_by(Action.withdraw, inp, Outcome.withdrawn, routes=False)

    @workflow.update
    async def reject(self, inp: cmd.RejectInput) -> CaseState:
        return await self._close_by(Action.reject, inp, Outcome.not_accepted, routes=True)

    @workflow.update
    async def risk(self, inp: cmd.RiskInput) -> CaseState:
        async with self._command(Action.risk, inp):
            previous = self.state.risk_level
            self.state.risk_level = inp.level
            detail = {"from": previous.value, "to": inp.level.value, "reason": inp.reason}
            await self.ledger.record(Step.risk_changed, inp.actor, detail=detail)
            if inp.level is RiskLevel.red and not self.state.risk_alert_open:
                await self._raise_risk_alert(inp.actor, "reassessment")
        return self._view()

    @workflow.update
    async def risk_ack(self, inp: cmd.RiskAckInput) -> CaseState:
        async with self._command(Action.risk_ack, inp):
            self.state.risk_alert_open = False
            await self.ledger.record(Step.risk_acknowledged, inp.actor, detail={"note": inp.note})
        return self._view()

    @workflow.update
    async def registration(self) -> CaseState:
        """Intake's answer (sent with the start): the case once screened and routed."""
        await workflow.wait_condition(lambda: self.registered)
        return self._view()

    @workflow.query
    def current_state(self) -> CaseState:
        """The live state, for operators (Temporal UI, CLI); the API reads the store."""
        return self._view()

    # --- plumbing ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _command(self, action: Action, inp: cmd.CommandInput) -> AsyncIterator[None]:
        """One command at a time, re-checked under the lock (the state may have moved
        between the validator and the handler)."""
        async with self.lock:
            self._check(action, inp)
            yield

    def _check(self, action: Action, inp: cmd.CommandInput) -> None:
        reason = rules.why_not(self.state, self.policy, action, workflow.now(), inp)
        if reason is not None:
            raise ApplicationError(reason, type=ILLEGAL, non_retryable=True)

    async def _close_by(
        self, action: Action, inp: cmd.ReasonInput, outcome: Outcome, routes: bool
    ) -> CaseState:
        async with self._command(action, inp):
            await self._close(Closing(outcome, inp.reason, routes), inp.actor)
        return self._view()

    def _watch(self, status: CaseStatus, moved: Callable[[], bool]) -> Watch:
        """A watch that moves when the case leaves `status` or `moved()` holds."""
        return watch(self.lock, lambda: self.state.status is not status, moved)

    def _view(self) -> CaseState:
        view = self.state.model_copy(deep=True)
        view.allowed_actions = rules.allowed_actions(self.state, self.policy, workflow.now())
        return view

    async def _close(self, closing: Closing, actor: Actor = SYSTEM) -> None:
        detail = transitions.closed(self.state, closing, workflow.now())
        notify = closing_notices(closing.outcome, closing.routes)
        await self.ledger.record(Step.closure, actor, detail=detail, notify=notify)
