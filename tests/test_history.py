"""A case's story from its workflow history — over HTTP, in the CLI, exported by the
real `temporal` CLI — and finding cases by search attribute."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

import httpx
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowHistory

from cases.history import HistoryEntry, steps_in_order
from cases.intake import workflow_id_for
from models.commands import Action, ConsentBody, ReasonBody
from models.enums import CaseStatus, DisputeType
from models.policy import Policy
from ops.devserver import temporal_binary
from tests.api_helpers import auth, resolve_case
from tests.conftest import TEST_DATA_KEYS, TEST_KEYS
from tests.helpers import (
    accept_assigned,
    act,
    case_id,
    events,
    eventually,
    intake,
    mediator_actor,
    open_case,
    run,
)
from tests.test_replay import replay_failures
from worker import WORKFLOWS


async def temporal_cli(client: Client, *args: str) -> str:
    """The real `temporal` CLI against the suite's dev server, JSON out."""
    target = client.service_client.config.target_host
    return await run(
        temporal_binary(),
        *args,
        "--output",
        "json",
        "--address",
        target,
        "--namespace",
        client.namespace,
    )


def cli_env(client: Client, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MEDIATION_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "MEDIATION_DATABASE_URL": db_url,
        "MEDIATION_LOG_LEVEL": "WARNING",
        "MEDIATION_KEYS": TEST_KEYS,
    }


def test_steps_written_side_by_side_are_told_in_the_order_they_were_numbered() -> None:
    """The visit and the closure it brings are written at once; history records them as
    their writes finish, the closure first as often as not (CI, PostgreSQL)."""
    at = datetime(2026, 12, 1, tzinfo=UTC)

    def entry(event_id: int, kind: str, seq: int | None = None) -> HistoryEntry:
        return HistoryEntry(event_id=event_id, at=at, kind=kind, what=kind, seq=seq)

    recorded = [
        entry(38, "command"),
        entry(40, "step", seq=9),
        entry(41, "step", seq=8),
        entry(43, "timer"),
        entry(50, "step", seq=10),
    ]
    told = [(e.kind, e.seq) for e in steps_in_order(recorded)]
    assert told == [("command", None), ("step", 8), ("step", 9), ("timer", None), ("step", 10)]


async def test_closed_case_history_tells_every_step_with_time_and_actor(
    http: httpx.AsyncClient,
    tokens: dict[str, str],
    engine: Engine,
    client: Client,
    db_url: str,
) -> None:
    cid = await resolve_case(http, tokens)
    r = await http.get(f"/api/v1/cases/{cid}/history", headers=auth(tokens["supervisor"]))
    assert r.status_code == 200, r.text
    entries = r.json()["entries"]
    steps = [e for e in entries if e["kind"] == "step"]
    rows = events(engine, cid)
    # Every transition, in order, with the timeline row's time and actor.
    assert [e["step"] for e in steps] == [row.kind for row in rows]
    assert [e["seq"] for e in steps] == [row.seq for row in rows]
    assert [e["actor_id"] for e in steps] == [row.actor_id for row in rows]
    for e, row in zip(steps, rows, strict=True):
        assert datetime.fromisoformat(e["at"]) == row.occurred_at
    whats = [e["what"] for e in entries]
    assert any(w.startswith("assigned to 七间社区五老工作室 (") for w in whats)
    assert any(w.startswith("accepted by") for w in whats)
    assert any(e["kind"] == "command" and e["actor_role"] == "mediator" for e in entries)
    assert whats[-1] == "workflow completed (outcome resolved)"
    # In the order history has them, but a run of steps in a row (a visit and the closure
    # it brings, written side by side) in the order they were numbered, whichever write
    # finished first (CI, SQLite, on 2f6af3b: the closure's marker was 53, the visit's 54).
    runs = groupby(entries, key=lambda e: e["kind"] == "step")
    in_runs = [i for _, run in runs for i in sorted(e["event_id"] for e in run)]
    assert in_runs == sorted(e["event_id"] for e in entries)
    # Each entry says what happened as a code too, for a reader in another language.
    assert all(e["code"] for e in entries)
    assert {e["action"] for e in entries if e["code"] == "command"} >= {"accept", "agreement"}
    assert all(e["fires_at"] for e in entries if e["code"] == "timer_set")
    assert (entries[0]["code"], entries[-1]["code"]) == ("started", "completed")

    # The CLI tells the same story.
    out = await run(
        sys.executable, "-m", "ops", "history", cid, "--json", env=cli_env(client, db_url)
    )
    cli = [json.loads(line) for line in out.splitlines()]
    assert [(e["what"], e["actor_id"]) for e in cli] == [
        (e["what"], e["actor_id"]) for e in entries
    ]
    table = await run(sys.executable, "-m", "ops", "history", cid, env=cli_env(client, db_url))
    assert "assigned to" in table and "case closed: resolved" in table

    # Raw decoded events are for supervisors; payloads appear decoded.
    officer_raw = await http.get(
        f"/api/v1/cases/{cid}/history?raw=true", headers=auth(tokens["officer"])
    )
    assert officer_raw.status_code == 403
    raw = await http.get(
        f"/api/v1/cases/{cid}/history?raw=true", headers=auth(tokens["supervisor"])
    )
    first = raw.json()["events"][0]
    started = first["workflowExecutionStartedEventAttributes"]["input"]["payloads"][0]
    assert started["case_id"] == cid
    # Out of scope is 404, as for every other read.
    hidden = await http.get(f"/api/v1/cases/{cid}/history", headers=auth(tokens["mediator_wf"]))
    assert hidden.status_code == 404


