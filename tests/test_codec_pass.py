"""A worker walks each workflow task's messages once, for the payload codec (core/codec_pass.py),
where the SDK walks them three times; the cases go on as before. With external storage, the
SDK's own walks are used."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import temporalio.bridge.worker as bridge
from sqlalchemy import Engine
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

from core import codec_pass
from models.enums import CaseStatus
from models.policy import Policy
from tests.conftest import TEST_DATA_KEYS
from tests.helpers import accept_assigned, intake, open_case
from worker import build_worker


async def test_each_workflow_task_is_walked_once_and_the_case_goes_on(
    client: Client,
    engine: Engine,
    activity_executor: ThreadPoolExecutor,
    fast_policy: Policy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = f"walks-{uuid.uuid4().hex[:12]}"
    worker = build_worker(client, engine, TEST_DATA_KEYS, queue, activity_executor)
    tasks, walks = [0], [0]

    def counted(calls: list[int], f: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return await f(*args, **kwargs)

        return call

    monkeypatch.setattr(bridge, "decode_activation", counted(tasks, bridge.decode_activation))
    monkeypatch.setattr(bridge, "encode_completion", counted(tasks, bridge.encode_completion))
    monkeypatch.setattr(
        CommandAwarePayloadVisitor, "visit", counted(walks, CommandAwarePayloadVisitor.visit)
    )
    async with worker:
        handle = await open_case(client, queue, intake(), fast_policy)
        state = await accept_assigned(handle)

    assert state.status is CaseStatus.in_mediation
    assert tasks[0] >= 4  # intake's activations and completions, then the accept's
    assert walks[0] == tasks[0]


async def test_a_converter_with_external_storage_is_left_to_the_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[DataConverter] = []

    async def sdk(_: WorkflowActivation, converter: DataConverter, *rest: Any) -> None:
        asked.append(converter)

    monkeypatch.setattr(codec_pass, "_sdk_decode_activation", sdk)
    stored = dataclasses.replace(DataConverter(), external_storage=object())  # type: ignore[arg-type]

    await codec_pass.decode_activation(WorkflowActivation(), DataConverter(), False, 1)
    assert asked == []
    await codec_pass.decode_activation(WorkflowActivation(), stored, False, 1)
    assert asked == [stored]
