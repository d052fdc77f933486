"""The worker's workflow runner lets go of the protobuf messages a cached case is done with,
and of an evicted case at once (core/runner.py), and the cases go on as before: what keeps
1,000 open cases' worth of arenas and evicted runs out of the worker's memory, checked
against the SDK's own names."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from models.case import CaseState
from models.enums import CaseStatus
from models.policy import Policy
from tests.conftest import TEST_DATA_KEYS
from tests.helpers import accept_assigned, intake, open_case
from worker import build_worker


async def cached_instance(worker: Worker, handle: WorkflowHandle[Any, CaseState]) -> Any:
    """The SDK's instance of the case's run in `worker`'s cache."""
    run_id = (await handle.describe()).run_id
    workflows = worker._workflow_worker
    assert workflows is not None
    return workflows._running_workflows[run_id].instance


def holds_nothing_sent(instance: Any) -> bool:
    """No completion already sent, no container of the last activation's, no start
    headers of the first one's: each would keep its whole protobuf arena alive."""
    return (
        not instance._current_completion.ListFields()
        and type(instance._current_internal_flags) is list
        and type(instance._workflow_input.headers) is dict
    )


async def test_a_cached_case_keeps_no_message_it_is_done_with_and_goes_on(
    client: Client, engine: Engine, activity_executor: ThreadPoolExecutor, fast_policy: Policy
) -> None:
    queue = f"runner-{uuid.uuid4().hex[:12]}"
    worker = build_worker(client, engine, TEST_DATA_KEYS, queue, activity_executor)
    async with worker:
        handle = await open_case(client, queue, intake(), fast_policy)
        instance = await cached_instance(worker, handle)
        assert holds_nothing_sent(instance)

        state = await accept_assigned(handle)  # the same run, further activations

        assert state.status is CaseStatus.in_mediation
        assert await cached_instance(worker, handle) is instance
        assert holds_nothing_sent(instance)


async def test_an_evicted_case_is_let_go_at_once_and_goes_on_when_it_is_needed(
    client: Client, engine: Engine, activity_executor: ThreadPoolExecutor, fast_policy: Policy
) -> None:
    queue = f"runner-{uuid.uuid4().hex[:12]}"
    worker = build_worker(client, engine, TEST_DATA_KEYS, queue, activity_executor, 1)
    async with worker:
        first = await open_case(client, queue, intake(), fast_policy)
        evicted = await cached_instance(worker, first)
        assert vars(evicted._object)  # the case, alive in the cache

        await open_case(client, queue, intake(), fast_policy)  # takes the only place

        assert evicted._primary_task is None and not vars(evicted._object)
        state = await accept_assigned(first)  # brought back from its history
        assert state.status is CaseStatus.in_mediation
