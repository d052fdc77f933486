"""`make rehearse`: the cluster topology of deploy/ as processes on this one machine.

The dev server stands in for the Temporal cluster; the case store is a throwaway PostgreSQL
database; 2 workers and 2 API processes run on their own ports. A mixed load of cases goes
through both APIs (as through a load balancer: a request that finds its API dead goes to the
other); mid-run one worker and one API are SIGKILLed and restarted. Every case must reach
its expected outcome, with a gap-free, duplicate-free timeline.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, text
from sqlmodel import col, select

from core.crypto import Keyring
from core.db import make_engine, session_scope
from core.temporal import free_loopback_port
from models.enums import Role
from models.tables import Case, CaseEvent
from ops.children import Child
from ops.devserver import start_dev_command
from ops.pgtemp import throwaway_postgres
from ops.rehearse_load import POLICY, SCENARIOS, Apis, drive_case, wait_ready
from store.migrate import upgrade
from store.principals import create_principal
from store.seed import ORGS, mediator_id, seed


@dataclass
class Result:
    cases: int
    seconds: float
    outcomes: Counter[str]
    wrong: list[str]
    timeline_faults: list[str]
    failovers: int
    events: int
    log_dir: Path
    kills: list[str] = field(default_factory=list)
    usage: dict[str, tuple[float, float]] = field(default_factory=dict)
    store_bytes: int = 0  # case-store growth over the run (PostgreSQL)
    temporal_bytes: int = 0  # the dev server's database growth (history and visibility)

    @property
    def ok(self) -> bool:
        return (
            not self.wrong
            and not self.timeline_faults
            and sum(self.outcomes.values()) == (self.cases)
        )

    def report(self) -> str:
        lines = [
            f"cases: {self.cases} through 2 APIs and 2 workers; killed and restarted: "
            f"{', '.join(self.kills) or 'nothing'}",
            f"all closed in {self.seconds:.1f} s: {self.cases / self.seconds:.2f} cases/s "
            f"({self.events} timeline rows, {self.failovers} requests failed over)",
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())),
            f"wrong outcomes: {len(self.wrong)}; timeline faults: {len(self.timeline_faults)}",
            f"case store: {self.store_bytes / self.cases / 1024:.1f} KiB per case; "
            f"Temporal: {self.temporal_bytes / self.cases / 1024:.1f} KiB per case",
            "per process (CPU s, peak RSS MB; the killed ones since their restart): "
            + ", ".join(f"{k} {c:.1f}/{m:.0f}" for k, (c, m) in self.usage.items()),
            f"logs: {self.log_dir}",
        ]
        lines += [f"  WRONG {w}" for w in self.wrong[:10]]
        lines += [f"  FAULT {f}" for f in self.timeline_faults[:10]]
        lines.append("REHEARSAL PASSED" if self.ok else "REHEARSAL FAILED")
        return "\n".join(lines)


def run_rehearsal(cases: int, admin_url: str, concurrency: int = 16) -> Result:
    work = Path(tempfile.mkdtemp(prefix="mediation-rehearsal-"))
    with throwaway_postgres(admin_url, "mediation_rehearsal") as db_url:
        upgrade(db_url)
        engine = make_engine(db_url)
        seed(engine)
        tokens = {
            "officer": create_principal(engine, Role.officer, "rehearsal officer")[1],
            "supervisor": create_principal(engine, Role.supervisor, "rehearsal supervisor")[1],
            # A mediator principal names its mediator, and acts on their own cases only.
            **{
                m: create_principal(engine, Role.mediator, f"rehearsal {m}", org.id, m)[1]
                for org in ORGS
                for m in (mediator_id(org.id, i) for i in range(len(org.mediators)))
            },
        }
        tokens |= {org.id: tokens[mediator_id(org.id, 0)] for org in ORGS}
        (work / "policy.toml").write_text(POLICY, encoding="utf-8")
        temporal_port = free_loopback_port()
        api_ports = [free_loopback_port(), free_loopback_port()]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")},
            "MEDIATION_DATA_DIR": str(work),
            "MEDIATION_DATABASE_URL": db_url,
            "MEDIATION_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
            "MEDIATION_KEYS": Keyring.generate_line("rehearsal1"),
            "MEDIATION_POLICY_FILE": str(work / "policy.toml"),
            "MEDIATION_LOG_FORMAT": "json",
        }
        me = [sys.executable, "-m", "ops"]
        everyone: list[Child] = []
        try:
            dev_server = start_dev_command(
                work / "temporal.db", temporal_port, free_loopback_port()
            )
            everyone.append(Child("temporal", dev_server, work / "temporal.log", env))
            workers = [
                Child(f"worker-{i}", [*me, "worker"], work / f"worker-{i}.log", env) for i in (1, 2)
            ]
            apis = [
                Child(
                    f"api-{i}",
                    [*me, "api"],
                    work / f"api-{i}.log",
                    {**env, "MEDIATION_API_PORT": str(port)},
                )
                for i, port in zip((1, 2), api_ports, strict=True)
            ]
            everyone += [*workers, *apis]
            urls = [f"http://127.0.0.1:{p}" for p in api_ports]
            result = asyncio.run(
                _load(engine, tokens, urls, workers[0], apis[0], cases, concurrency, work)
            )
            result.usage = {c.name: c.usage() for c in everyone}
        finally:
            for child in reversed(everyone):
                child.stop()
            engine.dispose()
    return result


async def _load(
    engine: Any,
    tokens: dict[str, str],
    urls: list[str],
    victim_worker: Child,
    victim_api: Child,
    cases: int,
    concurrency: int,
    work: Path,
) -> Result:
    await wait_ready(urls)
    store_before, temporal_before = _database_bytes(engine), _files_bytes(work, "temporal.db*")
    balancer = Apis(urls)
    names = list(SCENARIOS)
    plan = [names[i % len(names)] for i in range(cases)]
    gate = asyncio.Semaphore(concurrency)
    done = 0
    midway = asyncio.Event()
    kills: list[str] = []

    async def one(i: int, scenario: str) -> tuple[str, str]:
        nonlocal done
        async with gate:
            cid = await drive_case(balancer, tokens, scenario, i)
        done += 1
        if done >= cases * 0.4:
            midway.set()
        return cid, scenario

    async def chaos() -> None:
        await midway.wait()
        for victim in (victim_worker, victim_api):
            victim.kill()
            kills.append(victim.name)
        await asyncio.sleep(2)
        victim_worker.start()
        victim_api.start()

    started = time.monotonic()
    chaos_task = asyncio.create_task(chaos())
    driven = await asyncio.gather(*(one(i, s) for i, s in enumerate(plan)))
    await chaos_task
    expected = {cid: SCENARIOS[s][4] for cid, s in driven}
    await _all_closed(engine, set(expected))
    seconds = time.monotonic() - started
    await balancer.http.aclose()
    result = _verify(engine, expected, seconds, balancer.failovers, kills, work)
    result.store_bytes = _database_bytes(engine) - store_before
    result.temporal_bytes = _files_bytes(work, "temporal.db*") - temporal_before
    return result


def _files_bytes(where: Path, pattern: str) -> int:
    return sum(f.stat().st_size for f in where.glob(pattern) if f.is_file())


def _database_bytes(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())


async def _all_closed(engine: Any, ids: set[str], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with session_scope(engine) as s:
            closed = s.exec(
                select(func.count()).where(col(Case.id).in_(ids), Case.status == "closed")
            ).one()
        if closed == len(ids):
            return
        await asyncio.sleep(0.5)


def _verify(
    engine: Any,
    expected: dict[str, str],
    seconds: float,
    failovers: int,
    kills: list[str],
    work: Path,
) -> Result:
    with session_scope(engine) as s:
        rows = {c.id: c for c in s.exec(select(Case).where(col(Case.id).in_(expected)))}
        events = s.exec(
            select(CaseEvent.case_id, CaseEvent.seq).where(col(CaseEvent.case_id).in_(expected))
        ).all()
    seqs: dict[str, list[int]] = {}
    for cid, seq in events:
        seqs.setdefault(cid, []).append(seq)
    outcomes: Counter[str] = Counter()
    wrong, faults = [], []
    for cid, want in expected.items():
        row = rows.get(cid)
        got = row.outcome if row is not None and row.status == "closed" else "not closed"
        outcomes[str(got)] += 1
        if got != want:
            wrong.append(f"{cid}: {got}, expected {want}")
        have = sorted(seqs.get(cid, []))
        if row is None or have != list(range(1, row.last_seq + 1)):
            faults.append(f"{cid}: seqs {have} for last_seq {row.last_seq if row else '-'}")
    return Result(
        len(expected), seconds, outcomes, wrong, faults, failovers, len(events), work, kills
    )


def main(cases: int, admin_url: str) -> int:
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    result = run_rehearsal(cases, admin_url)
    print(result.report())
    return 0 if result.ok else 1
