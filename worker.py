"""The worker process: runs every case workflow and activity; stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities import all_activities
from core.crypto import Keyring
from core.db import make_engine
from core.logging import configure_logging
from core.settings import Settings, get_settings
from core.temporal import connect, exit_without_finalizing
from notify.outbox import Dispatcher, sender_from
from workflows.case import MediationCaseWorkflow

WORKFLOWS = [MediationCaseWorkflow]


def build_worker(
    client: Client,
    engine: Engine,
    keyring: Keyring,
    task_queue: str,
    executor: ThreadPoolExecutor,
    max_cached_workflows: int = 1000,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=all_activities(engine, keyring),
        activity_executor=executor,
        max_concurrent_activities=executor._max_workers,
        max_cached_workflows=max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


async def run_worker(settings: Settings) -> None:
    log = structlog.get_logger("worker")
    keyring = settings.keyring()
    client = await connect(settings, keyring, settings.sdk_metrics_bind)
    engine = make_engine(settings.db_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="activity") as executor:
        worker = build_worker(client, engine, keyring, settings.task_queue, executor)
        log.info(
            "worker started", task_queue=settings.task_queue, temporal=settings.temporal_target
        )
        outbox = None
        if settings.notify_adapter != "off":
            sender = sender_from(settings.notify_adapter, settings.notify_webhook_url)
            dispatcher = Dispatcher(engine, keyring, sender)
            outbox = asyncio.create_task(dispatcher.run(stop))
        async with worker:
            await stop.wait()
            log.info("worker stopping")
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
