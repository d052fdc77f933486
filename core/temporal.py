"""One way to reach Temporal: the production data converter, used by every client."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from core.crypto import EncryptionCodec, Keyring
from core.settings import Settings


def data_converter(keyring: Keyring) -> DataConverter:
    """Pydantic payloads, encrypted with the keyring; failure messages and stack traces are
    moved into an encoded (so encrypted) attribute instead of history's plain text."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
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
    settings: Settings, keyring: Keyring, metrics_bind: str | None = None, lazy: bool = False
) -> Client:
    """A client with the production data converter; with `metrics_bind`, its SDK metrics
    are served there (one such runtime per process)."""
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(keyring),
        runtime=metrics_runtime(metrics_bind) if metrics_bind else None,
        lazy=lazy,
    )


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
