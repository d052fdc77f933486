"""R8's judicial-confirmation window, mixed into MediationCaseWorkflow (workflows/case.py).

The parties may jointly apply for judicial confirmation within 30 days of the agreement,
whatever the case's status (DESIGN §2, notes): a case that a visit closes on day 10 can
still record its confirmation on day 20. So the window is a timer of its own, and a case
closed inside it keeps its workflow, to take the Update, until the window closes or the
confirmation is recorded.

Deterministic workflow code, run inside the sandbox.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.case import Agreement, CaseState, Step
    from models.enums import CaseStatus
    from workflows.patches import patched
    from workflows.steps import Ledger
    from workflows.timers import watch

# Cases closed since this patch inside their window keep their workflow (and the window's
# timer) until the window closes or the confirmation is recorded; before it, the window's
# timer stood down at closure and the workflow ended.
JUDICIAL_AFTER_CLOSURE = "judicial-after-closure-2026-11"


class JudicialWindow:
    """The window's timer and the wait after closure; the workflow class provides the
    state, the lock and the ledger, and Continuation (workflows/continuation.py)
    continue-as-new."""

    state: CaseState
    lock: asyncio.Lock
    ledger: Ledger

    if TYPE_CHECKING:  # Continuation's, before this mixin in the workflow's MRO

        def _time_to_continue(self) -> bool: ...

        async def _continue_as_new(self) -> None: ...

    async def _close_judicial_window(self, agreement: Agreement) -> None:
        """R8: the 30-day window is a timer, so the live state stops offering it on time."""
        s = self.state
        until = s.deadlines.judicial_confirmation_until
        assert until is not None
        w = watch(
            self.lock,
            lambda: s.agreement is not agreement,
            lambda: s.deadlines.judicial_confirmation_until != until,
            lambda: s.status is CaseStatus.closed and not self._window_outlives_closure(),
            self._time_to_continue,
        )

        async def close_window() -> None:
            agreement.judicial_window_open = False
            detail = {"confirmed": agreement.judicial_confirmed_at is not None}
            await self.ledger.record(Step.judicial_window_closed, detail=detail)

        await w.at(until, "judicial confirmation window", close_window)

    def _window_outlives_closure(self) -> bool:
        """Closed, with the window still open for it and nothing confirmed yet."""
        a = self.state.agreement
        return (
            self.state.status is CaseStatus.closed
            and a is not None
            and a.confirmable_after_closure
            and a.judicial_window_open
            and a.judicial_confirmed_at is None
        )

    def _keep_window_past_closure(self, now: datetime) -> None:
        """Called as the case closes: an open, unconfirmed window stays open after it."""
        a, until = self.state.agreement, self.state.deadlines.judicial_confirmation_until
        if a is None or not a.judicial_window_open or a.judicial_confirmed_at is not None:
            return
        if until is not None and now < until:
            a.confirmable_after_closure = patched(JUDICIAL_AFTER_CLOSURE)

    async def _await_window_after_closure(self) -> None:
        """The closed case's workflow takes a confirmation until its window closes; then its
        last step is in the store before the workflow ends."""
        if not self._window_outlives_closure():
            return
        while self._window_outlives_closure():
            await workflow.wait_condition(
                lambda: not self._window_outlives_closure() or self._time_to_continue()
            )
            if self._time_to_continue():
                await self._continue_as_new()
        await workflow.wait_condition(lambda: not self.lock.locked() and not self.ledger.unrecorded)
