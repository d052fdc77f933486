"""`python -m bench.steps [N]`: the CPU of the writes every case makes, on a throwaway SQLite
store. A step (`CaseStore.record_step`, the activity behind every `persist_<step>`): N
cases' intake steps (the case, its parties and its data key created), then four later
steps each. An audit row (`api.audit`, one per request): 5 N of them. The outbox
(`notify.outbox.Dispatcher`, in the worker): a notice to the parties and one to the duty
supervisor for each case, delivered to a gateway that takes them all. No Temporal, no
HTTP: what the store's code costs, apart from everything around it.

Then the later steps' wall time (p50, p99, how many took over 5 ms), written as the worker
and the API write (the write-ahead log checkpointed in the background,
`core.db.checkpointing`) and as with SQLite's default (the commit that takes the log past
1,000 pages checkpoints it)."""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, event

from api.audit import write_row as write_audit_row
from bench.stats import percentile
from cases.intake import new_case_input
from core.crypto import Keyring
from core.db import make_engine
from core.envelope import DataKeys
from models.case import (
    SYSTEM,
    CaseInput,
    CaseState,
    IntakeRequest,
    NotificationDraft,
    PartyIn,
    Step,
    StepRecord,
)
from models.enums import Channel, DisputeType, NotificationKind, PartyRole
from models.policy import Policy
from notify.outbox import Dispatcher
from store.migrate import upgrade
from store.seed import seed
from store.steps import CaseStore
from workflows.steps import initial_state

PARTIES = [
    PartyIn(role=PartyRole.applicant, name="甲", phone="13800000001"),
    PartyIn(role=PartyRole.respondent, name="乙", phone="13800000002"),
]


def _intake() -> IntakeRequest:
    return IntakeRequest(
        dispute_type=DisputeType.family,
        channel=Channel.walk_in,
        summary="兄弟二人因老宅分割发生争执",
        town="三庙镇",
        community="七间社区",
        parties=PARTIES,
    )


@contextmanager
def _store(autocheckpoint: int | None = None) -> Iterator[tuple[Engine, CaseStore]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        if autocheckpoint is not None:

            @event.listens_for(engine, "connect")
            def _default(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")

        seed(engine)
        keys = DataKeys(Keyring.parse(Keyring.generate_line("k1")), engine)
        yield engine, CaseStore(engine, keys)
        engine.dispose()


class _Gateway:
    """Takes every message."""

    async def send(self, message: dict[str, Any]) -> None:
        return None


async def _deliver_all(dispatcher: Dispatcher) -> int:
    sent = 0
    while delivered := await dispatcher.run_once():
        sent += delivered
    return sent


def _outbox(store: CaseStore, cases: list[tuple[CaseInput, CaseState]]) -> float:
    """A step per case with a notice to the parties (one message each) and one to the duty
    supervisor, then the outbox delivered: ms of CPU per notification."""
    for _, state in cases:
        state.seq += 1
        notices = [
            NotificationDraft(kind=NotificationKind.closure, audience="parties"),
            NotificationDraft(kind=NotificationKind.supervisor_alert, audience="duty_supervisor"),
        ]
        store.record_step(
            StepRecord(
                step=Step.closure,
                seq=state.seq,
                occurred_at=datetime.now(UTC),
                actor=SYSTEM,
                state=state,
                notifications=notices,
            )
        )
    dispatcher = Dispatcher(store.engine, store.keys, _Gateway())
    started = time.process_time()
    sent = asyncio.run(_deliver_all(dispatcher))
    assert sent == 2 * len(cases), f"{sent} of {2 * len(cases)} notifications delivered"
    return (time.process_time() - started) * 1000 / sent


def _cases(n: int) -> list[tuple[CaseInput, CaseState]]:
    cases = []
    for _ in range(n):
        case = new_case_input(_intake(), Policy(), idempotency_key=str(uuid.uuid4()))
        cases.append((case, initial_state(case, f"case-{case.case_id}", datetime.now(UTC))))
    return cases


def _steps(
    store: CaseStore, cases: list[tuple[CaseInput, CaseState]]
) -> Iterator[tuple[float, float]]:
    """An intake step each, then four later steps each: (CPU, wall) of each write, ms."""
    for seq in range(1, 6):
        for case, state in cases:
            state.seq = seq
            record = StepRecord(
                step=Step.intake if seq == 1 else Step.session,
                seq=seq,
                occurred_at=datetime.now(UTC),
                actor=SYSTEM,
                detail={"seq": seq},
                state=state,
                intake=case if seq == 1 else None,
            )
            cpu, wall = time.process_time(), time.perf_counter()
            store.record_step(record)
            yield (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def main(n: int) -> None:
    with _store() as (engine, store):
        cases = _cases(n)
        timed = list(_steps(store, cases))
        audit = _audit_rows(engine, [case.case_id for case, _ in cases] * 5)
        outbox = _outbox(store, cases)
    first = statistics.fmean(cpu for cpu, _ in timed[:n])
    later = [wall for _, wall in timed[n:]]
    print(
        f"{n} cases: intake step {first:.2f} ms of CPU each, a later step "
        f"{statistics.fmean(cpu for cpu, _ in timed[n:]):.2f} ms, an audit row {audit:.2f} ms, "
        f"a notification through the outbox {outbox:.2f} ms"
    )
    with _store(autocheckpoint=1000) as (_, store):
        default = [wall for _, wall in list(_steps(store, _cases(n)))[n:]]
    print(f"a later step's wall time: {_tail(later)} with the log checkpointed apart;")
    print(f"{_tail(default)} with SQLite's default (a commit checkpoints it every 1,000 pages)")


def _tail(walls: list[float]) -> str:
    over = sum(w > 5 for w in walls)
    return (
        f"p50 {percentile(walls, 50):.1f} ms, p99 {percentile(walls, 99):.1f} ms, "
        f"{over} of {len(walls)} over 5 ms"
    )


def _audit_rows(engine: Engine, case_ids: list[str]) -> float:
    """A mediator's accept on each case, as the API's audit middleware writes it."""
    app = SimpleNamespace(state=SimpleNamespace(runtime=SimpleNamespace(engine=engine)))
    route = SimpleNamespace(path="/api/v1/cases/{case_id}/accept")
    started = time.process_time()
    for case_id in case_ids:
        scope = {
            "app": app,
            "route": route,
            "method": "POST",
            "path": f"/api/v1/cases/{case_id}/accept",
            "path_params": {"case_id": case_id},
            "state": {},
        }
        write_audit_row(scope, 200)
    return (time.process_time() - started) * 1000 / len(case_ids)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
