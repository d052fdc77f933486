"""`python -m bench.steps [N]`: the CPU of the writes every case makes, on a throwaway SQLite
store. A step (`CaseStore.record_step`, the activity behind every `persist_<step>`): N
cases' intake steps (the case, its parties and its data key created), then four later
steps each. An audit row (`api.audit`, one per request): 5 N of them. No Temporal, no
HTTP: what the store's code costs, apart from everything around it."""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Engine

from api.audit import write_row as write_audit_row
from cases.intake import new_case_input
from core.crypto import Keyring
from core.db import make_engine
from core.envelope import DataKeys
from models.case import SYSTEM, IntakeRequest, PartyIn, Step, StepRecord
from models.enums import Channel, DisputeType, PartyRole
from models.policy import Policy
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


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        seed(engine)
        keys = DataKeys(Keyring.parse(Keyring.generate_line("k1")), engine)
        store = CaseStore(engine, keys)
        cases = []
        for _ in range(n):
            case = new_case_input(_intake(), Policy(), idempotency_key=str(uuid.uuid4()))
            cases.append((case, initial_state(case, f"case-{case.case_id}", datetime.now(UTC))))

        def write(step: Step, seq: int, with_intake: bool) -> float:
            started = time.process_time()
            for case, state in cases:
                state.seq = seq
                record = StepRecord(
                    step=step,
                    seq=seq,
                    occurred_at=datetime.now(UTC),
                    actor=SYSTEM,
                    detail={"seq": seq},
                    state=state,
                    intake=case if with_intake else None,
                )
                store.record_step(record)
            return (time.process_time() - started) * 1000 / n

        first = write(Step.intake, 1, True)
        later = sum(write(Step.session, seq, False) for seq in range(2, 6)) / 4
        audit = _audit_rows(engine, [case.case_id for case, _ in cases] * 5)
        engine.dispose()
    print(
        f"{n} cases: intake step {first:.2f} ms of CPU each, a later step {later:.2f} ms, "
        f"an audit row {audit:.2f} ms"
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