async def test_history_from_the_real_temporal_cli_replays(
    client: Client, task_queue: str, fast_policy: Policy, tmp_path: Path, db_url: str
) -> None:
    h = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(h)
    await act(
        h, Action.terminate, ReasonBody(reason="测试终止"), mediator_actor("fe-sanmiao-qijian")
    )
    await eventually(h, lambda s: s.status is CaseStatus.closed)
    shown = await temporal_cli(client, "workflow", "show", "--workflow-id", h.id)
    history = WorkflowHistory.from_json(h.id, shown)
    assert len(history.events) > 10
    assert await replay_failures(WORKFLOWS, [history], TEST_DATA_KEYS) == []  # this store's keys
    # `mediation export-history` writes the same events.
    out = tmp_path / "h.json"
    await run(
        sys.executable,
        "-m",
        "ops",
        "export-history",
        case_id(h),
        "-o",
        str(out),
        env=cli_env(client, db_url),
    )
    exported = WorkflowHistory.from_json(h.id, out.read_text(encoding="utf-8"))
    assert [e.event_id for e in exported.events] == [e.event_id for e in history.events]


async def test_search_attributes_find_in_mediation_labor_cases(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    """`temporal workflow list --query ...` lists exactly the cases it should."""
    labor = [
        await open_case(
            client, task_queue, intake(DisputeType.labor, "南津街街道", None), fast_policy
        )
        for _ in range(3)
    ]
    family = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(family)
    union = mediator_actor("union-labor")
    for h in labor[:2]:
        await accept_assigned(h)
    await eventually(labor[2], lambda s: s.status is CaseStatus.awaiting_acceptance)
    await act(
        labor[1], Action.extend, ConsentBody(both_parties_consent=True, reason="双方同意"), union
    )
    ours = {h.id for h in [*labor, family]}
    expected = {labor[0].id, labor[1].id}

    query = "CaseStatus='in_mediation' AND DisputeType='labor'"
    listed: set[str] = set()
    for _ in range(50):  # visibility is eventually consistent
        out = await temporal_cli(client, "workflow", "list", "--query", query)
        rows = (
            json.loads(out)
            if out.strip().startswith("[")
            else [json.loads(line) for line in out.splitlines() if line.strip()]
        )
        listed = {r["execution"]["workflowId"] for r in rows}
        if listed & ours == expected:
            break
        await asyncio.sleep(0.2)
    assert listed & ours == expected
    assert workflow_id_for(case_id(family)) not in listed
    for h in [*labor, family]:
        await h.terminate("test over")


async def test_intake_publishes_the_search_attributes_once_with_the_routed_case(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    """Intake takes five steps in one workflow task; an operator's history shows the case's
    search attributes upserted once (not at every step), saying the case as routed."""
    from temporalio.api.enums.v1 import EventType

    from models import search_attributes as sa

    h = await open_case(client, task_queue, intake(), fast_policy)
    s = await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    assert s.assignment is not None
    history = await h.fetch_history()
    upserted = [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    # The SDK's own upsert that comes with a patch marker names TemporalChangeVersion only.
    ours = [names for names in upserted if names != {"TemporalChangeVersion"}]
    assert ours == [{key.name for key in sa.ALL}]
    assert len(upserted) - len(ours) == 1  # one patch marker: the baseline (patches.py)
    found = (await h.describe()).typed_search_attributes
    assert found.get(sa.CASE_STATUS) == CaseStatus.awaiting_acceptance.value
    assert found.get(sa.ORG_ID) == s.assignment.org_id
    assert found.get(sa.RISK_LEVEL) == s.risk_level.value
    await h.terminate("test over")
