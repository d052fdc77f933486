"""Issue 5: the replay gate. Every committed history (tests/histories/, re-recorded with
`make histories`) must replay against the current workflow code with the production data
converter; otherwise a change would break the cases already running."""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.temporal import data_converter
from tests.conftest import TEST_KEYRING, repo_root
from worker import WORKFLOWS

HISTORIES = repo_root() / "tests" / "histories"


def committed_histories() -> list[WorkflowHistory]:
    return [
        WorkflowHistory.from_json(f"{path.parent.name}/{path.stem}", path.read_text("utf-8"))
        for path in sorted(HISTORIES.glob("*/*.json"))
    ]


async def replay_failures(workflows: list[type], histories: list[WorkflowHistory]) -> list[str]:
    async def each() -> AsyncIterator[WorkflowHistory]:
        for h in histories:
            yield h

    replayer = Replayer(workflows=workflows, data_converter=data_converter(TEST_KEYRING))
    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    return [f"{wid}: {err}" for wid, err in results.replay_failures.items()]


async def test_every_committed_history_replays_on_the_current_code() -> None:
    histories = committed_histories()
    # One history per scenario of the workflow issue at least; a gate with nothing to replay
    # would pass for any change.
    assert len(histories) >= 12, "run `make histories` and commit tests/histories/"
    assert await replay_failures(WORKFLOWS, histories) == []


def _swapped_copy(tmp_path: Path) -> type:
    """workflows/case.py with two steps swapped: risk screening before the intake record."""
    source = (repo_root() / "workflows" / "case.py").read_text(encoding="utf-8")
    intake = "            await self._record(Step.intake, inp.registered_by, intake=inp)\n"
    screen = "            await self._screen_risk()\n"
    assert source.count(intake + screen) == 1, "the steps this test swaps have moved"
    (tmp_path / "swapped_case_workflow.py").write_text(
        source.replace(intake + screen, screen + intake), encoding="utf-8"
    )
    sys.path.insert(0, str(tmp_path))  # the sandbox re-imports the module by name
    try:
        module = importlib.import_module("swapped_case_workflow")
    finally:
        sys.path.remove(str(tmp_path))
    cls: type = module.MediationCaseWorkflow
    return cls


async def test_the_gate_fails_when_two_steps_are_swapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    swapped = _swapped_copy(tmp_path)
    histories = committed_histories()
    failures = await replay_failures([swapped], histories)
    assert len(failures) == len(histories)  # every case starts with those two steps
    assert all("Nondeterminism" in f or "nondeterminism" in f for f in failures), failures[:2]
