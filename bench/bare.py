"""Bare Temporal: a workflow with exactly one trivial activity, on its own task queue of the
same dev server, driven closed-loop at the bench's concurrency. Its rate, T, is what the
service's figures are divided by. The worker runs as a child process (bench/bare_worker.py)
as the service's worker does, so the driver's CPU stays the driver's."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client

TASK_QUEUE = "bench-bare"


@activity.defn
async def touch(n: int) -> int:
    return n + 1


@workflow.defn
class BareWorkflow:
    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(
            touch, n, start_to_close_timeout=timedelta(seconds=30)
        )


@dataclass(frozen=True)
class BareResult:
    completed: int  # within the window
    failed: int
    seconds: float  # the window
    drain_seconds: float  # waiting, after the window, for the workflows still in flight
    concurrency: int
    latencies: list[float]  # start → result, each workflow completed within the window

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0


async def _closed_loop(
    client: Client, concurrency: int, deadline: float | None, count: int | None
) -> tuple[list[tuple[float, float]], int]:
    """(finished at, latency) of every workflow, and the number that failed."""
    finished: list[tuple[float, float]] = []
    failed = issued = 0

    async def one_client() -> None:
        nonlocal failed, issued
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return
            if count is not None:
                if issued >= count:
                    return
                issued += 1
            started = time.monotonic()
            try:
                await client.execute_workflow(
                    BareWorkflow.run, issued, id=f"bare-{uuid.uuid4()}", task_queue=TASK_QUEUE
                )
                now = time.monotonic()
                finished.append((now, now - started))
            except Exception:
                failed += 1

    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return finished, failed


async def warm_up(client: Client, concurrency: int, count: int) -> None:
    """The worker's first tasks pay for the workflow sandbox: kept out of the figure."""
    await _closed_loop(client, concurrency, None, count)


async def measure(client: Client, concurrency: int, seconds: float) -> BareResult:
    """Closed loop for `seconds`: T counts the workflows completed within the window, so a
    few stragglers in flight at its end (waited for, and reported as the drain) cannot
    stretch the denominator."""
    started = time.monotonic()
    deadline = started + seconds
    finished, failed = await _closed_loop(client, concurrency, deadline, None)
    within = [lat for at, lat in finished if at <= deadline]
    return BareResult(
        len(within), failed, seconds, time.monotonic() - deadline, concurrency, within
    )
