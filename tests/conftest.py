"""Real parts: one session-wide Temporal dev server from the bundled binary, a fresh case
store per test module (SQLite, or a throwaway PostgreSQL database when
MEDIATION_TEST_DATABASE_URL is set), and a real worker on a fresh task queue per test."""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from console.app import create_app
from core.crypto import Keyring
from core.db import make_engine
from core.envelope import DataKeys
from core.redact import RedactingFilter
from core.settings import Settings
from core.temporal import data_converter, free_loopback_port, metrics_runtime
from models import search_attributes
from models.enums import Role
from models.policy import Policy
from ops.devserver import temporal_binary, tuning_args
from ops.pgtemp import throwaway_postgres
from store.migrate import upgrade
from store.principals import create_principal
from store.seed import seed
from tests.browser import chromium  # noqa: F401 (the browser tests' fixture)
from worker import build_worker

PG_URL = os.environ.get("MEDIATION_TEST_DATABASE_URL")
RECORD_HISTORIES = os.environ.get("MEDIATION_RECORD_HISTORIES")  # set by `make histories`
# Committed, public, test-only: the suite's payloads and the committed histories use it.
TEST_KEYS = (Path(__file__).parent / "histories" / "TEST-ONLY-keyring").read_text("utf-8")
TEST_KEYRING = Keyring.parse(TEST_KEYS)
# The session's one client seals with these; each module's store holds its own data keys.
TEST_DATA_KEYS = DataKeys(TEST_KEYRING)
# The SDK runtime shared by the test client and workers serves its metrics here; the API
# under test relays them on /metrics as it does in production.
SDK_METRICS_BIND = f"127.0.0.1:{free_loopback_port()}"

# Second-scale durations on the real dev server (DESIGN §4).
FAST_POLICY = Policy(
    acceptance_timeout=timedelta(seconds=6),
    acceptance_timeout_red=timedelta(seconds=6),
    max_routing_attempts=2,
    supervisor_reminder_every=timedelta(seconds=3),
    risk_ack_sla=timedelta(seconds=3),
    mediation_deadline=timedelta(seconds=8),
    labor_mediation_deadline=timedelta(seconds=6),
    deadline_reminder_before=timedelta(seconds=2),
    extension=timedelta(seconds=6),
    max_extensions=1,
    judicial_confirmation_window=timedelta(seconds=6),
    first_follow_up_after=timedelta(seconds=4),
    follow_up_every_red=timedelta(seconds=4),
    follow_up_every_yellow=timedelta(seconds=4),
    follow_up_every_green=timedelta(seconds=4),
    follow_up_overdue_after=timedelta(seconds=2),
)


def pytest_report_header() -> str:
    return f"case store: {'PostgreSQL' if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def fast_policy() -> Policy:
    return FAST_POLICY


@pytest_asyncio.fixture(scope="session")
async def temporal_env(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[WorkflowEnvironment]:
    db_file = tmp_path_factory.mktemp("temporal") / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        runtime=metrics_runtime(SDK_METRICS_BIND),
        data_converter=data_converter(TEST_DATA_KEYS),
        dev_server_existing_path=temporal_binary(),
        dev_server_database_filename=str(db_file),
        # Temporal suggests continue-as-new at 4,096 events by default; here at 150, so
        # the cases that run long in the suite continue as new, as real ones do after years.
        dev_server_extra_args=[
            *tuning_args(with_search_attributes=False),
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=150",
        ],
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL:
        with throwaway_postgres(PG_URL, "mediation_test") as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'mediation.db'}"


