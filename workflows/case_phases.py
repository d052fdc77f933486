"""The phases of a case (DESIGN §3): risk screening, triage and routing, waiting for
acceptance or a supervisor, mediation with its deadlines, follow-up, the judicial window
and the red-risk watch. Each is a loop of durable timers and steps.

Deterministic workflow code: imported by workflows/case.py, run inside the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.case import (
        SYSTEM,
        Actor,
        Agreement,
        Assignment,
        RiskAssessment,
        RiskScreeningInput,
        RouteDecision,
        RouteRequest,
        Step,
    )
    from models.enums import (
        CaseStatus,
        DisputeType,
        NotificationKind,
        Outcome,
        RiskFlag,
        RiskLevel,
    )

from workflows.case_core import (
    ACTIVITY_RETRY,
    ACTIVITY_TIMEOUT,
    PARTIES,
    RISK_AUDIENCE,
    SUPERVISORS,
    CaseCore,
    mediator_audience,
)


class CasePhases(CaseCore):
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
            notify=[(NotificationKind.assignment, mediator_audience(assignment))],
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
                                mediator_audience(self.state.assignment),
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
            notify=[(NotificationKind.deadline_reminder, mediator_audience(self.state.assignment))],
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

        audience = mediator_audience(self.state.assignment)
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
