"""The commands of a case (DESIGN §6): one workflow Update each, with a typed input, mixed
into MediationCaseWorkflow (workflows/case.py), which supplies the state and the steps they
share with the timers (routing, assignment, closing, the red-risk watch).

Each is validated before it enters history (workflows/steps.py `validated`, which asks
`rules.why_not`, the actor included) and checked again under the case's lock, since the
state may have moved between the validator and the handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from models import commands as cmd
    from models.case import SYSTEM, Actor, Agreement, Assignment, CaseState, Step
    from models.commands import ILLEGAL, Action
    from models.enums import DisputeType, NotificationKind, Outcome, RiskLevel
    from models.policy import Policy
    from workflows import rules, transitions
    from workflows.patches import patched
    from workflows.rules import Closing
    from workflows.steps import (
        PARTIES,
        SUPERVISORS,
        Ledger,
        in_turn,
        notice,
        resolve_assignment,
        validated,
    )
    from workflows.timers import Generation

# Cases since these patches (each where its commands first differ):
# R5: a reopened labor case gets a new 15-day notice date, and the notice again.
REOPEN_LABOR_NOTICE = "reopen-labor-notice-2026-11"
# R9: the first unperformed visit urges the parties (a notice); visits that do not confirm
# performance are bounded (then referred, supervisors told); a visit's date closes the case.
FOLLOW_UP_R9 = "follow-up-r9-2026-11"
# R14: an agreement settled on the spot is first visited at the case's risk cadence.
ON_SITE = "on-site-resolution-2026-11"


@validated
class CaseCommands:
    """The Update handlers; the workflow class provides what is declared here."""

    state: CaseState
    policy: Policy
    ledger: Ledger
    lock: asyncio.Lock
    visits: Generation
    background: list[asyncio.Task[None]]
    labor_notice_due: datetime | None
    side_by_side: bool  # since the SIDE_BY_SIDE baseline (workflows/patches.py)

    def _view(self) -> CaseState:
        raise NotImplementedError

    async def _close(self, closing: Closing, actor: Actor = SYSTEM) -> None:
        raise NotImplementedError

    async def _route(self) -> None:
        raise NotImplementedError

    async def _assign(self, assignment: Assignment, actor: Actor, detail: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _raise_risk_alert(self, actor: Actor, source: str) -> None:
        raise NotImplementedError

    async def _close_judicial_window(self, agreement: Agreement) -> None:
        raise NotImplementedError

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
            on_site = inp.on_site and patched(ON_SITE)
            detail = transitions.agreed(self.state, self.policy, workflow.now(), inp, on_site)
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
            detail = {"note": inp.note, "jointly_applied": inp.jointly_applied}
            await self.ledger.record(Step.judicial_confirmation, inp.actor, detail=detail)
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
            bounded = patched(FOLLOW_UP_R9)
            now = workflow.now()
            detail, outcome = transitions.visited(self.state, self.policy, now, inp, bounded)
            notify = []
            if bounded and outcome.urged and outcome.closing is None:
                notify.append(notice(NotificationKind.performance_urge, PARTIES))
            if outcome.escalated:
                why = {"unsettled_visits": outcome.unsettled_visits}
                notify.append(notice(NotificationKind.supervisor_alert, SUPERVISORS, why))
            recorded = self.ledger.record(Step.follow_up, inp.actor, detail=detail, notify=notify)
            if outcome.closing is None:
                await recorded
            else:  # the closure beside the visit, since SIDE_BY_SIDE
                await in_turn(self.side_by_side, recorded, self._close(outcome.closing, inp.actor))
        return self._view()

    @workflow.update
    async def reopen(self, inp: cmd.ReopenInput) -> CaseState:
        async with self._command(Action.reopen, inp):
            s = self.state
            labor = s.dispute_type is DisputeType.labor and patched(REOPEN_LABOR_NOTICE)
            transitions.reopened(s, self.policy, workflow.now(), labor_notice=labor)
            # R5: the 15 days run again from the reopening, as does the notice they end in.
            self.labor_notice_due = s.deadlines.mediation_due if labor else None
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
        async with self._command(Action.reject, inp):
            closing = Closing(Outcome.not_accepted, inp.reason, routes=True, ground=inp.ground)
            await self._close(closing, inp.actor)
        return self._view()

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

    # --- plumbing ---------------------------------------------------------------------------

    @asynccontextmanager
    async def _command(self, action: Action, inp: cmd.CommandInput) -> AsyncIterator[None]:
        """One command at a time, re-checked under the lock (the state may have moved
        between the validator and the handler)."""
        async with self.lock:
            self._check(action, inp)
            before = self.state.seq
            yield
            after = self.state.seq
        # The answer is the state once the command's steps are in the store. A step the
        # store would not take in time is retried in the background (Ledger): the lock is
        # free for other commands meanwhile, and this one answers when its own steps land.
        if self.ledger.unrecorded:
            await workflow.wait_condition(lambda: self.ledger.landed(before, after))

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
