"""The payload converter every client and worker uses: pydantic JSON, plus the refusal of
payloads the case codec did not seal (core/envelope.py). Its encodings are made once per
process.

The SDK makes payload converters often: one for every workflow activation, and one each
time it clones the data converter for a serialization context (core/temporal.py).
Built afresh, the pydantic converter made a serializer and a type-adapter cache each time,
and every cached case kept adapters of its own for its input, its state and its
activities' results (pydantic-core validators in native memory). Shared, one cache serves
the process: 6 % of the worker's CPU under load (py-spy --gil during make bench).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
)

from core.envelope import UNSEALED, SealError


class RefuseUnsealed(EncodingPayloadConverter):
    """The payload converter's answer to a payload that came in without our envelope."""

    @property
    def encoding(self) -> str:
        return UNSEALED.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never chosen to encode

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        raise SealError("refused: the payload was not sealed by the case codec")


# The SDK's default encodings (their instances shared, as the SDK shares them) with JSON by
# pydantic (its type adapters cached for the process; they are thread-safe), and the
# refusal.
ENCODINGS: tuple[EncodingPayloadConverter, ...] = (
    *(
        PydanticJSONPlainPayloadConverter() if isinstance(c, JSONPlainPayloadConverter) else c
        for c in DefaultPayloadConverter.default_encoding_payload_converters
    ),
    RefuseUnsealed(),
)


_BY_ENCODING = MappingProxyType({c.encoding.encode(): c for c in ENCODINGS})


class SealedPayloadConverter(CompositePayloadConverter):
    """Pydantic payloads, plus the refusal of unsealed ones; cheap to make (the SDK makes
    one for every workflow activation): the mapping the composite's own constructor would
    build from each encoding's name is built once, read-only."""

    def __init__(self) -> None:
        self.converters = _BY_ENCODING
