"""`mediation up`: the whole system on one machine, as child processes of this one.

Temporal dev server → migrate → seed → worker → API. Ctrl-C (or SIGTERM) stops the children
in reverse order; they also get SIGTERM if this process dies, so nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request

from rich.console import Console

from core.crypto import ensure_dev_keyring
from core.db import make_engine
from core.envelope import DataKeys
from core.settings import Settings
from ops.children import Child
from ops.devserver import start_dev_command, wait_until_serving
from store.migrate import upgrade
from store.sealing import seal_legacy
from store.seed import seed

console = Console(stderr=True, soft_wrap=True)


def _wait_http(url: str, what: str, child: Child, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{what} exited during start-up (see its log)")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer at {url} within {seconds:.0f}s")


def run_up(settings: Settings) -> int:
    data = settings.data_dir.resolve()
    logs = data / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    if settings.keys is None:
        ensure_dev_keyring(data)  # the worker and API read it from the data dir
    settings.keyring()  # a bad keyring fails here, before anything starts
    env = {
        **os.environ,
        "MEDIATION_DATA_DIR": str(data),
        "MEDIATION_DATABASE_URL": settings.db_url,
        "MEDIATION_TEMPORAL_ADDRESS": settings.temporal_target,
    }
    children: list[Child] = []
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    ui_url = f"http://127.0.0.1:{settings.temporal_ui_port}"
    try:
        console.print(f"[bold]Temporal dev server[/] on {settings.temporal_target} (data: {data})")
        temporal = Child(
            "temporal",
            start_dev_command(
                data / "temporal.db",
                settings.temporal_port,
                settings.temporal_ui_port,
                settings.temporal_namespace,
                codec_endpoint=f"{api_url}/codec",
            ),
            logs / "temporal.log",
            env,
        )
        children.append(temporal)
        wait_until_serving(settings.temporal_target, temporal)
        console.print("[bold]Migrating and seeding[/] the case store")
        upgrade(settings.db_url)
        engine = make_engine(settings.db_url)
        seal_legacy(engine, DataKeys(settings.keyring(), engine))
        orgs, mediators = seed(engine)
        engine.dispose()
        console.print(f"  roster: {orgs} organisations, {mediators} mediators")
        children.append(
            Child("worker", [sys.executable, "-m", "ops", "worker"], logs / "worker.log", env)
        )
        # MEDIATION_SDK_METRICS_BIND is the worker's; the API relays its own on /metrics.
        api_env = {k: v for k, v in env.items() if k != "MEDIATION_SDK_METRICS_BIND"}
        api = Child("api", [sys.executable, "-m", "ops", "api"], logs / "api.log", api_env)
        children.append(api)
        _wait_http(f"{api_url}/healthz", "the API", api)
        console.print(
            "\n[bold green]Up.[/]\n"
            f"  Console       {api_url}/   (sign in with a token, below; 中文, or English)\n"
            f"  API docs      {api_url}/docs\n"
            f"  Readiness     {api_url}/readyz\n"
            f"  Metrics       {api_url}/metrics\n"
            f"  Temporal UI   {ui_url}   (payloads are encrypted; to read them, see the README:\n"
            f"                sign in at {api_url}/codec/login with a supervisor's token)\n"
            f"  Logs          {logs}/{{temporal,worker,api}}.log\n"
            "  A token       .venv/bin/mediation principals create --role supervisor "
            "--name 'Your Name'\n"
            "                (then: curl -H 'Authorization: Bearer <token>' "
            f"{api_url}/api/v1/organizations)\n"
            "Ctrl-C stops everything.\n"
        )
        while not stopping:
            dead = [c.name for c in children if not c.alive()]
            if dead:
                console.print(f"[red]{', '.join(dead)} exited; stopping everything")
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:
        console.print(f"[red]{exc}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for child in reversed(children):
            child.stop()
        console.print("stopped.")
