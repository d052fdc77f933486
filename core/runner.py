"""The worker's workflow runner: Temporal's unsandboxed one, minus what it keeps of the
protobuf messages it has finished with.

A protobuf message in Python (upb) lives in an arena with every message parsed or built
with it, and the arena is freed only when nothing refers to any of them. The SDK's
workflow instance keeps, for the life of the run, a few small parts of the messages it
worked with: the last completion it sent (the commands of the last workflow task, their
payloads both encoded and not), two fields of the last activation, and the start's
headers and last-completion result. Each keeps its whole arena alive. With the cache full
of cases waiting for someone to act, that is about 20 KB a case: make bench's 1,000 open
cases held 286-294 MB of worker RSS with them (six runs), 270-274 MB without (three).

`ReleasingWorkflowRunner` gives the instance its own copies of those parts, and swaps the
completion, once it is sent, for an empty one (the next activation makes a new one anyway).
Nothing a workflow sees changes. And when the cache evicts a case, the runner breaks the
cycles that would keep the evicted run until the next full collection: 1,000 intakes
beyond a full cache (2,000 open cases, memory only) left 299-302 MB, 287-293 with it.

The names are the SDK's private ones (temporalio 1.35): mypy checks them against the SDK's
source, and tests/test_runner.py that a cached case holds none of those parts and that an
evicted one is let go. The sandboxed runner (MEDIATION_WORKFLOW_SANDBOX) is left as
it is: its instance lives inside the sandbox.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TypeVar

from google.protobuf.message import Message
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._workflow_instance import _WorkflowInstanceImpl

M = TypeVar("M", bound=Message)


def _own(message: M) -> M:
    """`message` copied into an arena of its own."""
    copy = type(message)()
    copy.CopyFrom(message)
    return copy


def _own_all(messages: Mapping[str, M]) -> dict[str, M]:
    return {key: _own(value) for key, value in messages.items()}


class _ReleasingInstance(_WorkflowInstanceImpl):
    def activate(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        completion = super().activate(act)
        if any(job.HasField("remove_from_cache") for job in act.jobs):
            self._let_go()
        else:
            self._release()
        return completion

    def _let_go(self) -> None:
        """An evicted run whose tasks all finished: break the cycles that would keep it
        (its cancelled main task's traceback holds the case's frames, the case object
        holds its own bound methods) for the next full collection, which the worker makes
        rare (core.memory.settle_heap): freed now, its memory goes to the cases that
        replace it. With tasks left the SDK fails the eviction and retries it; then the
        run is left as it is."""
        if self._tasks:
            return
        self._primary_task = None
        self._ready.clear()
        if self._object is not None:
            vars(self._object).clear()

    def _release(self) -> None:
        # The caller encodes and sends `completion`; the next activation starts a new one.
        # Until then an empty one takes what a task torn down between activations adds
        # (the cancel of its timer, when an evicted case's coroutines are closed).
        self._current_completion = WorkflowActivationCompletion()
        # Read only as `flag in …` (a plain list serves).
        self._current_internal_flags = list(self._current_internal_flags)  # type: ignore[assignment]
        deployment = self._deployment_version_for_current_task
        if deployment is not None:
            self._deployment_version_for_current_task = _own(deployment)
        start = self._workflow_input
        if start is not None and not isinstance(start.headers, dict):
            start.headers = _own_all(start.headers)


class ReleasingWorkflowRunner(UnsandboxedWorkflowRunner):
    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        info = dataclasses.replace(
            det.info, headers=_own_all(det.info.headers), raw_memo=_own_all(det.info.raw_memo)
        )
        failure = det.last_failure
        det = dataclasses.replace(
            det,
            info=info,
            last_completion_result=_own(det.last_completion_result),
            last_failure=_own(failure) if failure is not None else None,
        )
        return _ReleasingInstance(det)  # type: ignore[abstract]
