"""The bare-Temporal worker, a child process of the bench:
`python -m bench.bare_worker HOST:PORT` runs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import TASK_QUEUE, BareWorkflow, touch
from core.temporal import exit_without_finalizing


async def serve(target: str) -> None:
    client = await Client.connect(target)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=TASK_QUEUE, workflows=[BareWorkflow], activities=[touch]):
        print(f"bare worker polling {TASK_QUEUE} on {target}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
    exit_without_finalizing()