@pytest.fixture(scope="module")
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, seeded case store."""
    upgrade(db_url)
    eng = make_engine(db_url)
    seed(eng)
    TEST_DATA_KEYS.use(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def activity_executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="test-activity") as ex:
        yield ex


@pytest_asyncio.fixture(params=[1000, 0], ids=["cached", "replay"])
async def task_queue(
    request: pytest.FixtureRequest,
    client: Client,
    engine: Engine,
    activity_executor: ThreadPoolExecutor,
) -> AsyncIterator[str]:
    """A real worker on a fresh task queue for this test; yields the queue's name.

    Every test using it runs twice: with the workflow cache and without the sandbox, as
    production runs; and with `max_cached_workflows=0`, where every workflow task replays
    the history from the start, inside Temporal's sandbox, which fails a workflow that
    calls anything nondeterministic.
    """
    queue = f"test-{uuid.uuid4().hex[:12]}"
    cached = request.param > 0
    worker = build_worker(
        client,
        engine,
        TEST_DATA_KEYS,
        queue,
        activity_executor,
        request.param,
        sandboxed=not cached,
    )
    async with worker:
        yield queue
        if RECORD_HISTORIES and request.param:
            await _record_histories(client, queue, request.node.name, engine)


# Beside each set's histories: their cases' data keys, as the store keeps them (wrapped by
# the committed TEST-ONLY keyring; synthetic parties only), so the replay gate can open
# them without the store the tests ran on (tests/test_replay.py).
HISTORY_KEYS = "data_keys.jsonl"


async def _record_histories(client: Client, queue: str, test_name: str, engine: Engine) -> None:
    """`make histories`: keep every case workflow this test ran, as Temporal stores it."""
    import json

    from sqlmodel import Session, col, select

    from cases.history import export_json
    from models.tables import DataKey

    out = Path(RECORD_HISTORIES)
    os.makedirs(out, exist_ok=True)
    runs = [w async for w in client.list_workflows(f"TaskQueue = '{queue}'")]
    stem = test_name.removeprefix("test_").replace("[cached]", "")
    for n, wf in enumerate(sorted(runs, key=lambda w: w.start_time), start=1):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        name = stem if len(runs) == 1 else f"{stem}-{n}"
        with open(out / f"{name}.json", "w", encoding="utf-8") as f:  # noqa: ASYNC230
            f.write(export_json(history) + "\n")
    keys_file = out / HISTORY_KEYS
    kept = (
        dict(json.loads(line) for line in keys_file.read_text("utf-8").splitlines())
        if keys_file.exists()
        else {}
    )
    with Session(engine) as s:
        rows = s.exec(select(DataKey).where(col(DataKey.subject).in_({w.id for w in runs})))
        kept |= {r.subject: r.wrapped for r in rows if r.wrapped}
    lines = [json.dumps([subject, wrapped]) for subject, wrapped in sorted(kept.items())]
    keys_file.write_text("".join(f"{line}\n" for line in lines), "utf-8")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


# --- the API, served for real --------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def api_queue(
    client: Client, engine: Engine, activity_executor: ThreadPoolExecutor
) -> AsyncIterator[str]:
    queue = f"api-{uuid.uuid4().hex[:12]}"
    async with build_worker(client, engine, TEST_DATA_KEYS, queue, activity_executor):
        yield queue


@pytest_asyncio.fixture(scope="module")
async def api_url(
    client: Client, engine: Engine, db_url: str, api_queue: str
) -> AsyncIterator[str]:
    """The real app under uvicorn on a free loopback port: real HTTP requests."""
    port = free_loopback_port()
    settings = Settings(
        database_url=db_url,
        task_queue=api_queue,
        api_port=port,
        sdk_metrics_bind=SDK_METRICS_BIND,
        keys=SecretStr(TEST_KEYS),
    )
    async with served(create_app(settings, client), port) as url:
        yield url


@asynccontextmanager
async def served(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """An ASGI app under uvicorn on a loopback port, in the test loop; yields its URL."""
    port = port or free_loopback_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


ROLES = {  # name → (role, the mediator a mediator principal names)
    "officer": (Role.officer, None),
    "supervisor": (Role.supervisor, None),
    "admin": (Role.admin, None),
    "mediator_qijian": (Role.mediator, "fe-sanmiao-qijian-m1"),
    "mediator_union": (Role.mediator, "union-labor-m1"),
    "mediator_wf": (Role.mediator, "wf-marriage-m1"),
}
# Every member of the organisations the tests route to: routing spreads cases over them by
# load, and a mediator acts only on cases assigned to them (DESIGN §7).
ASSIGNEES = {
    f"{org}-m{n}": org
    for org, members in (("fe-sanmiao-qijian", 2), ("union-labor", 3), ("wf-marriage", 3))
    for n in range(1, members + 1)
}


@pytest.fixture(scope="module")
def tokens(engine: Engine) -> dict[str, str]:
    """A bearer token for each kind of principal of DESIGN §7, and one for each mediator
    of ASSIGNEES under the mediator's id (tests/api_helpers.py `assignee`)."""
    named = {
        name: create_principal(engine, role, f"test {name}", mediator_id=mediator)[1]
        for name, (role, mediator) in ROLES.items()
    }
    return named | {
        mediator: create_principal(engine, Role.mediator, f"test {mediator}", org, mediator)[1]
        for mediator, org in ASSIGNEES.items()
    }


@pytest_asyncio.fixture
async def http(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as c:
        yield c


# --- every log record of the session, for the personal-data scan ---------------------------


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The message, its arguments, its extra fields and any traceback: all of it.
        text = f"{record.name} {record.getMessage()} {record.__dict__!r}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture(scope="session", autouse=True)
def log_lines() -> Iterator[list[str]]:
    """Every log record at INFO and above (the production level) from the whole session."""
    root = logging.getLogger()
    keep = _Keep()
    keep.addFilter(RedactingFilter())  # as production's handler (core.logging) does
    saved = root.level
    root.addHandler(keep)
    root.setLevel(min(saved, logging.INFO) if saved else logging.INFO)
    yield keep.lines
    root.removeHandler(keep)
    root.setLevel(saved)
