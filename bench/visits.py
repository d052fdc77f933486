"""`python -m bench.visits [N]`: the CPU the worker spends walking a workflow task's messages
for the payload codec, the SDK's three walks against core/codec_pass.py's one. N pairs
(3,000) of an activation and a completion shaped like a command's: an update with its input
and a local activity's result in, three local activities' inputs, an update's answer and a
timer out, with payloads of the sizes a case's have (make bench, encoded). The codec hands
payloads back as they are, so what is timed is the walking; three rounds each, in turn."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

from temporalio.api.common.v1 import Payload
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter, PayloadCodec

from core import codec_pass


class _AsIs(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


def activation() -> WorkflowActivation:
    act = WorkflowActivation(run_id="run")
    update = act.jobs.add().do_update
    update.id, update.name = "update", "accept"
    update.input.add().CopyFrom(Payload(data=b"u" * 320))
    resolved = act.jobs.add().resolve_activity
    resolved.seq = 3
    resolved.result.completed.result.CopyFrom(Payload(data=b"r" * 250))
    return act


def completion() -> WorkflowActivationCompletion:
    done = WorkflowActivationCompletion(run_id="run")
    for seq, size in enumerate((1190, 1520, 450)):
        la = done.successful.commands.add().schedule_local_activity
        la.seq, la.activity_type = seq, "persist_step"
        la.arguments.add().CopyFrom(Payload(data=b"a" * size))
    answer = done.successful.commands.add().update_response
    answer.protocol_instance_id = "update"
    answer.completed.CopyFrom(Payload(data=b"c" * 1130))
    done.successful.commands.add().start_timer.seq = 1
    return done


Walk = Callable[[WorkflowActivation, WorkflowActivationCompletion], Awaitable[object]]


async def cpu_per_pair(walk: Walk, n: int) -> float:
    pairs = [(activation(), completion()) for _ in range(n)]
    started = time.process_time()
    for act, done in pairs:
        await walk(act, done)
    return (time.process_time() - started) / n


async def main(n: int) -> None:
    converter = DataConverter(payload_codec=_AsIs())

    async def sdk(act: WorkflowActivation, done: WorkflowActivationCompletion) -> None:
        await codec_pass._sdk_decode_activation(act, converter, False, 1)
        await codec_pass._sdk_encode_completion(done, converter, False, 1)

    async def once(act: WorkflowActivation, done: WorkflowActivationCompletion) -> None:
        await codec_pass.decode_activation(act, converter, False, 1)
        await codec_pass.encode_completion(done, converter, False, 1)

    for _ in range(3):
        for name, walk in (("the SDK's three walks", sdk), ("one walk", once)):
            us = await cpu_per_pair(walk, n) * 1e6
            print(f"{name:22} {us:6.0f} µs of CPU per activation and completion")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
