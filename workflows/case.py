"""MediationCaseWorkflow: one durable workflow per case, from intake to closure (DESIGN §3).

Read top to bottom: the state, the main line and its phases (screening, routing, waiting
for acceptance or a supervisor, mediation with its deadlines, follow-up, the red-risk
watch), then the plumbing. The commands (one Update with a typed input each) are in
workflows/case_commands.py, the judicial-confirmation window, which can outlive the case's
closure (R8), in workflows/judicial_window.py, continue-as-new in workflows/continuation.py.
What is a rule (a date, an outcome, whether a command is legal) lives in workflows/rules.py;
this class carries the decisions out. Every transition is persisted by an activity of its
own type (`persist_<step>`), under one lock, so steps are numbered in the order they
happened and the store's timeline matches the history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.case import (
        SYSTEM,
        Actor,
        Assignment,
        CarriedOver,
        CaseInput,
        CaseState,
        RiskAssessment,
        RouteDecision,
        Step,
    )
    from models.enums import CaseStatus, NotificationKind, Outcome, RejectionGround, RiskLevel
    from workflows import rules, transitions
    from workflows.case_commands import CaseCommands
    from workflows.continuation import Continuation
    from workflows.judicial_window import JudicialWindow
    from workflows.patches import SIDE_BY_SIDE, baseline, patched, since
    from workflows.rules import Closing
    from workflows.steps import (
        PARTIES,
        Ledger,
        closing_notices,
        in_turn,
        initial_state,
        notice,
        route_request,
        run_activity,
        screening_input,
    )
    from workflows.timers import Generation, Watch, watch

# Cases started since this patch continue as new when Temporal suggests it (carrying their
# state and clocks), and back off the re-escalation of an unacknowledged red alert.
BOUNDED = "bounded-history-2026-11"
YELLOW_FLOOR = "r11-yellow-floor-2026-11"


@workflow.defn
class MediationCaseWorkflow(Continuation, JudicialWindow, CaseCommands):
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self.input = inp
        self.policy = inp.policy
        carried = inp.carried or CarriedOver(
            state=initial_state(inp, workflow.info().workflow_id, workflow.now())
        )
        self.state = carried.state.model_copy(deep=True)
        self.ledger = Ledger(self.state, self._view, inp.policy.step_alert_after)
        self.lock = asyncio.Lock()
        self.assignments = Generation()  # a stale acceptance timer must not act
        self.visits = Generation()  # a stale follow-up timer must not act
        # What the clocks remember (carried over when the case continues as new):
        self.reminded_for = carried.reminded_for  # the mediation due date already reminded of
        self.acceptance_reminded_for = carried.acceptance_reminded_for
        self.follow_up_reminded_for = carried.follow_up_reminded_for
        self.labor_notice_due = carried.labor_notice_due  # R5: 15 days from the labor receipt
        self.next_at = dict(carried.next_at)  # when each repeating timer fires next
        self.runs = carried.runs
        self.risk_watch: asyncio.Task[None] | None = None
        self.background: list[asyncio.Task[None]] = []  # watchers, kept referenced
        self.registered = inp.carried is not None  # screened and routed (or closed, …)
        self.bounded = inp.carried is not None  # continues as new when suggested (BOUNDED)
        self.ledger.bounded = self.bounded

    # --- the main line ----------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        # Cases since the baseline upsert their search attributes once the case's lock is
        # free, not at every step: intake's several upserts become one (each is a command,
        # a history event and a visibility write).
        self.ledger.deferred = baseline()
        self.side_by_side = since(SIDE_BY_SIDE)
        if inp.carried is None:
            self.bounded = patched(BOUNDED)
            self.ledger.bounded = self.bounded
        # R11's yellow floor at any time, not only at intake. The handlers re-check the
        # rules as they replay, so a case started before the floor keeps the old rule: a
        # `risk` to green its history accepted must replay as accepted.
        self.yellow_floor = patched(YELLOW_FLOOR)
        if self.yellow_floor:  # and for a run carried over from before the state kept it
            self.state.collective = self.state.collective or rules.is_collective_case(
                inp.intake, inp.policy, self.state.risk_reasons
            )
        if self.ledger.deferred:
            self.background.append(asyncio.create_task(self._publish_search_attributes()))
        if inp.carried is None:
            async with self.lock:
                await self._register(inp)
                self.registered = True
        else:
            self._resume_watchers()
        phases = {
            CaseStatus.awaiting_acceptance: self._await_acceptance,
            CaseStatus.awaiting_supervisor: self._await_supervisor,
            CaseStatus.in_mediation: self._mediate,
            CaseStatus.follow_up: self._follow_up,
        }
        while self.state.status is not CaseStatus.closed:
            if self._time_to_continue():
                await self._continue_as_new()
            phase = phases.get(self.state.status)
            if phase is None:
                await workflow.wait_condition(
                    lambda: self.state.status is CaseStatus.closed or self._time_to_continue()
                )
            else:
                await phase()
        await self._await_window_after_closure()  # R8: the parties may still apply
        await workflow.wait_condition(workflow.all_handlers_finished)
        self.ledger.publish()
        return self._view()

    async def _register(self, inp: CaseInput) -> None:
        """Record the intake, screen the risk (R3, R11), then triage: R2, R11, else route.

        Since SIDE_BY_SIDE a step's write does not hold up what does not wait for it: the
        intake's write runs beside the screening, the screening's beside the triage (its
        alert, the routing). Three rounds of local activities instead of five before intake
        answers; the steps keep their numbers, taken in the same order as before."""
        recorded = self.ledger.record(Step.intake, inp.registered_by, intake=inp)
        _, assessment = await in_turn(self.side_by_side, recorded, self._assess())
        await in_turn(
            self.side_by_side,
            self.ledger.record(Step.risk_screening, detail=self._screened(assessment)),
            self._after_screening(inp, assessment),
        )

    async def _assess(self) -> RiskAssessment:
        intake = self.input.intake
        assessment = await run_activity("screen_risk", screening_input(self.input), RiskAssessment)
        if rules.is_collective(intake, self.policy) and assessment.level is RiskLevel.green:
            assessment = RiskAssessment(level=RiskLevel.yellow, reasons=["collective"])
        return assessment

    def _screened(self, assessment: RiskAssessment) -> dict[str, Any]:
        """The screening's outcome in the state; the risk_screening step's detail."""
        if self.yellow_floor:
            self.state.collective = rules.is_collective_case(
                self.input.intake, self.policy, assessment.reasons
            )
        self.state.risk_level = assessment.level
        self.state.risk_reasons = assessment.reasons
        # Which lexicon phrases the screen found (and found negated): never the summary's
        # own words (activities/risk.py).
        return assessment.model_dump(
            mode="json", include={"level", "reasons", "matches", "negated"}
        )

    async def _after_screening(self, inp: CaseInput, assessment: RiskAssessment) -> None:
        if assessment.level is RiskLevel.red:
            await self._raise_risk_alert(SYSTEM, "screening")
        if self.state.status is not CaseStatus.registered:
            return
        if inp.intake.court_or_police_accepted:
            reason = "already accepted by a court or the police (R2)"
            ground = RejectionGround.court_or_police_accepted
            await self._close(Closing(Outcome.not_accepted, reason, routes=True, ground=ground))
        elif rules.is_collective(inp.intake, self.policy):
            await self._to_supervisor("collective dispute: centre joint mediation (R11)")
        else:
            await self._route()

    # --- routing and acceptance (R12) -------------------------------------------------------

    async def _route(self) -> None:
        """Assign the next mediator, or hand the case to supervisors. Called under the lock."""
        if rules.routing_exhausted(self.state, self.policy):
            await self._to_supervisor("routing attempts exhausted (R12)")
            return
        s = self.state
        request = route_request(self.input, s)
        decision = await run_activity(
            "route_case", request, RouteDecision, decision=True, kept=True
        )
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
        if not (self.bounded and self.acceptance_reminded_for == due):
            await w.at(due - half, "acceptance reminder", self._remind_mediator)
        await w.at(due, "acceptance timeout", self._acceptance_timed_out)

    async def _remind_mediator(self) -> None:
        self.acceptance_reminded_for = self.state.deadlines.acceptance_due
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

        await self._every(w, self.policy.supervisor_reminder_every, "supervisor reminder", remind)

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
            self.follow_up_reminded_for = due
            await self.ledger.record(Step.follow_up_due)

        async def overdue() -> None:
            self.state.overdue = True
            await self.ledger.record(Step.follow_up_overdue)

        overdue_at = due + self.policy.follow_up_overdue_after
        reminded = self.bounded and self.follow_up_reminded_for == due
        if not reminded and not await w.at(due, "follow-up due", remind):
            return
        if not (self.bounded and self.state.overdue):
            if not await w.at(overdue_at, "follow-up overdue", overdue):
                return
        await w.forever()

    # --- red risk (R3) ----------------------------------------------------------------------

    async def _raise_risk_alert(self, actor: Actor, source: str) -> None:
        """Alert police liaison and the duty supervisor now; re-escalate until acknowledged."""
        self.state.risk_alert_open = True
        await self.ledger.record(Step.risk_alert, actor, detail={"source": source})
        if self.risk_watch is None or self.risk_watch.done():
            self.risk_watch = asyncio.create_task(self._watch_risk_ack())

    async def _watch_risk_ack(self) -> None:
        s = self.state
        w = watch(
            self.lock,
            lambda: not s.risk_alert_open,
            lambda: s.status is CaseStatus.closed,
            self._time_to_continue,
        )

        async def escalate() -> None:
            s.risk_escalations += 1
            await self.ledger.record(
                Step.risk_escalation, detail={"escalation": s.risk_escalations}
            )

        def period() -> timedelta:
            if not self.bounded:
                return self.policy.risk_ack_sla
            return rules.escalation_interval(self.policy, s.risk_escalations)

        await self._every(w, period, "risk acknowledgement SLA", escalate)

    async def _publish_search_attributes(self) -> None:
        """What operators find the case by, upserted whenever the lock is free again: after
        intake, a command or a timer's steps, however many steps they took (since the
        baseline)."""
        while True:
            await workflow.wait_condition(
                lambda: self.ledger.unpublished() and not self.lock.locked()
            )
            self.ledger.publish()

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

    def _watch(self, status: CaseStatus, moved: Callable[[], bool]) -> Watch:
        """A watch that moves when the case leaves `status` or `moved()` holds (or when the
        run is to continue as new)."""
        return watch(
            self.lock, lambda: self.state.status is not status, moved, self._time_to_continue
        )

    async def _every(
        self,
        w: Watch,
        period: timedelta | Callable[[], timedelta],
        summary: str,
        step: Callable[[], Awaitable[None]],
    ) -> None:
        """A repeating timer whose next time survives continue-as-new."""
        first = self.next_at.pop(summary, None) if self.bounded else None
        await w.every(period, summary, step, first, lambda t: self.next_at.update({summary: t}))
        if not self._time_to_continue():
            self.next_at.pop(summary, None)

    def _view(self) -> CaseState:
        view = self.state.model_copy(deep=True)
        view.allowed_actions = rules.allowed_actions(self.state, self.policy, workflow.now())
        return view

    async def _close(self, closing: Closing, actor: Actor = SYSTEM) -> None:
        now = workflow.now()
        self._keep_window_past_closure(now)  # R8
        detail = transitions.closed(self.state, closing, now)
        notify = closing_notices(closing.outcome, closing.routes)
        await self.ledger.record(Step.closure, actor, detail=detail, notify=notify)
