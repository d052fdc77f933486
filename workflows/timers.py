"""Durable waits for the case workflow, in the spirit of samples-python's `updatable_timer`:
a deadline that stands until what it guards moves (a new assignment, an extension, a
recorded visit), and then stands down instead of firing.

Deterministic workflow code, run inside the sandbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow


class Generation:
    """How often something was replaced (the assignment, the follow-up schedule). A watch
    started under one generation stands down once it changes."""

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        self.value += 1

    def changed(self) -> Callable[[], bool]:
        start = self.value
        return lambda: self.value != start


Step = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Watch:
    """What a timer guards: it stands down as soon as `moved()` is true. Its steps run under
    the workflow's lock, so a command and a timer never interleave."""

    moved: Callable[[], bool]
    lock: asyncio.Lock

    async def until(self, when: datetime, summary: str) -> bool:
        """True when `when` came with nothing having moved; False as soon as something moved.

        `summary` names the timer in the history and the Temporal UI (user metadata only: it
        does not change the command sequence)."""
        remaining = (when - workflow.now()).total_seconds()
        if remaining <= 0:
            return not self.moved()
        try:
            await workflow.wait_condition(self.moved, timeout=remaining, timeout_summary=summary)
        except TimeoutError:
            return not self.moved()
        return False

    async def unless_moved(self, step: Step) -> bool:
        """Take `step` under the lock, unless a command moved the case meanwhile."""
        async with self.lock:
            if self.moved():
                return False
            await step()
            return True

    async def at(self, when: datetime, summary: str, step: Step) -> bool:
        """At `when`, take `step`, unless a command moved the case first."""
        return await self.until(when, summary) and await self.unless_moved(step)

    async def every(
        self,
        period: timedelta | Callable[[], timedelta],
        summary: str,
        step: Step,
        first: datetime | None = None,
        planned: Callable[[datetime], None] | None = None,
    ) -> None:
        """Take `step` every `period` until something moves (reminders, escalations); the
        first time at `first` when given (a clock carried over from the previous run), each
        planned time told to `planned`, so it can be carried over to the next."""
        while not self.moved():
            when = first or workflow.now() + (period() if callable(period) else period)
            first = None
            if planned is not None:
                planned(when)
            await self.at(when, summary, step)

    async def forever(self) -> None:
        """Until something moves, however long that takes."""
        await workflow.wait_condition(self.moved)


def watch(lock: asyncio.Lock, *conditions: Callable[[], bool]) -> Watch:
    """A watch that moves when any of `conditions` holds."""
    return Watch(lambda: any(c() for c in conditions), lock)
