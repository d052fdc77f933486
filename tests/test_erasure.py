"""Erasure (DESIGN §9, issue 15): after a closed case is erased, nothing anywhere says who
its parties were or what they said; statistics still count it; other cases are untouched.
And the retention schedule erases exactly the cases whose retention ended."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from datetime import timedelta
from typing import Any

import httpx
import pytest
from docx import Document
from sqlalchemy import Engine, text
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowExecutionStatus

from cases.history import export_json, summarise
from core.envelope import Erased
from models.commands import Action, ReasonBody
from models.enums import CaseStatus
from models.policy import Policy
from models.tables import AuditLog
from store.sealing import opened_parties
from tests.api_helpers import auth, command, in_mediation
from tests.conftest import TEST_DATA_KEYS
from tests.helpers import (
    APPLICANT,
    RESPONDENT,
    accept_assigned,
    act,
    case_id,
    eventually,
    intake,
    open_case,
    routed_at,
    run,
    stored,
)
from tests.test_history import cli_env
from worker import ensure_retention_schedule

SESSION_NOTE = f"{APPLICANT.name}称{RESPONDENT.name}拖欠赡养费"
SECRETS = [
    s for p in (APPLICANT, RESPONDENT) for s in (p.name, p.phone, p.id_number, p.address) if s
] + ["拖欠赡养费"]

TABLES = ("cases", "parties", "case_events", "notifications", "idempotency_keys", "audit_log")


def store_text(engine: Engine, cid: str) -> str:
    """Every row of every table that holds something of the case, as text."""
    out = []
    with engine.connect() as c:
        for table in TABLES:
            column = "id" if table == "cases" else "case_id"
            rows = c.execute(text(f"SELECT * FROM {table} WHERE {column} = :c"), {"c": cid})
            out += [json.dumps([str(v) for v in r], ensure_ascii=False) for r in rows]
    return "\n".join(out)


def leaks(blob: str) -> list[str]:
    return [s for s in SECRETS if s in blob]


async def finished(client: Client, cid: str) -> None:
    handle = client.get_workflow_handle(f"case-{cid}")
    for _ in range(100):
        if (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the case's workflow did not finish")


async def documents_text(http: httpx.AsyncClient, token: str, cid: str) -> str:
    listed = await http.get(f"/api/v1/cases/{cid}/documents", headers=auth(token))
    assert listed.status_code == 200, listed.text
    texts = []
    for doc in listed.json():
        r = await http.get(doc["href"], headers=auth(token))
        assert r.status_code == 200, r.text
        texts += [p.text for p in Document(io.BytesIO(r.content)).paragraphs]
    return "\n".join(texts)


async def closed_case(http: httpx.AsyncClient, tokens: dict[str, str]) -> str:
    cid, mediator = await in_mediation(http, tokens)
    session = {
        "held_at": "2026-11-30T09:00:00+08:00",
        "summary": SESSION_NOTE,
        "attendees": [APPLICANT.name],
    }
    r = await command(http, mediator, cid, "sessions", session)
    assert r.status_code == 200, r.text
    r = await command(http, mediator, cid, "terminate", {"reason": f"{RESPONDENT.name}拒绝调解"})
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    return cid


async def test_an_erased_case_leaves_nothing_readable_and_still_counts(
    http: httpx.AsyncClient,
    tokens: dict[str, str],
    engine: Engine,
    client: Client,
    log_lines: list[str],
) -> None:
    first_log = len(log_lines)
    cid = await closed_case(http, tokens)
    other = await closed_case(http, tokens)
    await finished(client, cid)
    assert routed_at(engine, cid) == []  # its closing step let go of them
    with engine.begin() as c:  # as a case closed before this release still holds them
        c.execute(
            text(
                "INSERT INTO route_decisions (case_id, seq, decision, created_at) "
                "VALUES (:c, 2, '{}', CURRENT_TIMESTAMP)"
            ),
            {"c": cid},
        )
    assert routed_at(engine, cid) == [2]
    sup = tokens["supervisor"]
    assert leaks(await documents_text(http, sup, cid))  # the documents did name them
    stats_before = (await http.get("/api/v1/stats", headers=auth(sup))).json()

    body = {"reason": "data_subject_request"}
    r = await http.post(f"/api/v1/cases/{cid}/erase", json=body, headers=auth(tokens["officer"]))
    assert r.status_code == 403
    r = await http.post(f"/api/v1/cases/{cid}/erase", json={"reason": "because"}, headers=auth(sup))
    assert r.status_code == 422
    r = await http.post(f"/api/v1/cases/{cid}/erase", json=body, headers=auth(sup))
    assert r.status_code == 200 and r.json()["already_erased"] is False, r.text
    again = await http.post(f"/api/v1/cases/{cid}/erase", json=body, headers=auth(sup))
    assert again.json()["already_erased"] is True

    # The store, through the API and row by row.
    case = (await http.get(f"/api/v1/cases/{cid}", headers=auth(sup))).json()
    assert case["status"] == "closed" and case["outcome"] == "terminated"
    assert {p["name"] for p in case["parties"]} == {"[erased]"}
    timeline = (await http.get(f"/api/v1/cases/{cid}/timeline", headers=auth(sup))).json()
    screening = next(e for e in timeline if e["kind"] == "risk_screening")
    assert screening["detail"]["matches"] == "[erased]"  # the screen's phrases: summary words
    assert screening["detail"]["reasons"] == []  # its category codes stay, for statistics
    assert timeline[-1]["kind"] == "erased"
    assert timeline[-1]["detail"] == {"basis": "data_subject_request"}
    api_text = json.dumps([case, timeline], ensure_ascii=False)
    assert not leaks(api_text), leaks(api_text)
    assert not leaks(store_text(engine, cid))
    assert routed_at(engine, cid) == []
    assert not leaks(await documents_text(http, sup, cid))

    # The raw history: the codec can no longer open it, and it holds nothing in clear.
    r = await http.get(f"/api/v1/cases/{cid}/history?raw=true", headers=auth(sup))
    assert r.status_code == 410 and not leaks(r.text)
    runs = client.get_workflow_handle(f"case-{cid}")
    exported = export_json(await runs.fetch_history())  # `mediation export-history`
    assert not leaks(exported)
    with pytest.raises(Erased):
        await summarise(await runs.fetch_history(), client.data_converter)

    # The logs of the whole test, and statistics.
    assert not leaks("\n".join(log_lines[first_log:]))
    stats_after = (await http.get("/api/v1/stats", headers=auth(sup))).json()
    assert stats_after["total"] == stats_before["total"]
    assert stats_after["by_outcome"] == stats_before["by_outcome"]

    # The other case is whole.
    other_case = (await http.get(f"/api/v1/cases/{other}", headers=auth(sup))).json()
    assert {p["name"] for p in other_case["parties"]} == {APPLICANT.name, RESPONDENT.name}
    other_tl = (await http.get(f"/api/v1/cases/{other}/timeline", headers=auth(sup))).json()
    assert any(e["detail"].get("summary") == SESSION_NOTE for e in other_tl)
    r = await http.get(f"/api/v1/cases/{other}/history?raw=true", headers=auth(sup))
    assert r.status_code == 200


async def test_only_a_finished_closed_case_can_be_erased(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    cid, _ = await in_mediation(http, tokens)
    r = await http.post(
        f"/api/v1/cases/{cid}/erase",
        json={"reason": "purpose_fulfilled"},
        headers=auth(tokens["supervisor"]),
    )
    assert r.status_code == 409 and r.json()["detail"] == "only a closed case can be erased"
    case = (await http.get(f"/api/v1/cases/{cid}", headers=auth(tokens["supervisor"]))).json()
    assert APPLICANT.name in {p["name"] for p in case["parties"]}


async def test_the_retention_schedule_erases_cases_whose_retention_ended(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    short = fast_policy.model_copy(update={"retention": timedelta(seconds=1)})
    long = fast_policy.model_copy(update={"retention": timedelta(days=1)})
    ids = []
    for policy in (short, long):
        h = await open_case(client, task_queue, intake(), policy)
        await accept_assigned(h)
        await act(h, Action.terminate, ReasonBody(reason="不再调解"))
        await eventually(h, lambda s: s.status is CaseStatus.closed)
        await h.result()
        ids.append(case_id(h))
    expired, kept = ids

    schedule_id = await ensure_retention_schedule(client, task_queue, timedelta(hours=1))
    schedule = client.get_schedule_handle(schedule_id)
    try:
        await asyncio.sleep(1.1)  # the short retention ends
        await schedule.trigger()
        await stored(engine, expired, lambda events, _: "erased" in events, what="erasure")
    finally:
        await schedule.delete()

    def parties(cid: str) -> list[Any]:
        with Session(engine) as s:
            return [p.name for p in opened_parties(s, TEST_DATA_KEYS, cid)]

    assert parties(expired) == ["[erased]", "[erased]"]
    assert parties(kept) == [APPLICANT.name, RESPONDENT.name]


async def test_mediation_erase_erases_and_audits_from_a_shell(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine, client: Client, db_url: str
) -> None:
    cid = await closed_case(http, tokens)
    await finished(client, cid)
    env = cli_env(client, db_url)
    args = (sys.executable, "-m", "ops", "erase", cid, "--reason", "legal_obligation")
    await run(*args, env=env)
    assert not leaks(store_text(engine, cid))
    with Session(engine) as s:
        audited = s.exec(select(AuditLog).where(AuditLog.case_id == cid)).all()
    assert [a.action for a in audited if a.principal_id == "cli"] == ["erase (legal_obligation)"]
    await run(*args, env=env)  # again: nothing more to do, and it says so
