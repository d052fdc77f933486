"""The worker process: runs every case workflow and activity; stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import compileall
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import structlog
from sqlalchemy import Engine
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import workflows
from activities import all_activities, risk
from core.codec_pass import walk_once
from core.db import checkpointing, make_engine
from core.envelope import DataKeys
from core.logging import configure_logging
from core.memory import limit_arenas, settle_heap, trim_every
from core.runner import ReleasingWorkflowRunner
from core.settings import Settings, get_settings
from core.temporal import connect, exit_without_finalizing
from notify.outbox import Dispatcher
from notify.senders import Sender, sender_from
from workflows.case import MediationCaseWorkflow
from workflows.report import ReportTriageWorkflow
from workflows.retention import RETENTION_WORKFLOW, RetentionSweep

WORKFLOWS = [MediationCaseWorkflow, RetentionSweep, ReportTriageWorkflow]
WORKFLOW_TASK_THREADS = 16


def build_worker(
    client: Client,
    engine: Engine,
    keys: DataKeys,
    task_queue: str,
    executor: ThreadPoolExecutor,
    max_cached_workflows: int = 1000,
    sandboxed: bool = False,
) -> Worker:
    """`sandboxed`: run the workflow in Temporal's sandbox, which re-imports its modules for
    every case and re-enters itself for every payload: a third of the worker's CPU per case
    (make bench: 117 → 79 ms). Off in production by default (MEDIATION_WORKFLOW_SANDBOX);
    the suite runs every workflow test both ways (tests/conftest.py), so a nondeterministic
    call in workflows/ still fails the build. Unsandboxed, the runner lets go of the protobuf
    messages a cached case is done with (core/runner.py). Either way each workflow task's
    payloads are walked once, for the codec (core/codec_pass.py)."""
    walk_once()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=SandboxedWorkflowRunner() if sandboxed else ReleasingWorkflowRunner(),
        activities=all_activities(engine, keys),
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
        max_cached_workflows=max_cached_workflows,
        # Workflow tasks hold the GIL: more threads add no throughput, only stacks and
        # malloc arenas (the SDK's default pool grows to 500 threads).
        max_concurrent_workflow_tasks=WORKFLOW_TASK_THREADS,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def ensure_retention_schedule(client: Client, task_queue: str, every: timedelta) -> str:
    """The schedule that erases closed cases whose retention ended (DESIGN §9): made if
    missing, else brought to `every`. Returns its id."""
    schedule_id = f"retention-{task_queue}"
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            RETENTION_WORKFLOW, id=schedule_id, task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def same(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(same)
    return schedule_id


def notify_sender(settings: Settings) -> Sender:
    """The outbox's adapter; a webhook the messages may not go to stops the worker (ValueError)."""
    secret = settings.notify_webhook_secret
    return sender_from(
        settings.notify_adapter,
        settings.notify_webhook_url,
        secret.get_secret_value() if secret else None,
    )


def compile_workflow_modules() -> None:
    """A sandboxed worker imports the workflow's modules afresh for every case it starts (or
    brings back into its cache). Without bytecode on disk, as in an editable install under
    PYTHONDONTWRITEBYTECODE (these machines set it), each of those imports compiles the
    source again: 6 % of the worker's CPU under load (py-spy during make bench). The image's
    non-editable install has its bytecode already; a read-only checkout just goes on
    compiling."""
    compileall.compile_dir(Path(workflows.__file__).parent, quiet=2)


async def run_worker(settings: Settings) -> None:
    log = structlog.get_logger("worker")
    limit_arenas()  # before the SDK and the executors start their threads
    if settings.workflow_sandbox:
        compile_workflow_modules()
    engine = make_engine(settings.db_url)
    keys = DataKeys(settings.keyring(), engine)
    client = await connect(settings, keys, settings.sdk_metrics_bind)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="activity") as executor:
        worker = build_worker(
            client,
            engine,
            keys,
            settings.task_queue,
            executor,
            sandboxed=settings.workflow_sandbox,
        )
        # The risk screen's dictionary loads now rather than in the first intake's screening
        # (0.4-0.6 s), and before the heap settles: it stays for the process's life.
        await asyncio.to_thread(risk.segmenter)
        settle_heap()
        every = timedelta(minutes=settings.retention_sweep_minutes)
        await ensure_retention_schedule(client, settings.task_queue, every)
        log.info(
            "worker started", task_queue=settings.task_queue, temporal=settings.temporal_target
        )
        outbox = None
        if settings.notify_adapter != "off":
            sender = notify_sender(settings)
            dispatcher = Dispatcher(engine, keys, sender)
            outbox = asyncio.create_task(dispatcher.run(stop))
        trimming = asyncio.create_task(trim_every(10.0, stop))
        async with worker, checkpointing(engine):
            await stop.wait()
            log.info("worker stopping")
        await trimming
        if outbox is not None:
            await outbox
    engine.dispose()
    log.info("worker stopped")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    asyncio.run(run_worker(settings))
    exit_without_finalizing()


if __name__ == "__main__":
    main()
