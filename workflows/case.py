"""MediationCaseWorkflow: one durable workflow per case, from intake to closure (DESIGN §3).

The workflow is the only place the rules of DESIGN §2 live. Every transition is persisted by
an activity of its own type (`persist_<step>`), under one lock, so steps are numbered in the
order they happened and the store's timeline matches the history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import search_attributes as sa
    from models.case import (
        SYSTEM,
        Actor,
        Agreement,
        Assignment,
        CaseInput,
        CaseState,
        NotificationDraft,
        ResolveAssignmentInput,
        RiskAssessment,
        RiskScreeningInput,
        RouteDecision,
        RouteRequest,
        Step,
        StepRecord,
    )
    from models.commands import (
        AcceptBody,
        Action,
        AgreementBody,
        AssignBody,
        Command,
        ConsentBody,
        FollowUpBody,
        JudicialConfirmationBody,
        ReasonBody,
        RiskAckBody,
        RiskBody,
        SessionBody,
    )
    from models.enums import (
        CaseStatus,
        DisputeType,
        FollowUpResult,
        NotificationKind,
        Outcome,
        RiskFlag,
        RiskLevel,
    )
    from workflows.rules import allowed_actions, why_not
    from workflows.timing import end_of_day

ILLEGAL = "IllegalTransition"
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["UnknownAssignee", "ValueError"],
)
# Steps take milliseconds; a short timeout makes a crashed worker's activity retry soon.
ACTIVITY_TIMEOUT = timedelta(seconds=10)
PARTIES = "parties"
SUPERVISORS = "supervisors"
RISK_AUDIENCE = ("police_liaison", "duty_supervisor")


def _mediator_audience(assignment: Assignment | None) -> str:
    if assignment is None:
        return SUPERVISORS
    return (
        f"mediator:{assignment.mediator_id}"
        if assignment.mediator_id
        else f"org:{assignment.org_id}"
    )


@workflow.defn
class MediationCaseWorkflow:
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        now = workflow.now()
        self.input = inp
        self.policy = inp.policy
        self.state = CaseState(
            case_id=inp.case_id,
            case_no=inp.case_no,
            workflow_id=workflow.info().workflow_id,
            dispute_type=inp.intake.dispute_type,
            channel=inp.intake.channel,
            town=inp.intake.town,
            community=inp.intake.community,
            non_public=inp.intake.non_public,
            created_at=now,
            updated_at=now,
        )
        self.lock = asyncio.Lock()
        self.assign_epoch = 0  # bumps on every (re)assignment: a stale timer must not act
        self.follow_up_epoch = 0  # bumps on every recorded visit
        self.reminded_for: datetime | None = None  # the mediation due date already reminded of
        self.labor_notice_due: datetime | None = None  # R5: 15 days from the labor body's receipt
        self.risk_watch: asyncio.Task[None] | None = None
        self.judicial_window: asyncio.Task[None] | None = None
        self.search_attributes: dict[str, Any] = {}

    # --- the main line ----------------------------------------------------------------

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        async with self.lock:
            await self._record(Step.intake, inp.registered_by, intake=inp)
            await self._screen_risk()
            if self.state.status is CaseStatus.registered:
                await self._triage()
        while self.state.status is not CaseStatus.closed:
            match self.state.status:
                case CaseStatus.awaiting_acceptance:
                    await self._await_acceptance()
                case CaseStatus.awaiting_supervisor:
                    await self._await_supervisor()
                case CaseStatus.in_mediation:
                    await self._mediate()
                case CaseStatus.follow_up:
                    await self._follow_up()
                case _:
                    await workflow.wait_condition(lambda: self.state.status is CaseStatus.closed)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._view()

    async def _screen_risk(self) -> None:
        intake = self.input.intake
        assessment: RiskAssessment = await workflow.execute_activity(
            "screen_risk",
            RiskScreeningInput(
                summary=intake.summary,
                risk_flags=intake.risk_flags,
                headcount=intake.headcount,
                collective_headcount=self.policy.collective_headcount,
            ),
            result_type=RiskAssessment,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        if self._is_collective() and assessment.level is RiskLevel.green:
            assessment = RiskAssessment(level=RiskLevel.yellow, reasons=["collective"])
        self.state.risk_level = assessment.level
        self.state.risk_reasons = assessment.reasons
        await self._record(
            Step.risk_screening,
            detail={"level": assessment.level.value, "reasons": assessment.reasons},
        )
        if assessment.level is RiskLevel.red:
            await self._raise_risk_alert(SYSTEM, "screening")

    def _is_collective(self) -> bool:
        intake = self.input.intake
        headcount = intake.headcount or 0
        return (
            RiskFlag.collective in intake.risk_flags
            or headcount >= self.policy.collective_headcount
        )

    async def _triage(self) -> None:
        """R2 (not accepted), R11 (collective → joint mediation), else route."""
        if self.input.intake.court_or_police_accepted:
            await self._close(
                Outcome.not_accepted,
                SYSTEM,
                {"reason": "already accepted by a court or the police (R2)"},
                routes=True,
            )
        elif self._is_collective():
            await self._to_supervisor("collective dispute: centre joint mediation (R11)")
        else:
            await self._route()

    # --- routing and acceptance (R12) ---------------------------------------------------

    async def _route(self) -> None:
        """Assign the next mediator, or hand the case to supervisors. Called under the lock."""
        if self.state.routing_attempts >= self.policy.max_routing_attempts:
            await self._to_supervisor("routing attempts exhausted (R12)")
            return
        intake = self.input.intake
        decision: RouteDecision = await workflow.execute_activity(
            "route_case",
            RouteRequest(
                case_id=self.state.case_id,
                dispute_type=intake.dispute_type,
                town=intake.town,
                community=intake.community,
                risk_level=self.state.risk_level,
                risk_flags=intake.risk_flags,
                excluded_mediators=self.state.excluded_mediators,
            ),
            result_type=RouteDecision,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        if decision.assignment is None:
            await self._to_supervisor(decision.reason)
            return
        self.state.routing_attempts += 1
        await self._assign(decision.assignment, SYSTEM, {"route": decision.reason})

    async def _assign(self, assignment: Assignment, actor: Actor, detail: dict[str, Any]) -> None:
        now = workflow.now()
        s = self.state
        s.assignment = assignment
        s.status = CaseStatus.awaiting_acceptance
        s.deadlines.acceptance_due = now + self.policy.acceptance_timeout_for(s.risk_level)
        if s.dispute_type is DisputeType.labor and self.labor_notice_due is None:
            # R5 counts from the mediation body receiving the application.
            self.labor_notice_due = now + self.policy.labor_mediation_deadline
            s.deadlines.mediation_due = self.labor_notice_due
        self.assign_epoch += 1
        await self._record(
            Step.assignment,
            actor,
            detail={**detail, "org_id": assignment.org_id, "mediator_id": assignment.mediator_id},
            notify=[(NotificationKind.assignment, _mediator_audience(assignment))],
        )

    async def _to_supervisor(self, reason: str) -> None:
        self.state.status = CaseStatus.awaiting_supervisor
        self.state.assignment = None
        self.state.deadlines.acceptance_due = None
        self.assign_epoch += 1
        await self._record(
            Step.supervisor_escalation,
            detail={"reason": reason},
            notify=[(NotificationKind.supervisor_alert, SUPERVISORS)],
        )

    async def _await_acceptance(self) -> None:
        epoch = self.assign_epoch
        due = self.state.deadlines.acceptance_due
        assert due is not None

        def moved() -> bool:
            return (
                self.state.status is not CaseStatus.awaiting_acceptance
                or self.assign_epoch != epoch
            )

        timeout = self.policy.acceptance_timeout_for(self.state.risk_level)
        if await self._sleep_until(due - timeout / 2, moved, "acceptance reminder"):
            async with self.lock:
                if not moved():
                    await self._record(
                        Step.acceptance_reminder,
                        notify=[
                            (
                                NotificationKind.acceptance_reminder,
                                _mediator_audience(self.state.assignment),
                            )
                        ],
                    )
        if await self._sleep_until(due, moved, "acceptance timeout"):
            async with self.lock:
                if moved():
                    return
                assignment = self.state.assignment
                if assignment is not None and assignment.mediator_id:
                    self.state.excluded_mediators.append(assignment.mediator_id)
                self.state.deadlines.acceptance_due = None
                await self._record(
                    Step.acceptance_timeout, detail={"attempt": self.state.routing_attempts}
                )
                await self._route()

    async def _await_supervisor(self) -> None:
        epoch = self.assign_epoch

        def moved() -> bool:
            return (
                self.state.status is not CaseStatus.awaiting_supervisor
                or self.assign_epoch != epoch
            )

        while not moved():
            when = workflow.now() + self.policy.supervisor_reminder_every
            if await self._sleep_until(when, moved, "supervisor reminder"):
                async with self.lock:
                    if not moved():
                        await self._record(
                            Step.supervisor_reminder,
                            notify=[(NotificationKind.supervisor_alert, SUPERVISORS)],
                        )

    # --- mediation deadlines (R5, R6) ---------------------------------------------------

    async def _mediate(self) -> None:
        due = self.state.deadlines.mediation_due
        assert due is not None

        def moved() -> bool:
            return (
                self.state.status is not CaseStatus.in_mediation
                or self.state.deadlines.mediation_due != due
            )

        timers: list[tuple[datetime, Callable[[], Any], str]] = []
        before = self.policy.deadline_reminder_before
        if self.reminded_for != due and before > timedelta(0):
            timers.append((due - before, self._deadline_reminder, "mediation deadline reminder"))
        notice = self.labor_notice_due
        if notice is not None and not self.state.arbitration_notice_sent:
            timers.append((notice, self._arbitration_notice, "labor arbitration notice"))
        timers.append((due, self._deadline_passed, "mediation deadline"))
        when, act, what = min(timers, key=lambda t: t[0])
        if await self._sleep_until(when, moved, what):
            async with self.lock:
                if not moved():
                    await act()

    async def _deadline_reminder(self) -> None:
        self.reminded_for = self.state.deadlines.mediation_due
        await self._record(
            Step.deadline_reminder,
            notify=[
                (NotificationKind.deadline_reminder, _mediator_audience(self.state.assignment))
            ],
        )

    async def _arbitration_notice(self) -> None:
        limitation_until = workflow.now() + self.policy.labor_arbitration_limitation
        self.state.arbitration_notice_sent = True
        await self._record(
            Step.arbitration_notice,
            detail={"arbitration_limitation_until": limitation_until.date().isoformat()},
            notify=[
                (
                    NotificationKind.arbitration_rights,
                    PARTIES,
                    {"arbitration_limitation_until": limitation_until.date().isoformat()},
                )
            ],
        )

    async def _deadline_passed(self) -> None:
        if self.state.dispute_type is DisputeType.labor:
            await self._close(
                Outcome.referred_arbitration,
                SYSTEM,
                {"reason": "no agreement within the labor mediation period (R5)"},
            )
        else:
            await self._close(
                Outcome.terminated,
                SYSTEM,
                {"reason": "mediation period ended without agreement (R6)"},
                routes=True,
            )

    # --- follow-up (R4, R9) -------------------------------------------------------------

    async def _follow_up(self) -> None:
        epoch = self.follow_up_epoch
        due = self.state.deadlines.next_follow_up_due
        assert due is not None

        def moved() -> bool:
            return self.state.status is not CaseStatus.follow_up or self.follow_up_epoch != epoch

        audience = _mediator_audience(self.state.assignment)
        if not await self._sleep_until(due, moved, "follow-up due"):
            return
        async with self.lock:
            if moved():
                return
            await self._record(
                Step.follow_up_due, notify=[(NotificationKind.follow_up_due, audience)]
            )
        overdue_at = due + self.policy.follow_up_overdue_after
        if not await self._sleep_until(overdue_at, moved, "follow-up overdue"):
            return
        async with self.lock:
            if moved():
                return
            self.state.overdue = True
            await self._record(
                Step.follow_up_overdue,
                notify=[
                    (NotificationKind.follow_up_overdue, audience),
                    (NotificationKind.follow_up_overdue, SUPERVISORS),
                ],
            )
        await workflow.wait_condition(moved)

    async def _close_judicial_window(self, agreement: Agreement) -> None:
        """R8: the 30-day window is a timer, so the live state stops offering it on time."""
        until = self.state.deadlines.judicial_confirmation_until
        assert until is not None

        def moved() -> bool:
            s = self.state
            return (
                s.agreement is not agreement
                or s.deadlines.judicial_confirmation_until != until
                or s.status is CaseStatus.closed
            )

        if await self._sleep_until(until, moved, "judicial confirmation window"):
            async with self.lock:
                if moved():
                    return
                agreement.judicial_window_open = False
                await self._record(
                    Step.judicial_window_closed,
                    detail={"confirmed": agreement.judicial_confirmed_at is not None},
                )

    # --- red risk (R3) --------------------------------------------------------------------

    async def _raise_risk_alert(self, actor: Actor, source: str) -> None:
        """Alert police liaison and the duty supervisor now; re-escalate until acknowledged."""
        self.state.risk_alert_open = True
        await self._record(
            Step.risk_alert,
            actor,
            detail={"source": source},
            notify=[(NotificationKind.risk_alert, who) for who in RISK_AUDIENCE],
        )
        if self.risk_watch is None or self.risk_watch.done():
            self.risk_watch = asyncio.create_task(self._watch_risk_ack())

    async def _watch_risk_ack(self) -> None:
        def settled() -> bool:
            return not self.state.risk_alert_open or self.state.status is CaseStatus.closed

        while not settled():
            when = workflow.now() + self.policy.risk_ack_sla
            if await self._sleep_until(when, settled, "risk acknowledgement SLA"):
                async with self.lock:
                    if settled():
                        return
                    self.state.risk_escalations += 1
                    await self._record(
                        Step.risk_escalation,
                        detail={"escalation": self.state.risk_escalations},
                        notify=[
                            *((NotificationKind.risk_alert, who) for who in RISK_AUDIENCE),
                            (NotificationKind.supervisor_alert, SUPERVISORS),
                        ],
                    )

    # --- updates ----------------------------------------------------------------------------

    def _check(self, action: Action, cmd: Command) -> None:
        if cmd.action is not action:
            raise ApplicationError(
                f"'{action.value}' got a '{cmd.action.value}' command", type=ILLEGAL
            )
        reason = why_not(self.state, self.policy, action, workflow.now(), cmd)
        if reason is not None:
            raise ApplicationError(reason, type=ILLEGAL, non_retryable=True)

    @workflow.update
    async def accept(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.accept, cmd)
            body = cmd.body(AcceptBody)
            s = self.state
            assert s.assignment is not None
            if s.assignment.mediator_id is None:
                s.assignment = await self._resolve(s.assignment.org_id, body.mediator_id)
            s.status = CaseStatus.in_mediation
            s.deadlines.acceptance_due = None
            if s.deadlines.mediation_due is None:
                s.deadlines.mediation_due = workflow.now() + self.policy.mediation_deadline
            await self._record(Step.accepted, cmd.actor, detail={"mediator_id": body.mediator_id})
        return self._view()

    @accept.validator
    def _validate_accept(self, cmd: Command) -> None:
        self._check(Action.accept, cmd)

    @workflow.update
    async def decline(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.decline, cmd)
            s = self.state
            if s.assignment is not None and s.assignment.mediator_id:
                s.excluded_mediators.append(s.assignment.mediator_id)
            s.deadlines.acceptance_due = None
            await self._record(
                Step.declined, cmd.actor, detail={"reason": cmd.body(ReasonBody).reason}
            )
            await self._route()
        return self._view()

    @decline.validator
    def _validate_decline(self, cmd: Command) -> None:
        self._check(Action.decline, cmd)

    @workflow.update
    async def assign(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.assign, cmd)
            body = cmd.body(AssignBody)
            assignment = await self._resolve(body.org_id, body.mediator_id)
            self.state.routing_attempts = 0
            await self._assign(assignment, cmd.actor, {"reason": body.reason, "by": "supervisor"})
        return self._view()

    @assign.validator
    def _validate_assign(self, cmd: Command) -> None:
        self._check(Action.assign, cmd)

    @workflow.update
    async def sessions(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.sessions, cmd)
            body = cmd.body(SessionBody)
            self.state.sessions_held += 1
            await self._record(
                Step.session,
                cmd.actor,
                detail={
                    "held_at": body.held_at.isoformat(),
                    "summary": body.summary,
                    "attendees": body.attendees,
                    "number": self.state.sessions_held,
                },
            )
        return self._view()

    @sessions.validator
    def _validate_sessions(self, cmd: Command) -> None:
        self._check(Action.sessions, cmd)

    @workflow.update
    async def agreement(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.agreement, cmd)
            body = cmd.body(AgreementBody)
            now = workflow.now()
            s = self.state
            s.agreement = Agreement(
                terms=body.terms, performance_due=body.performance_due, agreed_at=now
            )
            s.status = CaseStatus.follow_up
            s.deadlines.mediation_due = None
            s.deadlines.judicial_confirmation_until = now + self.policy.judicial_confirmation_window
            s.deadlines.next_follow_up_due = (
                end_of_day(body.performance_due)
                if body.performance_due is not None
                else now + self.policy.first_follow_up_after
            )
            self.follow_up_epoch += 1
            self.judicial_window = asyncio.create_task(self._close_judicial_window(s.agreement))
            await self._record(
                Step.agreement,
                cmd.actor,
                detail={
                    "terms": body.terms,
                    "performance_due": body.performance_due.isoformat()
                    if body.performance_due
                    else None,
                    "written": body.written,
                },
            )
        return self._view()

    @agreement.validator
    def _validate_agreement(self, cmd: Command) -> None:
        self._check(Action.agreement, cmd)

    @workflow.update
    async def judicial_confirmation(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.judicial_confirmation, cmd)
            assert self.state.agreement is not None
            self.state.agreement.judicial_confirmed_at = workflow.now()
            await self._record(
                Step.judicial_confirmation,
                cmd.actor,
                detail={"note": cmd.body(JudicialConfirmationBody).note},
            )
        return self._view()

    @judicial_confirmation.validator
    def _validate_judicial_confirmation(self, cmd: Command) -> None:
        self._check(Action.judicial_confirmation, cmd)

    @workflow.update
    async def extend(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.extend, cmd)
            s = self.state
            assert s.deadlines.mediation_due is not None
            s.extensions_used += 1
            s.deadlines.mediation_due = s.deadlines.mediation_due + self.policy.extension
            await self._record(
                Step.extension,
                cmd.actor,
                detail={
                    "reason": cmd.body(ConsentBody).reason,
                    "extensions_used": s.extensions_used,
                },
            )
        return self._view()

    @extend.validator
    def _validate_extend(self, cmd: Command) -> None:
        self._check(Action.extend, cmd)

    @workflow.update
    async def follow_ups(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.follow_ups, cmd)
            body = cmd.body(FollowUpBody)
            s = self.state
            s.follow_ups_recorded += 1
            s.overdue = False
            self.follow_up_epoch += 1
            detail: dict[str, Any] = {
                "result": body.result.value,
                "visited_at": body.visited_at.isoformat(),
                "notes": body.notes,
            }
            if body.result is FollowUpResult.performed:
                await self._record(Step.follow_up, cmd.actor, detail=detail)
                await self._close(
                    Outcome.resolved, cmd.actor, {"reason": "performance confirmed (R9)"}
                )
                return self._view()
            if body.result is FollowUpResult.not_performed:
                s.not_performed_count += 1
                detail["urged"] = True
            if s.not_performed_count >= 2:
                await self._record(Step.follow_up, cmd.actor, detail=detail)
                outcome = (
                    Outcome.referred_arbitration
                    if s.dispute_type is DisputeType.labor
                    else Outcome.referred_court
                )
                await self._close(
                    outcome, cmd.actor, {"reason": "agreement not performed (R9)"}, routes=True
                )
                return self._view()
            s.deadlines.next_follow_up_due = workflow.now() + self.policy.follow_up_every(
                s.risk_level
            )
            await self._record(Step.follow_up, cmd.actor, detail=detail)
        return self._view()

    @follow_ups.validator
    def _validate_follow_ups(self, cmd: Command) -> None:
        self._check(Action.follow_ups, cmd)

    @workflow.update
    async def reopen(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.reopen, cmd)
            s = self.state
            s.status = CaseStatus.in_mediation
            s.overdue = False
            s.deadlines.next_follow_up_due = None
            s.deadlines.judicial_confirmation_until = None
            deadline = (
                self.policy.labor_mediation_deadline
                if s.dispute_type is DisputeType.labor
                else self.policy.mediation_deadline
            )
            s.deadlines.mediation_due = workflow.now() + deadline
            self.labor_notice_due = None
            await self._record(
                Step.reopened, cmd.actor, detail={"reason": cmd.body(ConsentBody).reason}
            )
        return self._view()

    @reopen.validator
    def _validate_reopen(self, cmd: Command) -> None:
        self._check(Action.reopen, cmd)

    async def _close_by_command(
        self, action: Action, outcome: Outcome, cmd: Command, routes: bool
    ) -> CaseState:
        async with self.lock:
            self._check(action, cmd)
            await self._close(
                outcome, cmd.actor, {"reason": cmd.body(ReasonBody).reason}, routes=routes
            )
        return self._view()

    @workflow.update
    async def terminate(self, cmd: Command) -> CaseState:
        return await self._close_by_command(Action.terminate, Outcome.terminated, cmd, routes=True)

    @terminate.validator
    def _validate_terminate(self, cmd: Command) -> None:
        self._check(Action.terminate, cmd)

    @workflow.update
    async def refuse(self, cmd: Command) -> CaseState:
        return await self._close_by_command(Action.refuse, Outcome.refused, cmd, routes=True)

    @refuse.validator
    def _validate_refuse(self, cmd: Command) -> None:
        self._check(Action.refuse, cmd)

    @workflow.update
    async def withdraw(self, cmd: Command) -> CaseState:
        return await self._close_by_command(Action.withdraw, Outcome.withdrawn, cmd, routes=False)

    @withdraw.validator
    def _validate_withdraw(self, cmd: Command) -> None:
        self._check(Action.withdraw, cmd)

    @workflow.update
    async def reject(self, cmd: Command) -> CaseState:
        return await self._close_by_command(Action.reject, Outcome.not_accepted, cmd, routes=True)

    @reject.validator
    def _validate_reject(self, cmd: Command) -> None:
        self._check(Action.reject, cmd)

    @workflow.update
    async def risk(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.risk, cmd)
            body = cmd.body(RiskBody)
            previous = self.state.risk_level
            self.state.risk_level = body.level
            await self._record(
                Step.risk_changed,
                cmd.actor,
                detail={"from": previous.value, "to": body.level.value, "reason": body.reason},
            )
            if body.level is RiskLevel.red and not self.state.risk_alert_open:
                await self._raise_risk_alert(cmd.actor, "reassessment")
        return self._view()

    @risk.validator
    def _validate_risk(self, cmd: Command) -> None:
        self._check(Action.risk, cmd)

    @workflow.update
    async def risk_ack(self, cmd: Command) -> CaseState:
        async with self.lock:
            self._check(Action.risk_ack, cmd)
            self.state.risk_alert_open = False
            await self._record(
                Step.risk_acknowledged, cmd.actor, detail={"note": cmd.body(RiskAckBody).note}
            )
        return self._view()

    @risk_ack.validator
    def _validate_risk_ack(self, cmd: Command) -> None:
        self._check(Action.risk_ack, cmd)

    @workflow.query
    def current_state(self) -> CaseState:
        return self._view()

    # --- plumbing ---------------------------------------------------------------------------

    def _view(self) -> CaseState:
        view = self.state.model_copy(deep=True)
        view.allowed_actions = allowed_actions(self.state, self.policy, workflow.now())
        return view

    async def _resolve(self, org_id: str, mediator_id: str | None) -> Assignment:
        try:
            result: Assignment = await workflow.execute_activity(
                "resolve_assignment",
                ResolveAssignmentInput(org_id=org_id, mediator_id=mediator_id),
                result_type=Assignment,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
        except ActivityError as exc:
            raise ApplicationError(
                "unknown organisation or mediator", type="UnknownAssignee"
            ) from exc
        return result

    async def _close(
        self, outcome: Outcome, actor: Actor, detail: dict[str, Any], routes: bool = False
    ) -> None:
        s = self.state
        now = workflow.now()
        s.status = CaseStatus.closed
        s.outcome = outcome
        s.closed_at = now
        s.overdue = False
        s.deadlines.acceptance_due = None
        s.deadlines.mediation_due = None
        s.deadlines.next_follow_up_due = None
        notify: list[tuple[Any, ...]] = [
            (NotificationKind.closure, PARTIES, {"outcome": outcome.value})
        ]
        if routes:
            notify.insert(
                0, (NotificationKind.termination_routes, PARTIES, {"outcome": outcome.value})
            )
        await self._record(
            Step.closure, actor, detail={**detail, "outcome": outcome.value}, notify=notify
        )

    async def _sleep_until(self, when: datetime, moved: Callable[[], bool], what: str) -> bool:
        """True when `when` came with nothing having moved; False as soon as something moved.

        `what` names the timer in the history and the Temporal UI (user metadata only: it
        does not change the command sequence)."""
        remaining = (when - workflow.now()).total_seconds()
        if remaining <= 0:
            return not moved()
        try:
            await workflow.wait_condition(moved, timeout=remaining, timeout_summary=what)
        except TimeoutError:
            return not moved()
        return False

    async def _record(
        self,
        step: Step,
        actor: Actor = SYSTEM,
        *,
        detail: dict[str, Any] | None = None,
        notify: list[tuple[Any, ...]] | None = None,
        intake: CaseInput | None = None,
    ) -> None:
        """Persist one step (its own activity type) and upsert the search attributes."""
        s = self.state
        s.seq += 1
        s.updated_at = workflow.now()
        self._upsert_search_attributes()
        drafts = [
            NotificationDraft(kind=n[0], audience=n[1], detail=n[2] if len(n) > 2 else {})
            for n in (notify or [])
        ]
        workflow.logger.info(
            "case step %s (seq %d), status %s",
            step.value,
            s.seq,
            s.status.value,
            extra={"step": step.value, "seq": s.seq, "status": s.status.value},
        )
        await workflow.execute_activity(
            step.activity_name,
            StepRecord(
                step=step,
                seq=s.seq,
                occurred_at=s.updated_at,
                actor=actor,
                detail=detail or {},
                state=self._view(),
                notifications=drafts,
                intake=intake,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    def _upsert_search_attributes(self) -> None:
        s = self.state
        wanted: dict[str, Any] = {
            sa.CASE_STATUS.name: s.status.value,
            sa.DISPUTE_TYPE.name: s.dispute_type.value,
            sa.RISK_LEVEL.name: s.risk_level.value,
            sa.ORG_ID.name: s.assignment.org_id if s.assignment else None,
            sa.OVERDUE.name: s.overdue,
        }
        if wanted == self.search_attributes:
            return
        updates = []
        for key in sa.ALL:
            value = wanted[key.name]
            if self.search_attributes.get(key.name, object()) == value:
                continue
            updates.append(key.value_unset() if value is None else key.value_set(value))
        self.search_attributes = wanted
        workflow.upsert_search_attributes(updates)
