"""One way to reach Temporal: the production data converter, used by every client."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import sys
from pathlib import Path
from typing import ClassVar, Self

from temporalio.client import Client
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    SerializationContext,
    WorkflowSerializationContext,
)
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from core.envelope import DataKeys, EnvelopeCodec
from core.payloads import SealedPayloadConverter
from core.settings import Settings


@dataclasses.dataclass(frozen=True)
class CaseDataConverter(DataConverter):
    """A data converter that remembers its clone for each workflow it serializes for.

    Our codec takes the workflow's id from the serialization context, so the SDK clones the
    data converter for every context it serializes in (each activation, each command, each
    activity), and each clone builds a payload and a failure converter only to drop them:
    6.6 % of the worker's CPU under load (py-spy --gil during make bench). Only the codec
    reads the context, and only its workflow id, so the clones made for the same workflow
    are alike whatever the context (a workflow's, or one of its activities'): one is made
    per workflow (up to `CLONES` of them, then the memory starts over)."""

    CLONES: ClassVar[int] = 4096

    def with_context(self, context: SerializationContext) -> Self:
        clones: dict[tuple[str, str], Self] | None = self.__dict__.get("_clones")
        if clones is None:
            clones = {}
            object.__setattr__(self, "_clones", clones)
        per_workflow = WorkflowSerializationContext | ActivitySerializationContext
        if not isinstance(context, per_workflow) or context.workflow_id is None:
            return super().with_context(context)
        key = (context.namespace, context.workflow_id)
        clone = clones.get(key)
        if clone is None:
            clone = super().with_context(context)
            if len(clones) >= self.CLONES:
                clones.clear()
            clones[key] = clone
        return clone


def data_converter(keys: DataKeys) -> DataConverter:
    """Pydantic payloads, sealed with each case's data key (core/envelope.py), unsealed
    ones refused; failure messages and stack traces are moved into an encoded (so sealed)
    attribute instead of history's plain text."""
    return CaseDataConverter(
        payload_converter_class=SealedPayloadConverter,
        payload_codec=EnvelopeCodec(keys),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metrics_runtime(bind: str) -> Runtime:
    """An SDK runtime whose metrics are served for Prometheus at http://<bind>/metrics."""
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


def metrics_url(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0', '[::]') else host}:{port}/metrics"


async def connect(
    settings: Settings, keys: DataKeys, metrics_bind: str | None = None, lazy: bool = False
) -> Client:
    """A client with the production data converter; with `metrics_bind`, its SDK metrics
    are served there (one such runtime per process)."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(keys),
        runtime=metrics_runtime(metrics_bind) if metrics_bind else None,
        lazy=lazy,
        tls=tls_config(settings) or False,
    )


def tls_config(settings: Settings) -> TLSConfig | None:
    """Mutual TLS to the Temporal frontend when MEDIATION_TEMPORAL_TLS_* name the files (the
    settings accept all three or none): the CA the frontend's certificate must chain to,
    this process's certificate and key, and the name to verify the frontend by. None:
    plain gRPC, as the dev server speaks. The files are read once, here: a renewed
    certificate takes a restart (deploy/README.md)."""
    if settings.temporal_tls_cert is None:
        return None
    return TLSConfig(
        server_root_ca_cert=_pem(settings.temporal_tls_ca, "MEDIATION_TEMPORAL_TLS_CA"),
        client_cert=_pem(settings.temporal_tls_cert, "MEDIATION_TEMPORAL_TLS_CERT"),
        client_private_key=_pem(settings.temporal_tls_key, "MEDIATION_TEMPORAL_TLS_KEY"),
        domain=settings.temporal_tls_server_name,
    )


def _pem(path: Path | None, setting: str) -> bytes:
    if path is None:
        raise ValueError(f"{setting} is not set")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{setting}: cannot read {path}: {exc.strerror or exc}") from exc


def exit_without_finalizing(code: int = 0) -> None:
    """Leave after a graceful stop without Python's interpreter finalization.

    The Temporal SDK's native threads can outlive finalization and abort the process
    ("PyGILState_Release ... must be current", exit 134): measured 3 in 18 SIGTERM stops of
    an idle worker. By now the process has drained and every log line is written, so there
    is nothing left for finalization to do but risk that abort."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def keys_of(client: Client | None) -> DataKeys | None:
    """The data keys a client's codec seals with (one set per process: erasing a case
    forgets its key in the codec too)."""
    codec = client.data_converter.payload_codec if client else None
    return codec.keys if isinstance(codec, EnvelopeCodec) else None
