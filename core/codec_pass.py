"""The worker's workflow tasks through the payload codec once, not three times.

Before a workflow sees an activation, and after it completes one, the SDK walks every
field of the message three times (temporalio 1.35, `temporalio.bridge.worker`): once for
external storage's references, once to fetch or store externally kept payloads, and once
for the payload codec, our envelope. We keep no payload in external storage, so the first
two walks find nothing to do: they were 9 % of the worker's samples under make bench's
saturated load (py-spy --gil). `python -m bench.visits` (messages shaped like a command's):
200-260 µs of CPU per activation and completion for the three walks, 61-65 µs for one.

`walk_once` puts in their place functions that walk once, for the codec, when the data
converter has no external storage, and leave everything to the SDK's own when it has.
A payload that is an external storage reference still fails, as our envelope refuses what
it did not seal. The SDK's workflow worker looks both functions up in their module at each
call, so this takes effect for every worker in the process, and for replays.
"""

from __future__ import annotations

import temporalio.bridge.worker as bridge
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter
from temporalio.converter._extstore import StorageOperationMetrics
from temporalio.worker._command_aware_visitor import CommandAwarePayloadVisitor

_sdk_decode_activation = bridge.decode_activation
_sdk_encode_completion = bridge.encode_completion


async def decode_activation(
    activation: WorkflowActivation,
    data_converter: DataConverter,
    decode_headers: bool,
    storage_concurrency_limit: int,
) -> StorageOperationMetrics:
    if data_converter.external_storage is not None:
        return await _sdk_decode_activation(
            activation, data_converter, decode_headers, storage_concurrency_limit
        )
    visitor = CommandAwarePayloadVisitor(
        skip_search_attributes=True, skip_headers=not decode_headers
    )
    await visitor.visit(bridge._Visitor(data_converter._decode_payload_sequence), activation)
    return StorageOperationMetrics()


async def encode_completion(
    completion: WorkflowActivationCompletion,
    data_converter: DataConverter,
    encode_headers: bool,
    storage_concurrency_limit: int,
) -> StorageOperationMetrics:
    if data_converter.external_storage is not None:
        return await _sdk_encode_completion(
            completion, data_converter, encode_headers, storage_concurrency_limit
        )
    visitor = CommandAwarePayloadVisitor(
        skip_search_attributes=True, skip_headers=not encode_headers
    )
    await visitor.visit(bridge._Visitor(data_converter._encode_payload_sequence), completion)
    return StorageOperationMetrics()


def walk_once() -> None:
    """Call before the worker starts (idempotent)."""
    bridge.decode_activation = decode_activation
    bridge.encode_completion = encode_completion
