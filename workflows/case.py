"""MediationCaseWorkflow: one durable workflow per case, from intake to closure (DESIGN §3).

The workflow is the only place the rules of DESIGN §2 live. Every transition is persisted by
an activity of its own type (`persist_<step>`), under one lock, so steps are numbered in the
order they happened and the store's timeline matches the history.

This module holds the workflow's entry points: its init, its main line, the commands
(Updates with validators) and the query. The phases it runs through live in
workflows/case_phases.py, the shared plumbing in workflows/case_core.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.case import (
        Agreement,
        CaseInput,
        CaseState,
        Step,
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
        Outcome,
        RiskLevel,
    )
    from workflows.timing import end_of_day

from workflows.case_phases import CasePhases


@workflow.defn
class MediationCaseWorkflow(CasePhases):
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

    # --- updates ----------------------------------------------------------------------------

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
