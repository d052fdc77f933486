"""The replay gate. Every committed history (tests/histories/, re-recorded with
`make histories`) must replay against the current workflow code with the production data
converter; otherwise a change would break the cases already running."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from functools import cache

from sqlmodel import Session, SQLModel
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.db import make_engine
from core.envelope import DataKeys
from core.temporal import data_converter
from models.case import CaseInput, CaseState, Step
from models.tables import DataKey, utcnow
from tests.conftest import HISTORY_KEYS, TEST_KEYRING, repo_root
from worker import WORKFLOWS
from workflows.case import MediationCaseWorkflow

HISTORIES = repo_root() / "tests" / "histories"


def committed_histories() -> list[WorkflowHistory]:
    return [
        WorkflowHistory.from_json(f"{path.parent.name}/{path.stem}", path.read_text("utf-8"))
        for path in sorted(HISTORIES.glob("*/*.json"))
    ]


@cache
def history_data_keys() -> DataKeys:
    """The committed sets' data keys (tests/conftest.py HISTORY_KEYS) in a store of their
    own: histories recorded since each case has a key of its own open with them; older ones
    were sealed with the keyring itself."""
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='history-keys-')}/keys.db")
    SQLModel.metadata.create_all(engine, tables=[DataKey.__table__])  # type: ignore[list-item]
    with Session(engine) as s:
        for path in sorted(HISTORIES.glob(f"*/{HISTORY_KEYS}")):
            for line in path.read_text("utf-8").splitlines():
                subject, wrapped = json.loads(line)
                s.merge(DataKey(subject=subject, wrapped=wrapped, created_at=utcnow()))
        s.commit()
    return DataKeys(TEST_KEYRING, engine)


async def replay_failures(
    workflows: list[type], histories: list[WorkflowHistory], keys: DataKeys | None = None
) -> list[str]:
    """`keys`: where the cases' data keys are (default: the committed sets')."""

    async def each() -> AsyncIterator[WorkflowHistory]:
        for h in histories:
            yield h

    converter = data_converter(keys or history_data_keys())
    replayer = Replayer(workflows=workflows, data_converter=converter)
    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    return [f"{wid}: {err}" for wid, err in results.replay_failures.items()]


async def test_every_committed_history_replays_on_the_current_code() -> None:
    histories = committed_histories()
    # One history per workflow scenario at least; a gate with nothing to replay
    # would pass for any change.
    assert len(histories) >= 12, "run `make histories` and commit tests/histories/"
    assert await replay_failures(WORKFLOWS, histories) == []


async def screen(wf: MediationCaseWorkflow) -> None:
    """The screening and its step, as the case workflow takes them."""
    await wf.ledger.record(Step.risk_screening, detail=wf._screened(await wf._assess()))


# Unsandboxed: the sandbox would re-import this test module by name.
@workflow.defn(name="MediationCaseWorkflow", sandboxed=False)
class ScreensBeforeRecording(MediationCaseWorkflow):
    """The case workflow with two steps swapped: risk screening before the intake record."""

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        return await super().run(inp)

    async def _register(self, inp: CaseInput) -> None:
        if self.side_by_side:  # as the case does since that baseline, swapped
            await asyncio.gather(screen(self), self.ledger.record(Step.intake, intake=inp))
            return
        await screen(self)
        await self.ledger.record(Step.intake, inp.registered_by, intake=inp)


@workflow.defn(name="MediationCaseWorkflow", sandboxed=False)
class RecordsAnotherStepFirst(MediationCaseWorkflow):
    """The intake recorded under the screening step's type: the same result type (bool), so
    only the activity type tells them apart."""

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        return await super().run(inp)

    async def _register(self, inp: CaseInput) -> None:
        recorded = self.ledger.record(Step.risk_screening, inp.registered_by, intake=inp)
        if self.side_by_side:  # as the case does since that baseline
            await asyncio.gather(recorded, screen(self))
            return
        await recorded
        await screen(self)


def starts_a_case(h: WorkflowHistory) -> bool:
    """A case's first run (not one that continued another as new: those begin later on)."""
    started = h.events[0].workflow_execution_started_event_attributes
    return not started.continued_execution_run_id


async def test_the_gate_fails_when_two_steps_are_swapped() -> None:
    histories = [h for h in committed_histories() if starts_a_case(h)]
    sets = {h.workflow_id.split("/")[0] for h in histories}
    assert any(s.endswith("local-steps") for s in sets), "no history with local activities"
    # With local activities the swapped results may fail to decode before the activity
    # types are compared: either way, every case fails to replay.
    failures = await replay_failures([ScreensBeforeRecording], histories)
    assert len(failures) == len(histories)  # every case starts with those two steps
    failures = await replay_failures([RecordsAnotherStepFirst], histories)
    assert len(failures) == len(histories)
    assert all("nondeterminism" in f.lower() for f in failures), failures[:2]
    assert all("persist_intake" in f for f in failures), failures[:2]
