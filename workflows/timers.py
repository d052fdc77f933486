"""Durable waits for the case workflow, in the spirit of samples-python's `updatable_timer`:
a deadline that stands until what it guards moves (a new assignment, an extension, a
recorded visit), and then stands down instead of firing.

Deterministic workflow code, run inside the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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


@dataclass(frozen=True)
class Watch:
    """What a timer guards: it stands down as soon as `moved()` is true."""

    moved: Callable[[], bool]

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

    async def forever(self) -> None:
        """Until something moves, however long that takes."""
        await workflow.wait_condition(self.moved)


def watch(*conditions: Callable[[], bool]) -> Watch:
    """A watch that moves when any of `conditions` holds."""
    return Watch(lambda: any(c() for c in conditions))
