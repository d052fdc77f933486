"""The plumbing every part of the case workflow shares: its state's attributes, recording a
step (one activity type per step, search attributes upserted), closing, timers, checks.

Deterministic workflow code: imported by workflows/case.py, run inside the sandbox.
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
        Assignment,
        CaseInput,
        CaseState,
        NotificationDraft,
        ResolveAssignmentInput,
        Step,
        StepRecord,
    )
    from models.commands import (
        Action,
        Command,
    )
    from models.enums import (
        CaseStatus,
        NotificationKind,
        Outcome,
    )
    from models.policy import Policy
    from workflows.rules import allowed_actions, why_not

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


def mediator_audience(assignment: Assignment | None) -> str:
    if assignment is None:
        return SUPERVISORS
    return (
        f"mediator:{assignment.mediator_id}"
        if assignment.mediator_id
        else f"org:{assignment.org_id}"
    )


class CaseCore:
    """State and plumbing of MediationCaseWorkflow (set in its @workflow.init)."""

    input: CaseInput
    policy: Policy
    state: CaseState
    lock: asyncio.Lock
    assign_epoch: int
    follow_up_epoch: int
    reminded_for: datetime | None
    labor_notice_due: datetime | None
    risk_watch: asyncio.Task[None] | None
    judicial_window: asyncio.Task[None] | None
    search_attributes: dict[str, Any]

    def _check(self, action: Action, cmd: Command) -> None:
        if cmd.action is not action:
            raise ApplicationError(
                f"'{action.value}' got a '{cmd.action.value}' command", type=ILLEGAL
            )
        reason = why_not(self.state, self.policy, action, workflow.now(), cmd)
        if reason is not None:
            raise ApplicationError(reason, type=ILLEGAL, non_retryable=True)

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
