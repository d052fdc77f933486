"""The system under test, started as `make up` starts it (dev server → migrate → seed →
worker → API), in a fresh data dir on free loopback ports, and stopped again."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine, text

from core.crypto import Keyring
from core.db import make_engine
from core.temporal import free_loopback_port
from models.enums import Role
from ops.children import Child
from ops.devserver import start_dev_command, wait_until_serving
from store.migrate import upgrade
from store.principals import create_principal
from store.seed import ORGS, mediator_id, seed

# Far above any load the bench offers: routing must never fall back to the supervisor
# because every fitting mediator is busy.
BENCH_CAPACITY = 100_000


@dataclass
class System:
    run_dir: Path
    db_url: str
    temporal_target: str
    api_url: str
    engine: Engine
    env: dict[str, str]
    # "officer", "supervisor", and one org-level mediator token per organisation id
    tokens: dict[str, str] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    def spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> Child:
        """A child of this bench, stopped with the rest at the end if not before."""
        child = Child(name, cmd, self.logs / f"{name}.log", env or self.env)
        self.children[name] = child
        return child

    def stop_child(self, name: str) -> None:
        child = self.children.pop(name, None)
        if child is not None:
            child.stop()


def _wait_ready(url: str, children: list[Child], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=3) as http:
        while time.monotonic() < deadline:
            dead = [c.name for c in children if not c.alive()]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited during start-up (see the logs)")
            try:
                if http.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
    raise RuntimeError(f"the API at {url} was not ready within {seconds:.0f}s")


def _principals(engine: Engine) -> dict[str, str]:
    tokens = {
        "officer": create_principal(engine, Role.officer, "bench officer")[1],
        "supervisor": create_principal(engine, Role.supervisor, "bench supervisor")[1],
    }
    # A mediator principal names its mediator and acts on that mediator's cases only: one
    # for each; under the organisation's id, its first mediator's (reads by organisation).
    for org in ORGS:
        for i in range(len(org.mediators)):
            m = mediator_id(org.id, i)
            tokens[m] = create_principal(engine, Role.mediator, f"bench {m}", org.id, m)[1]
        tokens[org.id] = tokens[mediator_id(org.id, 0)]
    return tokens


@contextmanager
def running_system(
    run_dir: Path,
    db_url: str | None,
    say: Callable[[str], None] = print,
    dynamic_config: tuple[str, ...] = (),
) -> Iterator[System]:
    """Start everything; stop every child when the block ends (also on Ctrl-C or error).
    `dynamic_config`: KEY=VALUE settings for the dev server beyond `make up`'s (experiments)."""
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    db_url = db_url or f"sqlite:///{(run_dir / 'mediation.db').as_posix()}"
    temporal_port, ui_port, api_port = (free_loopback_port() for _ in range(3))
    temporal_target = f"127.0.0.1:{temporal_port}"
    api_url = f"http://127.0.0.1:{api_port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")},
        "MEDIATION_DATA_DIR": str(run_dir),
        "MEDIATION_DATABASE_URL": db_url,
        "MEDIATION_TEMPORAL_ADDRESS": temporal_target,
        "MEDIATION_TEMPORAL_PORT": str(temporal_port),
        "MEDIATION_TEMPORAL_UI_PORT": str(ui_port),
        "MEDIATION_API_HOST": "127.0.0.1",
        "MEDIATION_API_PORT": str(api_port),
        "MEDIATION_KEYS": Keyring.generate_line("bench1"),
    }
    engine = make_engine(db_url)
    system = System(run_dir, db_url, temporal_target, api_url, engine, env)
    try:
        dev = start_dev_command(
            run_dir / "temporal.db", temporal_port, ui_port, codec_endpoint=f"{api_url}/codec"
        )
        for value in dynamic_config:
            dev += ["--dynamic-config-value", value]
        temporal = system.spawn("temporal", dev)
        say(f"Temporal dev server on {temporal_target} (data: {run_dir})")
        wait_until_serving(temporal_target, temporal)
        upgrade(db_url)
        orgs, mediators = seed(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE mediators SET capacity = :c"), {"c": BENCH_CAPACITY})
        system.tokens = _principals(engine)
        say(f"case store {engine.dialect.name}: {orgs} organisations, {mediators} mediators")
        worker = system.spawn("worker", [sys.executable, "-m", "ops", "worker"])
        api = system.spawn("api", [sys.executable, "-m", "ops", "api"])
        _wait_ready(api_url, [temporal, worker, api])
        say(f"API ready at {api_url}")
        yield system
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: still clean up
        try:
            for name in reversed(list(system.children)):
                system.stop_child(name)
            engine.dispose()
        finally:
            signal.signal(signal.SIGINT, previous)
