"""Continue-as-new, mixed into MediationCaseWorkflow (workflows/case.py): a case that
waits for months keeps a bounded history. Cases since BOUNDED hand themselves to a fresh
run when Temporal suggests it, carrying their state and what their clocks remember; the
fresh run restarts the watchers the case had running.

Deterministic workflow code, run inside the sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.case import Agreement, CarriedOver, CaseInput, CaseState
    from models.enums import CaseStatus
    from workflows.steps import Ledger


class Continuation:
    """The hand-over and the restart; the workflow class provides the state, the clocks'
    memory, the lock, the ledger and the watchers it restarts."""

    input: CaseInput
    state: CaseState
    lock: asyncio.Lock
    ledger: Ledger
    bounded: bool
    reminded_for: datetime | None
    acceptance_reminded_for: datetime | None
    follow_up_reminded_for: datetime | None
    labor_notice_due: datetime | None
    next_at: dict[str, datetime]
    runs: int
    risk_watch: asyncio.Task[None] | None
    background: list[asyncio.Task[None]]

    # The workflow's own and JudicialWindow's: declared for the type checker only, since a
    # stub here would shadow JudicialWindow's, which comes after this mixin in the MRO.
    if TYPE_CHECKING:

        async def _watch_risk_ack(self) -> None: ...

        def _window_outlives_closure(self) -> bool: ...

        async def _close_judicial_window(self, agreement: Agreement) -> None: ...

    def _time_to_continue(self) -> bool:
        return self.bounded and workflow.info().is_continue_as_new_suggested()

    async def _continue_as_new(self) -> None:
        """Hand the case to a fresh run (same workflow id, empty history) once every command
        in flight has answered; its state and its clocks' memory go with it."""
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and not self.lock.locked()
                and not self.ledger.unrecorded
            )
        )
        carried = CarriedOver(
            state=self.state.model_copy(deep=True),
            reminded_for=self.reminded_for,
            acceptance_reminded_for=self.acceptance_reminded_for,
            follow_up_reminded_for=self.follow_up_reminded_for,
            labor_notice_due=self.labor_notice_due,
            next_at=self.next_at,
            runs=self.runs + 1,
        )
        self.ledger.publish()
        workflow.logger.info("case continues as new: run %d", carried.runs)
        workflow.continue_as_new(self.input.model_copy(update={"carried": carried}))

    def _resume_watchers(self) -> None:
        """A continued run restarts the watchers its case had running."""
        s = self.state
        if s.status is CaseStatus.closed and not self._window_outlives_closure():
            return
        if s.risk_alert_open and s.status is not CaseStatus.closed:
            self.risk_watch = asyncio.create_task(self._watch_risk_ack())
        if s.agreement is not None and s.agreement.judicial_window_open:
            if s.deadlines.judicial_confirmation_until is not None:
                window = self._close_judicial_window(s.agreement)
                self.background.append(asyncio.create_task(window))
